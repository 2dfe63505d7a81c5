"""Remainders pi: formulas inside a head, width checks, serialisation and training."""

import numpy as np
import pytest
from checks import BACKEND
from checks import as_model
from checks import assert_config_roundtrip
from checks import assert_fit_step
from checks import assert_save_load
from keras import ops

from keras_rpn import remainders
from keras_rpn.layers import RPNHead
from keras_rpn.layers import RPNLayer


def numpy_of(tensor):
    return ops.convert_to_numpy(tensor)


def sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


def linear_reference(x, pi):
    y = x @ numpy_of(pi.kernel)
    return y if pi.bias is None else y + numpy_of(pi.bias)


# config, input width m, units n, numpy pi(x) given the built remainder.
CASES = [
    ("zero", {}, 5, 3, lambda x, pi: np.zeros((len(x), 3))),
    ("identity", {}, 3, 3, lambda x, pi: x),
    ("identity", {"activation": "tanh"}, 3, 3, lambda x, pi: np.tanh(x)),
    ("linear", {}, 5, 3, linear_reference),
    (
        "linear",
        {"use_bias": True, "activation": "silu", "bias_initializer": "random_normal"},
        5,
        3,
        lambda x, pi: linear_reference(x, pi) * sigmoid(linear_reference(x, pi)),
    ),
    ("constant", {}, 5, 3, lambda x, pi: np.ones((len(x), 3))),
    (
        "constant",
        {"c": -0.5, "activation": "sigmoid"},
        5,
        3,
        lambda x, pi: np.full((len(x), 3), sigmoid(-0.5)),
    ),
    ("one", {}, 2, 4, lambda x, pi: np.ones((len(x), 4))),
]


def case_id(case):
    return case[0] + "".join(f"-{k}" for k in case[1])


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_head_adds_the_remainder(case, rng):
    """With psi = 0 and no bias, the head output is pi(x) exactly."""
    name, config, m, n, reference = case
    x = rng.uniform(-1, 1, (4, m)).astype("float32")
    head = RPNHead(
        n,
        reconciliation="zero",
        remainder={"class_name": name, "config": config},
        use_bias=False,
    )
    y = numpy_of(head(x))
    np.testing.assert_allclose(y, reference(x, head.remainder), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_any_leading_axes_and_config_roundtrip(case, rng):
    name, config, m, n, reference = case
    pi = remainders.get({"class_name": name, "config": config}, units=n)
    x = rng.uniform(-1, 1, (2, 3, m)).astype("float32")
    y = numpy_of(pi(x))
    assert y.shape == (2, 3, n)
    expected = reference(x.reshape(6, m), pi).reshape(2, 3, n)
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-6)
    assert_config_roundtrip(pi)


def test_identity_needs_matching_width():
    with pytest.raises(ValueError, match="input width m=4, units=3"):
        RPNHead(3, remainder="identity").build((None, 4))


@pytest.mark.parametrize("name", ["constant", "one", "zero", "linear"])
def test_other_remainders_accept_any_width(name):
    RPNHead(3, remainder=name).build((None, 4))


def test_invalid_constant_is_refused():
    with pytest.raises((TypeError, ValueError), match="c="):
        remainders.get({"class_name": "constant", "config": {"c": "a"}})


def test_linear_initializers_are_used():
    head = RPNHead(
        2,
        remainder={
            "class_name": "linear",
            "config": {"use_bias": True, "kernel_initializer": "ones", "bias_initializer": "ones"},
        },
    )
    head.build((None, 3))
    np.testing.assert_array_equal(numpy_of(head.remainder.kernel), np.ones((3, 2)))
    np.testing.assert_array_equal(numpy_of(head.remainder.bias), np.ones(2))


def test_save_load_and_jit_fit(rng):
    """One layer with a head per remainder. `jit_compile=True` is XLA on JAX and
    TensorFlow; on torch it means `torch.compile`, which Keras treats as experimental
    (not a gate), so the torch pass runs eagerly."""
    heads = [
        {"remainder": {"class_name": name, "config": config}}
        for name, config, m, n, _ in CASES
        if n == 3
    ]
    layer = RPNLayer(3, heads=heads, expansion="chebyshev", head_fusion="concatenation")
    model = as_model(layer, 3)
    x = rng.uniform(-1, 1, (8, 3)).astype("float32")
    y = rng.uniform(-1, 1, (8, 3 * len(heads))).astype("float32")
    assert_fit_step(model, x, y, jit_compile=BACKEND != "torch")
    assert_save_load(model, x)
