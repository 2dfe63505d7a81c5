"""RPN: a stack of RPN layers as a Keras model."""

import keras

from keras_rpn import validation
from keras_rpn.layers.rpn_layer import RPNLayer
from keras_rpn.saving import StructureCheck


@keras.saving.register_keras_serializable(package="keras_rpn")
class RPN(validation.CheckedNesting, StructureCheck, keras.Model):
    """A Reconciled Polynomial Network: RPN layers applied in sequence.

    Formula: `x_0 = x`, `x_k = layer_k(x_{k-1})` for `k = 1 .. K`, where layer `k`
    maps `dims[k-1] -> dims[k]`.

    Args:
        dims: widths `[m, n_1, ..., n_K]`, input width first, as in tinyBIG's
            `rpn(dims=...)`; at least two entries.
        activation: activation after every layer but the last (default none).
        output_activation: activation after the last layer (default none).
        layer_configs: optional list of `K` dicts of `RPNLayer` arguments, one per
            layer, overriding `layer_kwargs` for that layer.
        instances: the size `N` of an explicit instance axis, for layers whose heads
            mix instances (`instance_interdependence`): the model then takes inputs
            of shape `(batch, N, dims[0])` and mixes axis 1 of each sample, never
            the batch axis. Default None: inputs `(batch, dims[0])`.
        **kwargs: `RPNLayer` / `RPNHead` arguments shared by all layers
            (`expansion`, `reconciliation`, `remainder`, `channels`, `heads`,
            `width`, `head_fusion`, ...), and base model keyword arguments such as
            `name` and `dtype`.

    Example:
    >>> model = keras_rpn.models.RPN([64, 32, 10], expansion="bspline",
    ...                              remainder="linear")
    >>> model.compile("adam", "sparse_categorical_crossentropy")
    >>> tuple(model(np.zeros((2, 64))).shape)
    (2, 10)
    """

    def __init__(
        self,
        dims,
        activation=None,
        output_activation=None,
        layer_configs=None,
        instances=None,
        **kwargs,
    ):
        super().__init__(**validation.pop_base_kwargs(kwargs, validation.BASE_MODEL_KWARGS))
        self.instances = (
            None if instances is None else validation.positive_int("instances", instances)
        )
        if isinstance(dims, (str, bytes)) or not hasattr(dims, "__len__") or len(dims) < 2:
            raise ValueError(
                f"`dims` must list at least an input width and one layer width, "
                f"e.g. [784, 64, 10]. Received: dims={dims!r}"
            )
        self.dims = [validation.positive_int(f"dims[{i}]", d) for i, d in enumerate(dims)]
        num_layers = len(self.dims) - 1
        if layer_configs is not None and len(layer_configs) != num_layers:
            raise ValueError(
                f"`layer_configs` needs one dict per layer ({num_layers} for "
                f"dims={self.dims}). Received {len(layer_configs)}."
            )
        self.activation = validation.activation("activation", activation)
        self.output_activation = validation.activation("output_activation", output_activation)
        self.layer_configs = None if layer_configs is None else [dict(c) for c in layer_configs]
        self.layer_kwargs = kwargs
        self.rpn_layers = []
        for k, units in enumerate(self.dims[1:]):
            config = {**kwargs, **(self.layer_configs[k] if self.layer_configs else {})}
            config.setdefault(
                "activation",
                self.output_activation if k == num_layers - 1 else self.activation,
            )
            self.rpn_layers.append(
                RPNLayer(units, dtype=self.dtype_policy, name=f"rpn_layer_{k}", **config)
            )
        self.build(self.input_shape_of())

    def input_shape_of(self, batch=None):
        """The model's input shape: `(batch, dims[0])`, or `(batch, instances, dims[0])`."""
        if self.instances is None:
            return (batch, self.dims[0])
        return (batch, self.instances, self.dims[0])

    def build(self, input_shape):
        m = validation.input_dim(self, input_shape)
        if m != self.dims[0]:
            raise ValueError(
                f"{self.__class__.__name__} '{self.name}' takes inputs of width "
                f"dims[0]={self.dims[0]}. Received: input_shape={tuple(input_shape)}"
            )
        shape = tuple(input_shape)
        for layer in self.rpn_layers:
            if not layer.built:
                layer.build(shape)
            shape = layer.compute_output_shape(shape)
        self.input_spec = keras.layers.InputSpec(min_ndim=2, axes={-1: m})

    def call(self, inputs, training=None):
        x = inputs
        for layer in self.rpn_layers:
            x = layer(x, training=training)
        return x

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        for layer in self.rpn_layers:
            shape = layer.compute_output_shape(shape)
        return shape

    def structure(self):
        return {"num_layers": len(self.rpn_layers)}

    def get_config(self):
        serialize = keras.saving.serialize_keras_object
        config = {
            **super().get_config(),
            "dims": self.dims,
            "activation": validation.serialize_activation("activation", self.activation),
            "output_activation": validation.serialize_activation(
                "output_activation", self.output_activation
            ),
            "layer_configs": serialize(self.layer_configs),
            **serialize(self.layer_kwargs),
        }
        if self.instances is not None:
            config["instances"] = self.instances
        return config
