"""Convolution-like RPN presets: `CNN` and `ResNet` (tinyBIG's `cnn` and `resnet`)."""

import keras

from keras_rpn import validation
from keras_rpn.layers.grid import GridCompression
from keras_rpn.layers.grid import GridLayer
from keras_rpn.models.stack import LayerStack


@keras.saving.register_keras_serializable(package="keras_rpn")
class CNN(LayerStack):
    """A convolutional network made of RPN 2 grid layers (tinyBIG's `cnn`).

    For images `(batch, h, w, channel_nums[0])`:

    * a `GridLayer` per pair of `channel_nums` (a 3x3 patch by default), each
      followed by batch normalisation, the activation and, every
      `pooling_layer_gaps` grid layers, a `GridCompression` (max pooling, 2x2 stride 2
      by default) and dropout of rate `dropout_pooling`;
    * a flatten, then an RPN layer per entry of `fc_dims` (identity expansion: a
      perceptron), with the activation and dropout `dropout_fc` between them; the last
      one gives `fc_dims[-1]` outputs with `output_activation` (default none: logits).

    Differences from tinyBIG on purpose: pooling is 2x2 with stride 2 (tinyBIG's
    defaults pool with stride 1 unless told otherwise), the heads of a layer are
    independent, and batch normalisation and dropout are Keras layers.

    Args:
        channel_nums: `[C_in, C_1, ..., C_K]`: input channels, then the output
            channels of each grid layer.
        fc_dims: widths of the fully connected layers, the last one the outputs.
        patch, packing_strategy, strides: the grid layers' patch and stride (see
            `GridHead`; default a 3x3 patch with stride 1).
        pooling_layer_gaps: a pooling after every this many grid layers (default 2).
        pooling_metric: `"max"` (default), `"mean"`, `"min"` or `"sum"`.
        pooling_patch, pooling_strides: see `GridCompression` (default 2x2, stride 2).
        activation: hidden activation (default `"relu"`).
        output_activation: activation of the outputs (default none).
        batch_norm: batch normalisation after every grid layer (default `True`).
        dropout_pooling, dropout_fc: dropout rates after the poolings and the hidden
            fully connected layers (defaults 0.25 and 0.5).
        **kwargs: `GridLayer`/`GridHead` arguments (`width`, `expansion`,
            `reconciliation`, `remainder`, `channels`, `use_bias`, ...) and model keyword
            arguments such as `name`.

    Example:
    >>> model = keras_rpn.models.CNN([1, 8, 8], fc_dims=[10])
    >>> tuple(model(np.zeros((2, 8, 8, 1))).shape)
    (2, 10)
    """

    def __init__(
        self,
        channel_nums,
        fc_dims,
        patch=None,
        packing_strategy="densest_packing",
        strides=None,
        pooling_layer_gaps=2,
        pooling_metric="max",
        pooling_patch=None,
        pooling_strides=None,
        batch_norm=True,
        dropout_pooling=0.25,
        dropout_fc=0.5,
        **kwargs,
    ):
        super().__init__(batch_norm=batch_norm, **kwargs)
        self.channel_nums = _dims("channel_nums", channel_nums, 2)
        self.fc_dims = _dims("fc_dims", fc_dims, 1)
        self.patch = patch
        self.packing_strategy = packing_strategy
        self.strides = strides
        self.pooling_layer_gaps = validation.positive_int("pooling_layer_gaps", pooling_layer_gaps)
        self.pooling_metric = pooling_metric
        self.pooling_patch = pooling_patch
        self.pooling_strides = pooling_strides
        self.dropout_pooling = validation.bounded_float(
            "dropout_pooling", dropout_pooling, low=0.0, high=1.0, low_inclusive=True
        )
        self.dropout_fc = validation.bounded_float(
            "dropout_fc", dropout_fc, low=0.0, high=1.0, low_inclusive=True
        )
        dtype = self.dtype_policy
        for k, units in enumerate(self.channel_nums[1:]):
            self.stack.append(
                GridLayer(
                    units,
                    patch=patch,
                    packing_strategy=packing_strategy,
                    strides=strides,
                    dtype=dtype,
                    name=f"grid_{k}",
                    **self.head_kwargs,
                )
            )
            self.stack.extend(self.hidden_steps(dropout=0.0))
            if (k + 1) % self.pooling_layer_gaps == 0:
                self.stack.append(
                    GridCompression(
                        pooling_metric,
                        patch=pooling_patch,
                        strides=pooling_strides,
                        dtype=dtype,
                        name=f"pooling_{k}",
                    )
                )
                if self.dropout_pooling > 0:
                    self.stack.append(keras.layers.Dropout(self.dropout_pooling, dtype=dtype))
        self.stack.append(keras.layers.Flatten(dtype=dtype))
        self.add_dense_layers(self.fc_dims, self.dropout_fc)

    def preset_config(self):
        return {
            "channel_nums": self.channel_nums,
            "fc_dims": self.fc_dims,
            "patch": self.patch,
            "packing_strategy": self.packing_strategy,
            "strides": self.strides,
            "pooling_layer_gaps": self.pooling_layer_gaps,
            "pooling_metric": self.pooling_metric,
            "pooling_patch": self.pooling_patch,
            "pooling_strides": self.pooling_strides,
            "dropout_pooling": self.dropout_pooling,
            "dropout_fc": self.dropout_fc,
        }


@keras.saving.register_keras_serializable(package="keras_rpn")
class ResNet(CNN):
    """`CNN` with a residual branch in every grid head (tinyBIG's `resnet`).

    Each grid head adds `pi(x)` at its patch centres: `"linear"` by default (a 1x1
    convolution with the head's stride, the projection shortcut of a ResNet);
    `remainder="identity"` when the channels do not change. tinyBIG's remainder is
    one dense matrix over the flattened image instead.

    Example:
    >>> model = keras_rpn.models.ResNet([1, 8, 8], fc_dims=[10])
    >>> tuple(model(np.zeros((2, 8, 8, 1))).shape)
    (2, 10)
    """

    def __init__(self, channel_nums, fc_dims, remainder="linear", **kwargs):
        super().__init__(channel_nums, fc_dims, remainder=remainder, **kwargs)


def _dims(name, dims, minimum):
    if isinstance(dims, (str, bytes)) or not hasattr(dims, "__len__") or len(dims) < minimum:
        raise ValueError(
            f"`{name}` must be a list of at least {minimum} positive integers. "
            f"Received: {name}={dims!r}"
        )
    return [validation.positive_int(f"{name}[{i}]", d) for i, d in enumerate(dims)]
