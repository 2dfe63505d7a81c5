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


def _scale_head(head, factor):
    """Multiplies the head's spline coefficients and base weights by `factor`."""
    head.kernel.assign(numpy(head.kernel).astype("float32") * factor)
    head.remainder.kernel.assign(numpy(head.remainder.kernel).astype("float32") * factor)


def test_weak_heads_go_and_the_fusion_keeps_their_weights(rng):
    model = RPN(
        [3, 4, 1],
        expansion={"class_name": "bspline", "config": {"adaptive_grid": True}},
        remainder="linear",
        width=3,  # mean of 3 heads
        use_bias=True,
    )
    x = rng.uniform(-1, 1, (200, 3)).astype("float32")
    for layer in model.rpn_layers:
        _scale_head(layer.heads[1], 1e-3)
    pruned, report = keras_rpn.prune(model, x, threshold=0.01)
    assert report.kept_heads == [[0, 2], [0, 2]]
    np.testing.assert_allclose(report.head_scores[0][1], 1e-3, rtol=0.5)
    assert report.kept_units == [[0, 1, 2, 3]]
    assert [len(layer.heads) for layer in pruned.layers] == [2, 2]
    assert pruned.layers[0].head_fusion.fixed_weights == pytest.approx([1 / 3, 1 / 3])
    # 2 heads of 4 x 3 x 8 spline + 3 x 4 base + 4 bias + 6 grid, then 2 of 4 x 8 + 4 + 1 + 8
    per_layer = [3 * 4 * 8 + 3 * 4 + 4 + 6, 4 * 8 + 4 + 1 + 8]
    assert report.params_before == 3 * sum(per_layer) == model.count_params()
    assert report.params_after == 2 * sum(per_layer) == pruned.count_params()
    error = np.abs(numpy(pruned(x)) - numpy(model(x))).max()
    assert error == pytest.approx(report.max_abs_error, rel=1e-5, abs=1e-7)
    assert report.relative_error < 5e-3  # the dropped heads' variation (their mean moved)
    assert "dropped heads [1] of 3" in str(report)


def test_low_rank_reconciliation_is_materialised(rng):
    model = RPN([3, 5, 2], expansion="chebyshev", reconciliation="lorr", use_bias=True)
    x = rng.uniform(-1, 1, (128, 3)).astype("float32")
    head = model.rpn_layers[0].heads[0]
    kernel = numpy(head.kernel)  # lorr: psi(w) = A B, A = w[:n r] as (n, r), r = 2
    kernel[0, 3 * 2 : 4 * 2] *= 1e-4  # hidden unit 3's row of A: a weak unit
    head.kernel.assign(kernel.astype("float32"))
    pruned, report = keras_rpn.prune(model, x, threshold=0.01)
    assert report.kept_units == [[0, 1, 2, 4]]
    assert any("LowRank" in note and "identity" in note for note in report.notes)
    assert isinstance(pruned, keras.Sequential)
    assert [type(layer.heads[0].reconciliation).__name__ for layer in pruned.layers] == [
        "IdentityReconciliation"
    ] * 2
    # identity holds psi(w): 4 x 6 and 2 x 8 matrices (+ biases) instead of low rank
    assert report.params_after == pruned.count_params() == 4 * 6 + 4 + 2 * 8 + 2
    error = np.abs(numpy(pruned(x)) - numpy(model(x))).max()
    assert error == pytest.approx(report.max_abs_error, rel=1e-5, abs=1e-7)
    assert report.relative_error < 1e-3


def test_default_kan_with_its_silu_base_branch(rng):
    from keras_rpn.models import KAN

    model = KAN([3, 4, 1])  # remainder silu(x W_r): scored by its linearised share
    x = rng.uniform(-1, 1, (128, 3)).astype("float32")
    head = model.rpn_layers[1].heads[0]
    head.kernel.assign(numpy(head.kernel).astype("float32") * np.repeat([1, 1, 1e-4, 1], 8))
    base = numpy(head.remainder.kernel)  # (4, 1)
    base[2] = 0.0  # hidden unit 2 feeds almost nothing
    head.remainder.kernel.assign(base.astype("float32"))
    pruned, report = keras_rpn.prune(model, x, threshold=0.01)
    assert report.kept_units == [[0, 1, 3]] and pruned.dims == [3, 3, 1]
    error = np.abs(numpy(pruned(x)) - numpy(model(x))).max()
    assert error == pytest.approx(report.max_abs_error, rel=1e-5, abs=1e-7)
    assert report.relative_error < 1e-2


def test_unprunable_models_raise(rng):
    x = rng.uniform(-1, 1, (16, 3)).astype("float32")
    lorr = RPN([3, 4, 3], expansion="chebyshev", reconciliation="lorr")
    with pytest.raises(ValueError, match="threshold=1.5"):
        keras_rpn.prune(lorr, x, threshold=1.5)
