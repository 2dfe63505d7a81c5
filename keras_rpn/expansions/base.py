"""The expansion protocol: kappa maps R^m to R^D."""

import functools
import inspect

import keras
import numpy as np
from keras import ops

from keras_rpn import processing
from keras_rpn.registry import Registry

_LOW_PRECISION = ("float16", "bfloat16")


class Expansion(keras.layers.Layer):
    """Base class of data expansion functions `kappa: R^m -> R^D`.

    A subclass implements `output_dim(input_dim)` (tinyBIG's `D(m)`) and
    `expand(x)`, the formula itself, written with `keras.ops` for inputs of shape
    `(..., m)`. It may also implement `project(x, basis, training=None)`, the product
    `kappa(x) @ basis^T` computed without building the D-wide expansion, which
    factorised reconciliations use; the default builds it. An `expand` that needs the
    training flag (composite expansions) may declare a `training=None` argument.

    Subclasses whose formula overflows or loses too much in 16-bit floats set the
    class attribute `float32_compute = True`: `call` then computes in float32 and
    casts back to the input dtype, saturating values beyond the float16 range at
    its largest finite value.

    Every expansion takes optional `preprocessing` and `postprocessing` layers (for
    example LayerNormalization after a Taylor expansion, as tinyBIG's MNIST models
    do). `call(x, training)` runs `postprocessing(kappa(preprocessing(x)))`, passing
    `training` to each layer. Both must keep the width of the last axis (`m` before,
    `D` after). When any processing is present, `project` falls back to the
    materialised product `call(x) @ basis^T` automatically, whatever the subclass
    defines.

    Args:
        preprocessing: optional Keras layer, or list of layers, applied to the input
            before the expansion. A layer config dict, a Keras activation name or
            one of `"layer_norm"` (tinyBIG's: last axis, no affine parameters),
            `"layer_normalization"`, `"batch_norm"`, `"dropout"` (rate 0.5) is
            accepted in place of a layer.
        postprocessing: same, applied to the `D`-wide expansion.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    An expansion is a Keras layer, so it can also be used on its own:

    >>> kappa = keras_rpn.expansions.get("taylor", postprocessing="layer_norm")
    >>> kappa(np.array([[1.0, 2.0]])).shape
    (1, 6)
    """

    float32_compute = False
    #: True for the identity expansion `kappa(x) = x` (lets heads use a cheaper op,
    #: e.g. the grid head a convolution).
    is_identity = False

    #: Whether the expansion has a per-feature grid that `keras_rpn.grid` refits
    #: (see `keras_rpn.expansions.GridExpansion`).
    has_grid = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._expand_has_training_arg = "training" in inspect.signature(cls.expand).parameters
        if "project" in cls.__dict__:
            cls.project = _materialise_when_processed(cls.__dict__["project"])

    def __init__(self, preprocessing=None, postprocessing=None, **kwargs):
        super().__init__(**kwargs)
        self.preprocessing = processing.layers("preprocessing", preprocessing, self.dtype_policy)
        self.postprocessing = processing.layers("postprocessing", postprocessing, self.dtype_policy)

    @property
    def has_processing(self):
        """Whether pre- or postprocessing layers wrap the expansion."""
        return bool(self.preprocessing) or bool(self.postprocessing)

    @property
    def unshared_weights(self):
        """The weights that may differ between heads made from one config.

        Heads whose expansions hold such weights are computed one by one rather
        than in one batched contraction. All weights by default.
        """
        return self.weights

    def symbolic_columns(self, symbols):
        """The `D` columns of `kappa` as sympy expressions of the `m` input symbols.

        Expansions with a closed form implement it (the identity, Taylor, the
        recurrence polynomials); `keras_rpn.symbolic.export` reads it. Others raise
        `NotImplementedError`.
        """
        raise NotImplementedError(
            f"{type(self).__name__} has no closed-form symbolic columns."
        )

    def output_dim(self, input_dim):
        """The expansion width `D` for an input width `m`."""
        raise NotImplementedError

    def expand(self, x):
        """The expansion of `x` (shape `(..., m)`) to shape `(..., D)`."""
        raise NotImplementedError

    def project(self, x, basis, training=None):
        """`call(x) @ basis^T` for `basis` of shape `(R, D)`; returns `(..., R)`."""
        return ops.matmul(self.call(x, training=training), ops.transpose(basis))

    def build(self, input_shape):
        shape = tuple(input_shape)
        for layer in self.preprocessing:
            shape = _build_processing(self, "preprocessing", layer, shape)
        if shape[-1] is not None:
            shape = shape[:-1] + (self.output_dim(int(shape[-1])),)
            for layer in self.postprocessing:
                shape = _build_processing(self, "postprocessing", layer, shape)

    def call(self, inputs, training=None):
        out_dtype = keras.backend.standardize_dtype(inputs.dtype)
        x = inputs
        for layer in self.preprocessing:
            x = layer(x, training=training)
        dtype = keras.backend.standardize_dtype(x.dtype)
        low = self.float32_compute and dtype in _LOW_PRECISION
        if low:
            x = ops.cast(x, "float32")
        y = self.expand(x, training=training) if self._expand_has_training_arg else self.expand(x)
        if low:
            # Saturating cast: a float32 value beyond the 16-bit range (e.g. 1/x near
            # 0 for the reciprocal expansion) becomes the largest finite value.
            limit = float(np.finfo(dtype).max) if dtype == "float16" else None
            y = ops.cast(y if limit is None else ops.clip(y, -limit, limit), dtype)
        for layer in self.postprocessing:
            y = layer(y, training=training)
        if "float" in out_dtype and keras.backend.standardize_dtype(y.dtype) != out_dtype:
            y = ops.cast(y, out_dtype)
        return y

    def compute_output_shape(self, input_shape):
        m = input_shape[-1]
        return tuple(input_shape[:-1]) + (None if m is None else self.output_dim(m),)

    def get_config(self):
        config = super().get_config()
        for key in ("preprocessing", "postprocessing"):
            layers = getattr(self, key)
            config[key] = [keras.layers.serialize(layer) for layer in layers] or None
        return config


def _materialise_when_processed(project):
    """Wraps a subclass' structured `project` to use the base one under processing."""

    @functools.wraps(project)
    def wrapper(self, x, basis, training=None):
        if self.has_processing:
            return Expansion.project(self, x, basis, training=training)
        return project(self, x, basis, training=training)

    return wrapper


def _build_processing(expansion, argument, layer, shape):
    if not layer.built:
        layer.build(shape)
    out = tuple(layer.compute_output_shape(shape))
    if out[-1] != shape[-1]:
        raise ValueError(
            f"The `{argument}` layers of {expansion.__class__.__name__} must keep the "
            f"width of the last axis ({shape[-1]}), but {layer.name} maps {shape} to {out}."
        )
    return out


registry = Registry("expansion", Expansion)
_registry = registry  # the name older code and tests use
register = registry.register
names = registry.names


def get(identifier, **overrides):
    """Returns an expansion from an instance, a short name or a config dict."""
    return _registry.get(identifier, **overrides)


class BlockExpansion(Expansion):
    """Base of block-major expansions `[f_1(x) | f_2(x) | ... | f_k(x)]`.

    A subclass implements `blocks(x)`, returning the list of `k` element-wise
    functions of `x` (each of the shape of `x`), and sets `num_blocks` (or overrides
    `output_dim`). The output concatenates them along the last axis, so `D = k m`
    and feature `j` of block `i` sits at index `i m + j` (tinyBIG's `torch.cat` order).

    Args:
        **kwargs: `preprocessing`, `postprocessing` and base layer keyword arguments.
    """

    num_blocks = 1

    def blocks(self, x):
        raise NotImplementedError

    def output_dim(self, input_dim):
        return input_dim * self.num_blocks

    def expand(self, x):
        parts = self.blocks(x)
        return parts[0] if len(parts) == 1 else ops.concatenate(parts, axis=-1)
