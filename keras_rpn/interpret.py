"""The learned univariate functions of separable RPN heads, and feature importance.

When the expansion acts on every input feature separately (B-splines, Chebyshev and
the other recurrence polynomials, Gaussian and inverse quadratic RBFs, Fourier,
trigonometric and hyperbolic functions, the naive probabilistic expansions, the
identity), every column of `kappa(x)` depends on one feature only, and a head with
a linear channel fusion is a sum of univariate functions:

```
head(x)_i = sum_j f_ij(x_j) + b_i          (before the head's activation)
f_ij(t)   = F_channel( [ sum_{k in cols(j)} psi(w_c)[i, k] kappa_k(t) ]_c ) + pi_ij(t)
```

where `cols(j)` are the expansion columns of feature `j` (feature-major `(m, K)`
blocks for B-splines, recurrences and RBFs: column `j K + k`; block-major for
Fourier, trigonometric and probabilistic expansions: column `k m + j`; an extended
expansion concatenates its children's), and `pi_ij(t)` is the remainder's share
when it is additive (a linear remainder without activation: `W_r[j, i] t`; an
identity remainder: `t` if `i = j`). This is how a KAN is read: each `f_ij` is the
curve on the edge from input `j` to output `i`.

* `feature_columns(expansion, m)`: the `(m, K)` column indices of each feature.
* `contributions(head, x)`: `f_ij(x_j)` for every sample, `(N, m, n)`, and `b`.
* `univariate_functions(head, grid)`: `f_ij` on a grid, `(G, m, n)`.
* `feature_importance(head, x)`: how much each input moves the outputs.
* `plot_functions(head, output_dir)`: one PNG per output, a panel per input
  (needs matplotlib: `pip install "keras-rpn[plot]"`).

`head` may be an `RPNHead`, an `RPNLayer` whose head fusion is linear (mean, sum,
weighted sums, concatenation) or a one-layer `RPN`. Activations are not undone:
the functions are those before the head's (and layer's) activation, and before the
processing layers of a `ProcessedRPN`.
"""

import os

import keras
import numpy as np

from keras_rpn import expansions
from keras_rpn.layers.rpn_head import RPNHead
from keras_rpn.layers.rpn_layer import RPNLayer
from keras_rpn.models.rpn import RPN

__all__ = [
    "contributions",
    "feature_columns",
    "feature_importance",
    "plot_functions",
    "univariate_functions",
]

# Processing layers that act on every column separately (at inference).
_ELEMENTWISE_LAYERS = (keras.layers.Activation, keras.layers.Dropout)


def _identity_columns(m):
    return np.arange(m, dtype="int64")[:, None]


def feature_columns(expansion, m):
    """The expansion columns that depend on each input feature.

    Args:
        expansion: an `Expansion`.
        m: the input width.

    Returns:
        An int array of shape `(m, K)`: row `j` lists the `K` columns of
        `kappa(x)` that depend on `x_j` alone.

    Raises:
        ValueError: when the expansion mixes features (Taylor of degree > 1,
            combinatorial subsets of size > 1, nested expansions, a matrix linear
            expansion, normalisation layers in its processing) or is unknown.
    """
    name = type(expansion).__name__
    for layer in list(expansion.preprocessing) + list(expansion.postprocessing):
        if not isinstance(layer, _ELEMENTWISE_LAYERS):
            raise ValueError(
                f"{name} has a {type(layer).__name__} in its pre/postprocessing, which "
                "mixes the features: the head is not a sum of univariate functions."
            )
    if isinstance(expansion, expansions.ExtendedExpansion):
        blocks, offset = [], 0
        for child in expansion.composition_functions:
            blocks.append(feature_columns(child, m) + offset)
            offset += child.output_dim(m)
        return np.concatenate(blocks, axis=1)
    if isinstance(expansion, expansions.BlockExpansion):
        k = expansion.output_dim(m) // m
        return np.arange(k, dtype="int64")[None, :] * m + np.arange(m)[:, None]
    feature_major = (
        expansions.BSplineExpansion,
        expansions.RecurrenceExpansion,
        expansions.RBFExpansion,
    )
    if isinstance(expansion, feature_major) or (
        isinstance(expansion, expansions.WaveletExpansion) and expansion.d == 1
    ):
        k = expansion.output_dim(m) // m
        return np.arange(m, dtype="int64")[:, None] * k + np.arange(k)[None, :]
    if isinstance(expansion, (expansions.IdentityExpansion, expansions.ReciprocalExpansion)):
        return _identity_columns(m)
    if isinstance(expansion, expansions.LinearExpansion) and (
        expansion.pre_C is None and expansion.post_C is None
    ):
        return _identity_columns(m)
    if isinstance(expansion, expansions.TaylorExpansion) and expansion.d == 1:
        return _identity_columns(m)
    if (
        isinstance(
            expansion,
            (expansions.CombinatorialExpansion, expansions.CombinatorialNormalExpansion),
        )
        and expansion.d == 1
    ):
        return _identity_columns(m)
    raise ValueError(
        f"{name} is not separable per feature (or not known to be): each expansion "
        "column must depend on one input only. Separable expansions: B-spline, the "
        "recurrence polynomials (Chebyshev, Legendre, ...), RBFs, Fourier, "
        "trigonometric, hyperbolic, probabilistic, identity, Taylor of degree 1, "
        "wavelets with d=1, and extended expansions of these."
    )


def _numpy(x):
    return np.asarray(keras.ops.convert_to_numpy(x))


def _check_linear_fusion(fusion, num_inputs, width, what):
    """Raises unless `fusion` is linear (so it commutes with the sum over features)."""
    rng = np.random.default_rng(0)
    a = rng.normal(size=(3, num_inputs, width)).astype("float32")
    b = rng.normal(size=(3, num_inputs, width)).astype("float32")
    fa, fb = _numpy(fusion.call(a)), _numpy(fusion.call(b))
    fab = _numpy(fusion.call(a + 2.0 * b))
    if not np.allclose(fab, fa + 2.0 * fb, rtol=1e-4, atol=1e-4):
        raise ValueError(
            f"The {what} fusion {type(fusion).__name__} is not linear, so the output is "
            "not a sum of per-feature functions. Use a linear fusion (mean, sum, "
            "weighted sums, concatenation) or one channel / head."
        )


def _fuse(fusion, stacked, what):
    """Applies `fusion` to `(..., K, n)` contributions (checked to be linear)."""
    _check_linear_fusion(fusion, stacked.shape[-2], stacked.shape[-1], what)
    lead = stacked.shape[:-2]
    flat = stacked.reshape((-1,) + stacked.shape[-2:]).astype("float32")
    out = _numpy(fusion.call(flat))
    return out.reshape(lead + out.shape[-1:])


def _remainder_terms(remainder, x, n, include):
    """`(per-feature (N, m, n), offset (n,))` of an additive remainder."""
    from keras_rpn import remainders

    zeros = np.zeros(x.shape + (n,), dtype="float64")
    if remainder.is_zero:
        return zeros, np.zeros(n)
    linear_activation = remainder.activation is keras.activations.linear
    if not include:
        return zeros, np.zeros(n)
    if not linear_activation:
        raise ValueError(
            f"The remainder {type(remainder).__name__} has the activation "
            f"{keras.activations.serialize(remainder.activation)!r}, so it is not a sum of "
            "per-feature terms. Pass include_remainder=False to read the expansion part "
            "alone, or use a remainder without activation (e.g. KAN(..., "
            "remainder_activation=None))."
        )
    if isinstance(remainder, remainders.LinearRemainder):
        kernel = _numpy(remainder.kernel).astype("float64")  # (m, n)
        phi = _numpy(remainder.input_activation(keras.ops.convert_to_tensor(x))).astype("float64")
        terms = phi[:, :, None] * kernel[None, :, :]
        bias = np.zeros(n) if remainder.bias is None else _numpy(remainder.bias)
        return terms, bias.astype("float64")
    if isinstance(remainder, remainders.IdentityRemainder):
        terms = zeros.copy()
        idx = np.arange(x.shape[1])
        terms[:, idx, idx] = x
        return terms, np.zeros(n)
    if isinstance(remainder, remainders.ConstantRemainder):
        c = 1.0 if not hasattr(remainder, "c") else remainder.c
        return zeros, np.full(n, c)
    raise ValueError(
        f"Cannot split the remainder {type(remainder).__name__} per feature. Pass "
        "include_remainder=False to read the expansion part alone."
    )


def _head_contributions(head, x, include_remainder):
    if not head.built:
        raise ValueError(f"The head {head.name} is not built; call it on data first.")
    m = x.shape[1]
    cols = feature_columns(head.expansion, m)  # (m, K)
    kappa = _numpy(head.expansion(x.astype(head.compute_dtype), training=False))
    kappa = kappa.astype("float64")[:, cols]  # (N, m, K)
    kernel = head.kernel
    if kernel is None:
        kernel = keras.ops.zeros((head.channels, 0), dtype=head.compute_dtype)
    weights = _numpy(head.reconciliation.reconcile(kernel)).astype("float64")  # (C, n, D)
    weights = weights[:, :, cols]  # (C, n, m, K)
    per_channel = np.einsum("bjk,cnjk->bjcn", kappa, weights)  # (N, m, C, n)
    bias = np.zeros(head.units) if head.bias is None else _numpy(head.bias).astype("float64")
    bias = np.broadcast_to(bias, (head.channels, head.units))
    if head.channels == 1 and head.channel_fusion.identity_for_one_input:
        terms, offset = per_channel[:, :, 0, :], bias[0]
    else:
        terms = _fuse(head.channel_fusion, per_channel, "channel")
        offset = _fuse(head.channel_fusion, bias[None], "channel")[0]
    rem_terms, rem_offset = _remainder_terms(head.remainder, x, head.units, include_remainder)
    if rem_terms.shape[-1] != terms.shape[-1] and (rem_terms.any() or rem_offset.any()):
        raise ValueError("The remainder's width differs from the fused channels'.")
    if rem_terms.shape[-1] == terms.shape[-1]:
        terms = terms + rem_terms
        offset = offset + rem_offset
    return terms, offset


def _resolve(obj):
    if isinstance(obj, RPN):
        if len(obj.rpn_layers) != 1:
            raise ValueError(
                f"{obj.name} has {len(obj.rpn_layers)} layers: pass one of its layers "
                "(model.rpn_layers[k]) or heads; feed that layer its own inputs."
            )
        return obj.rpn_layers[0]
    if isinstance(obj, (RPNHead, RPNLayer)):
        return obj
    raise TypeError(
        f"Expected an RPNHead, an RPNLayer or a one-layer RPN. Received: {type(obj).__name__}"
    )


def contributions(head, x, include_remainder=True):
    """The per-feature terms `f_ij(x_j)` of a separable head, for every sample.

    Args:
        head: an `RPNHead`, an `RPNLayer` with a linear head fusion, or a one-layer
            `RPN`.
        x: inputs of shape `(N, m)`.
        include_remainder: whether to add an additive remainder's per-feature terms
            (a non-additive one, such as `silu(x W_r)`, raises unless `False`).

    Returns:
        `(terms, offset)`: `terms[s, j, i] = f_ij(x[s, j])`, shape `(N, m, n)`, and
        `offset[i]`, the bias, such that `terms.sum(1) + offset` is the output
        before the activation.
    """
    obj = _resolve(head)
    x = np.asarray(x, dtype="float64")
    if x.ndim != 2:
        raise ValueError(f"Expected inputs of shape (N, m). Received: {x.shape}")
    if not obj.built:
        obj.build((None, x.shape[1]))
    if isinstance(obj, RPNHead):
        return _head_contributions(obj, x, include_remainder)
    parts = [_head_contributions(h, x, include_remainder) for h in obj.heads]
    if len(parts) == 1 and obj.head_fusion.identity_for_one_input:
        return parts[0]
    terms = np.stack([t for t, _ in parts], axis=-2)  # (N, m, H, n)
    offsets = np.stack([o for _, o in parts], axis=0)[None]  # (1, H, n)
    return (
        _fuse(obj.head_fusion, terms, "head"),
        _fuse(obj.head_fusion, offsets, "head")[0],
    )


def _first_head(obj):
    return obj if isinstance(obj, RPNHead) else obj.heads[0]


def default_range(head):
    """The input range an expansion is designed for: its grid or centres, else (-1, 1)."""
    expansion = _first_head(_resolve(head)).expansion
    for child in getattr(expansion, "composition_functions", [expansion]):
        for attr in ("grid_range", "base_range"):
            if hasattr(child, attr):
                return tuple(float(v) for v in getattr(child, attr))
    return (-1.0, 1.0)


def univariate_functions(head, grid=None, num=200, include_remainder=True):
    """The learned functions `f_ij` evaluated on a grid.

    Args:
        head: an `RPNHead`, an `RPNLayer` with a linear head fusion, or a one-layer
            `RPN`.
        grid: `(G,)` values used for every input, or `(G, m)`, a column per input.
            Default: `num` points over the expansion's own range (the B-spline grid
            or the RBF centres; else `(-1, 1)`).
        num: number of grid points when `grid` is not given.
        include_remainder: see `contributions`.

    Returns:
        `(grid, values, offset)`: the `(G, m)` grid, `values[g, j, i] =
        f_ij(grid[g, j])` and the bias `offset` (`(n,)`).
    """
    obj = _resolve(head)
    m = _input_width(obj)
    if grid is None:
        low, high = default_range(obj)
        grid = np.linspace(low, high, num)
    grid = np.asarray(grid, dtype="float64")
    if grid.ndim == 1:
        grid = np.repeat(grid[:, None], m, axis=1)
    if grid.ndim != 2 or grid.shape[1] != m:
        raise ValueError(f"Expected a grid of shape (G,) or (G, {m}). Received: {grid.shape}")
    values, offset = contributions(obj, grid, include_remainder=include_remainder)
    return grid, values, offset


def _input_width(obj):
    head = _first_head(obj)
    if not head.built or head.input_spec is None or not head.input_spec.axes:
        raise ValueError(f"{head.name} is not built; call it on data first.")
    return int(head.input_spec.axes[-1])


def feature_importance(head, x, centered=True, include_remainder=True):
    """How much each input feature moves the outputs, over the data `x`.

    `importance_j = sum_i mean_s |f_ij(x[s, j]) - c_ij|`, with `c_ij` the mean of
    `f_ij(x[:, j])` over the data when `centered` (the default: a constant part of
    `f_ij` moves nothing; B-splines and RBFs can hold constants), else 0.

    Args:
        head: an `RPNHead`, an `RPNLayer` with a linear head fusion, or a one-layer
            `RPN`.
        x: inputs of shape `(N, m)`, typically the training data.
        centered: subtract each function's mean over the data (default `True`).
        include_remainder: see `contributions`.

    Returns:
        A float array of shape `(m,)`.
    """
    terms, _ = contributions(head, x, include_remainder=include_remainder)
    if centered:
        terms = terms - terms.mean(axis=0, keepdims=True)
    return np.abs(terms).mean(axis=0).sum(axis=-1)


def _matplotlib_figure():
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(
            "plot_functions needs matplotlib. Install it with "
            '`pip install "keras-rpn[plot]"` (or `pip install matplotlib`).'
        ) from None
    return Figure, FigureCanvasAgg


def plot_functions(
    head,
    output_dir,
    grid=None,
    x=None,
    features=None,
    outputs=None,
    feature_names=None,
    output_names=None,
    reference=None,
    include_remainder=True,
    prefix="functions",
    dpi=100,
):
    """Saves the learned functions `f_ij` as PNG files, one per output.

    Each file has one panel per input feature `j`, the curve `f_ij` over the grid
    and, when `x` is given, the data points `f_ij(x_j)` and the feature's importance
    in the title.

    Args:
        head: an `RPNHead`, an `RPNLayer` with a linear head fusion, or a one-layer
            `RPN`.
        output_dir: folder to write to (created if needed).
        grid: as in `univariate_functions`; default: the range of `x` per feature
            when given, else the expansion's range.
        x: optional data `(N, m)` to scatter and to rank the features.
        features: optional indices of the features to draw (default: all, at most
            the 16 most important when `x` is given).
        outputs: optional indices of the outputs to draw (default: all).
        feature_names, output_names: optional labels.
        reference: optional callable `reference(j, i, t)` giving a known curve to
            draw beside `f_ij` (for functions learned from a formula); it is shifted
            to the same mean over the grid, since constants move between the
            functions and the bias.
        include_remainder: see `contributions`.
        prefix: file name prefix (files are `<prefix>_output<i>.png`).
        dpi: resolution.

    Returns:
        The list of written paths.
    """
    Figure, FigureCanvasAgg = _matplotlib_figure()
    obj = _resolve(head)
    m = _input_width(obj)
    if grid is None and x is not None:
        x_arr = np.asarray(x, dtype="float64")
        lows, highs = x_arr.min(axis=0), x_arr.max(axis=0)
        grid = np.linspace(lows, highs, 200)
    grid, values, _ = univariate_functions(obj, grid, include_remainder=include_remainder)
    importance = None
    points = None
    if x is not None:
        x = np.asarray(x, dtype="float64")
        points, _ = contributions(obj, x, include_remainder=include_remainder)
        importance = np.abs(points - points.mean(0, keepdims=True)).mean(0)  # (m, n)
    if features is None:
        features = list(range(m))
        if importance is not None and m > 16:
            features = list(np.argsort(-importance.sum(-1))[:16])
    n = values.shape[-1]
    outputs = list(range(n)) if outputs is None else list(outputs)
    feature_names = feature_names or [f"x{j}" for j in range(m)]
    output_names = output_names or [f"y{i}" for i in range(n)]
    os.makedirs(output_dir, exist_ok=True)
    cols = min(4, len(features))
    rows = -(-len(features) // cols)
    paths = []
    for i in outputs:
        fig = Figure(figsize=(3.2 * cols, 2.6 * rows))
        FigureCanvasAgg(fig)
        for panel, j in enumerate(features):
            ax = fig.add_subplot(rows, cols, panel + 1)
            if points is not None:
                ax.scatter(x[:, j], points[:, j, i], s=4, alpha=0.3, color="tab:gray")
            ax.plot(grid[:, j], values[:, j, i], color="tab:blue", label="learned")
            if reference is not None:
                ref = np.asarray(reference(j, i, grid[:, j]), dtype="float64")
                ref = ref - ref.mean() + values[:, j, i].mean()
                ax.plot(grid[:, j], ref, "--", color="tab:orange", label="reference")
            title = f"{feature_names[j]} -> {output_names[i]}"
            if importance is not None:
                title += f"  (imp. {importance[j, i]:.3g})"
            ax.set_title(title, fontsize=9)
            ax.tick_params(labelsize=7)
            if panel == 0 and reference is not None:
                ax.legend(fontsize=7)
        fig.tight_layout()
        path = os.path.join(output_dir, f"{prefix}_output{i}.png")
        fig.savefig(path, dpi=dpi)
        paths.append(path)
    return paths
