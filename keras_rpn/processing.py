"""Processing steps around RPN functions: Keras layers given by layer, config or name."""

import keras

# Names accepted for processing steps, besides Keras activation names.
# "layer_norm" is tinyBIG's `F.layer_norm`: last axis, no affine parameters.
_NAMES = {
    "layer_norm": lambda dtype: keras.layers.LayerNormalization(
        epsilon=1e-5, center=False, scale=False, dtype=dtype
    ),
    "layer_normalization": lambda dtype: keras.layers.LayerNormalization(dtype=dtype),
    "batch_norm": lambda dtype: keras.layers.BatchNormalization(dtype=dtype),
    "batch_normalization": lambda dtype: keras.layers.BatchNormalization(dtype=dtype),
    "dropout": lambda dtype: keras.layers.Dropout(0.5, dtype=dtype),
}


def layer(argument, spec, dtype=None):
    """One Keras layer from a processing step: a layer, a layer config dict, a name
    (`"layer_norm"`, `"batch_norm"`, `"dropout"`, ... or a Keras activation name) or a
    callable activation. `argument` names the argument in error messages."""
    if isinstance(spec, keras.layers.Layer):
        return spec
    if isinstance(spec, dict):
        return keras.layers.deserialize(spec)
    if isinstance(spec, str):
        key = spec.strip().lower()
        if key in _NAMES:
            return _NAMES[key](dtype)
        try:
            activation = keras.activations.get(key)
        except ValueError:
            activation = None
        if activation is not None:
            return keras.layers.Activation(key, dtype=dtype)
    elif callable(spec):
        return keras.layers.Activation(spec, dtype=dtype)
    raise ValueError(
        f"Received an invalid value for `{argument}`: expected a processing step (a Keras "
        f"layer, a layer config dict, a Keras activation name or one of {sorted(_NAMES)}), "
        f"or a list of these. Received: {argument}={spec!r}"
    )


# Processing layers that act on every column separately (at inference).
_ELEMENTWISE = (keras.layers.Activation, keras.layers.Dropout)


def mixes_columns(layer):
    """Whether a processing layer may mix the columns of its input (a normalisation
    does; an activation or dropout does not)."""
    return not isinstance(layer, _ELEMENTWISE)


def layers(argument, specs, dtype=None):
    """A list of layers from `None`, one processing step or a list of them."""
    if specs is None:
        return []
    if not isinstance(specs, (list, tuple)):
        specs = [specs]
    return [layer(argument, spec, dtype) for spec in specs]


def build_step(step, shape, owner):
    """Builds processing layer `step` on `shape` (if not built) and returns its output
    shape, which must keep the width of the last axis. `owner` starts the error message
    (e.g. "Postprocessing layers")."""
    if not step.built:
        step.build(shape)
    out = tuple(step.compute_output_shape(shape))
    if out[-1] != shape[-1]:
        raise ValueError(
            f"{owner} must keep the width of the last axis ({shape[-1]}), but "
            f"{step.name} maps {shape} to {out}."
        )
    return out
