"""Graph interdependence functions: a graph's adjacency, its powers and PageRank.

Built on `topological.TopologicalInterdependence`: the adjacency matrix is made in numpy
at build, then powered or inverted there, once, and applied as a structured op.
"""

import numpy as np

from keras_rpn import validation
from keras_rpn.interdependence.base import register
from keras_rpn.interdependence.topological import TopologicalInterdependence
from keras_rpn.interdependence.topological import _Multihop
from keras_rpn.interdependence.topological import normalize


def _links(name, links):
    try:
        pairs = [tuple(pair) for pair in links]
    except TypeError:
        raise TypeError(
            f"Expected `{name}` to be a list of (source, target) pairs. Received: {name}={links!r}"
        ) from None
    if any(len(p) != 2 for p in pairs):
        raise ValueError(
            f"Expected `{name}` to be a list of (source, target) pairs. Received: {name}={links!r}"
        )
    return pairs


@register("graph", "graph_interdependence")
class GraphInterdependence(TopologicalInterdependence):
    """Graph interdependence: `A` is the adjacency matrix of a given graph.

    Formula (instance type, `N` nodes):
    ```
    A[i, j] = number of links i -> j   (max(A, A^T) if undirected) + self_scaling I
    xi(Z)_j = sum_i A[i, j] z_i        (messages along the links)
    ```
    optionally degree-normalised (`"symmetric"` with `self_dependence=True` is the
    GCN propagation `D^-1/2 (A + I) D^-1/2`). A sparse graph is applied as a gather
    of the link sources and a segment sum per target (cost proportional to the
    number of links), never as a dense `N x N` product.

    Args:
        nodes: the node ids, a list (their positions give the instance order), or
            the number of nodes `N` (ids `0..N-1`). Default: `N` of the input.
        links: the directed links, a list of `(source_id, target_id)` pairs.
        adjacency: alternatively, a dense `N x N` adjacency (weights allowed).
        directed: whether links are one-way (default True).
        normalization, normalization_mode, self_dependence, self_scaling,
            interdependence_type: see `TopologicalInterdependence`
            (`self_dependence` defaults to False).
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Example:
    >>> xi = keras_rpn.interdependence.get("graph", links=[(0, 2), (1, 2)])
    >>> keras.ops.convert_to_numpy(xi(np.array([[[1.0], [2.0], [4.0]]]))[..., 0])
    array([[0., 0., 3.]], dtype=float32)
    """

    def __init__(self, nodes=None, links=None, adjacency=None, directed=True, **kwargs):
        super().__init__(**kwargs)
        if (links is None) == (adjacency is None):
            raise ValueError(
                "Give the graph as `links` (a list of (source, target) pairs) or as "
                f"`adjacency` (an N x N matrix), not both or neither. Received: "
                f"links={links!r}, adjacency={adjacency!r}"
            )
        if isinstance(nodes, bool) or not (nodes is None or isinstance(nodes, (int, list, tuple))):
            raise TypeError(
                f"Expected `nodes` to be a list of node ids or a count. Received: nodes={nodes!r}"
            )
        self.nodes = list(nodes) if isinstance(nodes, (list, tuple)) else nodes
        if isinstance(self.nodes, int):
            validation.positive_int("nodes", self.nodes)
        self.links = None if links is None else [list(p) for p in _links("links", links)]
        self.adjacency = None
        if adjacency is not None:
            from keras_rpn.interdependence.basic import _matrix

            self.adjacency = _matrix("adjacency", adjacency)
            if self.adjacency.shape[0] != self.adjacency.shape[1]:
                raise ValueError(
                    f"`adjacency` must be square (N x N). Received shape {self.adjacency.shape}"
                )
        self.directed = validation.boolean("directed", directed)

    def node_ids(self, dim):
        if isinstance(self.nodes, list):
            return self.nodes
        if self.adjacency is not None:
            return list(range(self.adjacency.shape[0]))
        return list(range(dim if self.nodes is None else self.nodes))

    def structure(self, dim):
        ids = self.node_ids(dim)
        if len(ids) != dim:
            raise ValueError(
                f"The graph has {len(ids)} nodes, but the {self.interdependence_type} "
                f"axis of the input has size {dim}."
            )
        index = {node: i for i, node in enumerate(ids)}
        if len(index) != len(ids):
            raise ValueError(f"`nodes` holds duplicate ids. Received: nodes={self.nodes!r}")
        if self.adjacency is not None:
            rows, cols = np.nonzero(self.adjacency)
            return dim, list(zip(rows, cols, strict=True)), self.directed
        try:
            links = [(index[s], index[t]) for s, t in self.links]
        except KeyError as error:
            raise ValueError(
                f"`links` names node {error.args[0]!r}, which is not in `nodes`."
            ) from None
        return dim, links, self.directed

    def base_adjacency(self, dim):
        if self.adjacency is None:
            return super().base_adjacency(dim)
        self.structure(dim)
        a = self.adjacency if self.directed else np.maximum(self.adjacency, self.adjacency.T)
        if self.self_dependence and self.uses_self_dependence:
            a = a + self.self_scaling * np.eye(dim)
        return normalize(a, self.normalization_mode) if self.normalization else a

    def get_config(self):
        return {
            **super().get_config(),
            "nodes": self.nodes,
            "links": self.links,
            "adjacency": None if self.adjacency is None else self.adjacency.tolist(),
            "directed": self.directed,
        }


@register("multihop_graph", "multihop_graph_interdependence")
class MultihopGraphInterdependence(_Multihop, GraphInterdependence):
    """Multi-hop graph: `A^h`, or `A + A^2 + ... + A^h` when `accumulative`.

    Args:
        h: number of hops (default 1).
        accumulative: sum the powers 1..h (default False).
        nodes, links, adjacency, directed, normalization, normalization_mode,
            self_dependence, self_scaling, interdependence_type: see
            `GraphInterdependence`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.
    """


@register("pagerank", "pagerank_multihop_graph", "pagerank_multihop_graph_interdependence")
class PageRankMultihopGraphInterdependence(GraphInterdependence):
    """PageRank propagation: `A = c (I - (1 - c) A_g)^-1`, all hops damped by `1 - c`.

    `A_g` is the graph's adjacency (without self links, as in tinyBIG; normalise it,
    e.g. `normalization_mode="column"`, for a proper random walk). The inverse is
    computed once, in numpy, at build, and applied as a dense product.

    Args:
        c: teleport probability, in (0, 1] (default 0.15).
        nodes, links, adjacency, directed, normalization, normalization_mode,
            interdependence_type: see `GraphInterdependence`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.
    """

    uses_self_dependence = False

    def __init__(self, c=0.15, **kwargs):
        super().__init__(**kwargs)
        self.c = validation.probability("c", c)

    def transform(self, adj):
        inner = np.eye(adj.shape[0]) - (1.0 - self.c) * adj
        if abs(np.linalg.det(inner)) < 1e-12:
            raise ValueError(
                f"I - (1 - c) A is singular for this graph and c={self.c}; normalise the "
                "adjacency (normalization=True) or raise `c`."
            )
        return self.c * np.linalg.inv(inner)

    def get_config(self):
        return {**super().get_config(), "c": self.c}
