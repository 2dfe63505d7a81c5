"""KANDense: the KAN paper's layer, a drop-in for keras.layers.Dense."""

import keras
import numpy as np
import pytest
from checks import assert_fit_step
from checks import assert_save_load
from keras import ops
from keras.src.testing import TestCase
from test_grid import _cubic_coefficients
from test_grid import bspline_numpy

from keras_rpn import grid
from keras_rpn import interpret
from keras_rpn.layers import KANDense


def numpy(x):
    return np.asarray(ops.convert_to_numpy(x))


def silu(x):
    return x / (1.0 + np.exp(-x))


def reference(layer, x, base="separable"):
    head = layer.head
    m, n = x.shape[1], layer.units
    coef = numpy(head.kernel).reshape(n, m, -1).astype("float64")
    bounds = head.expansion.grid_bounds()
    spline = sum(
        bspline_numpy(x[:, j], *bounds[j], t=layer.grid_size, d=layer.spline_order) @ coef[:, j].T
        for j in range(m)
    )
    w = numpy(head.remainder.kernel).astype("float64")
    branch = silu(x) @ w if base == "separable" else silu(x @ w)
    return spline + branch + numpy(head.bias)


@pytest.mark.parametrize("base", ["separable", "tinybig"])
def test_values_match_the_kan_formula(base, rng):
    layer = KANDense(3, grid_size=4, spline_order=2, grid_range=(-2, 2), base=base)
    x = rng.uniform(-2.5, 2.5, (32, 5))
    y = numpy(layer(x.astype("float32")))
    np.testing.assert_allclose(y, reference(layer, x, base), atol=2e-5)
    if base == "separable":  # every edge carries one univariate function
        terms, offset = interpret.contributions(layer, x)
        np.testing.assert_allclose(terms.sum(1) + offset, y, atol=2e-5)
    assert layer.count_params() == 5 * 3 * 6 + 3 + 5 * 3 + 2 * 5


def test_drop_in_for_dense(rng):
    x = rng.uniform(-1, 1, (16, 4)).astype("float32")
    y = rng.integers(0, 3, 16)
    model = keras.Sequential(
        [keras.Input((4,)), KANDense(6, activation="relu"), KANDense(3, activation="softmax")]
    )
    assert_fit_step(model, x, y, loss="sparse_categorical_crossentropy")
    grid.update_grid(model, x * 3)
    assert model.layers[0].head.expansion.grid_bounds()[0, 1] > 2.0
    loaded = assert_save_load(model, x * 3)
    np.testing.assert_array_equal(
        loaded.layers[0].head.expansion.grid_bounds(), model.layers[0].head.expansion.grid_bounds()
    )
    y3 = numpy(KANDense(2)(rng.uniform(-1, 1, (2, 3, 4)).astype("float32")))
    assert y3.shape == (2, 3, 2)  # any rank, last axis, as Dense


def test_update_grid_method_keeps_the_function(rng):
    layer = KANDense(2)
    x = rng.uniform(-0.9, 0.6, (200, 3)).astype("float32")
    layer(x)
    _cubic_coefficients(layer.head, rng)  # smooth functions, as training leaves them
    before = numpy(layer(x))
    assert layer.update_grid(x, margin=0.0) is layer
    np.testing.assert_allclose(layer.head.expansion.grid_bounds()[:, 0], x.min(0), atol=1e-6)
    assert np.abs(numpy(layer(x)) - before).max() < 1e-3


def test_bad_arguments():
    with pytest.raises(ValueError, match="base='paper'"):
        KANDense(2, base="paper")
    with pytest.raises(ValueError, match="grid_size=0"):
        KANDense(2, grid_size=0)
    with pytest.raises(TypeError, match="adaptive_grid=1"):
        KANDense(2, adaptive_grid=1)


class KANDenseLayerTest(TestCase):
    def test_run_layer_test(self):
        self.run_layer_test(
            KANDense,
            {"units": 3, "grid_size": 3, "activation": "tanh"},
            input_shape=(2, 4),
            expected_output_shape=(2, 3),
            expected_num_trainable_weights=3,  # coefficients, bias, base weights
            expected_num_non_trainable_weights=2,  # the grid
            run_mixed_precision_check=False,
        )
