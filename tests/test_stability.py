"""Numerical stability of every registered expansion under float16 policies.

(bfloat16 closeness is checked per function in test_expansions.py.) Inputs cover
[-10, 10]; float16 represents up to 65504, so every expansion must keep its
intermediate values in range or compute in float32 (`float32_compute`).
"""

import keras
import numpy as np
import pytest
from keras import ops

from checks import gradients
from keras_rpn import expansions
from keras_rpn.layers import RPNHead


def constructible_expansions():
    names = []
    for name in expansions.names():
        try:
            cls = type(expansions.get(name))
        except (TypeError, ValueError):
            continue  # needs required arguments (nested/extended): covered elsewhere
        if cls.__name__ not in {type(expansions.get(n)).__name__ for n in names}:
            names.append(name)
    return names


NAMES = constructible_expansions()
X = np.linspace(-10, 10, 41, dtype="float32").reshape(-1, 1) * np.ones((1, 3), "float32")


@pytest.mark.parametrize("name", NAMES)
def test_mixed_float16_finite_and_close_to_float32(name):
    expected = ops.convert_to_numpy(expansions.get(name)(X))
    keras.config.set_dtype_policy("mixed_float16")
    kappa = expansions.get(name)
    y = kappa(X)
    assert keras.backend.standardize_dtype(y.dtype) == "float16"
    y = ops.convert_to_numpy(ops.cast(y, "float32"))
    finite = np.isfinite(expected)
    assert np.all(np.isfinite(y[finite])), f"{name}: float16 overflow"
    representable = finite & (np.abs(expected) <= np.finfo("float16").max)
    scale = np.maximum(np.abs(expected[representable]), 1.0)
    assert np.max(np.abs(y[representable] - expected[representable]) / scale) < 0.05
    saturated = finite & ~representable  # e.g. 1/x at x = 0: the largest float16
    np.testing.assert_array_equal(np.abs(y[saturated]), np.finfo("float16").max)


@pytest.mark.parametrize("name", NAMES)
def test_head_outputs_and_input_gradients_finite_in_range(name):
    head = RPNHead(2, expansion=name, remainder="linear")
    head.build((None, 3))
    y = ops.convert_to_numpy(head(X))
    assert np.all(np.isfinite(y)), name
    assert np.all(np.isfinite(gradients(head, X))), name
