"""Fitted formulas for the learned edge functions of spline/RBF (any separable) models.

Every edge function `f_ij` of a separable layer is matched against a library of
candidates `c g(a t + b) + d` (`g` in `x, x^2, x^3, exp, log, sin, tan, tanh,
sqrt, 1/x, abs, gaussian`): `a, b` by a coarse-then-fine grid search, `c, d` by
least squares, each scored by R^2 on the samples; the simplest candidate within
`tolerance` of the best R^2 wins. The fitted edges compose, layer by layer, into
a formula of the model's inputs.
"""

import dataclasses

import numpy as np

from keras_rpn.symbolic import library
from keras_rpn.symbolic.export import import_sympy
from keras_rpn.symbolic.export import make_symbols
from keras_rpn.symbolic.export import sympy_activation


@dataclasses.dataclass
class EdgeFit:
    """`f(t) ~ c g(a t + b) + d`, with its R^2 on the samples."""

    name: str
    a: float
    b: float
    c: float
    d: float
    r2: float
    complexity: int

    def expression(self, t):
        """The fitted function of the sympy expression `t`."""
        if self.name == "0":
            return self.d
        g = library.get(self.name).sympy
        return self.c * g(import_sympy(), self.a * t + self.b) + self.d


def _affine_r2(g_values, y):
    """Best `c, d` and R^2 of `y ~ c g + d`, for `g_values` of shape `(..., N)`."""
    gm = g_values.mean(-1, keepdims=True)
    ym = y.mean()
    gc, yc = g_values - gm, y - ym
    var = (gc * gc).sum(-1)
    cov = (gc * yc).sum(-1)
    c = np.where(var > 1e-12, cov / np.where(var > 1e-12, var, 1.0), 0.0)
    d = ym - c * gm[..., 0]
    total = (yc * yc).sum()
    residual = total - c * cov
    r2 = 1.0 - residual / total if total > 0 else np.ones_like(c)
    bad = ~np.all(np.isfinite(g_values), axis=-1)
    return c, d, np.where(bad, -np.inf, r2)


def fit_function(t, y, candidates=None, tolerance=1e-3, a_range=(-10.0, 10.0), steps=41):
    """Fits `y ~ c g(a t + b) + d` for every candidate `g`; returns the chosen `EdgeFit`.

    Args:
        t, y: samples of the function, `(N,)` each.
        candidates: names from `keras_rpn.symbolic.NAMES` (default: all).
        tolerance: the simplest candidate with R^2 within this of the best wins.
        a_range: range searched for `a` and `b`.
        steps: grid points per axis of the coarse search (a finer one follows).

    Returns:
        The chosen `EdgeFit`; `fit_function.last` holds every candidate's fit.
    """
    t = np.asarray(t, dtype="float64").reshape(-1)
    y = np.asarray(y, dtype="float64").reshape(-1)
    names = list(candidates or library.NAMES)
    table = {name: library.get(name) for name in names}
    fits = []
    grid = np.linspace(*a_range, steps)
    for name in names:
        g = table[name].numpy
        a_values, b_values = grid, grid
        best = None
        for _ in range(3):  # coarse grid, then two zooms around the best
            a, b = np.meshgrid(a_values, b_values, indexing="ij")
            with np.errstate(all="ignore"):
                values = g(a[..., None] * t + b[..., None])
            c, d, r2 = _affine_r2(values, y)
            k = np.unravel_index(np.argmax(r2), r2.shape)
            best = (a[k], b[k], c[k], d[k], r2[k])
            da, db = a_values[1] - a_values[0], b_values[1] - b_values[0]
            a_values = np.linspace(best[0] - da, best[0] + da, 21)
            b_values = np.linspace(best[1] - db, best[1] + db, 21)
        fits.append(EdgeFit(name, *map(float, best), complexity=table[name].complexity))
    fit_function.last = fits
    top = max(f.r2 for f in fits)
    eligible = [f for f in fits if f.r2 >= top - tolerance]
    return min(eligible, key=lambda f: (f.complexity, -f.r2))


def _layer_candidates(candidates, count):
    """`candidates` as one list (or None) per layer."""
    if candidates is None or isinstance(candidates, str):
        return [candidates and [candidates]] * count
    candidates = list(candidates)
    if candidates and all(c is None or isinstance(c, (list, tuple)) for c in candidates):
        if len(candidates) != count:
            raise ValueError(
                f"candidates has {len(candidates)} per-layer lists for {count} layers. "
                f"Received: candidates={candidates!r}"
            )
        return candidates
    return [candidates] * count


def auto_symbolic(model, x, candidates=None, tolerance=1e-3, prune_below=1e-3, overrides=None):
    """Fits a candidate formula to every edge of a separable model.

    Args:
        model: an `RPNLayer`, `RPN` model or `Sequential` of separable layers
            (`KANDense`, B-spline/RBF/polynomial heads with linear fusions).
        x: samples of the model input, `(N, m)`.
        candidates: names from `keras_rpn.symbolic.NAMES` for every edge (default:
            all), or one list (or `None`) per layer, e.g. `[["x"], ["x^2"]]`.
        tolerance: see `fit_function`.
        prune_below: edges whose score (see `keras_rpn.prune`), relative to the
            layer's largest, is below this become constants.
        overrides: `{(layer, i, j): name or names}`: the candidates of edge
            `j -> i` of layer number `layer` (e.g. `{(0, 0, 0): "gaussian"}`).

    Returns:
        A list (one per layer) of `(layer, fits, offset)`: `fits[i][j]` the
        `EdgeFit` of edge `j -> i` and `offset` the layer's constant per output.
    """
    from keras_rpn import interpret
    from keras_rpn.pruning import edge_scores

    layers, inputs, scores = edge_scores(model, x)
    per_layer = _layer_candidates(candidates, len(layers))
    overrides = dict(overrides or {})
    for key in overrides:
        if not (isinstance(key, tuple) and len(key) == 3 and 0 <= key[0] < len(layers)):
            raise ValueError(
                f"overrides keys are (layer, output, input) with layer < {len(layers)}. "
                f"Received: {key!r}"
            )
    result = []
    for index, (layer, h, score) in enumerate(zip(layers, inputs, scores, strict=True)):
        terms, offset = interpret.contributions(layer, h)
        n, m = score.shape
        relative = score / max(score.max(), 1e-30)
        fits = []
        for i in range(n):
            row = []
            for j in range(m):
                names = overrides.get((index, i, j), per_layer[index])
                if isinstance(names, str):
                    names = [names]
                if relative[i, j] < prune_below:
                    row.append(EdgeFit("0", 0.0, 0.0, 0.0, float(terms[:, j, i].mean()), 1.0, 0))
                else:
                    row.append(fit_function(h[:, j], terms[:, j, i], names, tolerance))
            fits.append(row)
        result.append((layer, fits, np.asarray(offset, dtype="float64")))
    return result


def activations_of(layer):
    """The activations a separable layer applies after summing its edges, in order."""
    heads = getattr(layer, "heads", [layer])
    activations = [heads[0].activation] if len(heads) == 1 else []
    if hasattr(layer, "heads"):
        activations.append(layer.activation)
    return activations


def formula(model, x, input_names=None, candidates=None, tolerance=1e-3, prune_below=1e-3,
            overrides=None):  # fmt: skip
    """The model's formula from fitted edge functions, as sympy expressions.

    Arguments as `auto_symbolic`. To fine-tune the fitted edges before reading
    the formula, `lock` them instead.

    Returns:
        `(exprs, fits)`: one sympy expression per output, and the per-layer fits of
        `auto_symbolic`.
    """
    fitted = auto_symbolic(model, x, candidates, tolerance, prune_below, overrides)
    exprs = make_symbols(np.asarray(x).shape[1], input_names)
    for layer, fits, offset in fitted:
        outputs = []
        for i, row in enumerate(fits):
            e = float(offset[i]) + sum(fit.expression(exprs[j]) for j, fit in enumerate(row))
            for activation in activations_of(layer):
                e = sympy_activation(activation, e)
            outputs.append(e)
        exprs = outputs
    return exprs, fitted


def simplify(expr, precision=4, drop_below=1e-3):
    """A readable form of a fitted formula: polynomials multiplied out, floats below
    `drop_below` in absolute value set to 0, the others rounded to `precision`
    significant digits (`exp(a + b)` is not split).
    """
    sp = import_sympy()
    from keras_rpn.symbolic.export import round_floats

    expr = sp.expand(sp.sympify(expr), power_exp=False, power_base=False, log=False)
    small = {f: sp.Integer(0) for f in expr.atoms(sp.Float) if abs(float(f)) < drop_below}
    expr = sp.expand(expr.xreplace(small), power_exp=False, power_base=False, log=False)
    return round_floats(expr, precision)
