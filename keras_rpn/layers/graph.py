"""Graph (GCN-like) and graph-bilinear (GAT-like) RPN 2 heads and layers.

The graph is given once, as a constant (`adjacency`, an `N x N` array, or `edges`, a
list of `(source, target)` pairs), stored in the config and applied through the graph
functions of `keras_rpn.interdependence`; or per sample, as a second model input: the
head is then called on `[x, adjacency]` with `adjacency` of shape
`(batch, N, N)`. `A[i, j] != 0` is an edge `i -> j`; node `j` receives from `i`.
"""

import keras
import numpy as np
from keras import ops

from keras_rpn import interdependence
from keras_rpn import validation
from keras_rpn.layers.bilinear import BilinearHead
from keras_rpn.layers.interdependent import HeadStack
from keras_rpn.layers.interdependent import InterdependentHead

_MODES = ("row", "column", "row_column", "symmetric")


class GraphMixin:
    """The graph arguments shared by `GraphHead` and `GraphBilinearHead`."""

    def _init_graph(self, adjacency, edges, num_nodes, directed, self_dependence):
        self.directed = validation.boolean("directed", directed)
        self.self_dependence = validation.boolean("self_dependence", self_dependence)
        if adjacency is not None and edges is not None:
            raise ValueError("Give the graph as `adjacency` or as `edges`, not both.")
        self.adjacency = None
        self.edges = None
        self.num_nodes = validation.positive_int("num_nodes", num_nodes, allow_none=True)
        if adjacency is not None:
            a = np.asarray(adjacency, dtype="float64")
            if a.ndim != 2 or a.shape[0] != a.shape[1]:
                raise ValueError(
                    f"`adjacency` must be a square (N, N) matrix. Received shape {a.shape}."
                )
            if not np.all(np.isfinite(a)):
                raise ValueError("`adjacency` holds NaN or infinite values.")
            self.adjacency = a.tolist()
            self.num_nodes = a.shape[0]
        elif edges is not None:
            e = np.asarray(edges)
            if e.ndim != 2 or e.shape[1:] != (2,) or not np.issubdtype(e.dtype, np.integer):
                raise ValueError(
                    f"`edges` must be a list of (source, target) integer pairs. "
                    f"Received: edges={edges!r}"
                )
            if self.num_nodes is None:
                self.num_nodes = int(e.max()) + 1
            if e.min() < 0 or e.max() >= self.num_nodes:
                raise ValueError(
                    f"`edges` name nodes outside [0, num_nodes={self.num_nodes}). "
                    f"Received node ids from {e.min()} to {e.max()}."
                )
            self.edges = e.astype("int64").tolist()
        elif num_nodes is not None:
            raise ValueError("`num_nodes` needs `edges`.")

    def graph_function(self, name="graph", **arguments):
        """The `keras_rpn.interdependence` function of the constant graph."""
        graph = {"adjacency": self.adjacency}
        if self.edges is not None:
            graph = {"links": self.edges, "nodes": self.num_nodes}
        return interdependence.get(
            name,
            interdependence_type="instance",
            directed=self.directed,
            name="interdependence",
            dtype=self.dtype_policy,
            **graph,
            **arguments,
        )

    @property
    def graph_is_input(self):
        """Whether the graph comes as a second input `[x, adjacency]`."""
        return self.edges is None and self.adjacency is None

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

    def input_adjacency(self, context):
        """The same for a per-sample adjacency input `(batch, N, N)`, with ops."""
        a = ops.cast(context, self.compute_dtype)
        if not self.directed:
            a = ops.maximum(a, ops.swapaxes(a, -1, -2))
        if self.self_dependence:
            a = a + ops.eye(a.shape[-1], dtype=a.dtype)
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
            "adjacency": self.adjacency,
            "edges": self.edges,
            "num_nodes": self.num_nodes,
            "directed": self.directed,
            "self_dependence": self.self_dependence,
        }


@keras.saving.register_keras_serializable(package="keras_rpn")
class GraphHead(GraphMixin, InterdependentHead):
    """GCN-like RPN 2 head: node features mix along the graph.

    For node features `X` of shape `(batch, N, m)`:
    ```
    Y = activation( A^T F_channel([ kappa(X) psi(w_c)^T ]) + b + pi(X) )
    ```
    (tinyBIG's instance interdependence `A^T kappa(X)`): `A` is the adjacency
    (symmetrised unless `directed`, plus `I` if `self_dependence`), degree-normalised
    if `normalization` (`"row"`: `D^-1 A`; `"column"`: `A D^-1`, tinyBIG's default,
    the mean over each node's neighbourhood; `"symmetric"`: `D^-1/2 A D^-1/2`, so
    `A^T = D^-1/2 (A + I) D^-1/2` is Kipf and Welling's GCN propagation;
    `"row_column"`: tinyBIG's sequential form), raised to `num_hops` (summed over hops
    if `accumulative`), or PageRank's `c (I - (1 - c) A)^-1` when `pagerank_c` is set.
    A constant graph is a `keras_rpn.interdependence` graph function, applied as a
    sparse product (gather and segment sum) or a dense one, whichever is cheaper; a
    graph given as input is normalised per sample.

    Args:
        units: output width `n` per node.
        adjacency: constant `(N, N)` adjacency (array-like, weights allowed), or
        edges: constant list of `(source, target)` pairs (with `num_nodes`, default
            the largest id + 1); neither: the graph is a second input `(batch, N, N)`.
        directed: whether edges are one-way (default `False`).
        self_dependence: whether every node receives itself (default `True`).
        normalization: whether `A` is degree-normalised (default `True`).
        normalization_mode: `"row"`, `"column"` (default), `"row_column"` or
            `"symmetric"`.
        num_hops, accumulative: multi-hop propagation (default 1 hop).
        pagerank_c: PageRank teleport probability `c`, or `None` (default).
        **kwargs: `InterdependentHead` arguments.

    Example:
    >>> head = keras_rpn.layers.GraphHead(4, edges=[[0, 1], [1, 2]])
    >>> tuple(head(np.zeros((1, 3, 5))).shape)
    (1, 3, 4)
    """

    def __init__(
        self,
        units,
        adjacency=None,
        edges=None,
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
        self._init_graph(adjacency, edges, num_nodes, directed, self_dependence)
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
        if self.graph_is_input:
            if self.pagerank_c is not None:
                raise ValueError("`pagerank_c` needs a constant graph (`adjacency` or `edges`).")
            return
        arguments = {
            "normalization": self.normalization,
            "normalization_mode": normalization_mode,
            "self_dependence": self.self_dependence,
        }
        name = "graph"
        if self.pagerank_c is not None:
            name, arguments["c"] = "pagerank", self.pagerank_c
        elif self.num_hops > 1 or self.accumulative:
            name = "multihop_graph"
            arguments.update(h=self.num_hops, accumulative=self.accumulative)
        self.interdependence = self.graph_function(name, **arguments)

    def build_mixing(self, input_shape):
        self.check_nodes(input_shape)
        if not self.graph_is_input:
            super().build_mixing(input_shape)

    def mix(self, y, x, context=None, mask=None):
        if not self.graph_is_input:
            return super().mix(y, x)
        a = self.input_adjacency(context)
        if self.normalization:
            a = _normalize(a, self.normalization_mode)
        total = power = a
        for _ in range(self.num_hops - 1):
            power = ops.matmul(power, a)
            total = total + power
        a = total if self.accumulative else power
        return ops.einsum("bij,bif->bjf", ops.cast(a, y.dtype), y)

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


def _normalize(a, mode):
    """The degree normalisations of `keras_rpn.interdependence`, per sample (zero
    sums count as one): `a` has shape `(batch, N, N)`."""

    def inverse_root(s, power):
        return ops.power(ops.where(s == 0, 1.0, s), -power)

    rows = ops.sum(a, axis=-1, keepdims=True)
    if mode == "row":
        return a * inverse_root(rows, 1.0)
    if mode == "column":
        return a * inverse_root(ops.sum(a, axis=-2, keepdims=True), 1.0)
    if mode == "symmetric":
        return a * inverse_root(rows, 0.5) * ops.swapaxes(inverse_root(rows, 0.5), -1, -2)
    a = a * inverse_root(rows, 0.5)  # row_column: rows, then the columns of the result
    return a * inverse_root(ops.sum(a, axis=-2, keepdims=True), 0.5)


@keras.saving.register_keras_serializable(package="keras_rpn")
class GraphBilinearHead(GraphMixin, BilinearHead):
    """GAT-like RPN 2 head: bilinear attention restricted to the graph's edges.

    As `BilinearHead`, with the scores `S[j, i]` masked to the pairs where node `j`
    receives from node `i` (`A[i, j] != 0`, self loops included by default), so each
    node's softmax runs over its neighbourhood (tinyBIG's
    `graph_bilinear_interdependence_head`: the graph times the bilinear matrix, then
    a masked softmax). A node with no neighbour receives nothing.

    Args:
        units: output width `n` per node.
        adjacency, edges, num_nodes, directed, self_dependence: the graph, as in
            `GraphHead` (neither `adjacency` nor `edges`: a second input).
        **kwargs: `BilinearHead` arguments (`rank`, `scale`, ...) and
            `InterdependentHead` arguments.

    Example:
    >>> head = keras_rpn.layers.GraphBilinearHead(4, edges=[[0, 1], [1, 2]], rank=2)
    >>> tuple(head(np.zeros((1, 3, 5))).shape)
    (1, 3, 4)
    """

    def __init__(
        self,
        units,
        adjacency=None,
        edges=None,
        num_nodes=None,
        directed=False,
        self_dependence=True,
        **kwargs,
    ):
        super().__init__(units, **kwargs)
        self._init_graph(adjacency, edges, num_nodes, directed, self_dependence)
        self.supports_masking = False

    def build_mixing(self, input_shape):
        self.check_nodes(input_shape)
        super().build_mixing(input_shape)
        if not self.graph_is_input:
            graph = self.graph_function(self_dependence=self.self_dependence)
            # A numpy constant (batch 1, queries, keys), like the graph functions' own.
            self.support = graph.constant_matrix(self.num_nodes).T[None] != 0

    def score_mask(self, x, context=None, mask=None):
        if self.graph_is_input:
            allowed = ops.swapaxes(self.input_adjacency(context) != 0, -1, -2)
        else:
            allowed = ops.convert_to_tensor(self.support)
        causal = super().score_mask(x, mask=mask)
        return allowed if causal is None else ops.logical_and(allowed, causal)

    def get_config(self):
        return {**super().get_config(), **self.graph_config()}


@keras.saving.register_keras_serializable(package="keras_rpn")
class GraphLayer(HeadStack):
    """`width` independent `GraphHead`s, fused (tinyBIG's `graph_interdependence_layer`).

    Example:
    >>> layer = keras_rpn.layers.GraphLayer(4, edges=[[0, 1], [1, 2]], width=2)
    >>> tuple(layer(np.zeros((1, 3, 5))).shape)
    (1, 3, 4)
    """

    head_class = GraphHead


@keras.saving.register_keras_serializable(package="keras_rpn")
class GraphBilinearLayer(HeadStack):
    """`width` independent `GraphBilinearHead`s, fused (tinyBIG's
    `graph_bilinear_interdependence_layer`).

    Example:
    >>> layer = keras_rpn.layers.GraphBilinearLayer(4, edges=[[0, 1]], num_nodes=3)
    >>> tuple(layer(np.zeros((1, 3, 5))).shape)
    (1, 3, 4)
    """

    head_class = GraphBilinearHead
