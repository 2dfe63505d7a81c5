"""RPNHead: one reconciled polynomial head."""

import keras
from keras import constraints
from keras import initializers
from keras import regularizers

from keras_rpn import expansions
from keras_rpn import fusions
from keras_rpn import initializers as initializers_lib
from keras_rpn import interdependence
from keras_rpn import reconciliations
from keras_rpn import remainders
from keras_rpn import validation
from keras_rpn.layers.adaptive import GridAdaptation
from keras_rpn.layers.batched_heads import HEAD_STAGES
from keras_rpn.layers.batched_heads import run_heads
from keras_rpn.registry import serialize_component


@keras.saving.register_keras_serializable(package="keras_rpn")
class RPNHead(validation.CheckedNesting, GridAdaptation, keras.layers.Layer):
    """A Reconciled Polynomial Network head.

    Formula (for an input `x` with last axis of size `m`):
    ```
    y = activation( F_channel([ <kappa(x), psi(w_c)> + b  for c < C ]) + pi(x) )
    ```
    * `kappa`: data expansion `R^m -> R^D` (`expansion`);
    * `psi`: parameter reconciliation `R^l -> R^{n x D}` (`reconciliation`); channel
      `c` has its own parameter row `w_c`, the kernel has shape `(C, l)`;
    * `<k, W> = k W^T`; `b`: bias of shape `(n,)`, added once per channel;
    * `F_channel`: channel fusion (`channel_fusion`, the mean by default);
    * `pi`: remainder `R^m -> R^n` (`remainder`).

    The forward pass is a pipeline of named stages (`stages`, in the order of
    `keras_rpn.layers.batched_heads.HEAD_STAGES`): input processing -> attribute
    interdependence `xi_a` -> expansion -> instance interdependence `xi_i` ->
    reconciliation contraction -> bias -> channel fusion -> remainder -> output
    processing (the activation). The two interdependence stages are RPN 2's:

    ```
    y = F_channel([ <xi_i(kappa(xi_a(X))), psi(w_c)> + b  for c < C ]) + pi(X)
    ```

    All channels are computed in one contraction. Inputs may have any rank >= 2;
    the head acts on the last axis, like `keras.layers.Dense`. Components given as
    instances are copied (the head owns its own expansion, reconciliation, remainder
    and fusion).

    Args:
        units: output width `n`, a positive integer.
        expansion: `kappa`: a name from `keras_rpn.expansions.names()`, an
            `Expansion` or a config dict (default `"identity"`).
        reconciliation: `psi`: a name from `keras_rpn.reconciliations.names()`, a
            `Reconciliation` or a config dict (default `"identity"`).
        remainder: `pi`: a name from `keras_rpn.remainders.names()`, a `Remainder`
            or a config dict (default `"zero"`).
        channels: number of channels `C` (default 1).
        channel_fusion: `F_channel`, a name from `keras_rpn.fusions.names()`, a
            `Fusion` or a config dict (default `"mean"`; unused when `C = 1`).
        activation: activation applied to the head output (default none).
        attribute_interdependence: `xi_a` (a name from
            `keras_rpn.interdependence.names()`, an `Interdependence` or a config
            dict; default `None`: no such stage), applied to the input before the
            expansion, as the attribute type: `X -> X A`, `(..., m) -> (..., m')`;
            the expansion then sees `m'` features, the remainder the raw input. A
            geometric patch function here makes a convolution: `(batch, cells, C)`
            -> `(batch, P, C k)`, one output per patch.
        instance_interdependence: `xi_i` (same forms), applied to the expansion as
            the instance type: it mixes the instance axis of a `(batch, N, m)`
            input (axis -2 of the expanded `(batch, N, D)`, `N -> N'`; never the
            batch axis) before the contraction. A data-dependent `A` (kernels,
            bilinear attention) is computed per sample from the head's input.
        use_bias: whether to add the bias `b` (default `True`).
        kernel_initializer: initializer of the `(C, l)` kernel. The default (`None`)
            is the reconciliation's `default_initializer` (LoRR: tinyBIG's
            xavier_uniform on the flat kernel; others: the Glorot variance
            `2 / (n + D)` on `psi(w)`). A Keras initializer gives
            `psi(w_c)` the scale it gives a `Dense` kernel of shape `(D, n)`, whatever
            the reconciliation; `keras_rpn.initializers.TinyBIG` applies tinyBIG's
            initialisation to the flat kernel (see `keras_rpn.initializers`).
        bias_initializer: initializer of `b` (default `"zeros"`).
        kernel_regularizer, bias_regularizer: regularizers of the kernel and `b`.
        activity_regularizer: regularizer of the head output.
        kernel_constraint, bias_constraint: constraints of the kernel and `b`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Input shape: `(batch, ..., m)`. Output shape: `(batch, ..., n')` with `n' = n`,
    or `C n` for a concatenating channel fusion.

    Example:
    >>> head = keras_rpn.layers.RPNHead(
    ...     10, expansion="bspline", reconciliation="identity",
    ...     remainder={"class_name": "linear", "config": {"activation": "silu"}})
    >>> tuple(head(np.zeros((4, 8))).shape)
    (4, 10)
    """

    def __init__(
        self,
        units,
        expansion="identity",
        reconciliation="identity",
        remainder="zero",
        channels=1,
        channel_fusion=None,
        activation=None,
        attribute_interdependence=None,
        instance_interdependence=None,
        use_bias=True,
        kernel_initializer=None,
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.units = validation.positive_int("units", units)
        self.channels = validation.positive_int("channels", channels)
        policy = {"dtype": self.dtype_policy}
        # Components get fixed names, so variable paths (e.g. `head_0/remainder/kernel`)
        # are the same on every rebuild, which layout maps and checkpoints rely on.
        self.expansion = expansions.get(expansion, name="expansion", **policy)
        self.reconciliation = reconciliations.get(reconciliation, name="reconciliation", **policy)
        self.remainder = remainders.get(remainder, name="remainder", **policy)
        if self.remainder.units is None:
            self.remainder.units = self.units
        elif self.remainder.units != self.units:
            raise ValueError(
                f"The remainder's `units` ({self.remainder.units}) must equal the "
                f"head's `units`. Received: units={self.units}"
            )
        self.channel_fusion = fusions.get(
            "mean" if channel_fusion is None else channel_fusion,
            name="channel_fusion",
            **policy,
        )
        self.activation = validation.activation("activation", activation)
        self.attribute_interdependence = _interdependence(
            "attribute_interdependence", attribute_interdependence, self.dtype_policy
        )
        self.instance_interdependence = _interdependence(
            "instance_interdependence", instance_interdependence, self.dtype_policy
        )
        self.use_bias = bool(use_bias)
        self.kernel_initializer = (
            None if kernel_initializer is None else initializers.get(kernel_initializer)
        )
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.input_spec = keras.layers.InputSpec(min_ndim=2)

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        m = validation.input_dim(self, input_shape)
        flat_shape = (None, m)
        mixed_shape = self._attribute_shape(input_shape)
        expansion_input = (None, int(mixed_shape[-1]))
        expansion_dim, num_params = self._checked_sizes(m, expansion_input[-1])
        if not self.expansion.built:
            self.expansion.build(expansion_input)
        self.expanded_features = None
        if self.instance_interdependence is not None:
            if len(mixed_shape) != 3:
                raise ValueError(
                    "A head with an instance interdependence expects inputs of shape "
                    f"(batch, instances, features). Received: input_shape={input_shape}"
                )
            if not self.instance_interdependence.built:
                # Its matrix comes from the head's input (see `run_heads`).
                data_shape = input_shape if input_shape[-2] == mixed_shape[-2] else mixed_shape
                self.instance_interdependence.build(
                    (None, mixed_shape[-2], expansion_dim), data_shape
                )
            # The contraction then takes the already expanded (and mixed) features.
            self.expanded_features = expansions.get(
                "identity", name="expanded_features", dtype=self.dtype_policy
            )
            self.expanded_features.build((None, expansion_dim))
        if not self.remainder.is_zero and self._instance_shape(input_shape) != tuple(
            input_shape[:-1]
        ):
            raise ValueError(
                "The remainder pi(x) takes the head's input, whose instances "
                f"{tuple(input_shape[1:-1])} the interdependence functions change to "
                f"{self._instance_shape(input_shape)[1:]}: use remainder='zero' with them. "
                f"Received: input_shape={input_shape}"
            )
        if not self.reconciliation.built:
            self.reconciliation.build((self.units, expansion_dim))
        self.kernel = None
        # A regularizer of the head's functions (keras_rpn.regularizers) learns the
        # head's layout here; a plain Keras regularizer is used as is.
        bind = getattr(self.kernel_regularizer, "bound_to", None)
        kernel_regularizer = bind(self, m) if bind else self.kernel_regularizer
        # One that reads the batch (FunctionSparsity(magnitude="data")) adds its
        # penalty in `call` instead, on the training batch.
        self._data_regularizer = None
        if getattr(kernel_regularizer, "reads_data", False):
            self._data_regularizer, kernel_regularizer = kernel_regularizer, None
        if num_params > 0:
            self.kernel = self.add_weight(
                name="kernel",
                shape=(self.channels, num_params),
                initializer=initializers_lib.kernel_initializer(
                    self.kernel_initializer,
                    self.reconciliation,
                    (self.channels, self.units, expansion_dim),
                ),
                regularizer=kernel_regularizer,
                constraint=self.kernel_constraint,
            )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias",
                shape=(self.units,),
                initializer=initializers_lib.bias_initializer(
                    self.bias_initializer, self.reconciliation, (self.units, expansion_dim)
                ),
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )
        if not self.remainder.built:
            self.remainder.build(flat_shape)
        if not self.channel_fusion.built:
            self.channel_fusion.build((None, self.channels, self.units))
        self.input_spec = keras.layers.InputSpec(min_ndim=2, axes={-1: m})

    def _attribute_shape(self, input_shape):
        """The input shape after `xi_a` (builds it)."""
        xi = self.attribute_interdependence
        if xi is None:
            return tuple(input_shape)
        if not xi.built:
            xi.build(tuple(input_shape))
        return tuple(xi.compute_output_shape(tuple(input_shape)))

    def _instance_shape(self, input_shape):
        """The leading axes of the head output: `(batch, ...)` after both interdependences."""
        shape = self._attribute_shape(input_shape)[:-1]
        xi = self.instance_interdependence
        if xi is not None and shape[-1] is not None:
            shape = shape[:-1] + (xi.output_dim(int(shape[-1])),)
        return tuple(shape)

    def _checked_sizes(self, m, expansion_m):
        """`D(m)` and `l(n, D)`, computed in Python and refused when too large.

        `expansion_m` is the width the expansion sees (`m`, or `m'` after an
        attribute interdependence).
        """
        expansion_dim = validation.tensor_size(
            self,
            "the expansion width D(m) (the features of one sample)",
            self.expansion.output_dim(expansion_m),
            "Shrink it with a lower expansion order, fewer inputs (e.g. a Dense "
            "projection first) or an expansion with a smaller D(m).",
            expansion=_short_config(self.expansion),
            m=expansion_m,
        )
        num_params = self.reconciliation.num_params(self.units, expansion_dim)
        validation.tensor_size(
            self,
            f"the kernel (channels x l(n, D), with D = {expansion_dim:,})",
            self.channels * num_params,
            "Shrink it with fewer `units` or `channels`, a smaller expansion, or a "
            "reconciliation with fewer parameters (e.g. 'lorr' or 'hm').",
            units=self.units,
            channels=self.channels,
            reconciliation=_short_config(self.reconciliation),
        )
        validation.tensor_size(
            self,
            "the remainder kernel (m x n)",
            self.remainder.kernel_size(m),
            "Shrink it with fewer `units` or a remainder without weights.",
            units=self.units,
            m=m,
        )
        return expansion_dim, num_params

    def call(self, inputs, training=None):
        data_regularizer = getattr(self, "_data_regularizer", None)
        if training and data_regularizer is not None and self.kernel is not None:
            self.add_loss(data_regularizer.penalty(
                data_regularizer.data_magnitudes(self, inputs, training=training)
            ))  # fmt: skip
        return run_heads([self], inputs, training=training)

    @property
    def stages(self):
        """The head's pipeline: `{stage name: component or None}`, in order.

        Names are `keras_rpn.layers.batched_heads.HEAD_STAGES`; `None` marks an
        absent stage. `bias` is the bias weight (after `build`), `output_processing`
        the activation.
        """
        components = {
            "input_processing": None,
            "attribute_interdependence": self.attribute_interdependence,
            "expansion": self.expansion,
            "instance_interdependence": self.instance_interdependence,
            "reconciliation": self.reconciliation,
            "bias": getattr(self, "bias", None),
            "channel_fusion": self.channel_fusion,
            "remainder": None if self.remainder.is_zero else self.remainder,
            "output_processing": None
            if self.activation is keras.activations.linear
            else self.activation,
        }
        return {name: components[name] for name in HEAD_STAGES}

    def can_share_computation(self):
        """Whether heads with this head's config may be computed in one batch.

        They may when their expansion, interdependence stages, reconciliation and
        channel fusion hold no per-head state (weights such as masks or
        normalisation parameters), and the head has no activity regularizer (which
        `Layer.__call__` applies) nor a kernel regularizer reading the batch.
        """
        interdependence = (self.attribute_interdependence, self.instance_interdependence)
        return not (
            self.expansion.unshared_weights
            or self.reconciliation.weights
            or self.channel_fusion.weights
            or any(stage is not None and stage.weights for stage in interdependence)
            or self.activity_regularizer is not None
            or getattr(self, "_data_regularizer", None) is not None
        )

    def compute_output_shape(self, input_shape):
        n = self.channel_fusion.output_dim(self.channels, self.units)
        if self.attribute_interdependence is None and self.instance_interdependence is None:
            return tuple(input_shape[:-1]) + (n,)
        return self._instance_shape(tuple(input_shape)) + (n,)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "expansion": serialize_component(self.expansion),
            "reconciliation": serialize_component(self.reconciliation),
            "remainder": serialize_component(self.remainder),
            "channels": self.channels,
            "channel_fusion": serialize_component(self.channel_fusion),
            "activation": validation.serialize_activation("activation", self.activation),
            "attribute_interdependence": _serialize_slot(self.attribute_interdependence),
            "instance_interdependence": _serialize_slot(self.instance_interdependence),
            "use_bias": self.use_bias,
            "kernel_initializer": None
            if self.kernel_initializer is None
            else initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        }


def _short_config(component):
    """`{"class_name": ..., "config": ...}` of a component, without base layer keys."""
    config = {
        k: v
        for k, v in validation.without_base_config(component.get_config()).items()
        if v is not None
    }
    return {"class_name": component.__class__.__name__, "config": config}


def _interdependence(argument, value, policy):
    """The component of an interdependence slot: `None`, or a function of its type.

    The slot fixes the type: `attribute_interdependence` mixes features (attribute
    type), `instance_interdependence` the instance axis (instance type).
    """
    if value is None:
        return None
    kind = argument.split("_", 1)[0]
    return interdependence.get(value, name=argument, interdependence_type=kind, dtype=policy)


def _serialize_slot(component):
    return None if component is None else serialize_component(component)
