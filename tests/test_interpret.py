"""Learned univariate functions, feature importance and plots of separable heads."""

import sys

import keras
import numpy as np
import pytest

from keras_rpn import expansions
from keras_rpn import interpret
from keras_rpn.layers import RPNHead
from keras_rpn.layers import RPNLayer
from keras_rpn.models import KAN
from keras_rpn.models import RPN


def numpy(x):
    return np.asarray(keras.ops.convert_to_numpy(x), dtype="float64")


SEPARABLE = [
    "bspline",
    "chebyshev",
    "legendre",
    "gaussian_rbf",
    "inverse_quadratic_rbf",
    "fourier",
    "hyperbolic",
    "naive_normal",
    "normal",
    "identity",
    {"class_name": "ricker", "config": {"s": 2, "t": 2}},
    {"class_name": "extended", "config": {"composition_functions": ["bspline", "fibonacci"]}},
]
IDS = [e if isinstance(e, str) else e["class_name"] for e in SEPARABLE]


@pytest.mark.parametrize("expansion", SEPARABLE, ids=IDS)
def test_feature_columns_depend_on_their_feature_only(expansion, rng):
    """Moving x_j changes only the columns feature_columns lists for j (layout check)."""
    m = 3
    kappa = expansions.get(expansion)
    cols = interpret.feature_columns(kappa, m)
    assert cols.shape[0] == m
    assert sorted(cols.ravel().tolist()) == list(range(kappa.output_dim(m)))
    x = rng.uniform(-0.9, 0.9, (1, m)).astype("float32")
    base = numpy(kappa(x))[0]
    for j in range(m):
        moved = x.copy()
        moved[0, j] += 0.37
        changed = np.flatnonzero(~np.isclose(numpy(kappa(moved))[0], base, atol=1e-7))
        assert set(changed.tolist()) <= set(cols[j].tolist())
        assert len(changed) > 0


@pytest.mark.parametrize("expansion", SEPARABLE, ids=IDS)
def test_functions_sum_back_to_the_head(expansion, rng):
    """sum_j f_ij(x_j) + b = head(x): one channel, identity reconciliation, no remainder."""
    head = RPNHead(3, expansion=expansion, bias_initializer="random_normal")
    x = rng.uniform(-0.9, 0.9, (8, 4)).astype("float32")
    y = numpy(head(x))
    terms, offset = interpret.contributions(head, x)
    assert terms.shape == (8, 4, 3)
    np.testing.assert_allclose(offset, numpy(head.bias))
    np.testing.assert_allclose(terms.sum(axis=1) + offset, y, rtol=1e-4, atol=1e-5)


def test_bspline_functions_match_numpy_on_a_grid():
    """f_ij(t) = sum_k W[i, j K + k] B_k(t), computed independently."""
    head = RPNHead(2, expansion={"class_name": "bspline", "config": {"t": 4, "d": 2}})
    head.build((None, 3))
    grid, values, offset = interpret.univariate_functions(head, num=11)
    np.testing.assert_allclose(grid[:, 0], np.linspace(-1, 1, 11))
    h = 0.5
    knots = -1 + h * np.arange(-2, 4 + 2 + 1)
    t = grid[:, :1]
    bases = ((t >= knots[:-1]) & (t < knots[1:])).astype("float64")
    for k in range(1, 3):
        left = (t - knots[: -(k + 1)]) / (k * h) * bases[:, :-1]
        right = (knots[k + 1 :] - t) / (k * h) * bases[:, 1:]
        bases = left + right
    w = numpy(head.kernel).reshape(2, 3, 6)  # (n, m, K): feature-major columns
    for j in range(3):
        np.testing.assert_allclose(values[:, j, :], bases @ w[:, j, :].T, atol=1e-5)
    np.testing.assert_allclose(offset, 0.0)


def test_channels_low_rank_linear_remainder_and_layers(rng):
    x = rng.uniform(-1, 1, (6, 4)).astype("float32")
    head = RPNHead(
        3,
        expansion="chebyshev",
        reconciliation={"class_name": "lorr", "config": {"r": 2}},
        channels=2,
        remainder={"class_name": "linear", "config": {"use_bias": True}},
        bias_initializer="random_normal",
    )
    y = numpy(head(x))
    terms, offset = interpret.contributions(head, x)
    np.testing.assert_allclose(terms.sum(1) + offset, y, rtol=1e-4, atol=1e-5)
    layer = RPNLayer(
        2, heads=[{"expansion": "bspline"}, {"expansion": "gaussian_rbf"}], head_fusion="sum"
    )
    terms, offset = interpret.contributions(layer, x)
    np.testing.assert_allclose(terms.sum(1) + offset, numpy(layer(x)), rtol=1e-4, atol=1e-5)
    model = RPN([4, 2], expansion="fourier")
    terms, offset = interpret.contributions(model, x)
    np.testing.assert_allclose(terms.sum(1) + offset, numpy(model(x)), rtol=1e-4, atol=1e-5)


def test_non_separable_and_non_additive_are_refused(rng):
    x = rng.uniform(-1, 1, (4, 3)).astype("float32")
    taylor = RPNHead(2, expansion="taylor")
    taylor(x)
    with pytest.raises(ValueError, match="not separable"):
        interpret.contributions(taylor, x)
    normed = RPNHead(
        2, expansion={"class_name": "bspline", "config": {"postprocessing": "layer_norm"}}
    )
    normed(x)
    with pytest.raises(ValueError, match="LayerNormalization"):
        interpret.contributions(normed, x)
    kan = KAN([3, 2])
    with pytest.raises(ValueError, match="include_remainder=False"):
        interpret.contributions(kan, x)
    terms, _ = interpret.contributions(kan, x, include_remainder=False)
    assert terms.shape == (4, 3, 2)
    with pytest.raises(ValueError, match="not linear"):
        interpret.contributions(RPNLayer(2, expansion="bspline", width=2, head_fusion="max"), x)
    with pytest.raises(ValueError, match="2 layers"):
        interpret.contributions(RPN([3, 2, 1]), x)


def fit_least_squares(head, x, y):
    """Trains a single-channel identity-reconciled head exactly (ridge regression)."""
    kappa = numpy(head.expansion(x))
    design = np.concatenate([kappa, np.ones((len(x), 1))], axis=1)
    coef = np.linalg.solve(design.T @ design + 1e-6 * np.eye(design.shape[1]), design.T @ y)
    head.kernel.assign(coef[:-1].T.reshape(1, -1).astype("float32"))
    head.bias.assign(coef[-1].astype("float32"))


def test_importance_ranks_the_relevant_feature_first(rng):
    x = rng.uniform(-1, 1, (400, 5)).astype("float32")
    y = np.sin(3.0 * x[:, 3:4]) + 0.3 * x[:, 1:2] ** 2 + 0.01 * rng.normal(size=(400, 1))
    head = RPNHead(1, expansion="bspline")
    head(x[:1])
    fit_least_squares(head, x, y)
    importance = interpret.feature_importance(head, x)
    assert importance.shape == (5,)
    assert np.argmax(importance) == 3
    assert list(np.argsort(-importance)[:2]) == [3, 1]
    # The learned f_3 is sin(3 t) up to a constant.
    grid, values, _ = interpret.univariate_functions(head, np.linspace(-0.9, 0.9, 50))
    f3 = values[:, 3, 0] - values[:, 3, 0].mean()
    target = np.sin(3.0 * grid[:, 3]) - np.sin(3.0 * grid[:, 3]).mean()
    assert np.max(np.abs(f3 - target)) < 0.05


def test_plot_functions_writes_one_png_per_output(tmp_path, rng):
    x = rng.uniform(-1, 1, (30, 3)).astype("float32")
    model = KAN([3, 2], remainder_activation=None)
    paths = interpret.plot_functions(
        model, tmp_path / "plots", x=x, reference=lambda j, i, t: np.sin(t), prefix="kan"
    )
    assert [p.rsplit("/", 1)[-1] for p in paths] == ["kan_output0.png", "kan_output1.png"]
    for p in paths:
        with open(p, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_plot_needs_matplotlib(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)
    head = RPNHead(1, expansion="bspline")
    head.build((None, 2))
    with pytest.raises(ImportError, match=r"keras-rpn\[plot\]"):
        interpret.plot_functions(head, tmp_path)
