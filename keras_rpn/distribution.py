"""Model-parallel layouts of keras_rpn weights for `keras.distribution`.

keras_rpn trains on several devices through Keras' own engines only: on JAX with
`keras.distribution.DataParallel` or `keras.distribution.ModelParallel`, on
TensorFlow with a `tf.distribute` strategy, on PyTorch with
`torch.nn.parallel.DistributedDataParallel` (see `docs/distribution.md`). This module
supplies what `ModelParallel` needs and cannot guess: a `keras.distribution.LayoutMap`
that says which keras_rpn weights are split along the mesh's model axis.

What is split (`k` is the size of the model axis):

* head `kernel`, shape `(C, l)`. With the identity reconciliation,
  `psi(w_c) = reshape(w_c, (n, D))` is row-major, so `k` contiguous blocks of the flat
  row are `k` blocks of `n / k` output rows: axis 1 is split when `k` divides `n`
  (likewise for the masking reconciliation, whose `(n, D)` mask is split by rows).
  (Reconciliations declare this as `kernel_layout = "row_major"`.)
  Structured reconciliations (low-rank `[A | B]`, Kronecker factors, ...) store
  several factors in one flat row; contiguous blocks of it cut across the factors, so
  every device would gather the whole row anyway. Their kernels are small by design
  (`l` much smaller than `n D`) and are replicated; when `k` divides the number of
  channels `C` they are split along the channel axis 0 instead (channels are
  independent until the channel fusion);
* head `bias`, shape `(n,)`: split when `k` divides `n`;
* remainder weights (linear remainder `kernel` `(m, n)`, `bias` `(n,)`): split along
  their output (last) axis when `k` divides `n`;
* fusion weights along the axis the fusion names (`Fusion.model_parallel_axis`: the
  parameterized concatenation's `kernel` `(K n, units)` along axis 1) when `k`
  divides it;
* everything else (fusion mixing weights, constants of expansions and
  reconciliations, layers that are not keras_rpn's): replicated.

Any layout here is numerically exact (XLA inserts the collectives); the choices only
decide how much memory and communication a step costs.
"""

import re

import keras

__all__ = ["layout_map", "variable_layouts"]

# Default names keras_rpn gives its weights: RPNLayer names its heads `head_<i>`, a
# standalone head is `rpn_head[_<uid>]`; a head's components are always named
# `expansion`, `reconciliation`, `remainder` and `channel_fusion`, a layer's fusion
# `head_fusion`.
_HEAD = r"(?:.*/)?(?:head_\d+|rpn_head(?:_\d+)?)"
_COUNTER = r"(?:_\d+)?"


def _generic_rules(axis):
    return {
        _HEAD + "/kernel": (None, axis),
        _HEAD + "/bias": (axis,),
        _HEAD + "/remainder/kernel": (None, axis),
        _HEAD + "/remainder/bias": (axis,),
    }


def layout_map(device_mesh, model_axis="model", model=None):
    """A `keras.distribution.LayoutMap` splitting keras_rpn weights on `model_axis`.

    Pass it to `keras.distribution.ModelParallel(layout_map=..., batch_dim_name=...)`
    and create the model inside that distribution (`set_distribution` or `scope()`):
    Keras lays a variable out when it is created.

    Two modes:

    * `model=None`: regular expressions on keras_rpn's default weight names (heads
      `head_<i>` inside an `RPNLayer` or `RPN`, standalone heads `rpn_head*`, and
      their `remainder`). They split head kernels on axis 1, and biases and remainder
      kernels on their output axis; fusion weights (whose shape depends on the fusion)
      are replicated. They assume that the model-axis size `k`
      divides every output width `n` and every head kernel length `l` (JAX raises an
      `IndivisibleError` at variable creation otherwise). A name cannot tell a
      structured reconciliation from the identity: low-rank kernels are split on
      axis 1 too (exact, but XLA gathers the row each step). Heads or components
      with custom names are replicated.
    * `model=` a built keras_rpn head, layer or model, or any Keras model containing
      them: one entry per weight of that model, chosen from its shapes and
      reconciliations as described in the module docstring (identity kernels split
      by output rows when `k` divides `n`, structured ones replicated or split by
      channel, nothing split that does not divide). The entries match the same
      weights of another instance with the same structure and names: auto-numbered
      component names (`linear_remainder_7`) and the counter of the outermost name
      (`rpn_1`) may differ. Build the instance to train inside the distribution,
      e.g. `RPN(dims, **kwargs)` again or `RPN.from_config(template.get_config())`.

    Args:
        device_mesh: a `keras.distribution.DeviceMesh`.
        model_axis: name of the mesh axis the weights are split on (default
            `"model"`).
        model: optional built template, see above.

    Returns:
        A `keras.distribution.LayoutMap`; add entries for other layers as usual.

    Example:
    ```python
    mesh = keras.distribution.DeviceMesh((2, 2), ["batch", "model"])
    layouts = keras_rpn.distribution.layout_map(mesh)
    keras.distribution.set_distribution(
        keras.distribution.ModelParallel(layout_map=layouts, batch_dim_name="batch"))
    model = keras_rpn.models.RPN([64, 32, 10], remainder="linear")
    ```
    """
    axis_names = list(device_mesh.axis_names)
    if model_axis not in axis_names:
        raise ValueError(
            f"`model_axis` must be one of the mesh's axis names {axis_names}. "
            f"Received: model_axis={model_axis!r}"
        )
    result = keras.distribution.LayoutMap(device_mesh)
    if model is None:
        for key, axes in _generic_rules(model_axis).items():
            result[key] = axes
        return result
    size = int(device_mesh.shape[axis_names.index(model_axis)])
    entries = _model_entries(model, model_axis, size)
    groups = {}
    for path, (pattern, axes) in entries.items():
        groups.setdefault(pattern, {})[path] = axes
    for pattern, layouts in groups.items():
        if len(set(layouts.values())) == 1:
            result[pattern] = next(iter(layouts.values()))
        else:  # Weights whose names differ by a counter only, laid out differently.
            for path, axes in layouts.items():
                result[re.escape(path)] = axes
    return result


def variable_layouts(model, layouts):
    """The axes `layouts` gives each weight of `model`: `{path: axes}`.

    A weight no entry matches is replicated (`(None,) * ndim`), as `ModelParallel`
    does. Use it to check a layout map against a model before training.
    """
    result = {}
    for variable in model.weights:
        layout = layouts[variable.path]
        result[variable.path] = (
            tuple(layout.axes) if layout is not None else (None,) * len(variable.shape)
        )
    return result


def _divides(size, n):
    return n is not None and int(n) % size == 0


def _model_entries(model, axis, size):
    """`{path: (key pattern, axes)}` for the keras_rpn weights of `model`."""
    from keras_rpn.layers import RPNHead
    from keras_rpn.layers import RPNLayer

    if not getattr(model, "built", False):
        raise ValueError(
            "`model` must be built (its weights created) for "
            "`keras_rpn.distribution.layout_map(..., model=model)`."
        )
    entries = {}

    def add(owner, variable, axes, component=None):
        """Keys `variable` by its owner's path, loosening auto-numbered names.

        Replicated weights get entries too, so that a loose pattern never captures a
        sibling with another layout: clashing patterns turn into exact paths.
        """
        first, _, rest = owner.path.partition("/")
        pattern = re.escape(re.sub(r"_\d+$", "", first)) + _COUNTER
        if rest:
            pattern += "/" + re.escape(rest)
        if component is not None:
            pattern += "/" + re.escape(re.sub(r"_\d+$", "", component.name)) + _COUNTER
            pattern += re.escape(variable.path[len(component.path) :])
        else:
            pattern += re.escape(variable.path[len(owner.path) :])
        entries[variable.path] = (pattern, tuple(axes))

    def fusion_weights(owner, fusion):
        for variable in fusion.weights:
            axes = [None] * len(variable.shape)
            split = fusion.model_parallel_axis(variable)
            if split is not None and _divides(size, variable.shape[split]):
                axes[split] = axis
            add(owner, variable, axes, component=fusion)

    for layer in model._flatten_layers(include_self=True, recursive=True):
        if isinstance(layer, RPNLayer):
            fusion_weights(layer, layer.head_fusion)
            continue
        if not isinstance(layer, RPNHead):
            continue
        n = layer.units
        reconciliation = layer.reconciliation
        row_major = reconciliation.kernel_layout == "row_major"
        if layer.kernel is not None:
            axes = [None, None]
            if row_major and _divides(size, n):
                axes[1] = axis
            elif _divides(size, layer.channels):
                axes[0] = axis
            add(layer, layer.kernel, axes)
        for variable in reconciliation.weights:  # e.g. a masking reconciliation's mask
            axes = [None] * len(variable.shape)
            shape = tuple(variable.shape)
            if row_major and shape == (n, reconciliation.input_dim) and _divides(size, n):
                axes[0] = axis
            add(layer, variable, axes, component=reconciliation)
        if layer.bias is not None:
            add(layer, layer.bias, [axis if _divides(size, n) else None])
        for variable in layer.remainder.weights:
            axes = [None] * len(variable.shape)
            if axes and variable.shape[-1] == n and _divides(size, n):
                axes[-1] = axis
            add(layer, variable, axes, component=layer.remainder)
        fusion_weights(layer, layer.channel_fusion)
    return entries
