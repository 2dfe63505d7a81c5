"""Graph RPN presets: `GCN` and `GAT` (tinyBIG's `gcn` and `gat`).

Inputs are node features `(batch, nodes, features)`: one graph per sample, or batch 1
for one large graph. The graph is a constant (`adjacency=` or `edges=`) or, when
neither is given, a second input: call the model on `[x, adjacency]`.
"""

import keras

from keras_rpn.layers.graph import GraphBilinearLayer
from keras_rpn.layers.graph import GraphLayer
from keras_rpn.models.cnn import _dims
from keras_rpn.models.stack import LayerStack


class _GraphStack(LayerStack):
    """A graph layer per pair of `dims`, with batch normalisation, the activation and
    dropout between them; the last layer gives `dims[-1]` outputs per node."""

    layer_class = None

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        self.dims = _dims("dims", dims, 2)
        num_layers = len(self.dims) - 1
        for k, units in enumerate(self.dims[1:]):
            last = k == num_layers - 1
            self.stack.append(
                self.layer_class(
                    units,
                    activation=self.output_activation if last else None,
                    dtype=self.dtype_policy,
                    name=f"graph_{k}",
                    **self.head_kwargs,
                )
            )
            if not last:
                self.stack.extend(self.hidden_steps())
        # The graph is saved as the heads store it (an edge list), not as given.
        self.head_kwargs.pop("adjacency", None)
        self.head_kwargs.update(self.stack[0].heads[0].graph_config())

    def preset_config(self):
        return {"dims": self.dims}


@keras.saving.register_keras_serializable(package="keras_rpn")
class GCN(_GraphStack):
    """A graph convolutional network of RPN 2 graph layers (tinyBIG's `gcn`).

    Each layer computes `P X W^T + b` per node, with `P` the normalised adjacency
    (`GraphHead`; `normalization_mode="row_column"` gives Kipf and Welling's
    `D^-1/2 (A + I) D^-1/2`, tinyBIG's default `"column"` the mean over the
    neighbourhood). The outputs are logits (tinyBIG ends with a log-softmax; use
    `output_activation="log_softmax"` for it).

    Args:
        dims: `[m, n_1, ..., n_K]`: node feature width, then each layer's width.
        activation: hidden activation (default `"relu"`).
        output_activation: activation of the outputs (default none).
        batch_norm: batch normalisation between layers (default `False`).
        dropout: dropout rate between layers (default 0).
        **kwargs: the graph (`adjacency`, `edges`, `num_nodes`, `directed`, ...) and
            other `GraphLayer`/`GraphHead` arguments, and model keyword arguments.

    Example:
    >>> model = keras_rpn.models.GCN([3, 8, 2], edges=[[0, 1], [1, 2]])
    >>> tuple(model(np.zeros((1, 3, 3))).shape)
    (1, 3, 2)
    """

    layer_class = GraphLayer


@keras.saving.register_keras_serializable(package="keras_rpn")
class GAT(_GraphStack):
    """A graph attention network of RPN 2 graph-bilinear layers (tinyBIG's `gat`).

    Each layer lets every node attend to its neighbours (self included) through a
    softmax of bilinear scores of rank `rank` (`GraphBilinearHead`), with `width`
    independent heads fused by `head_fusion` (default mean).

    Args:
        dims: `[m, n_1, ..., n_K]`.
        rank: rank of the bilinear scores (default 3, tinyBIG's `r_interdependence`).
        activation, output_activation, batch_norm, dropout: as in `GCN`.
        **kwargs: the graph and other `GraphBilinearLayer` arguments, and model
            keyword arguments.

    Example:
    >>> model = keras_rpn.models.GAT([3, 8, 2], edges=[[0, 1], [1, 2]])
    >>> tuple(model(np.zeros((1, 3, 3))).shape)
    (1, 3, 2)
    """

    layer_class = GraphBilinearLayer

    def __init__(self, dims, rank=3, **kwargs):
        super().__init__(dims, rank=rank, **kwargs)
