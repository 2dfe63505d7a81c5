"""Interdependence functions xi: numpy references of every formula (per sample, on the
instance axis), structured ops == dense matrices, names, configs, errors, gradients,
and heads that train and reload with each kind."""

import keras
import numpy as np
import pytest
from checks import BACKEND
from checks import assert_config_roundtrip
from checks import assert_save_load
from checks import gradients
from keras import ops

from keras_rpn import interdependence
from keras_rpn.interdependence import MatrixOp
from keras_rpn.interdependence.structured import GATHER_COST
from keras_rpn.interdependence.structured import choose_kind

RNG = np.random.default_rng(0)
# One shared input for every case: batch 2, N = 6 instances, m = 4 features.
X = RNG.normal(size=(2, 6, 4)).astype("float32")
N, M = X.shape[1], X.shape[2]


def numpy_of(t):
    return ops.convert_to_numpy(t)


def apply_instance(a, x):
    """A^T x per sample, A of shape (N, N') or (batch, N, N')."""
    return np.einsum("nk,bnf->bkf" if a.ndim == 2 else "bnk,bnf->bkf", a, x)


def apply_attribute(a, x):
    return np.einsum("bnm,mk->bnk" if a.ndim == 2 else "bnm,bmk->bnk", x, a)


# ---------------------------------------------------------------- topology references
def ref_adjacency(n, links, directed=True, self_dep=False, scale=1.0):
    a = np.zeros((n, n))
    for i, j in links:
        a[i, j] += 1
        if not directed and a[j, i] < a[i, j]:
            a[j, i] = a[i, j]
    if not directed:
        a = np.maximum(a, a.T)
    return a + scale * np.eye(n) * self_dep


def ref_normalize(a, mode):
    def nz(s):
        return np.where(s == 0, 1, s)

    if mode == "row":
        return a / nz(a.sum(1, keepdims=True))
    if mode == "column":
        return a / nz(a.sum(0, keepdims=True))
    if mode == "row_column":
        a = a / np.sqrt(nz(a.sum(1, keepdims=True)))
        return a / np.sqrt(nz(a.sum(0, keepdims=True)))
    d = np.diag(1 / np.sqrt(nz(a.sum(1))))
    return d @ a @ d


def chain_links(n):
    return [(i, i + 1) for i in range(n - 1)]


def ref_expm(a):
    out, term = np.eye(len(a)), np.eye(len(a))
    for k in range(1, 40):
        term = term @ a / k
        out = out + term
    return out


GRAPH = [(0, 1), (1, 2), (2, 0), (3, 3), (1, 3), (1, 3)]  # self-loop, duplicate; 4, 5 isolated
GRAPH_U = ref_adjacency(N, GRAPH, directed=False)

TOPOLOGY = [
    ("chain", {}, ref_adjacency(N, chain_links(N), self_dep=True)),
    (
        "chain_interdependence",
        {"bi_directional": True, "normalization": True, "self_scaling": 2.0},
        ref_normalize(ref_adjacency(N, chain_links(N), False, True, 2.0), "row"),
    ),
    (
        "multihop_chain",
        {"h": 2, "self_dependence": False},
        np.linalg.matrix_power(ref_adjacency(N, chain_links(N)), 2),
    ),
    (
        "multihop_chain",
        {"h": 3, "accumulative": True, "bi_directional": True},
        ref_normalize(
            sum(
                np.linalg.matrix_power(ref_adjacency(N, chain_links(N), False, True), k)
                for k in (1, 2, 3)
            ),
            "column",
        ),
    ),
    (
        "inverse_approx_multihop_chain",
        {},
        np.triu(np.ones((N, N))),  # (I - shift)^-1: a cumulative sum
    ),
    (
        "inverse_approx_multihop_chain",
        {"bi_directional": True},
        ref_normalize(
            sum(
                np.linalg.matrix_power(ref_adjacency(N, chain_links(N), False), k)
                for k in range(1, N)
            ),
            "column",
        ),
    ),
    ("exponential_approx_multihop_chain", {}, ref_expm(ref_adjacency(N, chain_links(N)))),
    ("graph", {"links": GRAPH}, ref_adjacency(N, GRAPH)),
    (
        "graph_interdependence",
        {
            "links": GRAPH,
            "directed": False,
            "self_dependence": True,
            "normalization": True,
            "normalization_mode": "symmetric",
        },
        ref_normalize(GRAPH_U + np.eye(N), "symmetric"),
    ),
    (
        "graph",
        {
            "nodes": ["a", "b", "c", "d", "e", "f"],
            "links": [("b", "a"), ("f", "a")],
            "normalization": True,
            "normalization_mode": "row_column",
        },
        ref_normalize(ref_adjacency(N, [(1, 0), (5, 0)]), "row_column"),
    ),
    (
        "graph",
        {"adjacency": 0.5 * GRAPH_U, "normalization": True, "normalization_mode": "column"},
        ref_normalize(0.5 * GRAPH_U, "column"),
    ),
    (
        "multihop_graph",
        {"links": GRAPH, "h": 2, "accumulative": True, "directed": False},
        GRAPH_U + GRAPH_U @ GRAPH_U,
    ),
    (
        "pagerank",
        {"links": GRAPH, "directed": False, "normalization": True, "normalization_mode": "column"},
        0.15 * np.linalg.inv(np.eye(N) - 0.85 * ref_normalize(GRAPH_U, "column")),
    ),
]


@pytest.mark.parametrize(
    "name, kwargs, a", TOPOLOGY, ids=[f"{c[0]}-{i}" for i, c in enumerate(TOPOLOGY)]
)
def test_topological_matches_numpy(name, kwargs, a):
    xi = interdependence.get(name, **kwargs)
    np.testing.assert_allclose(numpy_of(xi(X)), apply_instance(a, X), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(numpy_of(xi.matrix()), a, rtol=1e-5, atol=1e-6)
    # The same matrix mixing the feature axis (attribute type) of a (batch, N) input.
    xa = interdependence.get(name, interdependence_type="attribute", **kwargs)
    flat = X[:, :, 0]
    np.testing.assert_allclose(numpy_of(xa(flat)), flat @ a, rtol=1e-5, atol=1e-5)


def test_structured_ops_are_the_cheap_ones():
    chain = interdependence.get("chain")
    chain.build((None, 64, 3))
    assert chain.op.kind == "banded"
    hops = interdependence.get("multihop_chain", h=3, bi_directional=True)
    hops.build((None, 64, 3))
    assert hops.op.kind == "banded" and len(hops.op.offsets) == 7
    # in-degree 1: sparse from 64 nodes on (GATHER_COST), dense below
    graph = interdependence.get("graph", links=[(i, (5 * i + 1) % 64) for i in range(64)])
    graph.build((None, 64, 3))
    assert graph.op.kind == "sparse" and graph.op.ell is not None
    small = interdependence.get("graph", links=[(i, (5 * i + 1) % 32) for i in range(32)])
    small.build((None, 32, 3))
    assert small.op.kind == "dense"
    rank = interdependence.get("pagerank", links=chain_links(64))
    rank.build((None, 64, 3))
    assert rank.op.kind == "dense"
    eye = interdependence.get("identity", interdependence_type="instance")
    eye.build((None, 64, 3))
    assert eye.op.kind == "identity"


@pytest.mark.parametrize("kind", ["banded", "sparse", "coo", "dense"])
def test_matrix_op_kinds_equal_the_dense_product(kind):
    a = np.diag(np.arange(1.0, 9.0)) + np.diag(np.full(7, -2.0), 1) + np.diag(np.full(6, 0.5), -2)
    z = RNG.normal(size=(3, 8, 2)).astype("float32")
    op = MatrixOp(a, kind="sparse" if kind == "coo" else kind)
    if kind == "coo":
        op.ell = None
    y = numpy_of(op(ops.convert_to_tensor(z)))
    np.testing.assert_allclose(y, apply_instance(a, z), rtol=1e-5, atol=1e-5)


def test_sparse_or_dense_by_cost():
    """`choose_kind`: sparse when a gathered row per in-degree (GATHER_COST dense
    multiply-adds) or an edge of a COO product (SCATTER_COST) is cheaper than the
    dense `d x d'` product; both forms give the same values."""

    def ring(n, degree):
        a = np.zeros((n, n))
        for j in range(n):
            a[(5 * j + 7 * np.arange(degree) + 1) % n, j] = 1.0  # not banded
        return a

    assert choose_kind(ring(GATHER_COST * 4, 4)) == "sparse"
    assert choose_kind(ring(GATHER_COST * 4 - 4, 4)) == "dense"
    # A hub: width 128 rules out the source lists; 128 edges * SCATTER_COST <= 256^2
    hub = np.zeros((256, 256))
    hub[1:129, 0] = 1.0
    assert choose_kind(hub) == "sparse" and MatrixOp(hub).ell is None
    hub[np.arange(0, 200), np.arange(1, 201)] = 2.0  # 328 edges: dense
    assert choose_kind(hub) == "dense"
    z = ops.convert_to_tensor(RNG.normal(size=(2, 256, 3)).astype("float32"))
    for a in (ring(256, 4), hub):
        dense = numpy_of(MatrixOp(a, kind="dense")(z))
        np.testing.assert_allclose(
            numpy_of(MatrixOp(a, kind="sparse")(z)), dense, rtol=1e-5, atol=1e-4
        )


# --------------------------------------------------------------------- basic references
BASIC = [
    ("constant", {"A": np.arange(8.0).reshape(4, 2) / 8}, np.arange(8.0).reshape(4, 2) / 8),
    ("constant_c_interdependence", {"c": 0.5, "m_prime": 3}, np.full((M, 3), 0.5)),
    ("zero", {}, np.zeros((M, M))),
    ("one_interdependence", {"m_prime": 2}, np.ones((M, 2))),
    ("identity", {}, np.eye(M)),
    ("eye_interdependence", {"m_prime": 2}, np.eye(M, 2)),
]


@pytest.mark.parametrize("name, kwargs, a", BASIC, ids=[c[0] for c in BASIC])
def test_basic_matches_numpy(name, kwargs, a):
    xi = interdependence.get(name, **kwargs)
    np.testing.assert_allclose(numpy_of(xi(X)), apply_attribute(a, X), rtol=1e-6, atol=1e-6)
    assert xi.compute_output_shape(X.shape) == (2, N, a.shape[1])


def test_instance_type_basic_functions():
    xi = interdependence.get("one", interdependence_type="row", b_prime=2)
    np.testing.assert_allclose(
        numpy_of(xi(X)), np.repeat(X.sum(1, keepdims=True), 2, axis=1), rtol=1e-5
    )
    xi = interdependence.get("zero", interdependence_type="instance")
    np.testing.assert_array_equal(numpy_of(xi(X)), np.zeros_like(X))


# ----------------------------------------------------------------------- common checks
ALL_CASES = [(c[0], c[1]) for c in TOPOLOGY + BASIC]  # extended below


@pytest.mark.parametrize(
    "name, kwargs", ALL_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(ALL_CASES)]
)
def test_config_roundtrip(name, kwargs):
    xi = interdependence.get(name, **kwargs)
    xi.build(X.shape)
    clone = assert_config_roundtrip(xi)
    np.testing.assert_allclose(numpy_of(clone(X)), numpy_of(xi(X)), rtol=1e-6)


# tinyBIG 0.2.1's concrete interdependence classes (its generic kernel bases, which
# take Python callables, and the abstract geometric base have no counterpart).
TINYBIG_CLASSES = [
    "anisotropic_rbf_kernel_interdependence",
    "canberra_distance_interdependence",
    "chain_interdependence",
    "chebyshev_distance_interdependence",
    "constant_c_interdependence",
    "constant_interdependence",
    "cosine_similarity_interdependence",
    "cuboid_patch_aggregation_based_geometric_interdependence",
    "cuboid_patch_based_geometric_interdependence",
    "cuboid_patch_padding_based_geometric_interdependence",
    "custom_hybrid_kernel_interdependence",
    "cylinder_patch_aggregation_based_geometric_interdependence",
    "cylinder_patch_based_geometric_interdependence",
    "cylinder_patch_padding_based_geometric_interdependence",
    "dual_lphm_parameterized_bilinear_interdependence",
    "dual_lphm_parameterized_interdependence",
    "euclidean_distance_interdependence",
    "exponential_approx_multihop_chain_interdependence",
    "exponential_kernel_interdependence",
    "gaussian_rbf_kernel_interdependence",
    "graph_interdependence",
    "hm_parameterized_bilinear_interdependence",
    "hm_parameterized_interdependence",
    "hybrid_interdependence",
    "hyperbolic_tangent_kernel_interdependence",
    "identity_interdependence",
    "inverse_approx_multihop_chain_interdependence",
    "kl_divergence_interdependence",
    "laplacian_kernel_interdependence",
    "linear_kernel_interdependence",
    "lowrank_parameterized_bilinear_interdependence",
    "lowrank_parameterized_interdependence",
    "lphm_parameterized_bilinear_interdependence",
    "lphm_parameterized_interdependence",
    "manhattan_distance_interdependence",
    "minkowski_distance_interdependence",
    "multihop_chain_interdependence",
    "multihop_graph_interdependence",
    "mutual_information_interdependence",
    "one_interdependence",
    "pagerank_multihop_graph_interdependence",
    "parameterized_bilinear_interdependence",
    "parameterized_interdependence",
    "parameterized_rpn_interdependence",
    "pearson_correlation_interdependence",
    "polynomial_kernel_interdependence",
    "random_matrix_adaption_parameterized_bilinear_interdependence",
    "random_matrix_adaption_parameterized_interdependence",
    "rv_coefficient_interdependence",
    "sphere_patch_aggregation_based_geometric_interdependence",
    "sphere_patch_based_geometric_interdependence",
    "sphere_patch_padding_based_geometric_interdependence",
    "zero_interdependence",
    "eye_interdependence",
]


def test_names_resolve_by_short_and_tinybig_name():
    for name in TINYBIG_CLASSES:
        cls = interdependence.registry.lookup(name)
        assert interdependence.registry.tinybig_name(cls) in TINYBIG_CLASSES
    for name in interdependence.names():
        cls = interdependence.base._registry.lookup(name)
        assert issubclass(cls, interdependence.Interdependence)
    assert (
        interdependence.get("eye_interdependence").__class__
        is interdependence.IdentityInterdependence
    )
    with pytest.raises(ValueError, match="Unknown interdependence"):
        interdependence.get("no_such_interdependence")


def test_gradients_are_finite():
    xi = interdependence.get(
        "graph",
        links=GRAPH,
        normalization=True,
        normalization_mode="symmetric",
        directed=False,
        self_dependence=True,
    )
    xi.build(X.shape)
    g = gradients(lambda t: xi(t), X)
    assert np.all(np.isfinite(g)) and np.any(g != 0)


def test_bad_input_raises_clear_errors():
    with pytest.raises(ValueError, match="instance axis"):
        interdependence.get("chain")(X[:, 0, :])
    with pytest.raises(ValueError, match="chain_length"):
        interdependence.get("chain", chain_length=5)(X)
    with pytest.raises(ValueError, match="graph has 3 nodes"):
        interdependence.get("graph", nodes=3, links=[(0, 1)])(X)
    with pytest.raises(ValueError, match="square"):
        interdependence.get("graph", adjacency=np.ones((6, 5)))
    with pytest.raises(ValueError, match="not both"):
        interdependence.get("graph")
    with pytest.raises(ValueError, match="not in `nodes`"):
        interdependence.get("graph", nodes=[0, 1, 2, 3, 4, 5], links=[(0, 9)])(X)
    with pytest.raises(ValueError, match="normalization_mode"):
        interdependence.get("chain", normalization_mode="both")
    with pytest.raises(ValueError, match="interdependence_type"):
        interdependence.get("chain", interdependence_type="batch")
    with pytest.raises(ValueError, match="`A` has 3 rows"):
        interdependence.get("constant", A=np.ones((3, 3)))(X)
    with pytest.raises(ValueError, match="built for 6 instances"):
        xi = interdependence.get("chain")
        xi.build(X.shape)
        xi(X[:, :5])


def test_model_with_interdependences_saves_and_fits_under_jit(tmp_path):
    inputs = keras.Input((N, M))
    z = interdependence.get("graph", links=GRAPH, directed=False, normalization=True)(inputs)
    z = interdependence.get("chain", bi_directional=True)(z)
    z = interdependence.get("cuboid_patch", h=3, w=2, p_h=1, p_w=0)(z)  # 6 nodes as a 3x2 grid
    z = keras.layers.Dense(3)(z)
    model = keras.Model(inputs, z)
    # jit_compile=True is XLA on JAX and TF; on torch it is torch.compile, which Keras
    # marks experimental and which compiles for a minute on CPU: torch runs eagerly.
    model.compile(optimizer="sgd", loss="mse", jit_compile=BACKEND != "torch")
    model.fit(X, np.zeros((2, N, 3)), epochs=1, verbose=0)
    assert_save_load(model, X)


# -------------------------------------------------------------------- geometric patches
def ref_patch_matrix(grid, offsets, strides, mode):
    """tinyBIG's dense patch matrix, built by loops (row = cell, column = patch slot)."""
    h, w, d = grid
    centres = [
        (i, j, k)
        for i in range(0, h, strides[0])
        for j in range(0, w, strides[1])
        for k in range(0, d, strides[2])
    ]
    cols = len(centres) * len(offsets) if mode == "padding" else len(centres)
    a = np.zeros((h * w * d, cols))
    for p, (ci, cj, ck) in enumerate(centres):
        for s, (oi, oj, ok) in enumerate(offsets):
            i, j, k = ci + oi, cj + oj, ck + ok
            if 0 <= i < h and 0 <= j < w and 0 <= k < d:
                a[i * w * d + j * d + k, p * len(offsets) + s if mode == "padding" else p] += 1
    return a, len(centres)


def ref_patches(x, grid, offsets, strides, mode):
    """Patch contents (batch, P, C k) the tinyBIG way: channel-major X (b C, hwd) times A."""
    b, cells, c = x.shape
    a, num_patches = ref_patch_matrix(grid, offsets, strides, mode)
    flat = np.transpose(x, (0, 2, 1)).reshape(b * c, cells) @ a
    if mode == "padding":
        return np.transpose(flat.reshape(b, c, num_patches, len(offsets)), (0, 2, 1, 3)).reshape(
            b, num_patches, -1
        )
    return np.transpose(flat.reshape(b, c, num_patches), (0, 2, 1))


CUBE = [(i, j, 0) for i in (-1, 0, 1) for j in (-1, 0, 1)]
DISK = [(i, j, k) for i in (-1, 0, 1) for j in (-1, 0, 1) if i * i + j * j <= 1 for k in (0, 1)]
BALL = [
    (i, j, k)
    for i in (-1, 0, 1)
    for j in (-1, 0, 1)
    for k in (-1, 0, 1)
    if i * i + j * j + k * k <= 1
]
GEOMETRIC = [
    ("cuboid_patch", {"h": 4, "w": 3}, (4, 3, 1), CUBE, (1, 1, 1), "padding"),
    (
        "cuboid_patch_padding_based_geometric_interdependence",
        {"h": 4, "w": 3, "p_h": 1, "p_w": 1, "packing_strategy": "complete_square"},
        (4, 3, 1),
        CUBE,
        (2, 2, 1),
        "padding",
    ),
    (
        "cuboid_patch_aggregation",
        {"h": 4, "w": 3, "cd_h": 2, "cd_w": 1, "cd_d": 1},
        (4, 3, 1),
        CUBE,
        (2, 1, 1),
        "aggregation",
    ),
    (
        "cylinder_patch_padding_based_geometric_interdependence",
        {"h": 2, "w": 3, "d": 2, "r": 1, "p_d": 0, "p_d_prime": 1},
        (2, 3, 2),
        DISK,
        (1, 1, 1),
        "padding",
    ),
    (
        "sphere_patch",
        {"h": 2, "w": 2, "d": 3, "p_r": 1, "packing_strategy": "dense_simple_cubic"},
        (2, 2, 3),
        BALL,
        (1, 1, 1),
        "padding",
    ),
    (
        "sphere_patch_aggregation_based_geometric_interdependence",
        {"h": 2, "w": 2, "d": 3, "r": 1},
        (2, 2, 3),
        BALL,
        (1, 1, 1),
        "aggregation",
    ),
]
GRID_X = RNG.normal(size=(2, 12, 3)).astype("float32")  # 12 cells, 3 channels


@pytest.mark.parametrize(
    "name, kwargs, grid, offsets, strides, mode",
    GEOMETRIC,
    ids=[f"{c[0]}-{i}" for i, c in enumerate(GEOMETRIC)],
)
def test_geometric_patches_match_the_dense_tinybig_matrix(
    name, kwargs, grid, offsets, strides, mode
):
    xi = interdependence.get(name, **kwargs)
    y = numpy_of(xi(GRID_X))
    np.testing.assert_allclose(
        y, ref_patches(GRID_X, grid, offsets, strides, mode), rtol=1e-5, atol=1e-6
    )
    a, _ = ref_patch_matrix(grid, offsets, strides, mode)
    np.testing.assert_array_equal(numpy_of(xi.matrix()), a)
    assert xi.compute_output_shape(GRID_X.shape) == (2,) + y.shape[1:]
    clone = assert_config_roundtrip(xi)
    np.testing.assert_array_equal(numpy_of(clone(GRID_X)), y)


def test_geometric_grid_layout_normalisation_and_instance_type():
    grid_x = GRID_X.reshape(2, 4, 3, 3)
    xi = interdependence.get("cuboid_patch", cd_h=2, cd_w=2, cd_d=1)
    y = numpy_of(xi(grid_x))
    assert y.shape == (2, 2, 2, 27)
    np.testing.assert_allclose(
        y.reshape(2, 4, 27), ref_patches(GRID_X, (4, 3, 1), CUBE, (2, 2, 1), "padding"), rtol=1e-5
    )
    # Column normalisation in aggregation mode is mean pooling over the in-grid cells.
    xi = interdependence.get(
        "cuboid_patch_aggregation", h=4, w=3, normalization=True, normalization_mode="column"
    )
    a, _ = ref_patch_matrix((4, 3, 1), CUBE, (1, 1, 1), "aggregation")
    expected = np.einsum("bnc,np->bpc", GRID_X, a / a.sum(0))
    np.testing.assert_allclose(numpy_of(xi(GRID_X)), expected, rtol=1e-5)
    xi = interdependence.get("cuboid_patch", h=4, w=3, interdependence_type="instance")
    a, _ = ref_patch_matrix((4, 3, 1), CUBE, (1, 1, 1), "padding")
    np.testing.assert_allclose(numpy_of(xi(GRID_X)), apply_instance(a, GRID_X), rtol=1e-5)


def test_geometric_bad_grids():
    with pytest.raises(ValueError, match="does not match the 12 cells"):
        interdependence.get("cuboid_patch", h=3, w=3)(GRID_X)
    with pytest.raises(ValueError, match="needs `h` and `w`"):
        interdependence.get("cuboid_patch")(GRID_X)
    with pytest.raises(ValueError, match="packing_strategy"):
        interdependence.get("cuboid_patch", packing_strategy="hexagonal")
    with pytest.raises(ValueError, match="channel_num"):
        interdependence.get("cuboid_patch", h=4, w=3, channel_num=2)(GRID_X)


# ------------------------------------------------------- parameterised and bilinear forms
def ref_psi(name, w, n, D, kwargs):
    """psi(w) of shape (n, D) for the reconciliations written out here in numpy."""
    if name == "identity":
        return w.reshape(n, D)
    if name == "lorr":
        r = kwargs["r"]
        return w[: n * r].reshape(n, r) @ w[n * r :].reshape(r, D)
    p, q = kwargs["p"], kwargs["q"]
    return np.kron(w[: p * q].reshape(p, q), w[p * q :].reshape(n // p, D // q))


PARAMETERIZED = [
    ("parameterized", {}, "identity"),
    ("lowrank_parameterized_interdependence", {"r": 2, "m_prime": 3}, "lorr"),
    ("hm_parameterized", {"p": 2}, "hm"),
    (
        "parameterized_interdependence",
        {"interdependence_type": "instance", "b_prime": 3},
        "identity",
    ),
    ("lowrank_parameterized", {"r": 1, "interdependence_type": "instance"}, "lorr"),
]


@pytest.mark.parametrize(
    "name, kwargs, psi", PARAMETERIZED, ids=[f"{c[0]}-{i}" for i, c in enumerate(PARAMETERIZED)]
)
def test_parameterized_matches_numpy(name, kwargs, psi):
    xi = interdependence.get(name, **kwargs)
    y = numpy_of(xi(X))
    d = N if xi.is_instance else M
    d_out = kwargs.get("b_prime" if xi.is_instance else "m_prime", d)
    w = numpy_of(xi.kernel)[0].astype("float64")
    a = ref_psi(psi, w, d_out, d, {"r": kwargs.get("r"), "p": 2, "q": 2}).T  # A = psi(w)^T
    expected = apply_instance(a, X) if xi.is_instance else apply_attribute(a, X)
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(numpy_of(xi.matrix()), a, rtol=1e-5, atol=1e-6)
    assert xi.num_params() == w.size


BILINEAR = [
    ("parameterized_bilinear", {}, "identity"),
    ("lowrank_parameterized_bilinear_interdependence", {"r": 2}, "lorr"),
    ("hm_parameterized_bilinear", {"p": 2}, "hm"),
    ("bilinear", {"interdependence_type": "attribute"}, "identity"),
    ("bilinear", {"normalization": "softmax"}, "identity"),
]


@pytest.mark.parametrize(
    "name, kwargs, psi", BILINEAR, ids=[f"{c[0]}-{i}" for i, c in enumerate(BILINEAR)]
)
def test_bilinear_is_per_sample_and_matches_numpy(name, kwargs, psi):
    xi = interdependence.get(name, **kwargs)
    z = RNG.normal(size=X.shape).astype("float32")  # mixed by A computed from the data X
    y = numpy_of(xi(z, data=X))
    w = numpy_of(xi.kernel)[0].astype("float64")
    u = X if xi.is_instance else np.transpose(X, (0, 2, 1))
    f = u.shape[-1]
    W = ref_psi(psi, w, f, f, {"r": kwargs.get("r"), "p": 2, "q": 2})
    a = np.einsum("bif,fg,bjg->bij", u, W, u)  # X W X^T per sample
    if kwargs.get("normalization") == "softmax":
        a = np.exp(a / np.sqrt(f) - (a / np.sqrt(f)).max(1, keepdims=True))
        a = a / a.sum(1, keepdims=True)
    expected = apply_instance(a, z) if xi.is_instance else apply_attribute(a, z)
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-4)
    # Per sample: the first sample's output does not depend on the second sample.
    alone = numpy_of(xi(z[:1], data=X[:1]))
    np.testing.assert_allclose(alone, y[:1], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("lphm_parameterized", {"p": 2, "r": 1}),
        ("dual_lphm_parameterized", {"p": 2, "r": 1}),
        ("random_matrix_adaption_parameterized_interdependence", {}),
        ("lphm_parameterized_bilinear", {"p": 2, "r": 1}),
        ("dual_lphm_parameterized_bilinear", {"p": 2, "r": 1}),
        ("random_matrix_adaption_parameterized_bilinear", {"r": 2}),
    ],
)
def test_other_reconciled_variants_use_their_reconciliation(name, kwargs):
    xi = interdependence.get(name, **kwargs)
    y = numpy_of(xi(X))
    # psi(w) comes from the reconciliation, whose formula test_reconciliations checks.
    W = numpy_of(xi.reconciliation.reconcile(xi.kernel))[0]
    if xi.require_data:
        expected = apply_instance(np.einsum("bif,fg,bjg->bij", X, W, X), X)
    else:
        expected = apply_attribute(W.T, X)
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-4)
    assert xi.num_params() == xi.reconciliation.num_params(*W.shape)
    clone = assert_config_roundtrip(xi)
    assert clone.reconciliation.__class__ is xi.reconciliation.__class__


@pytest.mark.parametrize("name, kwargs", [(c[0], c[1]) for c in PARAMETERIZED[:2] + BILINEAR[:2]])
def test_parameterized_config_and_weight_gradients(name, kwargs):
    from checks import weight_gradients

    xi = interdependence.get(name, **kwargs)
    xi.build(X.shape)
    clone = assert_config_roundtrip(xi)
    clone.build(X.shape)
    clone.set_weights(xi.get_weights())
    np.testing.assert_allclose(numpy_of(clone(X)), numpy_of(xi(X)), rtol=1e-6)
    grads = weight_gradients(xi, X)
    assert all(np.all(np.isfinite(g)) and np.any(g != 0) for g in grads)


# ------------------------------------------------------ statistical and numerical kernels
def _pairs(fn):
    """A per-sample kernel from a function of two items (written as plain loops)."""

    def kernel(u):
        b, d, _ = u.shape
        return np.array(
            [[[fn(u[s, i], u[s, j], i == j) for j in range(d)] for i in range(d)] for s in range(b)]
        )

    return kernel


def _softmax(v):
    e = np.exp(v - v.max())
    return e / e.sum()


def _corr(a, c):
    a, c = a - a.mean(), c - c.mean()
    den = np.sqrt((a @ a) * (c @ c))
    return 0.0 if den == 0 else (a @ c) / den


def _mi(a, c, same):
    if same:
        return 0.0
    va, vc = np.var(a, ddof=1), np.var(c, ddof=1)
    cov = np.cov(np.stack([a, c]))
    return 0.5 * np.log(max(va, 1e-10) * max(vc, 1e-10) / max(np.linalg.det(cov), 1e-10))


def _cos(a, c):
    na, nc = np.linalg.norm(a), np.linalg.norm(c)
    return 0.0 if na == 0 or nc == 0 else a @ c / (na * nc)


KERNELS = [
    (
        "kl_divergence",
        {},
        _pairs(lambda a, c, s: np.sum(_softmax(a) * (np.log(_softmax(a)) - np.log(_softmax(c))))),
    ),
    ("pearson_correlation_interdependence", {}, _pairs(lambda a, c, s: _corr(a, c))),
    ("rv_coefficient", {}, _pairs(lambda a, c, s: 0.0 if s else np.clip(_corr(a, c), 0, 1))),
    ("mutual_information_interdependence", {}, _pairs(_mi)),
    ("linear_kernel", {}, _pairs(lambda a, c, s: a @ c)),
    (
        "polynomial_kernel_interdependence",
        {"c": 1.0, "d": 2},
        _pairs(lambda a, c, s: (a @ c + 1.0) ** 2),
    ),
    (
        "hyperbolic_tangent_kernel",
        {"c": 0.5, "alpha": 0.3},
        _pairs(lambda a, c, s: np.tanh(0.3 * (a @ c) + 0.5)),
    ),
    (
        "exponential_kernel",
        {"gamma": 0.5},
        _pairs(lambda a, c, s: np.exp(-0.5 * np.sum((a - c) ** 2))),
    ),
    ("cosine_similarity_interdependence", {}, _pairs(lambda a, c, s: _cos(a, c))),
    (
        "minkowski_distance",
        {"p": 3},
        _pairs(lambda a, c, s: np.exp(-(np.sum(np.abs(a - c) ** 3) ** (1 / 3)))),
    ),
    ("manhattan_distance", {}, _pairs(lambda a, c, s: np.exp(-np.abs(a - c).sum()))),
    (
        "euclidean_distance_interdependence",
        {},
        _pairs(lambda a, c, s: np.exp(-np.linalg.norm(a - c))),
    ),
    ("chebyshev_distance", {}, _pairs(lambda a, c, s: np.exp(-np.abs(a - c).max()))),
    (
        "canberra_distance",
        {},
        _pairs(lambda a, c, s: np.exp(-np.sum(np.abs(a - c) / (np.abs(a) + np.abs(c) + 1e-10)))),
    ),
    (
        "gaussian_rbf_kernel",
        {"sigma": 2.0},
        _pairs(lambda a, c, s: np.exp(-np.sum((a - c) ** 2) / 8.0)),
    ),
    (
        "laplacian_kernel_interdependence",
        {"sigma": 2.0},
        _pairs(lambda a, c, s: np.exp(-np.abs(a - c).sum() / 2.0)),
    ),
    (
        "anisotropic_rbf_kernel",
        {"a_vector": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]},
        _pairs(
            lambda a, c, s: np.exp(-np.sum(np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6]) * (a - c) ** 2))
        ),
    ),
    (
        "custom_hybrid_kernel",
        {
            "kernels": ["linear_kernel", {"class_name": "gaussian_rbf", "config": {"sigma": 2.0}}],
            "weights": [0.25, 0.75],
        },
        _pairs(lambda a, c, s: 0.25 * (a @ c) + 0.75 * np.exp(-np.sum((a - c) ** 2) / 8.0)),
    ),
]
# Edge cases in the data: feature 0 constant over the instances of sample 0 (Pearson,
# RV, MI), feature 1 all zeros in sample 1 (cosine), repeated instances (distances 0).
KX = X.copy()
KX[0, :, 0] = 1.5
KX[1, :, 1] = 0.0
KX[1, 5] = KX[1, 4]


@pytest.mark.parametrize("name, kwargs, ref", KERNELS, ids=[c[0] for c in KERNELS])
def test_kernels_match_numpy_per_sample(name, kwargs, ref):
    xi = interdependence.get(
        name, **kwargs
    )  # attribute type: compares the 4 features over 6 instances
    a = ref(np.transpose(KX, (0, 2, 1)).astype("float64"))
    np.testing.assert_allclose(numpy_of(xi.matrix(KX)), a, rtol=2e-4, atol=2e-4)
    np.testing.assert_allclose(numpy_of(xi(KX)), apply_attribute(a, KX), rtol=2e-4, atol=2e-4)
    if name == "anisotropic_rbf_kernel":
        return  # its weights have the attribute type's item length
    xi_i = interdependence.get(name, interdependence_type="instance", **kwargs)
    a = ref(KX.astype("float64"))
    np.testing.assert_allclose(numpy_of(xi_i(KX)), apply_instance(a, KX), rtol=2e-4, atol=2e-4)


@pytest.mark.parametrize(
    "name",
    [
        "pearson_correlation",
        "mutual_information",
        "cosine_similarity",
        "euclidean_distance",
        "minkowski_distance",
        "kl_divergence",
    ],
)
def test_kernel_gradients_finite_at_edge_cases(name):
    xi = interdependence.get(name)
    xi.build(KX.shape)
    g = gradients(lambda t: xi(t), KX)
    assert np.all(np.isfinite(g)) and np.any(g != 0)
    clone = assert_config_roundtrip(xi)
    np.testing.assert_allclose(numpy_of(clone(KX)), numpy_of(xi(KX)), rtol=1e-6)


def test_kernel_bad_input():
    with pytest.raises(ValueError, match="instances to compare"):
        interdependence.get("pearson_correlation")(X[:, 0])
    with pytest.raises(ValueError, match="a_vector"):
        interdependence.get("anisotropic_rbf_kernel", a_vector=[1.0, 2.0])(X)
    with pytest.raises(ValueError, match="`p`"):
        interdependence.get("minkowski_distance", p=0.5)
    with pytest.raises(ValueError, match="one entry per kernel"):
        interdependence.get("custom_hybrid_kernel", kernels=["linear_kernel"], weights=[1.0, 2.0])
    with pytest.raises(ValueError, match="data kernels"):
        interdependence.get("custom_hybrid_kernel", kernels=["chain"])
    config = interdependence.get(
        "custom_hybrid_kernel", kernels=["linear_kernel", "cosine_similarity"]
    ).get_config()
    assert [k["class_name"] for k in config["kernels"]] == [
        "LinearKernelInterdependence",
        "CosineSimilarityInterdependence",
    ]


# ----------------------------------------------------------------- heads with each kind
HEADS = {
    "chain (instance)": ({"instance_interdependence": "chain"}, X),
    "graph (instance)": (
        {
            "instance_interdependence": {
                "class_name": "graph",
                "config": {
                    "links": GRAPH,
                    "directed": False,
                    "self_dependence": True,
                    "normalization": True,
                    "normalization_mode": "symmetric",
                },
            }
        },
        X,
    ),
    "bilinear attention (instance)": (
        {
            "instance_interdependence": {
                "class_name": "lowrank_parameterized_bilinear",
                "config": {"r": 2, "normalization": "softmax"},
            },
            "remainder": "linear",
        },
        X,
    ),
    "pearson kernel (attribute)": (
        {"attribute_interdependence": "pearson_correlation", "remainder": "linear"},
        X,
    ),
    "parameterized (attribute)": (
        {
            "attribute_interdependence": {
                "class_name": "lowrank_parameterized",
                "config": {"r": 2, "m_prime": 3},
            },
            "expansion": "taylor",
        },
        X,
    ),
    "convolution (geometric attribute)": (
        {
            "attribute_interdependence": {
                "class_name": "cuboid_patch",
                "config": {"cd_h": 2, "cd_w": 2},
            }
        },
        GRID_X.reshape(2, 4, 3, 3),
    ),
    "constant_c (basic attribute)": (
        {
            "attribute_interdependence": {
                "class_name": "constant_c",
                "config": {"c": 0.5, "m_prime": 2},
            }
        },
        X,
    ),
    "gaussian rbf (numerical attribute)": (
        {"attribute_interdependence": "gaussian_rbf", "remainder": "linear"},
        X,
    ),
    "hybrid (instance)": (
        {
            "instance_interdependence": {
                "class_name": "hybrid",
                "config": {
                    "interdependence_type": "instance",
                    "interdependence_functions": [
                        "chain",
                        {"class_name": "lowrank_parameterized_bilinear", "config": {"r": 1}},
                    ],
                },
            }
        },
        X,
    ),
    "parameterized_rpn (attribute)": (
        {
            "attribute_interdependence": {
                "class_name": "parameterized_rpn",
                "config": {"m_prime": 3},
            }
        },
        X,
    ),
}


@pytest.mark.parametrize("kind", list(HEADS))
def test_head_with_each_kind_trains_and_reloads(kind):
    from keras_rpn.layers import RPNHead

    kwargs, x = HEADS[kind]
    head = RPNHead(3, **kwargs)
    inputs = keras.Input(x.shape[1:])
    model = keras.Model(inputs, head(inputs))
    y = model(x)
    assert tuple(y.shape) == (2,) + tuple(head.compute_output_shape(x.shape)[1:])
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse", jit_compile=BACKEND != "torch")
    before = [numpy_of(w).copy() for w in model.trainable_weights]
    history = model.fit(x, np.zeros(tuple(y.shape)), epochs=1, batch_size=2, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert any(
        not np.allclose(b, numpy_of(a))
        for b, a in zip(before, model.trainable_weights, strict=True)
    )
    assert_save_load(model, x)


def test_head_interdependence_matches_the_formula():
    """y = <xi_i(kappa(X)), W> + b with xi_i a chain: the head of a chain equals the
    plain head applied to the chain-mixed expansion, per sample."""
    from keras_rpn.layers import RPNHead

    head = RPNHead(2, expansion="taylor", instance_interdependence="chain", bias_initializer="ones")
    y = numpy_of(head(X))
    plain = RPNHead(2, expansion="taylor", bias_initializer="ones")
    plain.build(X.shape)
    w = numpy_of(head.kernel)[0].reshape(2, -1)
    kappa = numpy_of(plain.expansion(X.reshape(-1, M))).reshape(2, N, -1)
    a = ref_adjacency(N, chain_links(N), self_dep=True)
    np.testing.assert_allclose(y, apply_instance(a, kappa) @ w.T + 1.0, rtol=1e-4, atol=1e-4)
    # The slot fixes the type: a chain in the attribute slot mixes features.
    head = RPNHead(2, attribute_interdependence="chain")
    head.build(X.shape)
    assert head.attribute_interdependence.interdependence_type == "attribute"


def test_head_interdependence_errors():
    from keras_rpn.layers import RPNHead

    with pytest.raises(ValueError, match="instances, features"):
        RPNHead(2, instance_interdependence="chain").build((None, 4))
    with pytest.raises(ValueError, match="remainder"):
        RPNHead(
            2,
            attribute_interdependence={"class_name": "cuboid_patch", "config": {"cd_h": 2}},
            remainder="linear",
        ).build((None, 4, 3, 3))


# ------------------------------------------------------------ hybrid and parameterised RPN
def test_hybrid_fuses_member_matrices():
    xi = interdependence.get(
        "hybrid_interdependence",
        interdependence_type="instance",
        fusion_function="prod",
        interdependence_functions=[
            {"class_name": "graph", "config": {"links": GRAPH, "directed": False}},
            "linear_kernel",
        ],
    )
    a = GRAPH_U[None] * np.einsum("bif,bjf->bij", X, X)  # graph mask times the Gram matrix
    np.testing.assert_allclose(numpy_of(xi(X)), apply_instance(a, X), rtol=1e-4, atol=1e-4)
    # m' is the fusion's width: a concatenation of two m x m matrices gives 2 m.
    xi = interdependence.get(
        "hybrid",
        fusion_function="concatenation",
        interdependence_functions=["identity", {"class_name": "constant_c", "config": {"c": 2.0}}],
    )
    a = np.concatenate([np.eye(M), np.full((M, M), 2.0)], axis=1)
    np.testing.assert_allclose(numpy_of(xi(X)), apply_attribute(a, X), rtol=1e-5)
    assert xi.compute_output_shape(X.shape) == (2, N, 2 * M)
    clone = assert_config_roundtrip(xi)
    np.testing.assert_allclose(numpy_of(clone(X)), numpy_of(xi(X)), rtol=1e-6)
    with pytest.raises(ValueError, match="different widths"):
        interdependence.get(
            "hybrid",
            interdependence_functions=["identity", {"class_name": "one", "config": {"m_prime": 2}}],
        )(X)


def test_parameterized_rpn_is_an_rpn_head_generating_a():
    xi = interdependence.get("parameterized_rpn", data_transformation="taylor", m_prime=3)
    y = numpy_of(xi(X))
    u = np.transpose(X, (0, 2, 1))  # the 4 features, each over the 6 instances
    kappa = np.concatenate(
        [u, np.einsum("bdi,bdj->bdij", u, u).reshape(2, M, -1)], axis=-1
    )  # Taylor d=2
    w = numpy_of(xi.kernel)[0].reshape(3, -1)  # identity psi: (m', D)
    a = kappa @ w.T
    np.testing.assert_allclose(y, apply_attribute(a, X), rtol=1e-4, atol=1e-4)
    assert xi.num_params() == 3 * (N + N * N)
    clone = assert_config_roundtrip(xi)
    assert clone.get_config()["data_transformation"]["class_name"] == "TaylorExpansion"


# --------------------------------------------------------------------- config import
def test_tinybig_interdependence_configs_import():
    from keras_rpn import config

    xi = config.interdependence_from_tinybig(
        "data_interdependence_function:\n"
        "  data_interdependence_function_class: tinybig.interdependence.geometric_interdependence\n"
        "  data_interdependence_function_parameters:\n"
        "    b: 0\n    m: 36\n    interdependence_type: attribute\n"
        "    grid_configs: {grid_class: tinybig.koala.geometry.grid,"
        " grid_parameters: {h: 4, w: 3, d: 1, universe_num: 3}}\n"
        "    patch_configs: {patch_class: tinybig.koala.geometry.cuboid,"
        " patch_parameters: {p_h: 1, p_w: 1, p_d: 0}}\n"
        "    packing_strategy: complete_square\n"
    )
    assert isinstance(xi, interdependence.CuboidPatchInterdependence) and (
        xi.h,
        xi.w,
        xi.channel_num,
    ) == (4, 3, 3)
    np.testing.assert_allclose(
        numpy_of(xi(GRID_X)), ref_patches(GRID_X, (4, 3, 1), CUBE, (2, 2, 1), "padding"), rtol=1e-5
    )
    bilinear = "tinybig.interdependence.lowrank_parameterized_bilinear_interdependence"
    xi = config.interdependence_from_tinybig(
        {
            "function_class": "tinybig.interdependence.hybrid_interdependence",
            "function_parameters": {
                "b": 6,
                "m": 4,
                "interdependence_type": "instance",
                "interdependence_function_configs": [
                    {
                        "function_class": "tinybig.interdependence.chain_interdependence",
                        "function_parameters": {"b": 6, "m": 4, "chain_length": 6},
                    },
                    {"function_class": bilinear, "function_parameters": {"b": 6, "m": 4, "r": 2}},
                ],
                "fusion_function_configs": {"function_class": "tinybig.fusion.prod_fusion"},
            },
        }
    )
    assert xi(X).shape == X.shape and xi.members[1].reconciliation.r == 2
    head = {
        "data_transformation_configs": {"function_class": "tinybig.expansion.identity_expansion"},
        "attribute_interdependence_configs": {
            "function_class": "tinybig.interdependence.lowrank_parameterized_interdependence",
            "function_parameters": {"b": 0, "m": 5, "m_prime": 3, "r": 1},
        },
        "parameter_fabrication_configs": {
            "function_class": "tinybig.reconciliation.identity_reconciliation"
        },
    }
    layer = {
        "layer_class": "tinybig.module.rpn_layer",
        "layer_parameters": {
            "m": 5,
            "n": 2,
            "head_configs": [{"head_class": "tinybig.module.rpn_head", "head_parameters": head}],
        },
    }
    model = config.from_tinybig(
        {
            "model_configs": {
                "model_class": "tinybig.model.rpn",
                "model_parameters": {"layer_configs": [layer]},
            }
        }
    )
    assert model.count_params() == 1 * (5 + 3) + 2 * 3
    again = config.from_tinybig(config.to_tinybig(model))
    assert again.count_params() == model.count_params()


# tinyBIG's current config schema (docs/notes/configs): a chain over the b = 6 rows of
# its batch in layer 1 (after a Taylor expansion), a graph over them in layer 2.
INSTANCE_YAML = """
configurations:
  model_configs:
    model_class: tinybig.model.rpn
    model_parameters:
      name: reconciled_polynomial_network
      depth: 2
      depth_alloc: [1, 1]
      layer_configs:
        - layer_class: tinybig.module.rpn_layer
          layer_parameters:
            m: 4
            n: 3
            width: 1
            head_configs:
              - head_class: tinybig.module.rpn_head
                head_parameters:
                  m: 4
                  n: 3
                  channel_num: 1
                  data_transformation_configs:
                    function_class: tinybig.expansion.taylor_expansion
                    function_parameters: {name: taylor_expansion, d: 2}
                  parameter_fabrication_configs:
                    function_class: tinybig.reconciliation.identity_reconciliation
                    function_parameters: {name: identity_reconciliation, enable_bias: true}
                  instance_interdependence_configs:
                    function_class: tinybig.interdependence.chain_interdependence
                    function_parameters: {b: 6, m: 4, interdependence_type: instance,
                                          chain_length: 6}
                  remainder_configs:
                    function_class: tinybig.remainder.zero_remainder
        - layer_class: tinybig.module.rpn_layer
          layer_parameters:
            m: 3
            n: 2
            head_configs:
              - head_class: tinybig.module.rpn_head
                head_parameters:
                  data_transformation_configs:
                    function_class: tinybig.expansion.identity_expansion
                  parameter_fabrication_configs:
                    function_class: tinybig.reconciliation.lorr_reconciliation
                    function_parameters: {r: 1}
                  instance_interdependence_configs:
                    function_class: tinybig.interdependence.graph_interdependence
                    function_parameters: {b: 6, m: 3, interdependence_type: instance,
                                          nodes: [0, 1, 2, 3, 4, 5],
                                          links: [[0, 1], [1, 2], [2, 0], [1, 3]]}
"""


def test_tinybig_model_config_with_instance_interdependence_imports():
    """The instance axis of the imported model is tinyBIG's `b` rows: inputs (batch, 6, 4);
    each sample is mixed on its own (tinyBIG's batch of 6 rows is one sample here)."""
    from keras_rpn import config
    from keras_rpn import models

    model = config.from_tinybig(INSTANCE_YAML)
    assert model.instances == N
    # tinyBIG's l: layer 1 n D + n (bias) = 3 * (4 + 16) + 3, layer 2 lorr r (n + m) = 1 * (2 + 3)
    assert model.count_params() == 3 * (4 + 16) + 3 + 1 * (2 + 3)
    y = numpy_of(model(X))
    assert y.shape == (2, N, 2)
    first, second = model.rpn_layers[0].heads[0], model.rpn_layers[1].heads[0]
    w1, b1 = numpy_of(first.kernel).reshape(3, 20), numpy_of(first.bias)
    taylor = np.concatenate([X, np.einsum("bni,bnj->bnij", X, X).reshape(2, N, 16)], axis=-1)
    h = apply_instance(ref_adjacency(N, chain_links(N), self_dep=True), taylor) @ w1.T + b1
    a, b = (numpy_of(t) for t in np.split(numpy_of(second.kernel)[0], [2]))
    expected = (
        apply_instance(ref_adjacency(N, [(0, 1), (1, 2), (2, 0), (1, 3)]), h)
        @ (a[:, None] * b[None, :]).T
    )
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-4)
    # The batch axis is never mixed: a sample alone gives its own output.
    np.testing.assert_allclose(numpy_of(model(X[1:])), y[1:], rtol=1e-5, atol=1e-5)
    again = config.from_tinybig(config.to_tinybig(model))
    assert again.instances == N and again.count_params() == model.count_params()
    assert config.from_tinybig(INSTANCE_YAML, instances=N).instances == N
    with pytest.raises(ValueError, match=r"`chain_length` \(6\) must equal .* \(5\)"):
        config.from_tinybig(INSTANCE_YAML, instances=5)
    with pytest.raises(ValueError, match="only for models whose heads"):
        config.from_tinybig(config.to_tinybig(models.RPN([4, 2])), instances=3)


def test_sparse_op_with_skewed_degrees_uses_segment_sum():
    hub = [(i, 0) for i in range(1, 40)] + [
        (i, i + 1) for i in range(1, 39)
    ]  # node 0: in-degree 39
    z = RNG.normal(size=(2, 40, 3)).astype("float32")
    a = ref_adjacency(40, hub)
    op = MatrixOp(a, kind="sparse")
    assert op.ell is None
    np.testing.assert_allclose(numpy_of(op(z)), apply_instance(a, z), rtol=1e-5, atol=1e-5)
    even = ref_adjacency(40, [(i, (i * 7 + 3) % 40) for i in range(40)])
    op = MatrixOp(even, kind="sparse")
    assert op.ell is not None
    np.testing.assert_allclose(numpy_of(op(z)), apply_instance(even, z), rtol=1e-5, atol=1e-5)
