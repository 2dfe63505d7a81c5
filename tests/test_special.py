"""keras_rpn.special: log-gamma and log-beta in keras.ops, against scipy and math."""

import math

import keras
import numpy as np
import pytest
from checks import gradients
from keras import ops
from scipy import special as sp

from keras_rpn import special

POINTS = np.array(
    [1e-4, 0.01, 0.1, 0.3, 0.4999, 0.5, 0.7, 1.0, 1.5, 2.0, 2.5, 3.7, 7.0, 10.0, 33.3, 100.0, 170.5]
)


def test_lgamma_matches_math_lgamma():
    got = ops.convert_to_numpy(special.lgamma(POINTS.astype("float32")))
    expected = np.array([math.lgamma(v) for v in POINTS.astype("float32").astype("float64")])
    # float32 round-off: absolute near the zeros at 1 and 2, relative elsewhere.
    np.testing.assert_allclose(got, expected, rtol=2e-6, atol=2e-6)


@pytest.mark.parametrize("value", [0.5, 1.0, 2.0, 5.0])
def test_lgamma_of_python_numbers(value):
    got = float(ops.convert_to_numpy(special.lgamma(value)))
    assert got == pytest.approx(math.lgamma(value), abs=1e-6)


def test_lgamma_keeps_shape_and_16_bit_dtype():
    x = np.linspace(0.2, 6.0, 12).reshape(3, 4).astype("float32")
    y = special.lgamma(ops.cast(x, "bfloat16"))
    assert keras.backend.standardize_dtype(y.dtype) == "bfloat16"
    assert tuple(y.shape) == (3, 4)
    np.testing.assert_allclose(
        ops.convert_to_numpy(ops.cast(y, "float32")), sp.gammaln(x), rtol=2e-2, atol=2e-2
    )


def test_lgamma_gradient_is_digamma():
    x = np.array([0.2, 0.5, 1.0, 2.5, 10.0], dtype="float32")
    np.testing.assert_allclose(gradients(special.lgamma, x), sp.digamma(x), rtol=1e-4, atol=1e-4)


def test_log_beta_matches_scipy():
    a = np.array([0.5, 1.0, 2.0, 3.5, 10.0], dtype="float32")
    b = np.array([[0.5], [1.0], [4.0]], dtype="float32")
    got = ops.convert_to_numpy(special.log_beta(a, b))
    assert got.shape == (3, 5)
    np.testing.assert_allclose(got, sp.betaln(a, b), rtol=1e-5, atol=1e-5)
    assert float(ops.convert_to_numpy(special.log_beta(2.0, 3.0))) == pytest.approx(
        math.log(1 / 12), abs=1e-6
    )
