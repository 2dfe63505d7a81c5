"""Sequence RPN presets: `RNN`, `RegressionRNN` (chains) and `Transformer` (bilinear).

Inputs are sequences `(batch, tokens, features)`; tokens mix along their own axis,
never across the batch.
"""

import keras

from keras_rpn import validation
from keras_rpn.layers.bilinear import BilinearLayer
from keras_rpn.layers.chain import ChainLayer
from keras_rpn.layers.rpn_layer import RPNLayer
from keras_rpn.models.cnn import _dims
from keras_rpn.models.stack import LayerStack


@keras.saving.register_keras_serializable(package="keras_rpn")
class RNN(LayerStack):
    """A recurrence-like network of RPN 2 chain layers (tinyBIG's `rnn`).

    For each hidden width `n` of `dims[1:-1]`: a per-token RPN layer (`m -> n`, a
    perceptron, then the activation) and a `ChainLayer` (`n -> n`: each token adds
    its predecessor's features, one step of a linear recurrence, then the
    activation). The output layer reads the mean over the tokens (`RNN`) or all
    tokens flattened (`RegressionRNN`) and gives `dims[-1]` outputs.

    Args:
        dims: `[m, n_1, ..., n_K, outputs]`, at least one hidden width.
        activation: hidden activation (default `"relu"`).
        output_activation: activation of the outputs (default none: logits or
            regression values).
        batch_norm, dropout: after every hidden layer (default off).
        **kwargs: `ChainLayer`/`ChainHead` arguments (`bi_directional`, `num_hops`,
            `width`, `expansion`, ...) and model keyword arguments.

    Example:
    >>> model = keras_rpn.models.RNN([3, 8, 2])
    >>> tuple(model(np.zeros((4, 6, 3))).shape)
    (4, 2)
    """

    readout = "mean"

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        self.dims = _dims("dims", dims, 3)
        dtype = self.dtype_policy
        use_bias = self.head_kwargs.get("use_bias", True)
        for k, units in enumerate(self.dims[1:-1]):
            self.stack.append(RPNLayer(units, use_bias=use_bias, dtype=dtype, name=f"token_{k}"))
            self.stack.extend(self.hidden_steps())
            self.stack.append(ChainLayer(units, dtype=dtype, name=f"chain_{k}", **self.head_kwargs))
            self.stack.extend(self.hidden_steps())
        if self.readout == "mean":
            self.stack.append(keras.layers.GlobalAveragePooling1D(dtype=dtype))
        else:
            self.stack.append(keras.layers.Flatten(dtype=dtype))
        self.add_dense_layers(self.dims[-1:])

    def preset_config(self):
        return {"dims": self.dims}


@keras.saving.register_keras_serializable(package="keras_rpn")
class RegressionRNN(RNN):
    """`RNN` whose output layer reads every token's features, flattened (tinyBIG's
    `regression_rnn`), for forecasting from a window of past values.

    Example:
    >>> model = keras_rpn.models.RegressionRNN([1, 8, 1])
    >>> tuple(model(np.zeros((4, 6, 1))).shape)
    (4, 1)
    """

    readout = "flatten"


@keras.saving.register_keras_serializable(package="keras_rpn")
class Transformer(LayerStack):
    """An attention-like network of RPN 2 bilinear layers (tinyBIG's `transformer`).

    For each width `n` of `dims[1:]`: a `BilinearLayer` (`m -> n`: tokens attend to
    each other through a softmax of bilinear scores of rank `rank`, scaled by
    `1 / sqrt(rank)`, with a linear remainder, the residual branch), then batch
    normalisation if asked, the activation and dropout; then a per-token RPN layer
    (`n -> n`) with the activation. The tokens are then flattened (`pooling=
    "flatten"`, which keeps their order) or averaged (`"mean"`), and the RPN layers of
    `fc_dims` follow, the last giving the outputs.

    tinyBIG's `transformer` computes its attention across the rows of a batch and
    crashes (a misspelt keyword in its bilinear head); here attention runs over the
    tokens of each sample.

    Args:
        dims: `[m, n_1, ..., n_K]`: token width, then the width of each block.
        fc_dims: widths of the fully connected layers, the last one the outputs.
        rank: rank of the bilinear attention scores (default 3, tinyBIG's
            `r_interdependence`); `None` for a full `m x m` matrix.
        num_heads: independent attention heads per block (default 1), fused by
            `head_fusion` (default mean).
        causal: whether tokens only attend to earlier ones (default `False`).
        pooling: `"flatten"` (default) or `"mean"`.
        activation, output_activation, batch_norm, dropout: as in `RNN`
            (default dropout 0.25 after each block, tinyBIG's).
        **kwargs: `BilinearLayer`/`BilinearHead` arguments (`remainder`,
            `expansion`, ...) and model keyword arguments.

    Example:
    >>> model = keras_rpn.models.Transformer([8, 16], fc_dims=[10])
    >>> tuple(model(np.zeros((2, 8, 8))).shape)
    (2, 10)
    """

    def __init__(
        self,
        dims,
        fc_dims,
        rank=3,
        num_heads=1,
        causal=False,
        pooling="flatten",
        remainder="linear",
        dropout=0.25,
        **kwargs,
    ):
        super().__init__(dropout=dropout, **kwargs)
        self.dims = _dims("dims", dims, 2)
        self.fc_dims = _dims("fc_dims", fc_dims, 1)
        self.rank = validation.positive_int("rank", rank, allow_none=True)
        self.num_heads = validation.positive_int("num_heads", num_heads)
        self.causal = validation.boolean("causal", causal)
        if pooling not in ("flatten", "mean"):
            raise ValueError(
                f"`pooling` must be 'flatten' or 'mean'. Received: pooling={pooling!r}"
            )
        self.pooling = pooling
        self.remainder = remainder
        dtype = self.dtype_policy
        use_bias = self.head_kwargs.get("use_bias", True)
        for k, units in enumerate(self.dims[1:]):
            self.stack.append(
                BilinearLayer(
                    units,
                    width=self.num_heads,
                    rank=self.rank,
                    causal=self.causal,
                    remainder=remainder,
                    dtype=dtype,
                    name=f"attention_{k}",
                    **self.head_kwargs,
                )
            )
            self.stack.extend(self.hidden_steps())
            self.stack.append(
                RPNLayer(
                    units,
                    activation=self.hidden_activation,
                    use_bias=use_bias,
                    dtype=dtype,
                    name=f"token_{k}",
                )
            )
        if pooling == "mean":
            self.stack.append(keras.layers.GlobalAveragePooling1D(dtype=dtype))
        else:
            self.stack.append(keras.layers.Flatten(dtype=dtype))
        self.add_dense_layers(self.fc_dims)

    def preset_config(self):
        return {
            "dims": self.dims,
            "fc_dims": self.fc_dims,
            "rank": self.rank,
            "num_heads": self.num_heads,
            "causal": self.causal,
            "pooling": self.pooling,
            "remainder": self.remainder,
        }
