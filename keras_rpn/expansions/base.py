"""The expansion protocol: kappa maps R^m to R^D."""

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
    `(..., m)`. An `expand` that needs the training flag (composite expansions) may
    declare a `training=None` argument.

    Structured projection (the contract factorised reconciliations rely on):
    `project(x, basis)` is `kappa(x) @ basis^T` for a `(R, D)` basis. By default it
    builds the D-wide expansion and multiplies. A subclass that can compute the
    product without building it (Taylor's per-degree contractions) sets the class
    attribute `structured_projection = True` and implements the hook
    `structured_project(x, basis, training=None)` on the raw input `x`; it does not
    override `project`. `project` calls the hook only when no pre/postprocessing
    layer wraps the expansion (`has_structured_projection`); reconciliations read
    that property to choose between projecting `x` onto their factor rows and
    reshaping the materialised `kappa(x)`.

    Subclasses whose formula overflows or loses too much in 16-bit floats set the
    class attribute `float32_compute = True`: `call` then computes in float32 and
    casts back to the input dtype, saturating values beyond the float16 range at
    its largest finite value.

    Capabilities other modules read instead of switching on the class
    (`keras_rpn.interpret`, the KAN tools):

    * `column_layout` (class attribute or property): how the `D = K m` output
      columns split into per-feature columns when each column depends on one input
      feature only: `"feature_major"` (feature `j`'s `K` columns are `j K + k`, as for
      B-splines, recurrences and RBFs), `"block_major"` (`k m + j`, as for
      `BlockExpansion`s) or `None` (some column mixes features, e.g. Taylor of
      degree > 1). An expansion whose layout is neither overrides `feature_columns`.
    * `feature_columns(m)`: the `(m, K)` indices of those columns, or `None`;
      `separable_columns(m)` the same, raising a `ValueError` that says why when
      there are none.
    * `input_range`: the input range the expansion is designed for (a B-spline's
      grid, the RBF centres' range), or `None`.

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
    >>> tuple(kappa(np.array([[1.0, 2.0]])).shape)
    (1, 6)
    """

    float32_compute = False
    #: True for the identity expansion `kappa(x) = x` (lets heads use a cheaper op,
    #: e.g. the grid head a convolution).
    is_identity = False

    #: Whether the expansion has a per-feature grid that `keras_rpn.grid` refits
    #: (see `keras_rpn.expansions.GridExpansion`).
    has_grid = False

    #: How the output columns split per input feature: "feature_major",
    #: "block_major" or None (columns mix features). See `feature_columns`.
    column_layout = None

    #: The input range the expansion is designed for, `(low, high)`, or None.
    input_range = None

    #: Whether the class implements `structured_project` (see the class docstring).
    structured_projection = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._expand_has_training_arg = "training" in inspect.signature(cls.expand).parameters

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
        raise NotImplementedError(f"{type(self).__name__} has no closed-form symbolic columns.")

    @property
    def column_mixing_layers(self):
        """The pre/postprocessing layers that mix features (e.g. normalisations)."""
        return [
            layer
            for layer in (*self.preprocessing, *self.postprocessing)
            if processing.mixes_columns(layer)
        ]

    def feature_columns(self, input_dim):
        """The columns of `kappa(x)` that depend on each input feature alone.

        Args:
            input_dim: the input width `m`.

        Returns:
            An int64 array of shape `(m, K)` (row `j` lists the `K` columns that
            depend on `x_j` alone, in the expansion's order), or `None` when some
            column depends on several features (`column_layout` is `None`, or a
            processing layer mixes the columns).
        """
        if self.column_layout is None or self.column_mixing_layers:
            return None
        m = int(input_dim)
        k = self.output_dim(m) // m
        if self.column_layout == "feature_major":
            return np.arange(m, dtype="int64")[:, None] * k + np.arange(k)[None, :]
        if self.column_layout == "block_major":
            return np.arange(k, dtype="int64")[None, :] * m + np.arange(m)[:, None]
        raise ValueError(
            f"{type(self).__name__}.column_layout must be 'feature_major', "
            f"'block_major' or None. Received: {self.column_layout!r}"
        )

    def separable_columns(self, input_dim):
        """`feature_columns(input_dim)`, or a `ValueError` saying why there are none.

        What the per-feature tools (`keras_rpn.interpret`, `keras_rpn.prune`,
        `keras_rpn.regularizers.FunctionSparsity`, `keras_rpn.plotting`) read.
        """
        columns = self.feature_columns(input_dim)
        if columns is not None:
            return np.asarray(columns, dtype="int64")
        name = type(self).__name__
        mixing = self.column_mixing_layers
        if mixing:
            raise ValueError(
                f"{name} has a {type(mixing[0]).__name__} in its pre/postprocessing, which "
                "mixes the features: the head is not a sum of univariate functions."
            )
        raise ValueError(
            f"{name} is not separable per feature: each expansion column must depend on "
            "one input only (its `feature_columns` gives None). Separable expansions "
            "declare a `column_layout`: B-spline, the recurrence polynomials (Chebyshev, "
            "Legendre, ...), RBFs, Fourier, trigonometric, hyperbolic, probabilistic, "
            "identity, Taylor of degree 1, wavelets with d=1, and extended expansions of these."
        )

    def output_dim(self, input_dim):
        """The expansion width `D` for an input width `m`."""
        raise NotImplementedError

    def expand(self, x):
        """The expansion of `x` (shape `(..., m)`) to shape `(..., D)`."""
        raise NotImplementedError

    @property
    def has_structured_projection(self):
        """Whether `project` avoids building the D-wide expansion: the class has a
        structured projection and no processing forces the materialised product."""
        return self.structured_projection and not self.has_processing

    def project(self, x, basis, training=None):
        """`call(x) @ basis^T` for `basis` of shape `(R, D)`; returns `(..., R)`.

        Subclasses implement `structured_project` rather than overriding this.
        """
        if self.has_structured_projection:
            return self.structured_project(x, basis, training=training)
        return ops.matmul(self.call(x, training=training), ops.transpose(basis))

    def structured_project(self, x, basis, training=None):
        """Hook: `kappa(x) @ basis^T` without building `kappa(x)`, for classes with
        `structured_projection = True`; `x` is the raw input (no processing)."""
        raise NotImplementedError(
            f"{type(self).__name__} sets structured_projection = True but does not "
            "implement structured_project."
        )

    def has_kronecker_projection(self, input_dim, q, t):
        """Whether `kronecker_project` has a cheaper path than forming the rows
        `va[:, i] (x) vb[:, j]` (length `q t = D`) for inputs of width `input_dim`."""
        return False

    def kronecker_project(self, x, va, vb):
        """`kappa(x)` projected onto the rows `va[:, i] (x) vb[:, j]` of every channel,
        without forming them, when `has_kronecker_projection` says so.

        Shapes: `x (batch, m)`, `va (C, q, ra)`, `vb (C, t, rb)` -> `(batch, C, ra rb)`,
        `(i, j)` order.
        """
        raise NotImplementedError(f"{type(self).__name__} has no structured Kronecker projection.")

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


def _build_processing(expansion, argument, layer, shape):
    owner = f"The `{argument}` layers of {expansion.__class__.__name__}"
    return processing.build_step(layer, shape, owner)


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
    column_layout = "block_major"

    def blocks(self, x):
        raise NotImplementedError

    def output_dim(self, input_dim):
        return input_dim * self.num_blocks

    def expand(self, x):
        parts = self.blocks(x)
        return parts[0] if len(parts) == 1 else ops.concatenate(parts, axis=-1)
