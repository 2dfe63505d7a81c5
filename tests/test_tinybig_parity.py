"""Parity with tinyBIG 0.2.1: the same weights give the same outputs.

tinyBIG runs as a black box in its own virtual environment (`tests/oracle/`): every
request of this module goes to it in one subprocess call (importing tinybig takes
seconds), and each test compares keras_rpn, on the Keras backend under test, with what
tinyBIG returned.

The oracle's python is `$TINYBIG_PYTHON`, or else the one `tests/oracle/make_venv.py`
builds (in `$TINYBIG_VENV` or `.tox/tinybig-oracle`). If neither works, the tests FAIL:
CI must not lose parity silently. `KERAS_RPN_SKIP_PARITY=1` skips them on purpose.

The tables below list one row per tinyBIG function (and a few hyper-parameter variants).
For each row:

* `test_counts` compares the dimension bookkeeping: `D(m)` of expansions, `l(n, D)` of
  reconciliations, output width and parameter count of fusions, and the parameter count
  of a head using the remainder;
* `test_values` compares outputs on the same inputs and the same parameters, on inputs
  where both libraries mean the same thing (e.g. reciprocal away from 0, wavelets off
  their poles), unless the row says why it cannot (`counts_only`): tinyBIG computes
  something else on purpose, or draws random constants that cannot be shared. The
  Kronecker reconciliations are compared as multisets of entries (`multiset`);
* a row with `skip` compares nothing, for the reason given (a tinyBIG bug);
* rows whose function keras_rpn does not have (yet) are skipped, saying so;
* `test_every_registered_function_has_a_row` fails when keras_rpn registers a function
  that no row covers.

The parameters are mapped between the two layouts: a head kernel `(C, l)` is tinyBIG's
`w` row for row (except the segments named in `_lphm_to_keras`); `LinearRemainder.kernel`
is tinyBIG's `W_r` transposed; `ParameterizedConcatenationFusion.kernel` is tinyBIG's
`W = reshape(w, (n, K n))` transposed; other fusions with one weight take tinyBIG's flat
`w` reshaped.

To rerun the oracle by hand, the request of a session is kept as `request.npz` in
pytest's temporary directory (`tinybig_oracle0/`), beside `response.npz` and `oracle.log`.
"""

import importlib
import io
import json
import os
import subprocess
import sys
import zlib
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

import numpy as np
import pytest
from keras import ops
from tinybig_layout import assign
from tinybig_layout import set_fusion_weights
from tinybig_layout import set_remainder_weights

import keras_rpn
from keras_rpn import expansions
from keras_rpn import fusions
from keras_rpn import reconciliations
from keras_rpn import remainders

ORACLE_DIR = Path(__file__).resolve().parent / "oracle"
ORACLE = ORACLE_DIR / "tinybig_oracle.py"
MAKE_VENV = ORACLE_DIR / "make_venv.py"
SKIP_ENV = "KERAS_RPN_SKIP_PARITY"
ORACLE_TIMEOUT_S = 600
BUILD_TIMEOUT_S = 3600

BATCH = 5
POOL_SIZE = 4096  # flat parameters: each side takes the first l entries

KRONECKER = (
    "tinyBIG builds a reshaped outer product of the factors where the documented "
    "Kronecker product is meant (reference §2.3); keras_rpn implements the Kronecker "
    "product, so only the parameter count l(n, D) is compared"
)
KRONECKER_MULTISET = (
    "tinyBIG builds a reshaped outer product of the factors where the documented "
    "Kronecker product is meant (reference §2.3); both hold the same products of factor "
    "entries at other positions, so psi(w) is compared as a multiset of entries (which "
    "checks how w is split into factors) and l(n, D) exactly"
)
RANDOM = (
    "tinyBIG draws its {what} with torch's RNG and keeps them as plain attributes (not "
    "saved, not shareable), so the outputs cannot be compared; only l(n, D) is"
)
SILU = {"$call": "torch.nn.SiLU"}
TANH = {"$call": "torch.nn.Tanh"}


# --------------------------------------------------------------------------------------
# The tables
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One parity case: a tinyBIG function and its keras_rpn counterpart.

    `kwargs` are the hyper-parameters both libraries take under the same names;
    `tinybig_kwargs` / `keras_kwargs` are added on one side only. `keras` is the
    keras_rpn registry name (default: the tinyBIG class name, which keras_rpn registers
    as an alias). `counts_only` is the reason outputs are not compared.
    """

    family: str
    tinybig: str
    kwargs: dict = field(default_factory=dict)
    tinybig_kwargs: dict = field(default_factory=dict)
    keras_kwargs: dict = field(default_factory=dict)
    keras: str = None
    variant: str = None
    counts_only: str = None
    # nothing compared, for this reason (tinyBIG's function is broken for this variant)
    skip: str = None
    # compare outputs as multisets of entries (sorted), for this reason
    multiset: str = None
    # tinyBIG returns per-degree, per-sample Python lists: the oracle flattens them
    flatten_lists: bool = False
    # maps tinyBIG's flat parameters w (l,) of shape (n, D) to keras_rpn's (default: same)
    to_keras: object = None
    # inputs: uniform in `x_range`; |x| in `x_range` with random signs if `symmetric`;
    # points closer than 0.03 to a value in `avoid` are moved away from it; the first
    # entries of the first row are set to `exact`.
    x_range: tuple = (-0.9, 0.9)
    symmetric: bool = False
    avoid: tuple = ()
    exact: tuple = ()
    # constant arrays the kwargs name with {"$array": name}
    arrays: dict = field(default_factory=dict)
    m: int = 4
    n: int = 4
    ms: tuple = (1, 3, 6)
    shapes: tuple = ((4, 6), (6, 12))
    num_inputs: int = 3
    tolerance: float = 1e-5

    @property
    def id(self):
        return self.tinybig.split(".")[-1] + (f"[{self.variant}]" if self.variant else "")

    @property
    def keras_name(self):
        return self.keras or self.tinybig.split(".")[-1]

    def keras_config(self):
        return {**_plain(self.kwargs, self.arrays), **self.keras_kwargs}

    def tinybig_config(self):
        return {**self.kwargs, **self.tinybig_kwargs}


def E(name, kwargs=None, **options):
    return Row("expansion", name, kwargs or {}, **options)


def R(name, kwargs=None, **options):
    return Row("reconciliation", name, kwargs or {}, **options)


def M(name, kwargs=None, **options):
    return Row("remainder", name, kwargs or {}, **options)


def F(name, kwargs=None, **options):
    return Row("fusion", name, kwargs or {}, **options)


def _lphm_to_keras(w, kwargs, n, D):
    """LPHM: tinyBIG reads the T segment of w as T^T, shape (r, t); keras_rpn as T (t, r)."""
    p, q, r = kwargs["p"], kwargs["q"], kwargs["r"]
    s, t = n // p, D // q
    a, s_, t_ = np.split(w, np.cumsum([p * q, s * r]))
    return np.concatenate([a, s_, t_.reshape(r, t).T.ravel()])


def _dual_lphm_to_keras(w, kwargs, n, D):
    """Dual LPHM: the Q and T segments, as in `_lphm_to_keras`."""
    p, q, r = kwargs["p"], kwargs["q"], kwargs["r"]
    s, t = n // p, D // q
    p_, q_, s_, t_ = np.split(w, np.cumsum([p * r, q * r, s * r]))
    return np.concatenate([p_, q_.reshape(r, q).T.ravel(), s_, t_.reshape(r, t).T.ravel()])


def _rng(key):
    return np.random.default_rng(zlib.crc32(key.encode()))


def _tuple(*values):
    return {"$tuple": list(values)}


_WAVELET = {"s": 2, "t": 2, "a": 2.0, "b": 0.5}

EXPANSIONS = [
    E("identity_expansion"),
    E(
        "reciprocal_expansion",
        x_range=(0.2, 2.0),
        symmetric=True,
        variant="away_from_0",
    ),
    E("linear_expansion", {"c": 2.0}),
    E(
        "linear_expansion",
        {"post_C": {"$array": "post_C"}},
        arrays={"post_C": _rng("post_C").normal(size=(4, 4))},
        variant="post_C",
    ),
    E("taylor_expansion", {"d": 2}),
    E("taylor_expansion", {"d": 3}, variant="d3"),
    E("fourier_expansion"),
    E("fourier_expansion", {"P": 3.0, "N": 2}, x_range=(-3.0, 3.0), variant="P3_N2"),
    E("hyperbolic_expansion", x_range=(-2.0, 2.0)),
    E("arc_hyperbolic_expansion", x_range=(-3.0, 3.0)),
    E("trigonometric_expansion", x_range=(-1.2, 1.2)),
    E("arc_trigonometric_expansion", x_range=(-3.0, 3.0)),
    E("gaussian_rbf_expansion"),
    E(
        "gaussian_rbf_expansion",
        {"base_range": _tuple(-2.0, 2.0), "num_interval": 4, "epsilon": 0.5},
        x_range=(-2.5, 2.5),
        variant="custom",
    ),
    E("inverse_quadratic_rbf_expansion"),
    E("bspline_expansion"),
    E(
        "bspline_expansion",
        {"grid_range": _tuple(-2.0, 2.0), "t": 3, "d": 2},
        x_range=(-1.95, 1.95),
        variant="t3_d2",
    ),
    E("chebyshev_expansion", {"d": 3}),
    E("jacobi_expansion", {"d": 3, "alpha": 1.5, "beta": 0.5}),
    E("hermite_expansion", {"d": 3}),
    E(
        "laguerre_expansion",
        {"d": 3, "alpha": 1.0},
        counts_only=(
            "tinyBIG's first Laguerre polynomial is x + 1 + alpha where the documented "
            "(and keras_rpn's) one is 1 + alpha - x (reference §2.1, §6.4)"
        ),
    ),
    E("legendre_expansion", {"d": 3}),
    E("gegenbauer_expansion", {"d": 3, "alpha": 1.5}),
    E("bessel_expansion", {"d": 3}),
    E("reverse_bessel_expansion", {"d": 3}),
    E("fibonacci_expansion", {"d": 3}),
    E("lucas_expansion", {"d": 3}),
    E("normal_expansion", x_range=(-2.0, 2.0)),
    E("cauchy_expansion", x_range=(-2.0, 2.0)),
    E("chi2_expansion", x_range=(-2.0, 2.0)),
    E("gamma_expansion", x_range=(-2.0, 2.0)),
    E("laplace_expansion", x_range=(-2.0, 2.0)),
    E("exponential_expansion", x_range=(-2.0, 2.0)),
    E("hybrid_probabilistic_expansion", x_range=(-2.0, 2.0)),
    E("naive_normal_expansion", x_range=(-2.0, 2.0)),
    E("naive_cauchy_expansion", x_range=(-2.0, 2.0)),
    E("naive_chi2_expansion", x_range=(-2.0, 2.0)),
    E("naive_gamma_expansion", x_range=(-2.0, 2.0)),
    E("naive_exponential_expansion", x_range=(-2.0, 2.0)),
    E("naive_laplace_expansion", x_range=(-2.0, 2.0)),
    E("combinatorial_expansion", {"d": 2}, flatten_lists=True),
    E("combinatorial_expansion", {"d": 3}, m=5, flatten_lists=True, variant="d3"),
    E(
        "combinatorial_expansion",
        {"d": 2, "with_replacement": True},
        variant="with_replacement",
        skip=(
            "tinyBIG ignores with_replacement=True: calculate_D counts subsets without "
            "replacement and forward's own keyword with_replacement=False overrides the "
            "constructor's; keras_rpn honours it"
        ),
    ),
    E("combinatorial_normal_expansion", {"d": 2}, x_range=(-2.0, 2.0)),
    E(
        "cuboid_patch_based_geometric_expansion",
        {"h": 3, "w": 3, "d": 1, "p_h": 1, "p_w": 1, "p_d": 0},
        m=9,
        ms=(9,),
    ),
    E("harr_wavelet_expansion", avoid=(0.0, 0.5, 1.0)),
    E(
        "harr_wavelet_expansion",
        _WAVELET,
        x_range=(-1.0, 3.0),
        avoid=(0.0, 0.5, 1.0, 1.5, 2.0, 3.0),
        variant="s2_t2",
    ),
    E(
        "beta_wavelet_expansion",
        {"alpha": 2.0, "beta": 3.0},
        x_range=(0.05, 0.95),
        variant="tau_in_0_1",
    ),
    E("shannon_wavelet_expansion", x_range=(-2.0, 2.0), avoid=(0.0,)),
    E("ricker_wavelet_expansion", {"sigma": 1.5}, x_range=(-2.0, 2.0)),
    E("ricker_wavelet_expansion", _WAVELET, x_range=(-2.0, 2.0), variant="s2_t2"),
    E("dog_wavelet_expansion", x_range=(-2.0, 2.0)),
    E("dog_wavelet_expansion", {"d": 2}, x_range=(-2.0, 2.0), variant="d2"),
    E("meyer_wavelet_expansion", x_range=(-2.0, 2.0), avoid=(-0.75, 0.0, 0.75)),
    E(
        "meyer_wavelet_expansion",
        x_range=(-2.0, 2.0),
        avoid=(-0.75, 0.75),
        exact=(0.0,),
        variant="at_0",
    ),
    E(
        "nested_expansion",
        tinybig_kwargs={
            "composition_function_configs": [
                {
                    "function_class": "tinybig.expansion.bspline_expansion",
                    "function_parameters": {"t": 3, "d": 2},
                },
                {
                    "function_class": "tinybig.expansion.taylor_expansion",
                    "function_parameters": {"d": 2},
                },
            ]
        },
        keras_kwargs={
            "composition_functions": [
                {"class_name": "bspline", "config": {"t": 3, "d": 2}},
                {"class_name": "taylor", "config": {"d": 2}},
            ]
        },
        m=2,
        ms=(1, 2),
    ),
    E(
        "extended_expansion",
        tinybig_kwargs={
            "composition_function_configs": [
                {
                    "function_class": "tinybig.expansion.bspline_expansion",
                    "function_parameters": {"t": 3, "d": 2},
                },
                {
                    "function_class": "tinybig.expansion.taylor_expansion",
                    "function_parameters": {"d": 2},
                },
            ]
        },
        keras_kwargs={
            "composition_functions": [
                {"class_name": "bspline", "config": {"t": 3, "d": 2}},
                {"class_name": "taylor", "config": {"d": 2}},
            ]
        },
    ),
]

RECONCILIATIONS = [
    R("constant_reconciliation", {"c": 0.5}),
    R("zero_reconciliation"),
    R("one_reconciliation"),
    R("constant_eye_reconciliation"),
    R("identity_reconciliation"),
    R("lorr_reconciliation", {"r": 2}),
    R("masking_reconciliation", counts_only=RANDOM.format(what="mask"), shapes=((4, 6),)),
    R(
        "masking_reconciliation",
        {"p": 1.0},
        variant="keep_all",
    ),
    R("duplicated_padding_reconciliation", {"p": 2, "q": 3}, multiset=KRONECKER_MULTISET),
    R("duplicated_diagonal_padding_reconciliation", {"p": 4, "q": 4}, shapes=((4, 8),)),
    R("hm_reconciliation", multiset=KRONECKER_MULTISET),
    R("hm_reconciliation", {"p": 2, "q": 3}, multiset=KRONECKER_MULTISET, variant="p2_q3"),
    R(
        "lphm_reconciliation",
        {"p": 2, "q": 3, "r": 2},
        multiset=KRONECKER_MULTISET,
        to_keras=_lphm_to_keras,
    ),
    R(
        "dual_lphm_reconciliation",
        {"p": 2, "q": 3, "r": 2},
        multiset=KRONECKER_MULTISET,
        to_keras=_dual_lphm_to_keras,
    ),
    R(
        "hypernet_reconciliation",
        {"l": 16, "hidden_dim": 8},
        counts_only=RANDOM.format(what="hypernetwork weights"),
        shapes=((4, 6),),
    ),
    R(
        "random_matrix_adaption_reconciliation",
        {"r": 2},
        counts_only=RANDOM.format(what="frozen random matrices"),
        shapes=((4, 6),),
    ),
    R(
        "random_matrix_hypernet_reconciliation",
        {"r": 2, "l": 16, "hidden_dim": 8},
        counts_only=RANDOM.format(what="frozen random matrices"),
        shapes=((4, 6),),
    ),
]

REMAINDERS = [
    M("zero_remainder", n=3),
    M("constant_remainder", {"c": 0.5}, n=3),
    M("basic_remainder.one_remainder", n=3),
    M("identity_remainder"),
    M(
        "identity_remainder",
        tinybig_kwargs={"activation_functions": TANH},
        keras_kwargs={"activation": "tanh"},
        variant="tanh",
    ),
    M("linear_remainder", n=3),
    M(
        "linear_remainder",
        tinybig_kwargs={"activation_functions": SILU, "enable_bias": True},
        keras_kwargs={"activation": "silu", "use_bias": True},
        n=3,
        variant="silu_bias",
    ),
]

FUSIONS = [
    F(
        "weighted_summation_fusion",
        {"weights": {"$array": "weights"}},
        arrays={"weights": np.array([0.2, -0.3, 0.5])},
    ),
    F("summation_fusion"),
    F("average_fusion"),
    F("parameterized_weighted_summation_fusion"),
    F("max_fusion"),
    F("min_fusion"),
    F("sum_fusion"),
    F("mean_fusion"),
    F("prod_fusion"),
    F("median_fusion"),
    F("median_fusion", num_inputs=4, variant="even_K"),
    F("metric_fusion.l1_norm_fusion"),
    F("metric_fusion.l2_norm_fusion"),
    F("concatenation_fusion"),
    F(
        "parameterized_concatenation_fusion",
        tinybig_kwargs={"n": 5},
        keras_kwargs={"units": 5},
    ),
    F(
        "lowrank_parameterized_concatenation_fusion",
        {"r": 2},
        tinybig_kwargs={"n": 5},
        keras_kwargs={"units": 5},
    ),
    F(
        "hm_parameterized_concatenation_fusion",
        {"p": 2},
        tinybig_kwargs={"n": 4},
        keras_kwargs={"units": 4},
        counts_only=KRONECKER,
    ),
    F(
        "hm_parameterized_concatenation_fusion",
        {"p": 2, "q": 3},
        tinybig_kwargs={"n": 4},
        keras_kwargs={"units": 4},
        counts_only=KRONECKER,
        variant="q3",
    ),
    F(
        "lphm_parameterized_concatenation_fusion",
        {"p": 2, "r": 2},
        tinybig_kwargs={"n": 4},
        keras_kwargs={"units": 4},
        counts_only=KRONECKER,
    ),
    F(
        "lphm_parameterized_concatenation_fusion",
        {"p": 2, "r": 2, "q": 3},
        tinybig_kwargs={"n": 4},
        keras_kwargs={"units": 4},
        counts_only=KRONECKER,
        variant="q3",
    ),
    F(
        "dual_lphm_parameterized_concatenation_fusion",
        {"p": 2, "r": 2},
        tinybig_kwargs={"n": 4},
        keras_kwargs={"units": 4},
        counts_only=KRONECKER,
    ),
    F(
        "dual_lphm_parameterized_concatenation_fusion",
        {"p": 2, "r": 2, "q": 3},
        tinybig_kwargs={"n": 4},
        keras_kwargs={"units": 4},
        counts_only=KRONECKER,
        variant="q3",
    ),
    F(
        "random_matrix_adaption_parameterized_concatenation_fusion",
        {"r": 2},
        tinybig_kwargs={"n": 4},
        keras_kwargs={"units": 4},
        counts_only=RANDOM.format(what="frozen random matrices"),
    ),
]

ROWS = EXPANSIONS + RECONCILIATIONS + REMAINDERS + FUSIONS

# tinyBIG functions with no row, and why (kept here so that coverage stays visible).
NOT_COMPARED = {
    "geometric_expansion": "generic base of the patch-shaped geometric expansions",
    "metric_fusion": "generic base taking a torch callable; its subclasses have rows",
    "discrete_wavelet_expansion": "abstract base of the wavelet expansions",
}


@dataclass(frozen=True)
class HeadCase:
    """A whole head: `(expansion, reconciliation, remainder)` with C channels."""

    id: str
    expansion: tuple  # (tinyBIG class, keras name, shared kwargs)
    reconciliation: tuple
    remainder: tuple  # (tinyBIG class, keras name, tinyBIG kwargs, keras kwargs)
    bias: bool = True
    channels: int = 1
    channel_fusion: tuple = None  # (tinyBIG class, keras name, tinyBIG kw, keras kw)
    m: int = 4
    n: int = 3
    x_range: tuple = (-0.9, 0.9)


ZERO = ("zero_remainder", "zero", {}, {})
HEADS = [
    HeadCase(
        "taylor-lorr-zero",
        ("taylor_expansion", "taylor", {"d": 2}),
        ("lorr_reconciliation", "lorr", {"r": 2}),
        ZERO,
    ),
    HeadCase(
        "bspline-identity-linear_silu",
        ("bspline_expansion", "bspline", {}),
        ("identity_reconciliation", "identity", {}),
        (
            "linear_remainder",
            "linear",
            {"activation_functions": SILU, "enable_bias": True},
            {"activation": "silu", "use_bias": True},
        ),
        bias=False,
    ),
    HeadCase(
        "identity-identity-bias",
        ("identity_expansion", "identity", {}),
        ("identity_reconciliation", "identity", {}),
        ZERO,
    ),
    HeadCase(
        "chebyshev-identity-2ch_mean",
        ("chebyshev_expansion", "chebyshev", {"d": 3}),
        ("identity_reconciliation", "identity", {}),
        ZERO,
        channels=2,
    ),
    HeadCase(
        "identity-identity-3ch_sum",
        ("identity_expansion", "identity", {}),
        ("identity_reconciliation", "identity", {}),
        ZERO,
        channels=3,
        channel_fusion=("sum_fusion", "sum", {}, {}),
    ),
    HeadCase(
        "taylor-identity-2ch_parameterized_concatenation",
        ("taylor_expansion", "taylor", {"d": 2}),
        ("identity_reconciliation", "identity", {}),
        ZERO,
        channels=2,
        channel_fusion=(
            "parameterized_concatenation_fusion",
            "parameterized_concatenation",
            {},
            {},
        ),
    ),
    HeadCase(
        "chebyshev-lorr-identity_remainder",
        ("chebyshev_expansion", "chebyshev", {"d": 2}),
        ("lorr_reconciliation", "lorr", {"r": 2}),
        ("identity_remainder", "identity", {}, {}),
        n=4,
    ),
]


# --------------------------------------------------------------------------------------
# Inputs, shared by both sides
# --------------------------------------------------------------------------------------


def _inputs(key, shape, x_range, symmetric=False, avoid=(), exact=()):
    rng = _rng(key)
    low, high = x_range
    x = rng.uniform(low, high, shape)
    if symmetric:
        x = x * rng.choice([-1.0, 1.0], shape)
    for value in avoid:  # push points off the value, staying on their side
        near = np.abs(x - value) < 0.03
        x = np.where(near, value + np.where(x >= value, 0.03, -0.03), x)
    x[0, : len(exact)] = exact
    return x


def _plain(value, arrays=None):
    """The tinyBIG-side kwargs for keras_rpn: tagged values become plain ones."""
    if isinstance(value, list):
        return [_plain(v, arrays) for v in value]
    if isinstance(value, dict):
        if "$tuple" in value:
            return tuple(_plain(v, arrays) for v in value["$tuple"])
        if "$array" in value:
            return arrays[value["$array"]].tolist()
        return {k: _plain(v, arrays) for k, v in value.items()}
    return value


def _row_arrays(row):
    arrays = {"pool": _rng(row.id + "/pool").normal(size=POOL_SIZE), **row.arrays}
    if row.family == "expansion":
        arrays["x"] = _inputs(
            row.id, (BATCH, row.m), row.x_range, row.symmetric, row.avoid, row.exact
        )
    elif row.family == "remainder":
        arrays["x"] = _inputs(row.id, (BATCH, row.m), row.x_range)
        arrays["w"] = _rng(row.id + "/w").normal(size=(row.n, row.m))
        arrays["b"] = _rng(row.id + "/b").normal(size=row.n)
    elif row.family == "fusion":
        for k in range(row.num_inputs):
            arrays[f"x{k}"] = _inputs(f"{row.id}/{k}", (BATCH, row.n), (-2.0, 2.0))
    return arrays


def _head_arrays(case, num_params):
    rng = _rng(case.id)
    arrays = {
        "x": rng.uniform(*case.x_range, (BATCH, case.m)),
        "w": rng.normal(size=(case.channels, num_params)) / np.sqrt(num_params),
        "b": rng.normal(size=case.n),
        "w_remainder": rng.normal(size=(case.n, case.m)),
        "b_remainder": rng.normal(size=case.n),
    }
    return arrays


# --------------------------------------------------------------------------------------
# keras_rpn side
# --------------------------------------------------------------------------------------

FAMILIES = {
    "expansion": expansions,
    "reconciliation": reconciliations,
    "remainder": remainders,
    "fusion": fusions,
}


def _implemented(family, name):
    return name in FAMILIES[family].names()


def _lookup(family, name):
    """The class keras_rpn registers under `name` (without instantiating it)."""
    base = importlib.import_module(f"keras_rpn.{family}s.base")
    return base._registry.lookup(name)


def _require(row):
    if not _implemented(row.family, row.keras_name):
        pytest.skip(f"keras_rpn has no {row.family} {row.keras_name!r} yet")


def _numpy(x):
    return np.asarray(ops.convert_to_numpy(x), dtype=np.float64)


def _param_count(layer):
    return int(sum(np.prod(v.shape) for v in layer.trainable_weights))


def _close(actual, expected, tolerance, what):
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, (
        f"{what}: keras_rpn's shape {actual.shape} != tinyBIG's {expected.shape}"
    )
    scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
    np.testing.assert_allclose(
        actual, expected, rtol=20 * tolerance, atol=tolerance * scale, err_msg=what
    )


# --------------------------------------------------------------------------------------
# The oracle: one subprocess call for the whole module
# --------------------------------------------------------------------------------------


def _job(job_id, kind, **spec):
    return {"id": job_id, "kind": kind, **spec}


def _component(name, kwargs):
    return {"class": name, "kwargs": kwargs}


def _keras_head(case):
    keras_remainder = {"class_name": case.remainder[1], "config": case.remainder[3]}
    fusion = None
    if case.channel_fusion is not None:
        fusion = {"class_name": case.channel_fusion[1], "config": case.channel_fusion[3]}
    head = keras_rpn.layers.RPNHead(
        case.n,
        expansion={"class_name": case.expansion[1], "config": case.expansion[2]},
        reconciliation={"class_name": case.reconciliation[1], "config": case.reconciliation[2]},
        remainder=keras_remainder,
        channels=case.channels,
        channel_fusion=fusion,
        use_bias=case.bias,
        kernel_initializer="zeros",  # overwritten; zeros are cheapest to make
    )
    head.build((None, case.m))
    return head


def _tinybig_head_spec(case):
    recon_kwargs = dict(case.reconciliation[2])
    if case.bias:
        recon_kwargs["enable_bias"] = True
    fusion = None
    if case.channel_fusion is not None:
        fusion_kwargs = {"dims": [case.n] * case.channels, **case.channel_fusion[2]}
        if case.channel_fusion[0] == "parameterized_concatenation_fusion":
            fusion_kwargs["n"] = case.n
        fusion = _component(case.channel_fusion[0], fusion_kwargs)
    return dict(
        m=case.m,
        n=case.n,
        channels=case.channels,
        expansion=_component(case.expansion[0], case.expansion[2]),
        reconciliation=_component(case.reconciliation[0], recon_kwargs),
        remainder=_component(case.remainder[0], case.remainder[2]),
        channel_fusion=fusion,
    )


def _head_params(case, head, arrays):
    """The tinyBIG parameter dict of a head, and the same values set into `head`."""
    params = {"w": "w"}
    assign(head.kernel, arrays["w"])
    if case.bias:
        params["b"] = "b"
        assign(head.bias, arrays["b"])
    remainder = head.remainder
    if isinstance(remainder, remainders.LinearRemainder):
        params["w_remainder"] = "w_remainder"
        if remainder.bias is not None:
            params["b_remainder"] = "b_remainder"
    set_remainder_weights(remainder, arrays["w_remainder"], arrays["b_remainder"])
    fusion_params = _param_count(head.channel_fusion)
    if fusion_params:
        arrays["w_channel_fusion"] = _rng(case.id + "/fusion").normal(size=(1, fusion_params))
        params["w_channel_fusion"] = "w_channel_fusion"
        set_fusion_weights(head.channel_fusion, arrays["w_channel_fusion"])
    return params


def _remainder_count_case(row):
    """A head around the remainder (identity kappa and psi, no bias), to count params."""
    return HeadCase(
        f"remainder-count/{row.id}",
        ("identity_expansion", "identity", {}),
        ("identity_reconciliation", "identity", {}),
        (
            row.tinybig,
            row.keras_name,
            row.tinybig_config(),
            row.keras_config(),
        ),
        bias=False,
        m=row.m,
        n=row.n,
    )


def _row_jobs(row):
    """The oracle jobs of one row: `counts` always, `values` unless counts only."""
    arrays = _row_arrays(row)
    kwargs = row.tinybig_config()
    jobs = []
    if row.skip:
        return jobs, arrays
    if row.family == "expansion":
        jobs.append(
            _job(
                "counts", "expansion", ms=list(row.ms) + [row.m], **_component(row.tinybig, kwargs)
            )
        )
        if not row.counts_only:
            jobs.append(
                _job(
                    "values",
                    "expansion",
                    x="x",
                    flatten_lists=row.flatten_lists,
                    **_component(row.tinybig, kwargs),
                )
            )
    elif row.family == "reconciliation":
        shapes = [list(s) for s in row.shapes]
        jobs.append(
            _job("counts", "reconciliation", shapes=shapes, **_component(row.tinybig, kwargs))
        )
        if not row.counts_only:
            n, D = row.shapes[0]
            jobs.append(
                _job(
                    "values",
                    "reconciliation",
                    n=n,
                    D=D,
                    w_pool="pool",
                    **_component(row.tinybig, kwargs),
                )
            )
    elif row.family == "remainder":
        jobs.append(
            _job(
                "values",
                "remainder",
                n=row.n,
                m=row.m,
                x="x",
                w="w",
                b="b" if kwargs.get("enable_bias") else None,
                **_component(row.tinybig, kwargs),
            )
        )
    elif row.family == "fusion":
        fusion_kwargs = {"dims": [row.n] * row.num_inputs, **kwargs}
        jobs.append(
            _job(
                "counts",
                "fusion",
                dims=[row.n] * row.num_inputs,
                **_component(row.tinybig, fusion_kwargs),
            )
        )
        if not row.counts_only:
            w_rank = 1 if "weighted_summation" in row.tinybig else 2
            jobs.append(
                _job(
                    "values",
                    "fusion",
                    w_pool="pool",
                    w_rank=w_rank,
                    xs=[f"x{k}" for k in range(row.num_inputs)],
                    **_component(row.tinybig, fusion_kwargs),
                )
            )
    return jobs, arrays


class Oracle:
    """Builds every request of the module, runs the oracle once, serves the answers."""

    def __init__(self, python, workdir):
        self.arrays, self.jobs, self.heads = {}, [], {}
        response_path = workdir / "response.npz"
        with open(workdir / "oracle.log", "w+") as log:
            # Started first: tinybig imports while the request is being built.
            try:
                proc = subprocess.Popen(
                    [python, str(ORACLE), "-", str(response_path)],
                    stdin=subprocess.PIPE,
                    stdout=log,
                    stderr=log,
                )
            except OSError as error:
                pytest.fail(f"The tinyBIG oracle ({python}) could not start: {error}", False)
            try:
                request = self._request()
                # Kept beside the response, to rerun by hand: tinybig_oracle.py request.npz
                (workdir / "request.npz").write_bytes(request)
                proc.communicate(request, timeout=ORACLE_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                pytest.fail(f"The tinyBIG oracle took over {ORACLE_TIMEOUT_S} s", False)
            except BaseException:
                proc.kill()
                proc.wait()
                raise
            log.seek(0)
            output = log.read()
        if proc.returncode != 0 or not response_path.exists():
            pytest.fail(
                f"The tinyBIG oracle ({python}) exited with status {proc.returncode}:\n"
                f"{output[-4000:]}",
                pytrace=False,
            )
        with np.load(response_path, allow_pickle=False) as data:
            self.out = {key: data[key] for key in data.files}
        self.response = json.loads(str(self.out.pop("__response__")))

    def _request(self):
        for row in ROWS:
            jobs, arrays = _row_jobs(row)
            self._add(f"row/{row.id}", jobs, arrays)
            if row.family == "remainder":
                self._add_head(_remainder_count_case(row), with_values=False)
        for case in HEADS:
            self._add_head(case, with_values=True)
        request = {"protocol": 1, "jobs": self.jobs}
        buffer = io.BytesIO()
        np.savez(buffer, __request__=np.array(json.dumps(request)), **self.arrays)
        return buffer.getvalue()

    def _add(self, prefix, jobs, arrays):
        for name, value in arrays.items():
            self.arrays[f"{prefix}/{name}"] = value

        def rename(value):
            if isinstance(value, str) and value in arrays:
                return f"{prefix}/{value}"
            if isinstance(value, list):
                return [rename(v) for v in value]
            if isinstance(value, dict):
                if set(value) == {"$array"}:
                    return {"$array": rename(value["$array"])}
                return {k: rename(v) for k, v in value.items()}
            return value

        for job in jobs:
            spec = {k: (rename(v) if k in _ARRAY_FIELDS else v) for k, v in job.items()}
            if "kwargs" in spec:
                spec["kwargs"] = rename(spec["kwargs"])
            spec["id"] = f"{prefix}/{job['id']}"
            self.jobs.append(spec)

    def _add_head(self, case, with_values):
        prefix = f"head/{case.id}"
        if not _head_implemented(case):
            return
        head = _keras_head(case)
        num_params = head.kernel.shape[1] if head.kernel is not None else 0
        arrays = _head_arrays(case, num_params)
        params = _head_params(case, head, arrays)
        spec = _tinybig_head_spec(case)
        job = _job("head", "head", params=params, **spec)
        if with_values:
            job["x"] = "x"
        self._add(prefix, [job], arrays)
        self.heads[case.id] = (head, arrays)

    def answer(self, job_id):
        """(scalars, arrays) of a job, or fails with tinyBIG's error."""
        result = self.response["jobs"].get(job_id)
        if result is None:
            pytest.fail(f"The oracle has no answer for {job_id}", pytrace=False)
        if not result["ok"]:
            pytest.fail(f"tinyBIG failed on {job_id}: {result['error']}", pytrace=False)
        prefix = job_id + "::"
        arrays = {k[len(prefix) :]: v for k, v in self.out.items() if k.startswith(prefix)}
        return result["scalars"], arrays


_ARRAY_FIELDS = ("x", "xs", "w", "b", "w_pool", "params")


def _head_implemented(case):
    return (
        _implemented("expansion", case.expansion[1])
        and _implemented("reconciliation", case.reconciliation[1])
        and _implemented("remainder", case.remainder[1])
        and (case.channel_fusion is None or _implemented("fusion", case.channel_fusion[1]))
    )


@pytest.fixture(scope="session")
def oracle_python():
    if os.environ.get(SKIP_ENV) == "1":
        pytest.skip(f"{SKIP_ENV}=1: tinyBIG parity checks skipped on request")
    python = os.environ.get("TINYBIG_PYTHON")
    if python:
        if not (os.path.isfile(python) and os.access(python, os.X_OK)):
            pytest.fail(
                f"TINYBIG_PYTHON={python!r} is not an executable file. Point it at the "
                f"python of a tinyBIG environment (python {MAKE_VENV} builds one), or set "
                f"{SKIP_ENV}=1 to skip the parity tests on purpose.",
                pytrace=False,
            )
        return python
    try:
        proc = subprocess.run(
            [sys.executable, str(MAKE_VENV)],
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT_S,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        proc = None
        detail = str(error)
    else:
        detail = proc.stderr[-4000:]
    if proc is None or proc.returncode != 0 or not proc.stdout.strip():
        pytest.fail(
            "The tinyBIG oracle environment could not be built, so parity with tinyBIG "
            f"cannot be checked.\n`{sys.executable} {MAKE_VENV}` said:\n{detail}\n"
            f"Set TINYBIG_PYTHON to an existing tinyBIG python, or {SKIP_ENV}=1 to skip "
            "the parity tests on purpose.",
            pytrace=False,
        )
    return proc.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="session")
def oracle(oracle_python, tmp_path_factory):
    return Oracle(oracle_python, tmp_path_factory.mktemp("tinybig_oracle"))


# --------------------------------------------------------------------------------------
# The tests
# --------------------------------------------------------------------------------------


def _keras_component(row):
    return FAMILIES[row.family].get(row.keras_name, **row.keras_config())


@pytest.mark.parametrize("row", ROWS, ids=lambda row: f"{row.family}-{row.id}")
def test_counts(row, oracle):
    """D(m), l(n, D), fusion widths and parameter counts agree with tinyBIG."""
    if row.skip:
        pytest.skip(row.skip)
    _require(row)
    if row.family == "remainder":
        case = _remainder_count_case(row)
        scalars, _ = oracle.answer(f"head/{case.id}/head")
        head, _ = oracle.heads[case.id]
        assert head.count_params() == scalars["num_params"], (
            f"parameters of a head with this remainder: keras_rpn {head.count_params()}, "
            f"tinyBIG {scalars['num_params']} ({scalars['param_shapes']})"
        )
        return
    scalars, _ = oracle.answer(f"row/{row.id}/counts")
    if row.family == "expansion":
        kappa = _keras_component(row)
        got = {str(m): kappa.output_dim(m) for m in list(row.ms) + [row.m]}
        assert got == scalars["D_of_m"], f"D(m): keras_rpn {got}, tinyBIG {scalars['D_of_m']}"
    elif row.family == "reconciliation":
        got = {}
        for n, D in row.shapes:
            psi = _keras_component(row)
            psi.build((n, D))
            got[f"{n},{D}"] = psi.num_params(n, D)
        assert got == scalars["l_of"], f"l(n, D): keras_rpn {got}, tinyBIG {scalars['l_of']}"
    elif row.family == "fusion":
        fusion = _keras_component(row)
        fusion.build((None, row.num_inputs, row.n))
        got = (fusion.output_dim(row.num_inputs, row.n), _param_count(fusion))
        want = (scalars["n"], scalars["l"])
        assert got == want, f"(output width, parameters): keras_rpn {got}, tinyBIG {want}"


@pytest.mark.parametrize("row", ROWS, ids=lambda row: f"{row.family}-{row.id}")
def test_values(row, oracle):
    """Outputs agree with tinyBIG's on the same inputs and parameters."""
    if row.skip:
        pytest.skip(row.skip)
    if row.counts_only:
        pytest.skip(f"outputs not compared: {row.counts_only}")
    _require(row)
    scalars, out = oracle.answer(f"row/{row.id}/values")
    arrays = _row_arrays(row)
    component = _keras_component(row)
    if row.family == "expansion":
        got = component(arrays["x"].astype("float32"))
        _close(_numpy(got), out["y"], row.tolerance, f"{row.id}: kappa(x)")
    elif row.family == "reconciliation":
        n, D = row.shapes[0]
        component.build((n, D))
        count = component.num_params(n, D)
        assert count == scalars["l"], f"l(n, D): keras_rpn {count}, tinyBIG {scalars['l']}"
        w = arrays["pool"][:count]
        if row.to_keras is not None:
            w = row.to_keras(w, row.kwargs, n, D)
        kernel = w.reshape(1, count).astype("float32")
        got, want = _numpy(component.reconcile(ops.convert_to_tensor(kernel)))[0], out["W"]
        if row.multiset:
            assert got.shape == want.shape, f"psi(w): shape {got.shape} != {want.shape}"
            got, want = np.sort(got, axis=None), np.sort(want, axis=None)
        _close(got, want, row.tolerance, f"{row.id}: psi(w)")
    elif row.family == "remainder":
        if component.units is None:
            component.units = row.n
        x = arrays["x"].astype("float32")
        component.build(x.shape)
        set_remainder_weights(component, arrays["w"], arrays["b"])
        got = component(x)
        _close(_numpy(got), out["y"], row.tolerance, f"{row.id}: pi(x)")
    elif row.family == "fusion":
        component.build((None, row.num_inputs, row.n))
        set_fusion_weights(component, arrays["pool"][: _param_count(component)])
        stacked = np.stack([arrays[f"x{k}"] for k in range(row.num_inputs)], axis=-2)
        got = component(stacked.astype("float32"))
        _close(_numpy(got), out["y"], row.tolerance, f"{row.id}: fusion")


@pytest.mark.parametrize("case", HEADS, ids=lambda case: case.id)
def test_head(case, oracle):
    """A whole head (channel fusion, bias once per channel, remainder) agrees."""
    if not _head_implemented(case):
        pytest.skip("keras_rpn lacks one of this head's functions yet")
    scalars, out = oracle.answer(f"head/{case.id}/head")
    head, arrays = oracle.heads[case.id]
    assert head.count_params() == scalars["num_params"], (
        f"head parameters: keras_rpn {head.count_params()}, tinyBIG {scalars['num_params']} "
        f"({scalars['param_shapes']})"
    )
    got = head(arrays["x"].astype("float32"))
    _close(_numpy(got), out["y"], 1e-5, f"{case.id}: head(x)")


def test_every_registered_function_has_a_row():
    """Each function keras_rpn registers is reached by a parity row (or listed)."""
    missing = []
    for family, module in FAMILIES.items():
        covered = {row.keras_name for row in ROWS if row.family == family}
        covered_classes = {_lookup(family, name) for name in covered if _implemented(family, name)}
        for name in module.names():
            cls = _lookup(family, name)
            if cls not in covered_classes:
                missing.append(f"{family} {name!r} ({cls.__name__})")
    assert not missing, (
        "keras_rpn functions with no tinyBIG parity row in tests/test_tinybig_parity.py: "
        + ", ".join(sorted(set(missing)))
    )
