"""`ProcessedRPN`: an RPN with Keras processing layers after each RPN layer.

It is the general form the presets (`keras_rpn.models.presets`) are built on, and
what `keras_rpn.config.from_tinybig` returns for heads with output processing
beyond an activation. Its registered name (`keras_rpn>ProcessedRPN`) is unchanged,
so models saved when it lived in `presets` load as before.
"""

import keras

from keras_rpn import processing
from keras_rpn.models.rpn import RPN


@keras.saving.register_keras_serializable(package="keras_rpn")
class ProcessedRPN(RPN):
    """An RPN with Keras layers run after each RPN layer.

    Formula: `x_k = P_k(layer_k(x_{k-1}))`, where `P_k` runs the layers of
    `postprocessing[k]` in order (for example batch normalisation, an activation and
    dropout, tinyBIG's output processing functions). The processing layers are
    ordinary Keras layers: they honour `training=` (dropout is off and batch
    normalisation uses its moving statistics at inference), their weights train, and
    they are saved with the model.

    Args:
        dims: widths `[m, n_1, ..., n_K]`, input width first.
        activation: activation of every RPN layer but the last (default none).
        output_activation: activation of the last RPN layer (default none).
        layer_configs: optional list of `K` dicts of `RPNLayer` arguments.
        postprocessing: optional list of `K` entries, one per RPN layer: `None`, or
            a processing step, or a list of steps. A step is a Keras layer, a layer
            config dict, a Keras activation name or one of `"batch_norm"`,
            `"layer_norm"`, `"layer_normalization"`, `"dropout"` (rate 0.5). Each step
            must keep the width of the last axis.
        **kwargs: `RPNLayer` / `RPNHead` arguments shared by all layers, and base
            model keyword arguments such as `name`.

    Example:
    >>> model = keras_rpn.models.ProcessedRPN(
    ...     [8, 16, 3], expansion="chebyshev",
    ...     postprocessing=[["batch_norm", "relu", keras.layers.Dropout(0.2)], None])
    >>> tuple(model(np.zeros((2, 8))).shape)
    (2, 3)
    """

    def __init__(
        self,
        dims,
        activation=None,
        output_activation=None,
        layer_configs=None,
        postprocessing=None,
        **kwargs,
    ):
        num_layers = len(dims) - 1 if hasattr(dims, "__len__") else 0
        groups = self._groups(postprocessing, num_layers)
        # One flat list (Keras saves flat lists of layers reliably) and a count per layer.
        self.postprocessing_counts = [len(g) for g in groups]
        self.postprocessing_layers = [layer for g in groups for layer in g]
        super().__init__(
            dims,
            activation=activation,
            output_activation=output_activation,
            layer_configs=layer_configs,
            **kwargs,
        )

    @staticmethod
    def _groups(postprocessing, num_layers):
        if postprocessing is None:
            return [[] for _ in range(num_layers)]
        if isinstance(postprocessing, (str, dict)) or not hasattr(postprocessing, "__len__"):
            raise TypeError(
                "`postprocessing` must be a list with one entry per RPN layer. "
                f"Received: postprocessing={postprocessing!r}"
            )
        if len(postprocessing) != num_layers:
            raise ValueError(
                f"`postprocessing` needs one entry per RPN layer ({num_layers}). "
                f"Received {len(postprocessing)} entries."
            )
        groups = []
        for entry in postprocessing:
            if entry is None:
                entry = []
            elif not isinstance(entry, (list, tuple)):
                entry = [entry]
            groups.append(processing.layers("postprocessing", entry))
        return groups

    def postprocessing_groups(self):
        """The processing layers of each RPN layer, a list of `K` lists."""
        groups, start = [], 0
        for count in self.postprocessing_counts:
            groups.append(self.postprocessing_layers[start : start + count])
            start += count
        return groups

    def build(self, input_shape):
        super().build(input_shape)
        shape = tuple(input_shape)
        for layer, group in zip(self.rpn_layers, self.postprocessing_groups(), strict=True):
            shape = layer.compute_output_shape(shape)
            for step in group:
                shape = processing.build_step(step, shape, "Postprocessing layers")

    def call(self, inputs, training=None):
        x = inputs
        for layer, group in zip(self.rpn_layers, self.postprocessing_groups(), strict=True):
            x = layer(x, training=training)
            for step in group:
                x = step(x, training=training)
        return x

    def structure(self):
        return {**super().structure(), "num_postprocessing_layers": len(self.postprocessing_layers)}

    def get_config(self):
        config = super().get_config()
        config["postprocessing"] = [
            [_serialize_step(step) for step in group] or None
            for group in self.postprocessing_groups()
        ]
        return config


def _serialize_step(layer):
    """A processing layer's config, without its build state (the model rebuilds it)."""
    config = keras.layers.serialize(layer)
    config.pop("build_config", None)
    return config
