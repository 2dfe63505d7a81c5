"""Graph (GCN-like) and graph-bilinear (GAT-like) RPN 2 heads and layers.

The graph is given once, as a constant (`adjacency`, an `N x N` array, or `edges`, a
list of `(source, target)` pairs with optional `edge_weights`), stored in the config
and turned into a structured constant at build; or per sample, as a second model
input: the head is then called on `[x, adjacency]` with `adjacency` of shape
`(batch, N, N)`. `A[i, j] != 0` is an edge `i -> j`; node `j` receives from `i`.
"""

import keras
import numpy as np
from keras import ops

from keras_rpn import validation
from keras_rpn.layers.bilinear import BilinearHead
from keras_rpn.layers.chain import _MODES
from keras_rpn.layers.chain import hops
from keras_rpn.layers.chain import normalize
from keras_rpn.layers.interdependent import ConstantMixing
from keras_rpn.layers.interdependent import HeadStack
from keras_rpn.layers.interdependent import InterdependentHead
from keras_rpn.layers.interdependent import constant_weight


class GraphMixin:
    """The graph arguments shared by `GraphHead` and `GraphBilinearHead`."""

    def _init_graph(self, adjacency, edges, edge_weights, num_nodes, directed, self_dependence):
        self.directed = validation.boolean("directed", directed)
        self.self_dependence = validation.boolean("self_dependence", self_dependence)
        if adjacency is not None and edges is not None:
            raise ValueError("Give the graph as `adjacency` or as `edges`, not both.")
        if adjacency is not None:
            a = np.asarray(adjacency, dtype="float64")
            if a.ndim != 2 or a.shape[0] != a.shape[1]:
                raise ValueError(
                    f"`adjacency` must be a square (N, N) matrix. Received shape {a.shape}."
                )
            if not np.all(np.isfinite(a)):
                raise ValueError("`adjacency` holds NaN or infinite values.")
            rows, cols = np.nonzero(a)
            edges = np.stack([rows, cols], axis=1)
            weights = a[rows, cols]
            edge_weights = None if np.all(weights == 1.0) else weights
            num_nodes = a.shape[0]
        self.edges = None
        self.edge_weights = None
        self.num_nodes = validation.positive_int("num_nodes", num_nodes, allow_none=True)
        if edges is None:
            if edge_weights is not None or num_nodes is not None:
                raise ValueError("`edge_weights` and `num_nodes` need `edges`.")
            return
        e = np.asarray(edges)
        if e.ndim != 2 or (len(e) and e.shape[1] != 2) or not np.issubdtype(e.dtype, np.integer):
            raise ValueError(
                f"`edges` must be a list of (source, target) integer pairs. Received: {edges!r}"
            )
        if self.num_nodes is None:
            self.num_nodes = int(e.max()) + 1 if len(e) else 1
        if len(e) and (e.min() < 0 or e.max() >= self.num_nodes):
            raise ValueError(
                f"`edges` name nodes outside [0, num_nodes={self.num_nodes}). "
                f"Received node ids from {e.min()} to {e.max()}."
            )
        self.edges = e.astype("int64").tolist()
        if edge_weights is not None:
            w = np.asarray(edge_weights, dtype="float64")
            if w.shape != (len(e),) or not np.all(np.isfinite(w)):
                raise ValueError(
                    f"`edge_weights` must hold one finite number per edge ({len(e)}). "
                    f"Received shape {w.shape}."
                )
            self.edge_weights = w.tolist()

    @property
    def graph_is_input(self):
        """Whether the graph comes as a second input `[x, adjacency]`."""
        return self.edges is None

    takes_graph = graph_is_input

    def split_inputs(self, inputs):
        if self.graph_is_input:
            if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
                raise ValueError(
                    f"{self.__class__.__name__} was given no `adjacency` or `edges`, so "
                    f"it takes the graph as a second input: call it on [x, adjacency]. "
                    f"Received: {inputs!r}"
                )
            return inputs[0], inputs[1]
        return inputs, None

    def adjacency_matrix(self):
        """The constant `A` in numpy: symmetrised if undirected, self loops added."""
        a = np.zeros((self.num_nodes, self.num_nodes))
        if self.edges:
            e = np.asarray(self.edges)
            np.add.at(a, (e[:, 0], e[:, 1]), 1.0 if self.edge_weights is None else self.edge_weights)
        if not self.directed:
            a = np.maximum(a, a.T)
        if self.self_dependence:
            a = a + np.eye(self.num_nodes) * (np.diagonal(a) == 0)
        return a

    def input_adjacency(self, context):
        """The same for a per-sample adjacency input `(batch, N, N)`, with ops."""
        a = ops.cast(context, self.compute_dtype)
        if not self.directed:
            a = ops.maximum(a, ops.swapaxes(a, -1, -2))
        if self.self_dependence:
            eye = ops.eye(a.shape[-1], dtype=a.dtype)
            a = a + eye * ops.cast(ops.diagonal(a, axis1=-2, axis2=-1)[..., None, :] == 0, a.dtype)
        return a

    def check_nodes(self, input_shape):
        x_shape, a_shape = self.split_inputs(input_shape)
        if len(x_shape) != 3:
            raise ValueError(
                f"{self.__class__.__name__} expects node features of shape (batch, nodes, "
                f"features). Received: {tuple(x_shape)}"
            )
        nodes = x_shape[1]
        if self.graph_is_input:
            if len(a_shape) != 3 or a_shape[-1] != a_shape[-2] or a_shape[-1] != nodes:
                raise ValueError(
                    f"The adjacency input must have shape (batch, N, N) with N = {nodes} "
                    f"nodes. Received: {tuple(a_shape)}"
                )
        elif nodes != self.num_nodes:
            raise ValueError(
                f"The graph has {self.num_nodes} nodes but the input has {nodes} on axis 1. "
                f"Received: input_shape={tuple(x_shape)}"
            )

    def graph_config(self):
        return {
            "edges": self.edges,
            "edge_weights": self.edge_weights,
            "num_nodes": self.num_nodes,
            "directed": self.directed,
            "self_dependence": self.self_dependence,
        }


@keras.saving.register_keras_serializable(package="keras_rpn")
class GraphHead(GraphMixin, InterdependentHead):
    """GCN-like RPN 2 head: node features mix along the graph.

    For node features `X` of shape `(batch, N, m)`:
    ```
    Y = activation( P F_channel([ kappa(X) psi(w_c)^T ]) + b + pi(X) )
    ```
    with `P = A_norm^T` (tinyBIG's `A^T kappa(X)`): `A` the adjacency (symmetrised
    unless `directed`, plus self loops if `self_dependence`), degree-normalised
    (`normalization_mode` `"row"`: `D^-1 A`, `"column"`: `A D^-1`, `"row_column"`:
    `D^-1/2 A D^-1/2`, the GCN propagation), raised to `num_hops` (summed over hops
    if `accumulative`), or PageRank's `c (I - (1 - c) A)^-1` when `pagerank_c` is set.
    A constant graph is applied as a sparse product (gather and segment sum) or a
    dense one, whichever is cheaper; a graph given as input is normalised per sample.

    Args:
        units: output width `n` per node.
        adjacency: constant `(N, N)` adjacency (array-like), or
        edges: constant list of `(source, target)` pairs, with optional
            `edge_weights` and `num_nodes`; neither: the graph is a second input.
        directed: whether edges are one-way (default `False`).
        self_dependence: whether every node receives itself (default `True`).
        normalization: whether `A` is degree-normalised (default `True`).
        normalization_mode: `"row"`, `"column"` or `"row_column"` (default
            `"column"`, tinyBIG's).
        num_hops, accumulative: multi-hop propagation (default 1 hop).
        pagerank_c: PageRank teleport probability `c`, or `None` (default).
        **kwargs: `InterdependentHead` arguments.

    Example:
    >>> head = keras_rpn.layers.GraphHead(4, edges=[[0, 1], [1, 2]])
    >>> head(np.zeros((1, 3, 5))).shape
    (1, 3, 4)
    """

    def __init__(
        self,
        units,
        adjacency=None,
        edges=None,
        edge_weights=None,
        num_nodes=None,
        directed=False,
        self_dependence=True,
        normalization=True,
        normalization_mode="column",
        num_hops=1,
        accumulative=False,
        pagerank_c=None,
        **kwargs,
    ):
        super().__init__(units, **kwargs)
        self._init_graph(adjacency, edges, edge_weights, num_nodes, directed, self_dependence)
        self.normalization = validation.boolean("normalization", normalization)
        if normalization_mode not in _MODES:
            raise ValueError(
                f"Unknown normalization_mode {normalization_mode!r}. Valid modes: "
                f"{', '.join(_MODES)}."
            )
        self.normalization_mode = normalization_mode
        self.num_hops = validation.positive_int("num_hops", num_hops)
        self.accumulative = validation.boolean("accumulative", accumulative)
        self.pagerank_c = (
            None if pagerank_c is None else validation.probability("pagerank_c", pagerank_c)
        )
        if self.pagerank_c is not None and self.graph_is_input:
            raise ValueError("`pagerank_c` needs a constant graph (`adjacency` or `edges`).")

    def propagation_matrix(self):
        """The constant numpy `P` (`N x N`): `y_i = sum_j P_ij x_j`."""
        a = self.adjacency_matrix()
        if self.normalization:
            a = normalize(a, self.normalization_mode)
        if self.pagerank_c is not None:
            c = self.pagerank_c
            a = c * np.linalg.inv(np.eye(len(a)) - (1.0 - c) * a)
        else:
            a = hops(a, self.num_hops, self.accumulative)
        return a.T

    def build_mixing(self, input_shape):
        self.check_nodes(input_shape)
        if not self.graph_is_input:
            self.mixing = ConstantMixing(self, self.propagation_matrix())

    def mix(self, y, x, context=None, mask=None):
        if not self.graph_is_input:
            return self.mixing(y)
        a = self.input_adjacency(context)
        if self.normalization:
            rows = ops.sum(a, axis=-1, keepdims=True)
            cols = ops.sum(a, axis=-2, keepdims=True)
            power = {"row": (1.0, 0.0), "column": (0.0, 1.0), "row_column": (0.5, 0.5)}
            p_row, p_col = power[self.normalization_mode]
            a = a * _safe_power(rows, p_row) * _safe_power(cols, p_col)
        total = power_a = a
        for _ in range(self.num_hops - 1):
            power_a = ops.matmul(power_a, a)
            total = total + power_a
        a = total if self.accumulative else power_a
        return ops.einsum("bji,bjf->bif", ops.cast(a, y.dtype), y)

    def get_config(self):
        return {
            **super().get_config(),
            **self.graph_config(),
            "normalization": self.normalization,
            "normalization_mode": self.normalization_mode,
            "num_hops": self.num_hops,
            "accumulative": self.accumulative,
            "pagerank_c": self.pagerank_c,
        }


def _safe_power(d, power):
    if power == 0.0:
        return 1.0
    safe = ops.where(d > 0, d, 1.0)
    return ops.where(d > 0, ops.power(safe, -power), 0.0)


@keras.saving.register_keras_serializable(package="keras_rpn")
class GraphBilinearHead(GraphMixin, BilinearHead):
    """GAT-like RPN 2 head: bilinear attention restricted to the graph's edges.

    As `BilinearHead`, with the scores `S[j, i]` masked to the pairs where node `j`
    receives from node `i` (`A[i, j] != 0`, self loops included by default), so each
    node's softmax runs over its neighbourhood (tinyBIG's
    `graph_bilinear_interdependence_head`: the graph times the bilinear matrix, then
    a masked softmax).

    Args:
        units: output width `n` per node.
        adjacency, edges, edge_weights, num_nodes, directed, self_dependence: the
            graph, as in `GraphHead` (neither `adjacency` nor `edges`: a second input).
        **kwargs: `BilinearHead` arguments (`rank`, `scale`, ...) and
            `InterdependentHead` arguments.

    Example:
    >>> head = keras_rpn.layers.GraphBilinearHead(4, edges=[[0, 1], [1, 2]], rank=2)
    >>> head(np.zeros((1, 3, 5))).shape
    (1, 3, 4)
    """

    def __init__(
        self,
        units,
        adjacency=None,
        edges=None,
        edge_weights=None,
        num_nodes=None,
        directed=False,
        self_dependence=True,
        **kwargs,
    ):
        super().__init__(units, **kwargs)
        self._init_graph(adjacency, edges, edge_weights, num_nodes, directed, self_dependence)
        self.supports_masking = False

    def build_mixing(self, input_shape):
        self.check_nodes(input_shape)
        super().build_mixing(input_shape)
        if not self.graph_is_input:
            self.support = constant_weight(self, "support", self.adjacency_matrix().T[None] != 0)

    def score_mask(self, x, context=None, mask=None):
        if self.graph_is_input:
            allowed = ops.swapaxes(self.input_adjacency(context) != 0, -1, -2)
        else:
            allowed = self.support != 0
        causal = super().score_mask(x, mask=mask)
        return allowed if causal is None else ops.logical_and(allowed, causal)

    def get_config(self):
        return {**super().get_config(), **self.graph_config()}


@keras.saving.register_keras_serializable(package="keras_rpn")
class GraphLayer(HeadStack):
    """`width` independent `GraphHead`s, fused (tinyBIG's `graph_interdependence_layer`).

    Example:
    >>> layer = keras_rpn.layers.GraphLayer(4, edges=[[0, 1], [1, 2]], width=2)
    >>> layer(np.zeros((1, 3, 5))).shape
    (1, 3, 4)
    """

    head_class = GraphHead


@keras.saving.register_keras_serializable(package="keras_rpn")
class GraphBilinearLayer(HeadStack):
    """`width` independent `GraphBilinearHead`s, fused (tinyBIG's
    `graph_bilinear_interdependence_layer`).

    Example:
    >>> layer = keras_rpn.layers.GraphBilinearLayer(4, edges=[[0, 1]], num_nodes=3)
    >>> layer(np.zeros((1, 3, 5))).shape
    (1, 3, 4)
    """

    head_class = GraphBilinearHead
