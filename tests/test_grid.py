"""Grid adaptation: refits preserve the learned functions, grids are saved state."""

import keras
import numpy as np
import pytest
from checks import assert_config_roundtrip
from checks import assert_save_load
from keras import ops

from keras_rpn import callbacks
from keras_rpn import grid
from keras_rpn.layers import RPNHead
from keras_rpn.layers import RPNLayer
from keras_rpn.models import RPN

ADAPTIVE = {
    "bspline": {"class_name": "bspline", "config": {"adaptive_grid": True}},
    "gaussian_rbf": {"class_name": "gaussian_rbf", "config": {"adaptive_grid": True}},
}


def numpy(x):
    return np.asarray(ops.convert_to_numpy(x))


def bspline_numpy(x, low, high, t=5, d=3):
    """Cox-de Boor bases `(N, t + d)` of one feature on the uniform grid over (low, high)."""
    h = (high - low) / t
    knots = low + h * np.arange(-d, t + d + 1)
    xe = x[:, None]
    bases = ((xe >= knots[:-1]) & (xe < knots[1:])).astype("float64")
    for k in range(1, d + 1):
        left = (xe - knots[: -(k + 1)]) / (k * h) * bases[:, :-1]
        right = (knots[k + 1 :] - xe) / (k * h) * bases[:, 1:]
        bases = left + right
    return bases


def test_refitted_bspline_follows_the_per_feature_grid(rng):
    head = RPNHead(2, expansion=ADAPTIVE["bspline"])
    x = rng.uniform(-3.0, 2.0, (200, 3)).astype("float32")
    x[:, 1] = 0.25 * x[:, 1] + 0.5  # a narrow feature
    head(x[:1])
    grid.update_grid(head, x, margin=0.1)
    bounds = head.expansion.grid_bounds()
    lo, hi = x.min(0).astype("float64"), x.max(0).astype("float64")
    np.testing.assert_allclose(bounds[:, 0], lo - 0.1 * (hi - lo), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(bounds[:, 1], hi + 0.1 * (hi - lo), rtol=1e-6, atol=1e-6)
    kappa = numpy(head.expansion(x)).reshape(200, 3, 8)
    for j in range(3):
        expected = bspline_numpy(x[:, j].astype("float64"), *bounds[j])
        np.testing.assert_allclose(kappa[:, j], expected, atol=2e-5)


def _cubic_coefficients(head, rng):
    """Sets the head's spline coefficients so every f_ij is a random cubic on (-1, 1)."""
    t = np.linspace(-1, 1, 400)
    bases = bspline_numpy(t, -1.0, 1.0)
    m, n = head.expansion.input_width, head.units
    w = np.zeros((n, m, 8))
    for i in range(n):
        for j in range(m):
            curve = np.polyval(rng.normal(size=4), t)
            w[i, j] = np.linalg.lstsq(bases, curve, rcond=None)[0]
    head.kernel.assign(w.reshape(1, -1).astype("float32"))


@pytest.mark.parametrize("expansion", ["bspline", "gaussian_rbf"])
def test_update_grid_preserves_the_function_on_the_samples(expansion, rng):
    layer = RPNLayer(3, expansion=ADAPTIVE[expansion], remainder="linear", width=2)
    x = rng.uniform(-0.7, 0.5, (300, 4)).astype("float32")
    layer(x[:1])
    if expansion == "bspline":  # functions a finer grid can hold exactly: cubics
        for head in layer.heads:
            _cubic_coefficients(head, rng)
    before = numpy(layer(x))
    assert grid.out_of_range(layer, x) == {layer.name: 0.0}
    assert grid.update_grid(layer, x) is layer
    np.testing.assert_allclose(numpy(layer(x)), before, atol=1e-3)
    assert np.abs(numpy(layer(x)) - before).max() < 1e-3
    # One grid for the batched heads: they are still computed in one contraction.
    assert len(layer._head_groups) == 1
    np.testing.assert_array_equal(
        layer.heads[0].expansion.grid_bounds(), layer.heads[1].expansion.grid_bounds()
    )
    loaded = assert_save_load(keras.Sequential([keras.Input((4,)), layer]), x)
    np.testing.assert_array_equal(
        loaded.layers[0].heads[1].expansion.grid_bounds(), layer.heads[1].expansion.grid_bounds()
    )


def test_out_of_range_fraction(rng):
    model = RPN([2, 3, 1], expansion=ADAPTIVE["bspline"])
    x = np.array([[0.0, 2.0], [-1.5, 0.5], [0.2, 0.1], [3.0, -3.0]], dtype="float32")
    fractions = grid.out_of_range(model, x)
    assert list(fractions) == ["rpn_layer_0", "rpn_layer_1"]
    assert fractions["rpn_layer_0"] == pytest.approx(4 / 8)  # |x| > 1: 2.0, -1.5, 3.0, -3.0
    hidden = numpy(model.rpn_layers[0](x))
    assert fractions["rpn_layer_1"] == pytest.approx(np.mean(np.abs(hidden) > 1))


def test_model_update_propagates_layer_by_layer(rng):
    model = RPN([3, 4, 2], expansion=ADAPTIVE["bspline"], remainder="linear")
    x = rng.uniform(-2.0, 2.0, (256, 3)).astype("float32")
    grid.update_grid(model, x, margin=0.0)
    first, second = model.rpn_layers
    np.testing.assert_allclose(
        first.heads[0].expansion.grid_bounds(), np.stack([x.min(0), x.max(0)], -1), atol=1e-6
    )
    hidden = numpy(first(x))  # computed with the refitted first layer
    np.testing.assert_allclose(
        second.heads[0].expansion.grid_bounds(),
        np.stack([hidden.min(0), hidden.max(0)], -1),
        atol=1e-5,
    )
    assert all(v == 0.0 for v in grid.out_of_range(model, x).values())


def test_grid_update_callback_during_fit(rng):
    model = RPN([3, 4, 1], expansion=ADAPTIVE["bspline"], remainder="linear")
    x = rng.uniform(-2.0, 2.0, (64, 3)).astype("float32")
    y = np.sin(x).sum(1, keepdims=True)
    model.compile("adam", "mse")
    history = model.fit(
        x, y, epochs=2, batch_size=32, verbose=0,
        callbacks=[callbacks.GridMonitor(x), callbacks.GridUpdate(x, until=1)],
    )  # fmt: skip
    logged = history.history["out_of_range/rpn_layer_0"]
    assert logged[0] == pytest.approx(np.mean(np.abs(x) > 1))  # before the refit
    assert logged[1] == 0.0  # epoch 2: inside the grid refitted after epoch 1
    np.testing.assert_allclose(
        model.rpn_layers[0].heads[0].expansion.grid_bounds()[:, 1],
        x.max(0) + 0.05 * (x.max(0) - x.min(0)),
        rtol=1e-6,
    )
    assert np.isfinite(history.history["loss"]).all()


def test_fixed_grid_and_bad_arguments_raise(rng):
    x = rng.uniform(-1, 1, (10, 2)).astype("float32")
    head = RPNHead(1, expansion="bspline")
    head(x)
    with pytest.raises(ValueError, match="adaptive_grid=True"):
        grid.update_grid(head, x)
    adaptive = RPNHead(3, expansion=ADAPTIVE["bspline"], reconciliation="lorr")
    adaptive(x)
    with pytest.raises(ValueError, match="LowRank"):
        grid.update_grid(adaptive, x)
    with pytest.raises(ValueError, match="percentile=60"):
        grid.fit_bounds(x, percentile=60)
    with pytest.raises(ValueError, match="NaN"):
        grid.fit_bounds(np.array([[np.nan]]))
    with pytest.raises(ValueError, match="every=0"):
        callbacks.GridUpdate(x, every=0)
    assert head.count_params() == 8 * 2 + 1  # a fixed grid is no state
    assert adaptive.expansion.get_config()["adaptive_grid"] is True
    assert_config_roundtrip(adaptive.expansion)


def test_extend_grid_keeps_the_function_and_saves(rng):
    from keras_rpn.layers import KANDense

    model = keras.Sequential([keras.Input((3,)), KANDense(4), KANDense(1)])
    x = rng.uniform(-1.0, 1.0, (128, 3)).astype("float32")
    grid.update_grid(model, x)
    finer = grid.extend_grid(model, 10)  # a multiple of 5: the finer space holds the old
    assert [layer.grid_size for layer in finer.layers] == [10, 10]
    assert tuple(finer.layers[0].head.kernel.shape) == (1, 4 * 3 * 13)
    np.testing.assert_allclose(numpy(finer(x)), numpy(model(x)), atol=1e-4)
    np.testing.assert_array_equal(
        finer.layers[1].head.expansion.grid_bounds(), model.layers[1].head.expansion.grid_bounds()
    )
    assert_save_load(finer, x)


def test_head_and_layer_methods_on_mixed_heads_and_the_kan_preset(rng):
    from keras_rpn.models import KAN

    layer = RPNLayer(2, heads=[{"expansion": ADAPTIVE["bspline"]}, {"expansion": "taylor"}])
    x = rng.uniform(-0.8, 0.6, (200, 3)).astype("float32")
    layer(x[:1])
    _cubic_coefficients(layer.heads[0], rng)
    before = numpy(layer(x))
    assert layer.has_grid and layer.out_of_range(x) == 0.0
    assert layer.update_grid(x, margin=0.0) is layer
    assert np.abs(numpy(layer(x)) - before).max() < 1e-3
    np.testing.assert_allclose(layer.heads[0].expansion.grid_bounds()[:, 0], x.min(0), atol=1e-6)
    finer = layer.extend_grid(10)  # only the B-spline head changes; Taylor's weights copied
    assert finer.heads[0].expansion.t == 10 and tuple(finer.heads[0].kernel.shape) == (
        1,
        2 * 3 * 13,
    )
    np.testing.assert_array_equal(numpy(finer.heads[1].kernel), numpy(layer.heads[1].kernel))
    assert np.abs(numpy(finer(x)) - before).max() < 1e-3
    loaded = assert_save_load(keras.Sequential([keras.Input((3,)), finer]), x)
    np.testing.assert_array_equal(
        loaded.layers[0].heads[0].expansion.grid_bounds(), layer.heads[0].expansion.grid_bounds()
    )
    head = RPNHead(1, expansion=ADAPTIVE["gaussian_rbf"])
    head(x)
    assert head.extend_grid(20).expansion.num_interval == 20
    kan = KAN([3, 2, 1])  # fixed grid: the spline space still refines exactly
    finer_kan = grid.extend_grid(kan, 10)
    assert [lay.heads[0].expansion.t for lay in finer_kan.rpn_layers] == [10, 10]
    hidden = numpy(kan.rpn_layers[0](x))
    inside = np.all(np.abs(hidden) <= 1.0, axis=1)  # kept on the grid only (see extend_grid)
    assert inside.mean() > 0.8
    np.testing.assert_allclose(numpy(finer_kan(x))[inside], numpy(kan(x))[inside], atol=1e-4)
    taylor = RPNHead(1, expansion="taylor")
    taylor(x)
    with pytest.raises(ValueError, match="no expansion with a grid"):
        taylor.extend_grid(3)
