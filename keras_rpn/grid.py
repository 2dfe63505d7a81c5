"""Grid adaptation for B-spline and RBF heads: refit, extend, monitor.

A spline or RBF head only sees its inputs through a grid: B-spline bases are zero
outside `[g_0, g_{t+2d}]` and RBF centres cover `base_range`. When the inputs of a
layer drift out of that range (the hidden layers of a deep KAN do), the head
cannot represent anything there. Expansions built with `adaptive_grid=True` (the
default of `keras_rpn.layers.KANDense`) keep one grid per input feature as saved
state, and this module refits it:

* `update_grid(obj, x)`: moves every feature's grid to the range of the data
  (with a margin) and re-solves the coefficients by least squares so that every
  learned univariate function keeps its values on the samples;
* `extend_grid(obj, grid_size)`: a copy with more grid intervals computing the
  same function (a finer B-spline space contains the coarser one when the new
  size is a multiple of the old);
* `out_of_range(obj, x)`: the fraction of every layer's inputs outside its grid.

`obj` may be an `RPNHead`, an `RPNLayer` (x is then its input) or any Keras model
holding them (x is the model's input; the samples are propagated layer by
layer). `keras_rpn.callbacks.GridUpdate` and `GridMonitor` run these during `fit`.
"""

import copy

import keras
import numpy as np

from keras_rpn import expansions
from keras_rpn import validation
from keras_rpn.interpret.functions import reconciled_matrices
from keras_rpn.layers.rpn_head import RPNHead
from keras_rpn.layers.rpn_layer import RPNLayer
from keras_rpn.registry import serialize_component

__all__ = ["extend_grid", "fit_bounds", "grid_owners", "out_of_range", "update_grid"]


def _numpy(x):
    return np.asarray(keras.ops.convert_to_numpy(x))


def _grid_heads(owner):
    heads = owner.heads if isinstance(owner, RPNLayer) else [owner]
    return [h for h in heads if getattr(h.expansion, "has_grid", False)]


def grid_owners(obj):
    """The `RPNLayer`s and stand-alone `RPNHead`s under `obj` with a grid head."""
    if isinstance(obj, (RPNHead, RPNLayer)):
        return [obj] if _grid_heads(obj) else []
    if not isinstance(obj, keras.layers.Layer):
        raise TypeError(
            f"Expected an RPNHead, an RPNLayer or a Keras model. Received: {type(obj).__name__}"
        )
    layers = list(obj._flatten_layers(include_self=False, recursive=True))
    in_layers = {id(h) for layer in layers if isinstance(layer, RPNLayer) for h in layer.heads}
    return [
        layer
        for layer in layers
        if isinstance(layer, (RPNHead, RPNLayer))
        and id(layer) not in in_layers
        and _grid_heads(layer)
    ]


def fit_bounds(z, percentile=0.0, margin=0.05):
    """Per-feature `(low, high)` covering the data `z` (`(N, m)`).

    `low_j, high_j` are the `percentile` and `100 - percentile` percentiles of
    `z[:, j]`, widened by `margin` times their distance on each side. A constant
    feature gets a grid of width 1 around its value.
    """
    if not 0.0 <= percentile < 50.0:
        raise ValueError(f"`percentile` must be in [0, 50). Received: percentile={percentile}")
    if margin < 0:
        raise ValueError(f"`margin` must be non-negative. Received: margin={margin}")
    z = np.asarray(z, dtype="float64")
    if not np.all(np.isfinite(z)):
        raise ValueError("The samples given to refit a grid hold NaN or inf values.")
    low = np.percentile(z, percentile, axis=0)
    high = np.percentile(z, 100.0 - percentile, axis=0)
    span = high - low
    flat = span < 1e-6
    low, high = (
        np.where(flat, low - 0.5, low - margin * span),
        np.where(flat, high + 0.5, high + margin * span),
    )
    return np.stack([low, high], axis=-1)


def _expansion_input(expansion, x):
    """`x` after the expansion's preprocessing, as float64 numpy."""
    if expansion.postprocessing:
        raise ValueError(
            f"{type(expansion).__name__} has postprocessing layers, which mix its columns: "
            "its grid cannot be refitted feature by feature."
        )
    z = keras.ops.convert_to_tensor(np.asarray(x, dtype="float32"))
    for layer in expansion.preprocessing:
        z = layer(z, training=False)
    return _numpy(z).astype("float64")


def _bases(expansion, z):
    """`(N, m, K)` bases of the grid expansion at `z`, per feature."""
    out = _numpy(expansion.expand(keras.ops.convert_to_tensor(z.astype("float32"))))
    return out.astype("float64")[:, expansion.separable_columns(z.shape[1])]


def _matrices(head):
    """`(C, n, m, K)` coefficients of every channel, per feature."""
    columns = head.expansion.separable_columns(head.expansion.input_width)
    return reconciled_matrices(head)[:, :, columns]


def _write_matrices(head, matrices):
    c, n, m = matrices.shape[:3]
    full = np.zeros((c, n, head.expansion.output_dim(m)))
    full[:, :, head.expansion.separable_columns(m)] = matrices
    try:
        kernel = head.reconciliation.kernel_from_matrices(full)
    except NotImplementedError:
        raise ValueError(
            f"Cannot write refitted coefficients into {head.name}: its reconciliation "
            f"{type(head.reconciliation).__name__} does not hold the matrix itself. Use "
            "reconciliation='identity' (the KAN default) for heads whose grid is refitted."
        ) from None
    head.kernel.assign(np.asarray(kernel, dtype=head.kernel.dtype))


def _refit(head, z, old_values, new_expansion=None):
    """Least-squares coefficients on `new_expansion`'s bases matching `old_values`.

    `old_values` is `(N, m, C, n)`: every channel's univariate functions at `z`.
    Returns the `(C, n, m, K')` coefficients.
    """
    expansion = new_expansion or head.expansion
    bases = _bases(expansion, z)
    n_samples, m, k = bases.shape
    c, n = old_values.shape[2:]
    out = np.zeros((c, n, m, k))
    for j in range(m):
        target = old_values[:, j].reshape(n_samples, c * n)
        solution = np.linalg.lstsq(bases[:, j], target, rcond=None)[0]  # (K, C n)
        out[:, :, j, :] = solution.T.reshape(c, n, k)
    return out


def _update_head(head, x, percentile, margin):
    expansion = head.expansion
    z = _expansion_input(expansion, x)
    if head.kernel is None:
        expansion.set_grid(fit_bounds(z, percentile, margin))
        return
    old = np.einsum("sjk,cnjk->sjcn", _bases(expansion, z), _matrices(head))
    expansion.set_grid(fit_bounds(z, percentile, margin))
    _write_matrices(head, _refit(head, z, old))


def _record_inputs(model, x, owners):
    """The input every owner receives when `model` runs on `x` (in call order)."""
    records = {}
    for owner in owners:
        original = owner.call

        def recording(inputs, *args, _owner=owner, _call=original, **kwargs):
            records[id(_owner)] = _numpy(inputs)
            return _call(inputs, *args, **kwargs)

        object.__setattr__(owner, "call", recording)
    try:
        model(keras.ops.convert_to_tensor(np.asarray(x, dtype=model.compute_dtype)), training=False)
    finally:
        for owner in owners:
            owner.__dict__.pop("call", None)
    return records


def _is_owner(obj):
    return isinstance(obj, (RPNHead, RPNLayer))


def update_grid(obj, x, percentile=0.0, margin=0.05):
    """Refits the grids of `obj`'s spline/RBF heads to the data `x`, in place.

    Every feature's grid is set to the range of its inputs (see `fit_bounds`) and
    the coefficients are re-solved by least squares, per feature, so that every
    learned univariate function keeps its values on the samples as far as the new
    grid's spline space holds them (exactly when it contains the old function,
    e.g. cubics on B-splines of degree 3; otherwise the least-squares closest
    function, as pykan does). In a model, the
    layers are refitted in call order, each on the inputs the (already refitted)
    layers before it give it.

    Args:
        obj: an `RPNHead`, an `RPNLayer` (then `x` is its input) or a Keras model
            holding them (then `x` is the model's input).
        x: samples, `(N, m)`; a few hundred to a few thousand rows.
        percentile: the grid covers the `percentile`..`100 - percentile` range
            of each feature (default 0: min to max).
        margin: extra room on each side, as a fraction of that range (default 0.05).

    Returns:
        `obj`.

    Raises:
        ValueError: when a grid head was built without `adaptive_grid=True`, or its
            reconciliation cannot take refitted coefficients.
    """
    if _is_owner(obj):
        owners = grid_owners(obj)
        for owner in owners:
            for head in _grid_heads(owner):
                _update_head(head, x, percentile, margin)
        return obj
    owners = grid_owners(obj)
    by_id = {id(o): o for o in owners}
    for key in list(_record_inputs(obj, x, owners)):
        inputs = _record_inputs(obj, x, [by_id[key]])[key]
        for head in _grid_heads(by_id[key]):
            _update_head(head, inputs.reshape(-1, inputs.shape[-1]), percentile, margin)
    return obj


def _fraction_outside(owner, inputs):
    fractions = []
    for head in _grid_heads(owner):
        z = _expansion_input(head.expansion, inputs.reshape(-1, inputs.shape[-1]))
        bounds = head.expansion.grid_bounds()
        outside = (z < bounds[:, 0]) | (z > bounds[:, 1])
        fractions.append(outside.mean())
    return float(np.mean(fractions))


def out_of_range(obj, x):
    """The fraction of every grid layer's inputs that fall outside its grid.

    Args:
        obj: an `RPNHead`, an `RPNLayer` (then `x` is its input) or a Keras model
            holding them (then `x` is the model's input).
        x: samples, `(N, m)`.

    Returns:
        A dict `{layer name: fraction}` over the entries `x[s, j]` of each layer's
        input (averaged over its grid heads), in call order.
    """
    if _is_owner(obj):
        return {o.name: _fraction_outside(o, np.asarray(x)) for o in grid_owners(obj)}
    owners = grid_owners(obj)
    records = _record_inputs(obj, x, owners)
    by_id = {id(o): o for o in owners}
    return {by_id[key].name: _fraction_outside(by_id[key], value) for key, value in records.items()}


def _resize_expansions(value, grid_size, found):
    """`value` (a config) with every grid expansion under an `expansion` key resized."""
    if isinstance(value, list):
        return [_resize_expansions(v, grid_size, found) for v in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for key, item in value.items():
        if key == "expansion" and item is not None:
            expansion = expansions.get(copy.deepcopy(item))
            if expansion.has_grid:
                found.append(expansion)
                item = serialize_component(expansion.resized(grid_size))
        out[key] = _resize_expansions(item, grid_size, found)
    return out


def _resized_config(obj, grid_size):
    """`obj`'s config with `grid_size` grid intervals.

    A class that sets its grid size with one argument names it in
    `grid_size_argument` (`KANDense`: `grid_size`, the `KAN` preset: `t`); otherwise
    every grid expansion in the config is resized (`GridExpansion.resized`).
    """
    config = obj.get_config()
    key = getattr(obj, "grid_size_argument", None)
    if key is not None:
        return {**config, key: grid_size}
    found = []
    config = _resize_expansions(config, grid_size, found)
    if not found:
        raise ValueError(
            f"{obj.name} has no expansion with a grid (B-spline, RBF) in its config: "
            "extend_grid has nothing to extend."
        )
    return config


def _input_width(layer):
    spec = layer.input_spec
    if spec is None or not spec.axes:
        raise ValueError(f"{layer.name} is not built: call it on data first.")
    return int(spec.axes[-1])


def extend_grid(obj, grid_size, num=None):
    """A copy of `obj` with `grid_size` grid intervals, computing the same function.

    Every grid head's coefficients are re-solved by least squares on `num` points
    per input spread over the input's grid (default `20 K`, `K` the bases per
    input); for B-splines the finer space contains the coarser one when
    `grid_size` is a multiple of the old size, and the function is then kept to
    float32 rounding (RBFs are approximated). That holds on the grid: outside it,
    where the old boundary bases still reach, the functions may differ (refit the
    grid to the data first with `update_grid`). Every other weight (base branch,
    bias, grid bounds, other heads) is copied. pykan calls this grid refinement.

    Args:
        obj: a built `RPNHead`, `RPNLayer` (such as `KANDense`), RPN model (such
            as `keras_rpn.models.KAN`), or `Sequential` of such layers.
        grid_size: the new number of grid intervals (B-spline `t`, RBF
            `num_interval`), a positive integer.
        num: points per input for the fit.

    Returns:
        The new head, layer or model (built; compile it again before training).
    """
    grid_size = validation.positive_int("grid_size", grid_size)
    if _is_owner(obj):
        new = type(obj).from_config(_resized_config(obj, grid_size))
        new.build((None, _input_width(obj)))
    elif isinstance(obj, keras.Sequential):
        rebuilt = [
            type(layer).from_config(
                _resized_config(layer, grid_size) if grid_owners(layer) else layer.get_config()
            )
            for layer in obj.layers
        ]
        width = obj.inputs[0].shape[1:]
        new = keras.Sequential([keras.Input(width)] + rebuilt, name=obj.name)
    elif isinstance(obj, keras.layers.Layer):
        new = type(obj).from_config(_resized_config(obj, grid_size))
        if not new.built:
            new.build(obj.inputs[0].shape if getattr(obj, "inputs", None) else None)
    else:
        raise TypeError(
            f"Expected an RPNHead, an RPNLayer or a Keras model. Received: {type(obj).__name__}"
        )
    _copy_extended(obj, new, num)
    return new


def _copy_extended(old, new, num):
    """Copies every weight of `old` into `new` and refits the grid heads' kernels."""
    pairs = [
        (old_head, new_head)
        for old_owner, new_owner in zip(grid_owners(old), grid_owners(new), strict=True)
        for old_head, new_head in zip(_grid_heads(old_owner), _grid_heads(new_owner), strict=True)
        if old_head.kernel is not None
    ]
    refitted = {id(new_head.kernel) for _, new_head in pairs}
    for source, target in zip(old.weights, new.weights, strict=True):
        if id(target) not in refitted:
            target.assign(source)
    for old_head, new_head in pairs:
        bounds = old_head.expansion.grid_bounds()
        count = num or 20 * new_head.expansion.output_dim(1)
        z = np.linspace(bounds[:, 0], bounds[:, 1], count)  # (num, m)
        values = np.einsum("sjk,cnjk->sjcn", _bases(old_head.expansion, z), _matrices(old_head))
        _write_matrices(new_head, _refit(old_head, z, values, new_expansion=new_head.expansion))
