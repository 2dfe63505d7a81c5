"""Per-feature terms of separable heads: `contributions`, `univariate_functions`,
`feature_importance` (see `keras_rpn.interpret`)."""

import keras
import numpy as np

from keras_rpn.layers.rpn_head import RPNHead
from keras_rpn.layers.rpn_layer import RPNLayer
from keras_rpn.models.rpn import RPN


def feature_columns(expansion, m):
    """The `(m, K)` expansion columns that depend on each input feature alone.

    The expansion's own capability, `Expansion.separable_columns(m)` (it raises a
    `ValueError` saying why when the expansion mixes features).
    """
    return expansion.separable_columns(m)


def _numpy(x):
    return np.asarray(keras.ops.convert_to_numpy(x))


def to_numpy(x):
    """A tensor as a float64 numpy array."""
    return np.asarray(keras.ops.convert_to_numpy(x), dtype="float64")


def reconciled_matrices(head):
    """`psi(w)` of every channel of a built head, as float64 numpy of shape `(C, n, D)`."""
    kernel = head.kernel
    if kernel is None:
        kernel = keras.ops.zeros((head.channels, 0), dtype=head.compute_dtype)
    return to_numpy(head.reconciliation.reconcile(kernel))


def _fuse(fusion, stacked, what):
    """Applies `fusion` to `(..., K, n)` contributions (it must be linear)."""
    if not fusion.is_linear:
        raise ValueError(
            f"The {what} fusion {type(fusion).__name__} is not linear, so the output is "
            "not a sum of per-feature functions. Use a linear fusion (mean, sum, "
            "weighted sums, concatenation) or one channel / head."
        )
    lead = stacked.shape[:-2]
    flat = stacked.reshape((-1,) + stacked.shape[-2:]).astype("float32")
    out = _numpy(fusion.call(flat))
    return out.reshape(lead + out.shape[-1:])


def _remainder_terms(remainder, x, n, include):
    """`(per-feature (N, m, n), offset (n,))` of an additive remainder."""
    if remainder.is_zero or not include:
        return np.zeros(x.shape + (n,), dtype="float64"), np.zeros(n)
    if remainder.activation is not keras.activations.linear:
        raise ValueError(
            f"The remainder {type(remainder).__name__} has the activation "
            f"{keras.activations.serialize(remainder.activation)!r}, so it is not a sum of "
            "per-feature terms. Pass include_remainder=False to read the expansion part "
            "alone, or use a remainder without activation (e.g. KAN(..., "
            "remainder_activation=None))."
        )
    split = remainder.additive_terms(x)
    if split is None:
        raise ValueError(
            f"Cannot split the remainder {type(remainder).__name__} per feature. Pass "
            "include_remainder=False to read the expansion part alone."
        )
    terms, offset = split
    return np.asarray(terms, dtype="float64"), np.asarray(offset, dtype="float64")


def _head_contributions(head, x, include_remainder):
    if not head.built:
        raise ValueError(f"The head {head.name} is not built; call it on data first.")
    m = x.shape[1]
    cols = head.expansion.separable_columns(m)  # (m, K)
    kappa = _numpy(head.expansion(x.astype(head.compute_dtype), training=False))
    kappa = kappa.astype("float64")[:, cols]  # (N, m, K)
    weights = reconciled_matrices(head)[:, :, cols]  # (C, n, m, K)
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
    """The input range an expansion is designed for (its `input_range`: a B-spline's
    grid, the RBF centres' range), else (-1, 1)."""
    expansion = _first_head(_resolve(head)).expansion
    return expansion.input_range or (-1.0, 1.0)


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
