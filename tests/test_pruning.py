"""keras_rpn.prune: smaller working models within a reported tolerance."""

import keras
import numpy as np
import pytest
from keras import ops

import keras_rpn
from keras_rpn.layers import KANDense
from keras_rpn.models import RPN


def numpy(x):
    return np.asarray(ops.convert_to_numpy(x), dtype="float64")


def _silence(layer, units=None, inputs=None):
    """Zeroes the spline and base weights of the given output units / input features."""
    head = layer.head
    n, m = layer.units, int(head.input_spec.axes[-1])
    coef = numpy(head.kernel).reshape(n, m, -1)
    base = numpy(head.remainder.kernel)  # (m, n)
    if units is not None:
        coef[units] = 0.0
        base[:, units] = 0.0
    if inputs is not None:
        coef[:, inputs] = 0.0
        base[inputs] = 0.0
    head.kernel.assign(coef.reshape(1, -1).astype("float32"))
    head.remainder.kernel.assign(base.astype("float32"))


def test_dead_units_and_inputs_go_exactly(rng):
    model = keras.Sequential([keras.Input((4,)), KANDense(5), KANDense(2)])
    x = rng.uniform(-1, 1, (128, 4)).astype("float32")
    model(x)
    _silence(model.layers[0], inputs=[2])  # input 2 is unused
    _silence(model.layers[1], inputs=[1, 3])  # hidden units 1 and 3 feed nothing
    pruned, report = keras_rpn.prune(model, x, threshold=1e-3, prune_inputs=True)
    assert report.kept_inputs == [0, 1, 3]
    assert report.kept_units == [[0, 2, 4]]
    # KANDense(3) on 3 inputs, KANDense(2) on 3: spline 8 per edge, base 1, bias, grid 2/input
    expected = (3 * 3 * 8 + 3 * 3 + 3 + 2 * 3) + (3 * 2 * 8 + 3 * 2 + 2 + 2 * 3)
    assert report.params_after == pruned.count_params() == expected
    assert report.params_before == model.count_params() > expected
    got = numpy(pruned(x[:, report.kept_inputs]))
    np.testing.assert_allclose(got, numpy(model(x)), atol=1e-5)
    assert report.max_abs_error < 1e-5


def test_weak_units_go_within_the_reported_tolerance(rng):
    model = RPN(
        [3, 6, 1],
        expansion={"class_name": "bspline", "config": {"adaptive_grid": True}},
        remainder="linear",
    )
    x = rng.uniform(-1, 1, (200, 3)).astype("float32")
    model(x)
    head = model.rpn_layers[1].heads[0]
    coef = numpy(head.kernel).reshape(1, 6, 8)
    coef[0, 4] *= 0.01  # unit 4 barely moves the output
    head.kernel.assign(coef.reshape(1, -1).astype("float32"))
    head.remainder.kernel.assign(numpy(head.remainder.kernel) * np.array([[1, 1, 1, 1, 0.01, 1]]).T)
    pruned, report = keras_rpn.prune(model, x, threshold=0.05)
    assert report.kept_units == [[0, 1, 2, 3, 5]] and pruned.dims == [3, 5, 1]
    error = np.abs(numpy(pruned(x)) - numpy(model(x))).max()
    assert error == pytest.approx(report.max_abs_error, rel=1e-5, abs=1e-7)
    assert 0 < error < 0.05 * np.abs(numpy(model(x))).max()
    assert report.params_after < report.params_before
    assert "parameters" in str(report)


def test_unprunable_models_raise(rng):
    x = rng.uniform(-1, 1, (16, 3)).astype("float32")
    lorr = RPN([3, 4, 3], expansion="chebyshev", reconciliation="lorr")
    with pytest.raises(ValueError, match="LowRank"):
        keras_rpn.prune(lorr, x, threshold=0.0)
    with pytest.raises(ValueError, match="threshold=1.5"):
        keras_rpn.prune(lorr, x, threshold=1.5)
