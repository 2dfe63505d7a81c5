"""`LayerStack`: the base of the RPN 2 presets (CNN, ResNet, RNN, GCN, GAT, Transformer).

A preset is a list of Keras layers run in order; normalisation, activations and dropout
between them are ordinary Keras layers, so they train, honour `training=` (dropout is
off and batch normalisation uses its moving statistics at inference) and are saved.
"""

import keras

from keras_rpn import validation
from keras_rpn.layers.rpn_layer import RPNLayer
from keras_rpn.saving import StructureCheck


def processing(batch_norm=False, activation=None, dropout=0.0, dtype=None):
    """Keras layers in tinyBIG's order: batch normalisation, activation, dropout."""
    steps = []
    if batch_norm:
        steps.append(keras.layers.BatchNormalization(dtype=dtype))
    if activation is not None and activation is not keras.activations.linear:
        steps.append(keras.layers.Activation(activation, dtype=dtype))
    if dropout > 0:
        steps.append(keras.layers.Dropout(dropout, dtype=dtype))
    return steps


class LayerStack(StructureCheck, keras.Model):
    """A model made of the layers in `self.stack`, called in order.

    A subclass builds the list in `__init__` (after calling this constructor with the
    base keyword arguments), stores its own arguments and returns them from
    `preset_config()`. A layer whose `takes_graph` attribute is true receives
    `[x, graph]` when the model is called on `[x, graph]` (a graph given as input).
    """

    def __init__(
        self, activation="relu", output_activation=None, batch_norm=False, dropout=0.0, **kwargs
    ):
        super().__init__(**validation.pop_base_kwargs(kwargs, validation.BASE_MODEL_KWARGS))
        self.hidden_activation = validation.activation("activation", activation)
        self.output_activation = validation.activation("output_activation", output_activation)
        self.batch_norm = validation.boolean("batch_norm", batch_norm)
        self.dropout = validation.bounded_float(
            "dropout", dropout, low=0.0, high=1.0, low_inclusive=True
        )
        self.head_kwargs = kwargs
        self.stack = []

    def hidden_steps(self, dropout=None):
        """Batch normalisation, the hidden activation and dropout, as new layers."""
        rate = self.dropout if dropout is None else dropout
        return processing(self.batch_norm, self.hidden_activation, rate, self.dtype_policy)

    def add_dense_layers(self, dims, dropout=0.0):
        """Appends an RPN layer (identity expansion: a perceptron) per width of `dims`,
        with the hidden activation and dropout between them and the output activation
        on the last one."""
        for k, units in enumerate(dims):
            last = k == len(dims) - 1
            self.stack.append(
                RPNLayer(
                    units,
                    activation=self.output_activation if last else self.hidden_activation,
                    use_bias=self.head_kwargs.get("use_bias", True),
                    dtype=self.dtype_policy,
                    name=f"fc_{k}",
                )
            )
            if not last and dropout > 0:
                self.stack.append(keras.layers.Dropout(dropout, dtype=self.dtype_policy))

    def call(self, inputs, training=None):
        graph = None
        if isinstance(inputs, (list, tuple)):
            inputs, graph = inputs
        x = inputs
        for layer in self.stack:
            if graph is not None and getattr(layer, "takes_graph", False):
                x = layer([x, graph], training=training)
            else:
                x = layer(x, training=training)
        return x

    def structure(self):
        return {"num_stack_layers": len(self.stack)}

    def preset_config(self):
        raise NotImplementedError

    def get_config(self):
        serialize = keras.saving.serialize_keras_object
        return {
            **super().get_config(),
            "activation": validation.serialize_activation("activation", self.hidden_activation),
            "output_activation": validation.serialize_activation(
                "output_activation", self.output_activation
            ),
            "batch_norm": self.batch_norm,
            "dropout": self.dropout,
            **self.preset_config(),
            **serialize(self.head_kwargs),
        }
