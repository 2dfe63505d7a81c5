"""Base classes of the RPN 2 heads and layers (convolution-, recurrence-, graph- and
attention-like) and the structured application of a constant mixing matrix.

An RPN 2 head computes
```
y = activation( xi_i( F_channel([ <kappa(f(x)), psi(w_c)> ]) ) + b + pi(r(x)) )
```
where `f` prepares the features of every instance (grid patches for the grid head,
the input itself otherwise), `xi_i` mixes an explicit instance axis of each sample
(tokens, nodes, grid cells; never the batch axis) and `r` maps the input to the
instances of the output for the remainder (the identity, or the grid's stride).

`xi_i` is linear in its input, so mixing the `n`-wide head output equals mixing the
`D`-wide expansion (tinyBIG's order) and costs `n / D` as much; the bias is added
after the mixing, as in tinyBIG. The two orders differ only for a non-linear channel
fusion (the default mean, sum and concatenation are linear).
"""

import keras
from keras import constraints
from keras import initializers
from keras import ops
from keras import regularizers

from keras_rpn import fusions
from keras_rpn import remainders
from keras_rpn import validation
from keras_rpn.layers.rpn_head import RPNHead
from keras_rpn.registry import serialize_component
from keras_rpn.saving import StructureCheck


class InterdependentHead(keras.layers.Layer):
    """Base of the RPN 2 heads: an `RPNHead` contraction, then instance mixing.

    Subclasses implement `mix(y, x, context, mask)` (and, for the grid head,
    `features`, `feature_dim`, `remainder_input` and `compute_output_shape`).

    Args:
        units: output width `n` per instance.
        expansion, reconciliation, channels, channel_fusion: as in `RPNHead`.
        remainder: `pi`, as in `RPNHead`; applied to the unmixed input.
        activation: activation applied to the head output (default none).
        use_bias: whether to add the bias `b` after the mixing (default `True`).
        kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
            activity_regularizer, kernel_constraint, bias_constraint: as in `RPNHead`.
        **kwargs: base layer keyword arguments, such as `name` and `dtype`.
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
        self.feature_head = RPNHead(
            units,
            expansion=expansion,
            reconciliation=reconciliation,
            channels=channels,
            channel_fusion=channel_fusion,
            use_bias=False,
            kernel_initializer=kernel_initializer,
            kernel_regularizer=kernel_regularizer,
            kernel_constraint=kernel_constraint,
            dtype=self.dtype_policy,
            name="feature_head",
        )
        self.feature_head.supports_masking = True  # it acts on each instance alone
        self.remainder = remainders.get(remainder, name="remainder", dtype=self.dtype_policy)
        if self.remainder.units is None:
            self.remainder.units = self.units
        self.activation = validation.activation("activation", activation)
        self.use_bias = validation.boolean("use_bias", use_bias)
        self.bias_initializer = initializers.get(bias_initializer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.bias_constraint = constraints.get(bias_constraint)
        self.supports_masking = False  # sequence heads pass Keras masks through

    # Hooks -------------------------------------------------------------------------
    def split_inputs(self, inputs):
        """`(x, context)`: the features and what the mixing needs besides them."""
        return inputs, None

    def features(self, x):
        """The per-instance vectors the expansion acts on (default: `x`)."""
        return x

    def feature_dim(self, input_shape):
        """The width of `features(x)` for an input of shape `input_shape`."""
        return validation.input_dim(self, input_shape)

    def remainder_input(self, x):
        """The input of the remainder, one vector per output instance (default `x`)."""
        return x

    def build_mixing(self, input_shape):
        """Builds the mixing for an input of shape `input_shape` (default: builds
        `self.interdependence`, a `keras_rpn.interdependence` function)."""
        x_shape, _ = self.split_inputs(input_shape)
        if not self.interdependence.built:
            self.interdependence.build(tuple(x_shape))

    def mix(self, y, x, context=None, mask=None):
        """`xi_i` applied to `y` of shape `(batch, instances..., n)`: by default the
        instance interdependence function `self.interdependence` (its matrix computed
        from the input `x` when it depends on the data)."""
        if self.interdependence.require_data:
            return self.interdependence(y, data=x)
        return self.interdependence(y)

    def contract(self, x, training=None):
        """`F_channel([<kappa(f(x)), psi(w_c)>])`, shape `(batch, instances..., n')`."""
        return self.feature_head(self.features(x), training=training)

    # Keras -------------------------------------------------------------------------
    def build(self, input_shape):
        x_shape, _ = self.split_inputs(input_shape)
        x_shape = tuple(x_shape)
        if len(x_shape) < 3:
            raise ValueError(
                f"{self.__class__.__name__} expects inputs of shape (batch, instances..., "
                f"features), with an explicit instance axis. Received: input_shape={x_shape}"
            )
        self.feature_head.build((None, self.feature_dim(x_shape)))
        self.output_dim = self.feature_head.compute_output_shape((None, 1))[-1]
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias",
                shape=(self.output_dim,),
                initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )
        if not self.remainder.built:
            self.remainder.build((None, validation.input_dim(self, x_shape)))
        self.build_mixing(input_shape)

    def call(self, inputs, training=None, mask=None):
        x, context = self.split_inputs(inputs)
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        y = self.mix(self.contract(x, training=training), x, context=context, mask=mask)
        if self.bias is not None:
            y = y + self.bias
        if not self.remainder.is_zero:
            y = y + self.remainder(self.remainder_input(x))
        return self.activation(y)

    def compute_mask(self, inputs, mask=None):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        return mask if self.supports_masking else None

    def compute_output_shape(self, input_shape):
        x_shape, _ = self.split_inputs(input_shape)
        n = self.feature_head.channel_fusion.output_dim(self.feature_head.channels, self.units)
        return tuple(x_shape[:-1]) + (n,)

    def get_config(self):
        head = self.feature_head
        return {
            **super().get_config(),
            "units": self.units,
            "expansion": serialize_component(head.expansion),
            "reconciliation": serialize_component(head.reconciliation),
            "remainder": serialize_component(self.remainder),
            "channels": head.channels,
            "channel_fusion": serialize_component(head.channel_fusion),
            "activation": validation.serialize_activation("activation", self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": None
            if head.kernel_initializer is None
            else initializers.serialize(head.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(head.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(head.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        }


class HeadStack(StructureCheck, keras.layers.Layer):
    """Base of the RPN 2 layers: `width` independent heads of one class, fused.

    Formula: `y = activation(F_head([head_h(x) for h < width]))`. Unlike tinyBIG's
    specialised layers (`[head] * width`, one head object repeated), every head has
    its own weights. A subclass sets `head_class`.

    Args:
        units: output width of every head.
        width: number of heads (default 1).
        head_fusion: `F_head`, a name from `keras_rpn.fusions.names()`, a `Fusion`
            or a config dict (default `"mean"`).
        activation: activation after the head fusion (default none).
        **kwargs: arguments of `head_class`, shared by the heads, and base layer
            keyword arguments such as `name` and `dtype`.
    """

    head_class = None

    def __init__(self, units, width=1, head_fusion=None, activation=None, **kwargs):
        super().__init__(**validation.pop_base_kwargs(kwargs))
        self.units = validation.positive_int("units", units)
        self.width = validation.positive_int("width", width)
        self.heads = [
            self.head_class(units, name=f"head_{i}", dtype=self.dtype_policy, **kwargs)
            for i in range(self.width)
        ]
        self.head_fusion = fusions.get(
            "mean" if head_fusion is None else head_fusion,
            name="head_fusion",
            dtype=self.dtype_policy,
        )
        self.activation = validation.activation("activation", activation)
        self.supports_masking = self.heads[0].supports_masking

    def build(self, input_shape):
        for head in self.heads:
            head.build(input_shape)
        n = self.heads[0].compute_output_shape(input_shape)[-1]
        if not self.head_fusion.built:
            self.head_fusion.build((None, self.width, n))

    def _single(self):
        return self.width == 1 and self.head_fusion.identity_for_one_input

    def call(self, inputs, training=None, mask=None):
        outputs = [head(inputs, training=training, mask=mask) for head in self.heads]
        y = outputs[0] if self._single() else self.head_fusion(ops.stack(outputs, axis=-2))
        return self.activation(y)

    def compute_mask(self, inputs, mask=None):
        return self.heads[0].compute_mask(inputs, mask)

    @property
    def takes_graph(self):
        """Whether the layer is called on `[x, graph]` (a graph given as input)."""
        return getattr(self.heads[0], "takes_graph", False)

    def compute_output_shape(self, input_shape):
        shape = self.heads[0].compute_output_shape(input_shape)
        if self._single():
            return shape
        return tuple(shape[:-1]) + (self.head_fusion.output_dim(self.width, shape[-1]),)

    def structure(self):
        return {"num_heads": len(self.heads)}

    def get_config(self):
        head_config = validation.without_base_config(self.heads[0].get_config(), "units")
        return {
            **super().get_config(),
            "units": self.units,
            "width": self.width,
            "head_fusion": serialize_component(self.head_fusion),
            "activation": validation.serialize_activation("activation", self.activation),
            **head_config,
        }
