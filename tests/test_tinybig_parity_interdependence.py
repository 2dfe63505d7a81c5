"""Parity of the interdependence matrices with tinyBIG 0.2.1, through the oracle.

All rows go to tinyBIG in ONE oracle subprocess call (see `test_tinybig_parity.py` for
how the oracle's python is found and `tests/oracle/tinybig_oracle.py` for the protocol).

tinyBIG's instances are the rows of its batch `x` (b, m); keras_rpn's are axis -2 of
`(batch, instances, features)`. So keras_rpn gets tinyBIG's batch as ONE sample
`x[None]` (1, b, m) and its matrix for that sample (`xi.matrix(x[None])[0]` for a
data-dependent one) is compared with tinyBIG's `calculate_A(x)`: `(m, m)` for attribute
functions, `(b, b)` for instance functions. Rows with `skip` compare nothing, for the
reason written (a tinyBIG bug, or a deliberate difference,
`docs/differences_interdependence.md`).

Parameterised rows give both the same parameters `w` in tinyBIG's layout, mapped to
keras_rpn's (`to_keras`): keras_rpn's matrix is `psi(w)^T` with `psi` built for
`(d', d)`, tinyBIG's `psi(w)` built for `(d, d')`. For the Kronecker ones
(hm, lphm, dual_lphm) `(A (x) B)^T = A^T (x) B^T`: keras_rpn's p, q are tinyBIG's
q, p and each factor is stored transposed; tinyBIG's matrix, a reshaped outer
product of the factors, is rearranged into their Kronecker product before the
comparison (`from_tinybig`). tinyBIG's bilinear instance
function takes the transposed data (`A = x^T W x` of the `(m, b)` matrix its head
passes), so it gets `x.T`.
"""

import io
import json
import subprocess
from dataclasses import dataclass
from dataclasses import field

import keras
import numpy as np
import pytest
from keras import ops
from test_tinybig_parity import ORACLE
from test_tinybig_parity import ORACLE_TIMEOUT_S
from test_tinybig_parity import oracle_python  # noqa: F401 - the session fixture

from keras_rpn import interdependence

B, M = 6, 4  # tinyBIG's batch = keras_rpn's instances of one sample; features

RANDOM_MATRIX = (
    "random matrices come from different generators (tinyBIG draws its frozen matrices "
    "with torch's RNG), so the same w gives different matrices"
)
CYLINDER_SPHERE = (
    "tinyBIG 0.2.1's cylinder and sphere patch interdependences always raise a TypeError "
    "(they pass r= to patches that expect p_r), so there is nothing to compare"
)
INSTANCE_KERNEL = (
    "tinyBIG 0.2.1's instance-type kernels compare the columns of x (an m x m matrix) and "
    "then fail their own check `A.shape == (b, b')` (AssertionError) whenever b != m"
)
M_PRIME, R = 3, 2


def _full_attribute(w):
    """tinyBIG A = reshape(w, (d, d')); keras_rpn A = reshape(w', (d', d))^T."""
    return w.reshape(M, M_PRIME).T.reshape(1, -1)


def _lowrank_attribute(w):
    """tinyBIG A = U V, U (d, r), V (r, d'); keras_rpn A = (P Q)^T, P (d', r), Q (r, d)."""
    u, v = np.split(w.ravel(), [M * R])
    return np.concatenate([v.reshape(R, M_PRIME).T.ravel(), u.reshape(M, R).T.ravel()])[None]


# Kronecker rows: tinyBIG's p x q factor A_t and s x t factor B_t (s = d/p, t = d'/q),
# every size > 1 and p != q, so that a swapped or untransposed factor shows.
KM_PRIME, KP, KQ = 6, 2, 3
KS, KT = M // KP, KM_PRIME // KQ


def _kronecker_hm(w):
    """tinyBIG A_t (p, q), B_t (s, t); keras_rpn (A_t (x) B_t)^T = A_t^T (x) B_t^T,
    so its p, q are tinyBIG's q, p and each factor is stored transposed."""
    a, b = np.split(w.ravel(), [KP * KQ])
    return np.concatenate([a.reshape(KP, KQ).T.ravel(), b.reshape(KS, KT).T.ravel()])[None]


def _kronecker_lphm(w):
    """tinyBIG A_t, S_t (s, r), T_t read as T_t^T (r, t); keras_rpn B^T = T_t S_t^T:
    its S (t, r) is T_t, its T (s, r) is S_t."""
    a, s_, t_ = np.split(w.ravel(), np.cumsum([KP * KQ, KS * R]))
    return np.concatenate([a.reshape(KP, KQ).T.ravel(), t_.reshape(R, KT).T.ravel(), s_])[None]


def _kronecker_dual_lphm(w):
    """tinyBIG P_t (p, r), Q_t read as Q_t^T (r, q), S_t, T_t as in LPHM; keras_rpn
    A^T = Q_t P_t^T: its P (q, r) is Q_t, its Q (p, r) is P_t."""
    p_, q_, s_, t_ = np.split(w.ravel(), np.cumsum([KP * R, KQ * R, KS * R]))
    return np.concatenate([q_.reshape(R, KQ).T.ravel(), p_, t_.reshape(R, KT).T.ravel(), s_])[None]


def _tinybig_kronecker(a):
    """tinyBIG 0.2.1's reshaped outer product `outer(vec A_t, vec B_t)` of shape (d, d')
    (its known bug, see test_tinybig_parity.py) rearranged into the documented
    Kronecker product `A_t (x) B_t`: entry (i q + j) s t + k t + l goes to (i s + k, j t + l)."""
    return a.reshape(KP, KQ, KS, KT).transpose(0, 2, 1, 3).reshape(M, KM_PRIME)


HYBRID = (
    "tinyBIG 0.2.1's hybrid_interdependence.calculate_m_prime calls calculate_b_prime "
    "with a wrong argument and fails"
)


@dataclass(frozen=True)
class Row:
    tinybig: str
    kwargs: dict = field(default_factory=dict)
    instance: bool = False
    variant: str = None
    skip: str = None
    # inputs: uniform in this range (positive by default: KL needs distributions)
    x_range: tuple = (0.5, 1.5)
    tolerance: float = 1e-5
    # geometric padding: compare keras_rpn's patches of one grid (1, cells, 1) with
    # tinyBIG's x_flat @ A (hwd, P k), both ordered patch, offset
    patches: bool = False
    # tinyBIG-only kwargs (e.g. torch tensors), replacing keras_rpn's of the same name
    tinybig_only: dict = None
    # parameterised rows: l, and tinyBIG's w (1, l) -> keras_rpn's kernel (1, l)
    num_params: int = 0
    to_keras: object = None
    transpose_x: bool = False
    # tinyBIG's matrix rearranged into the layout keras_rpn documents (Kronecker rows)
    from_tinybig: object = None

    @property
    def id(self):
        return self.tinybig + (f"[{self.variant}]" if self.variant else "")

    @property
    def interdependence_type(self):
        return "instance" if self.instance else "attribute"


def K(name, kwargs=None, **options):
    return Row(name, kwargs or {}, **options)


LINKS = [[0, 1], [1, 2], [2, 0], [3, 4], [4, 5], [5, 3], [1, 4]]
NODES = list(range(B))
GRID = {"h": 4, "w": 5, "d": 1, "channel_num": 1, "p_h": 1, "p_w": 1, "p_d": 0}
AGGREGATION = (
    "tinyBIG's aggregation matrix (hwd x hwd, non-centre columns zero) is consistent only "
    "with stride 1; keras_rpn returns the per-patch sums for any stride on purpose "
    "(docs/differences_interdependence.md)"
)

ROWS = [
    # statistical kernels
    K("pearson_correlation_interdependence"),
    K("kl_divergence_interdependence"),
    K("rv_coefficient_interdependence"),
    K("mutual_information_interdependence"),
    K(
        "pearson_correlation_interdependence",
        instance=True,
        variant="instance",
        skip=INSTANCE_KERNEL,
    ),
    # numerical kernels
    K("linear_kernel_interdependence"),
    K("linear_kernel_interdependence", instance=True, variant="instance", skip=INSTANCE_KERNEL),
    K("polynomial_kernel_interdependence", {"c": 0.5, "d": 3}),
    K("hyperbolic_tangent_kernel_interdependence", {"c": 0.1, "alpha": 0.3}),
    K("cosine_similarity_interdependence", x_range=(-1.0, 1.0)),
    K("minkowski_distance_interdependence", {"p": 3}, x_range=(-1.0, 1.0)),
    K("manhattan_distance_interdependence", x_range=(-1.0, 1.0)),
    K("euclidean_distance_interdependence", x_range=(-1.0, 1.0)),
    K("chebyshev_distance_interdependence", x_range=(-1.0, 1.0)),
    K("canberra_distance_interdependence"),
    K("exponential_kernel_interdependence", {"gamma": 0.7}),
    K("gaussian_rbf_kernel_interdependence", {"sigma": 1.3}),
    K("laplacian_kernel_interdependence", {"sigma": 0.8}),
    K(
        "gaussian_rbf_kernel_interdependence",
        {"sigma": 1.3},
        instance=True,
        variant="instance",
        skip=INSTANCE_KERNEL,
    ),
    # topological
    K("chain_interdependence", {"chain_length": B}, instance=True),
    K(
        "chain_interdependence",
        {
            "chain_length": B,
            "bi_directional": True,
            "normalization": True,
            "normalization_mode": "row",
        },
        instance=True,
        variant="bi,row",
    ),
    K(
        "chain_interdependence",
        {"chain_length": B, "normalization": True, "normalization_mode": "column"},
        instance=True,
        variant="column",
    ),
    K(
        "chain_interdependence",
        {
            "chain_length": B,
            "bi_directional": True,
            "normalization": True,
            "normalization_mode": "row_column",
        },
        instance=True,
        variant="bi,row_column",
    ),
    K(
        "chain_interdependence",
        {"chain_length": M, "self_dependence": False},
        variant="attribute,no_self",
    ),
    K("multihop_chain_interdependence", {"chain_length": B, "h": 2}, instance=True),
    K(
        "multihop_chain_interdependence",
        {"chain_length": B, "h": 3, "accumulative": True},
        instance=True,
        variant="accumulative",
    ),
    K("inverse_approx_multihop_chain_interdependence", {"chain_length": B}, instance=True),
    K("exponential_approx_multihop_chain_interdependence", {"chain_length": B}, instance=True),
    K("graph_interdependence", {"nodes": NODES, "links": LINKS}, instance=True),
    K(
        "graph_interdependence",
        {
            "nodes": NODES,
            "links": LINKS,
            "directed": False,
            "self_dependence": True,
            "normalization": True,
            "normalization_mode": "row_column",
        },
        instance=True,
        variant="undirected,row_column",
    ),
    K(
        "graph_interdependence",
        {"nodes": NODES, "links": LINKS, "normalization": True, "normalization_mode": "column"},
        instance=True,
        variant="column",
    ),
    K("multihop_graph_interdependence", {"nodes": NODES, "links": LINKS, "h": 2}, instance=True),
    K(
        "multihop_graph_interdependence",
        {"nodes": NODES, "links": LINKS, "h": 2, "accumulative": True},
        instance=True,
        variant="accumulative",
    ),
    K(
        "pagerank_multihop_graph_interdependence",
        {"nodes": NODES, "links": LINKS, "directed": False, "c": 0.15},
        instance=True,
    ),
    # geometric: tinyBIG's cylinder and sphere always raise
    K("cuboid_patch_padding_based_geometric_interdependence", GRID, patches=True),
    K(
        "cuboid_patch_padding_based_geometric_interdependence",
        {**GRID, "packing_strategy": "complete_square"},
        patches=True,
        variant="complete",
    ),
    K("cuboid_patch_aggregation_based_geometric_interdependence", skip=AGGREGATION),
    K("cylinder_patch_padding_based_geometric_interdependence", skip=CYLINDER_SPHERE),
    K("cylinder_patch_aggregation_based_geometric_interdependence", skip=CYLINDER_SPHERE),
    K("sphere_patch_padding_based_geometric_interdependence", skip=CYLINDER_SPHERE),
    K("sphere_patch_aggregation_based_geometric_interdependence", skip=CYLINDER_SPHERE),
    K(
        "anisotropic_rbf_kernel_interdependence",
        {"a_vector": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]},
        tinybig_only={
            "a_vector": {"$call": "torch.tensor", "args": [[0.1, 0.2, 0.3, 0.4, 0.5, 0.6]]}
        },
    ),
    K(
        "custom_hybrid_kernel_interdependence",
        {"kernels": ["linear_kernel", "gaussian_rbf"], "weights": [0.3, 0.7]},
        tinybig_only={
            "kernels": [
                {"$ref": "tinybig.koala.linear_algebra.batch_linear_kernel"},
                {"$ref": "tinybig.koala.linear_algebra.batch_gaussian_rbf_kernel"},
            ]
        },
    ),
    # parameterised, the layouts mapped
    K(
        "parameterized_interdependence",
        {"m_prime": M_PRIME},
        num_params=M * M_PRIME,
        to_keras=_full_attribute,
    ),
    K(
        "lowrank_parameterized_interdependence",
        {"m_prime": M_PRIME, "r": R},
        num_params=R * (M + M_PRIME),
        to_keras=_lowrank_attribute,
    ),
    K(
        "hm_parameterized_interdependence",
        {"m_prime": KM_PRIME, "p": KQ, "q": KP},
        tinybig_only={"p": KP, "q": KQ},
        num_params=KP * KQ + KS * KT,
        to_keras=_kronecker_hm,
        from_tinybig=_tinybig_kronecker,
    ),
    K(
        "lphm_parameterized_interdependence",
        {"m_prime": KM_PRIME, "r": R, "p": KQ, "q": KP},
        tinybig_only={"p": KP, "q": KQ},
        num_params=KP * KQ + R * (KS + KT),
        to_keras=_kronecker_lphm,
        from_tinybig=_tinybig_kronecker,
    ),
    K(
        "dual_lphm_parameterized_interdependence",
        {"m_prime": KM_PRIME, "r": R, "p": KQ, "q": KP},
        tinybig_only={"p": KP, "q": KQ},
        num_params=R * (KP + KQ + KS + KT),
        to_keras=_kronecker_dual_lphm,
        from_tinybig=_tinybig_kronecker,
    ),
    K("random_matrix_adaption_parameterized_interdependence", skip=RANDOM_MATRIX),
    K(
        "parameterized_bilinear_interdependence",
        instance=True,
        num_params=M * M,
        to_keras=lambda w: w,
        transpose_x=True,
    ),
    K(
        "lowrank_parameterized_bilinear_interdependence",
        {"r": R},
        instance=True,
        num_params=2 * R * M,
        to_keras=lambda w: w,
        transpose_x=True,
    ),  # W = psi(w) in both
    K("hybrid_interdependence", skip=HYBRID),
]


def _x(row):
    seed = sum(map(ord, row.id))
    low, high = row.x_range
    shape = (1, row.kwargs["h"] * row.kwargs["w"] * row.kwargs["d"]) if row.patches else (B, M)
    return np.random.default_rng(seed).uniform(low, high, shape)


def _w(row):
    return np.random.default_rng(sum(map(ord, row.id)) + 1).uniform(-1.0, 1.0, (1, row.num_params))


def _tinybig_kwargs(row):
    kwargs = {**row.kwargs, **(row.tinybig_only or {})}
    if row.patches:
        return kwargs
    return {"b": B, "m": M, "interdependence_type": row.interdependence_type, **kwargs}


def _keras_patches(row, x):
    xi = interdependence.get(row.tinybig, **row.kwargs)
    y = np.asarray(xi(x[..., None]))  # one grid of one channel: (1, cells, 1)
    return y.reshape(1, -1)


def _dtype(row):
    # float32 for the bilinear rows on torch: Keras' torch `ops.matmul` returns float32
    # for two float64 operands (Keras 3 here), which the bilinear einsum then mixes with
    # float64; JAX runs float32 too.
    return "float32" if row.transpose_x and keras.backend.backend() == "torch" else "float64"


def _keras_matrix(row, x):
    xi = interdependence.get(
        row.tinybig, interdependence_type=row.interdependence_type, dtype=_dtype(row), **row.kwargs
    )
    sample = x[None]  # tinyBIG's batch as one sample: (1, b, m)
    xi.build(sample.shape)
    if row.num_params:
        assert xi.num_params() == row.num_params
        xi.kernel.assign(row.to_keras(_w(row)))
    # The layer's dtype, as its __call__ would cast (torch keeps numpy's float64 otherwise).
    data = ops.convert_to_tensor(sample, dtype=xi.compute_dtype)
    a = ops.convert_to_numpy(xi.matrix(data) if xi.require_data else xi.matrix())
    return a[0] if a.ndim == 3 else a


@pytest.fixture(scope="module")
def answers(oracle_python, tmp_path_factory):  # noqa: F811 - the imported fixture
    workdir = tmp_path_factory.mktemp("tinybig_oracle_interdependence")
    arrays, jobs = {}, []
    for row in ROWS:
        if row.skip:
            continue
        x = _x(row)
        arrays[f"{row.id}/x"] = x.T if row.transpose_x else x
        job = {
            "id": row.id,
            "kind": "interdependence",
            "class": row.tinybig,
            "kwargs": _tinybig_kwargs(row),
            "x": f"{row.id}/x",
        }
        if row.num_params:
            arrays[f"{row.id}/w"] = _w(row)
            job["w"] = f"{row.id}/w"
        jobs.append(job)
    buffer = io.BytesIO()
    request = {"protocol": 1, "jobs": jobs}
    np.savez(buffer, __request__=np.array(json.dumps(request)), **arrays)
    (workdir / "request.npz").write_bytes(buffer.getvalue())
    response_path = workdir / "response.npz"
    proc = subprocess.run(
        [oracle_python, str(ORACLE), "-", str(response_path)],
        input=buffer.getvalue(),
        capture_output=True,
        timeout=ORACLE_TIMEOUT_S,
    )
    if proc.returncode != 0 or not response_path.exists():
        pytest.fail(
            f"The tinyBIG oracle exited with status {proc.returncode}:\n"
            f"{proc.stderr.decode(errors='replace')[-4000:]}",
            pytrace=False,
        )
    with np.load(response_path, allow_pickle=False) as data:
        out = {key: data[key] for key in data.files}
    return json.loads(str(out.pop("__response__"))), out


@pytest.mark.parametrize("row", ROWS, ids=lambda row: row.id)
def test_matrix(row, answers):
    if row.skip:
        pytest.skip(row.skip)
    response, out = answers
    result = response["jobs"][row.id]
    if not result["ok"]:
        pytest.fail(f"tinyBIG failed on {row.id}: {result['error']}", pytrace=False)
    expected = out[f"{row.id}::A"]
    if row.from_tinybig:
        expected = row.from_tinybig(expected)
    if row.patches:
        x = _x(row)
        expected, actual = x @ expected, _keras_patches(row, x)
    else:
        actual = _keras_matrix(row, _x(row))
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=row.tolerance)
