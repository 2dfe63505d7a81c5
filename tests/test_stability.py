"""Numerical stability of every registered expansion under float16 policies.

(bfloat16 closeness is checked per function in test_expansions.py.) Inputs cover
[-10, 10]; float16 represents up to 65504, so every expansion must keep its
intermediate values in range or compute in float32 (`float32_compute`).
"""

import os
import re

import keras
import numpy as np
import pytest
from checks import gradients
from keras import ops

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


def _documented_float16_ranges():
    """Rows `(name, comparison, bound)` of the float16 table in docs/backends.md."""
    path = os.path.join(os.path.dirname(__file__), "..", "docs", "backends.md")
    with open(path) as f:
        text = f.read()
    rows = re.findall(r"^\| `(\w+)` \| \\\|x\\\| ([<>]) ([0-9.e+-]+)", text, re.MULTILINE)
    return [(name, op, float(bound)) for name, op, bound in rows]


FLOAT16_RANGES = _documented_float16_ranges()


def test_float16_table_lists_every_saturating_expansion():
    """Issue 11, defect 6: the documented rows are exactly the expansions that saturate."""
    documented = {name for name, _, _ in FLOAT16_RANGES}
    assert "hyperbolic" in documented and len(documented) == len(FLOAT16_RANGES)
    grid = np.geomspace(1e-7, 65504, 600, dtype="float32")
    grid = np.concatenate([grid, -grid]).reshape(-1, 1)
    saturating = set()
    for name in NAMES:
        y = ops.convert_to_numpy(expansions.get(name)(grid))
        if np.any(np.abs(y) > np.finfo("float16").max):
            saturating.add(name)
    assert saturating == documented


@pytest.mark.parametrize("name,op,bound", FLOAT16_RANGES, ids=[r[0] for r in FLOAT16_RANGES])
def test_documented_float16_range(name, op, bound):
    """Just inside the documented range no output saturates; just outside one does."""
    inside, outside = (0.999 * bound, 1.01 * bound) if op == ">" else (1.01 * bound, 0.99 * bound)
    keras.config.set_dtype_policy("mixed_float16")
    kappa = expansions.get(name)
    f16_max = float(np.finfo("float16").max)
    for x, saturates in ((inside, False), (outside, True)):
        if abs(x) > f16_max:
            continue  # not a float16 input
        y = ops.convert_to_numpy(ops.cast(kappa(np.array([[x], [-x]], "float16")), "float32"))
        assert np.all(np.isfinite(y))
        assert bool(np.any(np.abs(y) >= f16_max)) == saturates, (name, x)


HUGE = np.array([[89.0], [-89.0], [1e4], [-1e30], [3.0e38], [-3.4e38]], "float32")


def test_hyperbolic_finite_on_the_whole_float32_range():
    """Issue 11, defect 6: sinh/cosh overflowed to inf, giving NaN outputs and gradients."""
    kappa = expansions.get("hyperbolic")
    y = ops.convert_to_numpy(kappa(HUGE))
    assert np.all(np.isfinite(y))
    np.testing.assert_allclose(y[:, 1], np.cosh(80.0), rtol=1e-5)  # saturated at |x| = 80
    np.testing.assert_allclose(y[:, 0], np.sign(HUGE[:, 0]) * np.sinh(80.0), rtol=1e-5)
    x = np.linspace(-80, 80, 33, dtype="float32").reshape(-1, 1)
    y = ops.convert_to_numpy(kappa(x))
    expected = np.concatenate([np.sinh(x), np.cosh(x), np.tanh(x)], axis=-1)
    np.testing.assert_allclose(y, expected, rtol=1e-5)
    assert np.all(np.isfinite(gradients(kappa, HUGE)))
    head = RPNHead(2, expansion="hyperbolic")  # a linear remainder of 3e38 overflows
    assert np.all(np.isfinite(ops.convert_to_numpy(head(HUGE))))
    assert np.all(np.isfinite(gradients(head, HUGE)))
