"""Symbolic formulas: exact export of polynomial heads and models."""

import keras
import numpy as np
import pytest
import sympy as sp
from keras import ops

from keras_rpn import symbolic
from keras_rpn.layers import RPNHead
from keras_rpn.layers import RPNLayer
from keras_rpn.models import RPN


def numpy(x):
    return np.asarray(ops.convert_to_numpy(x))


X = np.random.default_rng(0).uniform(-1, 1, (40, 3)).astype("float32")


@pytest.mark.parametrize(
    "head_kwargs",
    [
        {"expansion": {"class_name": "taylor", "config": {"d": 3}}, "reconciliation": "lorr"},
        {"expansion": {"class_name": "chebyshev", "config": {"d": 4}}, "channels": 2},
        {"expansion": "legendre", "remainder": "linear", "reconciliation": "dual_lphm"},
        {"expansion": {"class_name": "jacobi", "config": {"d": 3, "alpha": 0.5}}},
        {"expansion": {"class_name": "bessel", "config": {"d": 3}}, "activation": "tanh"},
    ],
    ids=["taylor-lorr", "chebyshev-2ch", "legendre-remainder", "jacobi", "bessel-tanh"],
)
def test_exported_expression_equals_the_layer_output(head_kwargs):
    layer = RPNLayer(2, width=2, head_fusion="sum", **head_kwargs)
    expected = numpy(layer(X))
    exprs = symbolic.export(layer)
    assert len(exprs) == 2
    np.testing.assert_allclose(symbolic.evaluate(exprs, X), expected, rtol=1e-5, atol=1e-5)


def test_chebyshev_head_is_the_known_polynomial():
    head = RPNHead(1, expansion={"class_name": "chebyshev", "config": {"d": 3}})
    head(X[:, :1])
    head.kernel.assign(np.array([[0.0, 1.0, 2.0]], dtype="float32"))  # T_2 + 2 T_3
    head.bias.assign(np.array([0.5], dtype="float32"))
    (expr,) = symbolic.export(head, input_names=["t"], expand=True)
    t = sp.Symbol("t", real=True)
    # T_2 = 2t^2 - 1, T_3 = 4t^3 - 3t: 8t^3 + 2t^2 - 6t - 0.5
    assert sp.Poly(expr, t).all_coeffs() == pytest.approx([8.0, 2.0, -6.0, -0.5])
    assert symbolic.to_latex(expr) == "y_1 = 8.0 t^{3} + 2.0 t^{2} - 6.0 t - 0.5"


def test_model_formula_composes_the_layers():
    model = RPN([3, 4, 2], expansion="chebyshev", remainder="linear", activation="tanh")
    exprs = symbolic.export(model, input_names=["a", "b", "c"])
    assert {s.name for s in exprs[0].free_symbols} == {"a", "b", "c"}
    got = symbolic.evaluate(exprs, X, input_names=["a", "b", "c"])
    np.testing.assert_allclose(got, numpy(model(X)), rtol=1e-5, atol=1e-5)
    sequential = keras.Sequential([keras.Input((3,)), RPNLayer(2, expansion="taylor")])
    np.testing.assert_allclose(
        symbolic.evaluate(symbolic.export(sequential), X), numpy(sequential(X)), atol=1e-5
    )


def test_non_polynomial_heads_are_refused():
    head = RPNHead(1, expansion="bspline")
    head(X)
    with pytest.raises(ValueError, match="auto_symbolic"):
        symbolic.export(head)
    layer = RPNLayer(1, expansion="chebyshev", width=2, head_fusion="max")
    layer(X)
    with pytest.raises(ValueError, match="not linear"):
        symbolic.export(layer)
    with pytest.raises(TypeError, match="Received: str"):
        symbolic.export("model")


@pytest.mark.parametrize(
    "name,fn",
    [("x^2", lambda t: 3 * (t - 0.2) ** 2 + 1), ("sin", lambda t: np.sin(2 * t)), ("exp", np.exp)],
)
def test_fit_function_picks_the_generating_candidate(name, fn):
    t = np.random.default_rng(1).uniform(-1, 1, 200)
    fit = symbolic.fit_function(t, fn(t))
    assert fit.name == name and fit.r2 > 0.99999
    x = sp.Symbol("x", real=True)
    values = sp.lambdify(x, fit.expression(x), "numpy")(t)
    np.testing.assert_allclose(values, fn(t), atol=1e-3)


def test_formula_recovers_sin_plus_cos_squared(rng):
    """sin(pi x) + cos(y)^2 from a one-layer KAN (coefficients by least squares)."""
    from keras_rpn.layers import KANDense

    target = lambda v: np.sin(np.pi * v[:, 0]) + np.cos(v[:, 1]) ** 2  # noqa: E731
    x = rng.uniform(-1, 1, (600, 2)).astype("float32")
    layer = KANDense(1, grid_size=10, base_activation=None)
    layer(x)
    bases = numpy(layer.head.expansion(x)).astype("float64")
    solution = np.linalg.lstsq(np.c_[bases, np.ones(len(x))], target(x), rcond=None)[0]
    layer.head.kernel.assign(solution[None, :-1].astype("float32"))
    layer.head.bias.assign(solution[-1:].astype("float32"))
    (expr,), fits = symbolic.formula(layer, x, input_names=["x", "y"])
    assert [f.name for f in fits[0][1][0]] == ["sin", "sin"]  # cos^2 y = (1 + sin(2y + pi/2)) / 2
    held_out = rng.uniform(-1, 1, (400, 2))
    pred = symbolic.evaluate([expr], held_out, ["x", "y"])[:, 0]
    truth = target(held_out)
    r2 = 1 - np.sum((pred - truth) ** 2) / np.sum((truth - truth.mean()) ** 2)
    print("recovered:", symbolic.round_floats(expr, 4), "R^2 =", r2)
    assert r2 >= 0.999
