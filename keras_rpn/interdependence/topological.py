"""Topological interdependence functions: chains (graphs: `graph`), constant at build.

The adjacency matrix is built in numpy when the function is built, then powered,
inverted or exponentiated there, once; the result is applied as a structured op
(`structured.MatrixOp`): a chain as shifted adds, a sparse graph as a gather and
segment sum, a dense result (PageRank's inverse, `expm`) as one matrix product.
"""

import numpy as np

from keras_rpn import validation
from keras_rpn.interdependence.base import Interdependence
from keras_rpn.interdependence.base import register

_MODES = ("row", "column", "row_column", "symmetric")


def adjacency(num_nodes, links, directed=True, self_dependence=False, self_scaling=1.0):
    """tinyBIG's adjacency: `A[i, j] = ` number of links `i -> j`.

    Undirected graphs take the entrywise maximum of `A` and `A^T`; self dependence
    adds `self_scaling * I` (on top of any self-loop links).
    """
    a = np.zeros((num_nodes, num_nodes))
    for i, j in links:
        a[i, j] += 1.0
    if not directed:
        a = np.maximum(a, a.T)
    if self_dependence:
        a = a + self_scaling * np.eye(num_nodes)
    return a


def normalize(a, mode):
    """Degree normalisation (zero sums count as one).

    `"row"`: `D_r^-1 A`; `"column"`: `A D_c^-1`; `"row_column"`: tinyBIG's sequential
    form (rows divided by the square roots of their sums, then columns of the result
    by the square roots of theirs); `"symmetric"`: `D^-1/2 A D^-1/2` with `D` the
    row sums (the GCN normalisation of `A + I` when `self_dependence` is set).
    """

    def safe(s):
        return np.where(s == 0, 1.0, s)

    if mode == "row":
        return a / safe(a.sum(axis=1))[:, None]
    if mode == "column":
        return a / safe(a.sum(axis=0))[None, :]
    if mode == "row_column":
        a = a / np.sqrt(safe(a.sum(axis=1)))[:, None]
        return a / np.sqrt(safe(a.sum(axis=0)))[None, :]
    d = 1.0 / np.sqrt(safe(a.sum(axis=1)))
    return d[:, None] * a * d[None, :]


def accumulative_power(a, h):
    """`A + A^2 + ... + A^h`."""
    total, power = a.copy(), a.copy()
    for _ in range(h - 1):
        power = a @ power
        total = total + power
    return total


def expm(a):
    """The matrix exponential, by scaling and squaring a Taylor series (numpy only)."""
    norm = np.abs(a).sum(axis=1).max() if a.size else 0.0
    squarings = max(0, int(np.ceil(np.log2(norm / 0.25)))) if norm > 0.25 else 0
    scaled = a / (2.0**squarings)
    result, term = np.eye(a.shape[0]), np.eye(a.shape[0])
    for k in range(1, 24):
        term = term @ scaled / k
        result = result + term
    for _ in range(squarings):
        result = result @ result
    return result


class TopologicalInterdependence(Interdependence):
    """Base of chain and graph interdependences: a constant structural matrix.

    A subclass implements `structure(dim)` returning `(num_nodes, links, directed)`;
    `base_adjacency` applies self dependence and normalisation; `transform(adj)`
    (default: the adjacency itself) makes `A`.

    Args:
        normalization: whether to degree-normalise the adjacency (default False).
        normalization_mode: `"row"` (default), `"column"`, `"row_column"` (tinyBIG's
            sequential square-root form) or `"symmetric"` (`D^-1/2 A D^-1/2`).
        self_dependence: whether to add `self_scaling * I`.
        self_scaling: weight of the self links (default 1.0).
        interdependence_type: `"instance"` (default) or `"attribute"`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.
    """

    default_type = "instance"
    #: Whether `transform` uses the self links (tinyBIG's inverse and exponential
    #: chains and PageRank build their adjacency without them).
    uses_self_dependence = True

    def __init__(
        self,
        normalization=False,
        normalization_mode="row",
        self_dependence=False,
        self_scaling=1.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.normalization = validation.boolean("normalization", normalization)
        if normalization_mode not in _MODES:
            raise ValueError(
                f"`normalization_mode` must be one of {', '.join(_MODES)}. "
                f"Received: normalization_mode={normalization_mode!r}"
            )
        self.normalization_mode = normalization_mode
        self.self_dependence = validation.boolean("self_dependence", self_dependence)
        self.self_scaling = validation.finite_float("self_scaling", self_scaling)

    def structure(self, dim):
        raise NotImplementedError

    def base_adjacency(self, dim):
        num_nodes, links, directed = self.structure(dim)
        a = adjacency(
            num_nodes,
            links,
            directed,
            self.self_dependence and self.uses_self_dependence,
            self.self_scaling,
        )
        return normalize(a, self.normalization_mode) if self.normalization else a

    def transform(self, adj):
        return adj

    def constant_matrix(self, dim):
        return self.transform(self.base_adjacency(dim))

    def get_config(self):
        return {
            **super().get_config(),
            "normalization": self.normalization,
            "normalization_mode": self.normalization_mode,
            "self_dependence": self.self_dependence,
            "self_scaling": self.self_scaling,
        }


class _Multihop:
    """`A^h`, or `A + ... + A^h` when `accumulative` (mixed into a topology)."""

    def __init__(self, h=1, accumulative=False, **kwargs):
        super().__init__(**kwargs)
        self.h = validation.non_negative_int("h", h)
        self.accumulative = validation.boolean("accumulative", accumulative)

    def transform(self, adj):
        if self.accumulative:
            return accumulative_power(adj, max(self.h, 1))
        return np.linalg.matrix_power(adj, self.h)

    def get_config(self):
        return {**super().get_config(), "h": self.h, "accumulative": self.accumulative}


@register("chain", "chain_interdependence")
class ChainInterdependence(TopologicalInterdependence):
    """Chain interdependence: each instance depends on its predecessor.

    Formula (instance type, `N` tokens):
    ```
    A[i, i+1] = 1  (and A[i+1, i] = 1 if bi-directional),  + self_scaling I
    xi(Z)_j = self_scaling z_j + z_{j-1} (+ z_{j+1})        (a shifted add)
    ```
    optionally degree-normalised. Applied as shifted slices of `Z`, never as an
    `N x N` matrix.

    Args:
        chain_length: `N` (default: the size of the mixed axis at build).
        bi_directional: whether links go both ways (default False).
        normalization, normalization_mode: see `TopologicalInterdependence`.
        self_dependence: whether each instance keeps itself (default True).
        self_scaling: weight of the self link (default 1.0).
        interdependence_type: `"instance"` (default) or `"attribute"`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Example:
    >>> xi = keras_rpn.interdependence.get("chain")
    >>> keras.ops.convert_to_numpy(xi(np.array([[[1.0], [2.0], [4.0]]]))[..., 0])  # z_j + z_{j-1}
    array([[1., 3., 6.]], dtype=float32)
    """

    def __init__(self, chain_length=None, bi_directional=False, self_dependence=True, **kwargs):
        super().__init__(self_dependence=self_dependence, **kwargs)
        self.chain_length = validation.positive_int("chain_length", chain_length, allow_none=True)
        self.bi_directional = validation.boolean("bi_directional", bi_directional)

    def structure(self, dim):
        if self.chain_length is not None and self.chain_length != dim:
            raise ValueError(
                f"`chain_length` ({self.chain_length}) must equal the size of the "
                f"{self.interdependence_type} axis of the input ({dim})."
            )
        return dim, [(i, i + 1) for i in range(dim - 1)], not self.bi_directional

    def get_config(self):
        return {
            **super().get_config(),
            "chain_length": self.chain_length,
            "bi_directional": self.bi_directional,
        }


@register("multihop_chain", "multihop_chain_interdependence")
class MultihopChainInterdependence(_Multihop, ChainInterdependence):
    """Multi-hop chain: `A^h`, or `A + A^2 + ... + A^h` when `accumulative`.

    With `A` the chain matrix (self links included when `self_dependence`), every
    instance depends on the `h` before it (and after it, if bi-directional). An
    accumulative bi-directional chain is column-normalised afterwards (tinyBIG).
    `A^h` is banded, so it is applied as `h + 1` (or `2h + 1`) shifted adds.

    Args:
        h: number of hops (default 1).
        accumulative: sum the powers 1..h (default False).
        chain_length, bi_directional, normalization, normalization_mode,
            self_dependence, self_scaling, interdependence_type: see
            `ChainInterdependence`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Example:
    >>> xi = keras_rpn.interdependence.get("multihop_chain", h=2, self_dependence=False)
    >>> keras.ops.convert_to_numpy(xi(np.array([[[1.0], [2.0], [4.0]]]))[..., 0])  # z_{j-2}
    array([[0., 0., 1.]], dtype=float32)
    """

    def transform(self, adj):
        a = super().transform(adj)
        if self.accumulative and self.bi_directional:
            a = normalize(a, "column")
        return a


@register("inverse_approx_multihop_chain", "inverse_approx_multihop_chain_interdependence")
class InverseApproxMultihopChainInterdependence(ChainInterdependence):
    """All hops at once: `(I - A)^-1 = I + A + A^2 + ...` of the chain matrix.

    For a directed chain this is computed as the inverse (a cumulative sum of the
    tokens before each one, unnormalised); a bi-directional chain has no such
    inverse, and `A + ... + A^{N-1}`, column-normalised, is used (tinyBIG). The
    adjacency has no self links (`self_dependence` is ignored, as in tinyBIG). The
    inverse is computed once, in numpy, at build.

    Args:
        chain_length, bi_directional, normalization, normalization_mode,
            interdependence_type: see `ChainInterdependence`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.
    """

    uses_self_dependence = False

    def transform(self, adj):
        if self.bi_directional:
            return normalize(accumulative_power(adj, max(adj.shape[0] - 1, 1)), "column")
        return np.linalg.inv(np.eye(adj.shape[0]) - adj)


@register("exponential_approx_multihop_chain", "exponential_approx_multihop_chain_interdependence")
class ExponentialApproxMultihopChainInterdependence(ChainInterdependence):
    """All hops weighted by `1/k!`: `expm(A) = sum_k A^k / k!` of the chain matrix.

    The adjacency has no self links (`self_dependence` is ignored, as in tinyBIG).
    The exponential is computed once, in numpy, at build.

    Args:
        chain_length, bi_directional, normalization, normalization_mode,
            interdependence_type: see `ChainInterdependence`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.
    """

    uses_self_dependence = False

    def transform(self, adj):
        return expm(adj)
