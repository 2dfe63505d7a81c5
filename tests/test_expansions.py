"""Every data expansion, driven by one table: values, D(m), config, names, stability.

Each row of `CASES` names a registered expansion, its arguments, an independent
numpy/scipy reference of the documented formula (float64, written from the
formula, not from keras_rpn) and its width D(m). The tests below check every row
the same way; expansion-specific behaviour (project, processing, composites,
argument validation) follows the table.
"""

import itertools
import math
from typing import NamedTuple

import keras
import numpy as np
import pytest
from checks import BACKEND
from checks import as_model
from checks import assert_config_roundtrip
from checks import assert_fit_step
from checks import assert_save_load
from checks import gradients
from keras import ops
from scipy import special as sp
from scipy import stats

from keras_rpn import expansions
from keras_rpn.layers import RPNHead

# --------------------------------------------------------------------------------------
# Independent references (float64).


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def blocks(*fns):
    """Block-major reference: [f_1(x) | f_2(x) | ...]."""
    return lambda x: np.concatenate([f(x) for f in fns], axis=1)


def feature_major(fns):
    """Feature-major reference: for each feature j, [f_1(x_j), ..., f_K(x_j)]."""

    def ref(x):
        n, m = x.shape
        out = np.zeros((n, m * len(fns)))
        for j in range(m):
            for k, f in enumerate(fns):
                out[:, j * len(fns) + k] = f(x[:, j])
        return out

    return ref


def taylor(v, d):
    """All ordered products of 1..d entries, degree-major, row-major index order."""
    rows = []
    for row in v:
        values = []
        for k in range(1, d + 1):
            values += [
                math.prod(row[list(i)]) for i in itertools.product(range(len(row)), repeat=k)
            ]
        rows.append(values)
    return np.array(rows)


def taylor_dim(w, d):
    return sum(w**k for k in range(1, d + 1))


def cox_de_boor(x, low, high, t, d):
    h = (high - low) / t
    knots = [low + (j - d) * h for j in range(t + 2 * d + 1)]

    def basis(j, k, v):
        if k == 0:
            return float(knots[j] <= v < knots[j + 1])
        a = (v - knots[j]) / (knots[j + k] - knots[j]) * basis(j, k - 1, v)
        b = (knots[j + k + 1] - v) / (knots[j + k + 1] - knots[j + 1]) * basis(j + 1, k - 1, v)
        return a + b

    return feature_major([np.vectorize(lambda v, j=j: basis(j, d, v)) for j in range(t + d)])(x)


def bessel_y(n, v):
    return sum(
        math.factorial(n + k) / (math.factorial(n - k) * math.factorial(k)) * (v / 2) ** k
        for k in range(n + 1)
    )


def reverse_bessel(n, v):
    return sum(
        math.factorial(n + k) / (math.factorial(n - k) * math.factorial(k)) * v ** (n - k) / 2**k
        for k in range(n + 1)
    )


def fibonacci(n, v):
    return sum(math.comb(n - k - 1, k) * v ** (n - 2 * k - 1) for k in range((n - 1) // 2 + 1))


def lucas(n, v):
    return sum(n / (n - k) * math.comb(n - k, k) * v ** (n - 2 * k) for k in range(n // 2 + 1))


def degrees(poly, d):
    """Feature-major reference of P_1..P_d from `poly(n, v)`."""
    return feature_major([lambda v, n=n: poly(n, v) for n in range(1, d + 1)])


def fourier(P, N):
    def ref(x):
        angles = [2 * np.pi * k * x / P for k in range(1, N + 1)]
        return np.concatenate([f(a) for a in angles for f in (np.cos, np.sin)], axis=1)

    return ref


def u_squash(x):
    return 0.99 * sigmoid(x) + 0.001


def s_squash(x):
    return sigmoid(x) + 0.001


def log_pdfs(dists):
    """Block-major log-densities; `dists` are (scipy frozen distribution, squash or None)."""
    return blocks(*[lambda x, f=f, g=g: f.logpdf(x if g is None else g(x)) for f, g in dists])


def combinations(m, r, replacement):
    make = itertools.combinations_with_replacement if replacement else itertools.combinations
    return list(make(range(m), r))


def combinatorial(d, replacement=False):
    def ref(x):
        m = x.shape[1]
        cols = [
            x[:, j] for r in range(1, d + 1) for s in combinations(m, r, replacement) for j in s
        ]
        return np.stack(cols, axis=1)

    return ref


def combinatorial_normal(d, replacement=False):
    def ref(x):
        m = x.shape[1]
        cols = []
        for r in range(1, d + 1):
            mvn = stats.multivariate_normal(np.zeros(r), np.eye(r))
            for s in combinations(m, r, replacement):
                cols.append(np.atleast_1d(mvn.logpdf(x[:, list(s)])))
        return np.stack(cols, axis=1)

    return ref


def wavelet(psi, a=1.0, b=1.0, d=1, s=1, t=1):
    def ref(x):
        n, m = x.shape
        v = np.zeros((n, m, s * t))
        for si, ti in itertools.product(range(s), range(t)):
            v[:, :, si * t + ti] = psi(x / a**si - ti * b) / math.sqrt(a**si)
        return taylor(v.reshape(n, -1), d)

    return ref


def haar(tau):
    return np.where((tau >= 0) & (tau < 0.5), 1.0, np.where((tau >= 0.5) & (tau < 1), -1.0, 0.0))


def beta_psi(alpha, beta):
    def psi(tau):
        u = np.where((tau >= 0) & (tau <= 1), tau, sigmoid(tau))
        u = np.clip(u, 1e-6, 1 - 1e-6)
        return u ** (alpha - 1) * (1 - u) ** (beta - 1) / sp.beta(alpha, beta)

    return psi


def shannon(tau):
    with np.errstate(invalid="ignore", divide="ignore"):
        q = (np.sin(2 * np.pi * tau) - np.sin(np.pi * tau)) / (np.pi * tau)
    return np.where(tau == 0, 1.0, q)


def ricker(sigma):
    def psi(tau):
        c = 2 / (np.sqrt(3 * sigma) * np.pi**0.25)
        return c * (1 - (tau / sigma) ** 2) * np.exp(-(tau**2) / (2 * sigma**2))

    return psi


def dog(s1, s2):
    return lambda tau: stats.norm(0, s1).pdf(tau) - stats.norm(0, s2).pdf(tau)


def meyer(tau):
    with np.errstate(invalid="ignore", divide="ignore"):
        num = np.sin(2 * np.pi * tau / 3) + 4 / 3 * tau * np.cos(4 * np.pi * tau / 3)
        q = num / (np.pi * tau - 16 * np.pi / 9 * tau**3)
    q = np.where(np.abs(tau) == 0.75, 2 / (3 * np.pi), q)
    return np.where(tau == 0, 2 / 3 + 4 / (3 * np.pi), q)


# --------------------------------------------------------------------------------------
# The table.

X_DEFAULT = [[-1.5, -0.3, 0.0], [0.2, 0.7, 1.0], [1.3, -0.9, 0.45], [2.5, -2.5, 0.75]]
X_RECIPROCAL = [[0.0, 1e-7, -1e-7], [-5e-7, 2.0, -0.25], [1e-6, -1e-6, 3.0]]
X_BSPLINE = [[-3.0, -2.2, -1.0], [0.0, 0.35, 1.0], [1.9, 2.2, 3.0]]
X_HAAR = [[0.0, 0.5, 1.0], [0.25, 0.75, -0.1], [1.2, 0.49, 0.99]]
X_BETA = [[0.0, 0.3, 1.0], [0.5, -0.5, 2.0]]
X_SHANNON = [[0.0, 1e-5, -0.5], [0.5, 1.0, 2.3]]
X_MEYER = [[0.0, 0.75, -0.75], [0.7505, 0.7493, -0.7508], [0.74, 0.76, 1e-5], [0.3, -2.0, 5.0]]


class Case(NamedTuple):
    name: str  # short name
    kwargs: dict
    ref: object  # numpy reference, (n, m) float64 -> (n, D)
    dim: object  # D(m)
    tinybig: str  # tinyBIG's class name, also registered
    x: list = X_DEFAULT
    module: str = ""


def case(name, kwargs, ref, dim, tinybig=None, x=X_DEFAULT):
    cls = type(expansions.get(name, **kwargs))
    c = Case(name, kwargs, ref, dim, tinybig or f"{name}_expansion", x, cls.__module__)
    label = ",".join(f"{k}={str(v)[:12]}" for k, v in kwargs.items()) or "default"
    return pytest.param(c, id=f"{name}[{label}]")


def norm(mu, sigma):
    return stats.norm(mu, sigma), None


def cauchy(x0, g):
    return stats.cauchy(x0, g), None


def laplace(mu, b):
    return stats.laplace(mu, b), None


def gamma(k, rate, squash=u_squash):
    return stats.gamma(k, scale=1 / rate), squash


def expon(rate):
    return stats.expon(scale=1 / rate), u_squash


def chi2(df, squash=s_squash):
    return stats.chi2(df), squash


def jacobi(a, b):
    return lambda n, v: sp.eval_jacobi(n, a, b, v)


def m_times(k):
    return lambda m: k * m


CASES = [
    # basic
    case("identity", {}, lambda x: x, m_times(1)),
    case(
        "reciprocal",
        {},
        lambda x: 1 / np.where(np.abs(x) <= 1e-6, np.where(x >= 0, 1e-6, -1e-6), x),
        m_times(1),
        x=X_RECIPROCAL,
    ),
    case("linear", {"c": -2.5}, lambda x: -2.5 * x, m_times(1)),
    case(
        "linear",
        {"post_C": [[1.0, 2.0, 0.0], [0.0, -1.0, 3.0], [0.5, 0.0, 1.0]]},
        lambda x: x @ np.array([[1.0, 2.0, 0.0], [0.0, -1.0, 3.0], [0.5, 0.0, 1.0]]),
        m_times(1),
    ),
    # polynomial
    case("taylor", {"d": 1}, lambda x: taylor(x, 1), lambda m: taylor_dim(m, 1)),
    case("taylor", {"d": 3}, lambda x: taylor(x, 3), lambda m: taylor_dim(m, 3)),
    case("fourier", {}, fourier(10.0, 5), m_times(10)),
    case("fourier", {"P": 2.0, "N": 2}, fourier(2.0, 2), m_times(4)),
    # trigonometric
    case("hyperbolic", {}, blocks(np.sinh, np.cosh, np.tanh), m_times(3)),
    case(
        "arc_hyperbolic",
        {},
        blocks(
            lambda x: np.arcsinh(sigmoid(x)),
            lambda x: np.arccosh(sigmoid(x) + 1.01),
            lambda x: np.arctanh(0.99 * sigmoid(x)),
        ),
        m_times(3),
    ),
    case("trigonometric", {}, blocks(np.sin, np.cos, np.tan), m_times(3)),
    case(
        "arc_trigonometric",
        {},
        blocks(
            lambda x: np.arcsin(0.99 * sigmoid(x)),
            lambda x: np.arccos(0.99 * sigmoid(x)),
            lambda x: np.arctan(sigmoid(x)),
        ),
        m_times(3),
    ),
    # rbf
    case(
        "gaussian_rbf",
        {},
        feature_major([lambda v, c=c: np.exp(-((v - c) ** 2)) for c in np.linspace(-1, 1, 10)]),
        m_times(10),
    ),
    case(
        "gaussian_rbf",
        {"base_range": (0.0, 2.0), "num_interval": 3, "epsilon": 2.0},
        feature_major([lambda v, c=c: np.exp(-(((v - c) * 2) ** 2)) for c in (0.0, 1.0, 2.0)]),
        m_times(3),
    ),
    case(
        "inverse_quadratic_rbf",
        {},
        feature_major([lambda v, c=c: 1 / (1 + (v - c) ** 2) for c in np.linspace(-1, 1, 10)]),
        m_times(10),
    ),
    case(
        "inverse_quadratic_rbf",
        {"base": [-0.5, 0.25], "epsilon": 0.5},
        feature_major([lambda v, c=c: 1 / (1 + ((v - c) * 0.5) ** 2) for c in (-0.5, 0.25)]),
        m_times(2),
    ),
    # bspline
    case("bspline", {}, lambda x: cox_de_boor(x, -1, 1, 5, 3), m_times(8), x=X_BSPLINE),
    case(
        "bspline",
        {"grid_range": (0.0, 2.0), "t": 3, "d": 1},
        lambda x: cox_de_boor(x, 0, 2, 3, 1),
        m_times(4),
        x=X_BSPLINE,
    ),
    # orthogonal
    case("chebyshev", {"d": 3}, degrees(sp.eval_chebyt, 3), m_times(3)),
    case("jacobi", {}, degrees(jacobi(1.0, 1.0), 2), m_times(2)),
    case("jacobi", {"d": 3, "alpha": 0.5, "beta": -0.5}, degrees(jacobi(0.5, -0.5), 3), m_times(3)),
    case("hermite", {"d": 3}, degrees(sp.eval_hermitenorm, 3), m_times(3)),
    case("laguerre", {"d": 3}, degrees(lambda n, v: sp.eval_genlaguerre(n, 1.0, v), 3), m_times(3)),
    case("laguerre", {"d": 2, "alpha": 0.0}, degrees(sp.eval_laguerre, 2), m_times(2)),
    case("legendre", {"d": 3}, degrees(sp.eval_legendre, 3), m_times(3)),
    case(
        "gegenbauer",
        {"d": 3, "alpha": 1.5},
        degrees(lambda n, v: sp.eval_gegenbauer(n, 1.5, v), 3),
        m_times(3),
    ),
    case("bessel", {"d": 3}, degrees(bessel_y, 3), m_times(3)),
    case("reverse_bessel", {"d": 3}, degrees(reverse_bessel, 3), m_times(3)),
    case("fibonacci", {"d": 3}, degrees(fibonacci, 3), m_times(3)),
    case("lucas", {"d": 3}, degrees(lucas, 3), m_times(3)),
    # probabilistic
    case(
        "normal",
        {},
        log_pdfs([norm(0, 1), norm(1, 1), norm(-1, 1), norm(0, 0.1), norm(1, 0.1), norm(-1, 0.1)]),
        m_times(6),
    ),
    case(
        "cauchy",
        {},
        log_pdfs(
            [
                cauchy(0, 1),
                cauchy(0, 0.5),
                cauchy(1, 1),
                cauchy(1, 0.5),
                cauchy(-1, 1),
                cauchy(-1, 0.5),
            ]
        ),
        m_times(6),
    ),
    case("chi2", {}, log_pdfs([chi2(1), chi2(2)]), m_times(2)),
    case(
        "gamma",
        {},
        log_pdfs(
            [gamma(0.5, 1), gamma(0.5, 2), gamma(1, 1), gamma(1, 2), gamma(2, 1), gamma(2, 2)]
        ),
        m_times(6),
    ),
    case(
        "laplace",
        {},
        log_pdfs(
            [
                laplace(0, 1),
                laplace(0, 2),
                laplace(1, 1),
                laplace(1, 2),
                laplace(-1, 1),
                laplace(-1, 2),
            ]
        ),
        m_times(6),
    ),
    case("exponential", {}, log_pdfs([expon(r) for r in (0.5, 0.75, 1, 2, 3, 5)]), m_times(6)),
    case("naive_normal", {}, log_pdfs([norm(0, 1)]), m_times(1)),
    case("naive_cauchy", {}, log_pdfs([cauchy(0, 1)]), m_times(1)),
    case("naive_chi2", {}, log_pdfs([chi2(1)]), m_times(1)),
    case("naive_gamma", {}, log_pdfs([gamma(0.5, 1)]), m_times(1)),
    case("naive_laplace", {}, log_pdfs([laplace(0, 1)]), m_times(1)),
    case("naive_exponential", {}, log_pdfs([expon(0.5)]), m_times(1)),
    case(
        "hybrid_probabilistic",
        {},
        log_pdfs(
            [
                norm(0, 1),
                cauchy(0, 1),
                chi2(1, u_squash),
                gamma(0.5, 1),
                laplace(0, 1),
                (stats.expon(), u_squash),
            ]
        ),
        m_times(6),
    ),
    # combinatorial
    case("combinatorial", {}, combinatorial(2), lambda m: sum(r * math.comb(m, r) for r in (1, 2))),
    case(
        "combinatorial",
        {"d": 3, "with_replacement": True},
        combinatorial(3, True),
        lambda m: sum(r * math.comb(m + r - 1, r) for r in (1, 2, 3)),
    ),
    case("combinatorial_normal", {}, combinatorial_normal(1), m_times(1)),
    case(
        "combinatorial_normal",
        {"d": 3},
        combinatorial_normal(3),
        lambda m: sum(math.comb(m, r) for r in (1, 2, 3)),
    ),
    case(
        "combinatorial_normal",
        {"d": 2, "with_replacement": True},
        combinatorial_normal(2, True),
        lambda m: m + math.comb(m + 1, 2),
    ),
    # wavelets
    case("haar", {}, wavelet(haar), m_times(1), "harr_wavelet_expansion", X_HAAR),
    case(
        "haar",
        {"a": 2.0, "b": 0.5, "s": 2, "t": 2},
        wavelet(haar, 2.0, 0.5, 1, 2, 2),
        m_times(4),
        "harr_wavelet_expansion",
        X_HAAR,
    ),
    case(
        "beta_wavelet",
        {},
        wavelet(beta_psi(1.0, 1.0)),
        m_times(1),
        "beta_wavelet_expansion",
        X_BETA,
    ),
    case(
        "beta_wavelet",
        {"alpha": 2.0, "beta": 3.0, "t": 2},
        wavelet(beta_psi(2.0, 3.0), t=2),
        m_times(2),
        "beta_wavelet_expansion",
        X_BETA,
    ),
    case("shannon", {}, wavelet(shannon), m_times(1), "shannon_wavelet_expansion", X_SHANNON),
    case(
        "ricker",
        {"sigma": 1.5, "d": 2},
        wavelet(ricker(1.5), d=2),
        lambda m: taylor_dim(m, 2),
        "ricker_wavelet_expansion",
    ),
    case(
        "dog",
        {"s": 2, "a": 2.0},
        wavelet(dog(1.0, 2.0), a=2.0, s=2),
        m_times(2),
        "dog_wavelet_expansion",
    ),
    case("meyer", {}, wavelet(meyer), m_times(1), "meyer_wavelet_expansion", X_MEYER),
    # composites
    case(
        "nested",
        {
            "composition_functions": [
                {"class_name": "bspline", "config": {"t": 2, "d": 1}},
                "taylor",
            ]
        },
        lambda x: taylor(cox_de_boor(x, -1, 1, 2, 1), 2),
        lambda m: taylor_dim(3 * m, 2),
    ),
    case(
        "extended",
        {"composition_functions": ["taylor", {"class_name": "chebyshev", "config": {"d": 3}}]},
        lambda x: np.concatenate([taylor(x, 2), degrees(sp.eval_chebyt, 3)(x)], axis=1),
        lambda m: taylor_dim(m, 2) + 3 * m,
    ),
]

STABILITY_POINTS = [0.0, 0.5, 1.0, 0.75, -0.75, 1e-7, -1e-7, 3.0, -3.0, 0.0, 0.0, 0.0, 0.0]
# [-10, 10] and the special points of the table, as a rank-3 batch (2, 9, 3). Every
# case uses this shape and the (6, 3) one of `as_input`, so that the jax backend
# compiles each primitive for two shapes only.
GRID = np.array(np.linspace(-10, 10, 41).tolist() + STABILITY_POINTS, "float32").reshape(2, 9, 3)


def make(c, **extra):
    return expansions.get(c.name, **c.kwargs, **extra)


def as_input(c):
    """The case's points, cycled to 6 rows of 3 features."""
    return np.resize(np.asarray(c.x, dtype="float32"), (6, 3))


# --------------------------------------------------------------------------------------
# Table-driven tests.


@pytest.mark.parametrize("c", CASES)
def test_values_match_reference(c):
    x = as_input(c)
    got = ops.convert_to_numpy(make(c)(x))
    expected = c.ref(x.astype("float64"))
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("c", CASES)
def test_output_dim_and_shapes(c):
    kappa = make(c)
    for m in (1, 2, 3):
        assert kappa.output_dim(m) == c.dim(m)
    assert tuple(kappa(GRID).shape) == (2, 9, c.dim(3))
    assert tuple(kappa.compute_output_shape((None, 5, 3))) == (None, 5, c.dim(3))


@pytest.mark.parametrize("c", CASES)
def test_config_roundtrip_and_names(c):
    kappa = make(c)
    kappa(as_input(c))
    clone = assert_config_roundtrip(kappa)
    np.testing.assert_allclose(
        ops.convert_to_numpy(clone(as_input(c))), ops.convert_to_numpy(kappa(as_input(c)))
    )
    cls = type(kappa)
    for identifier in (c.name, c.tinybig, cls.__name__, f"keras_rpn>{cls.__name__}"):
        assert type(expansions.get({"class_name": identifier, "config": c.kwargs})) is cls
    assert c.name in expansions.names() and c.tinybig in expansions.names()
    assert getattr(expansions, cls.__name__) is cls


@pytest.mark.parametrize("c", CASES)
def test_finite_outputs_and_gradients(c):
    kappa = make(c)
    y = ops.convert_to_numpy(kappa(GRID))
    assert np.all(np.isfinite(y)), c.name
    grad = gradients(lambda t: kappa(t), GRID)
    assert np.all(np.isfinite(grad)), c.name


@pytest.mark.parametrize("c", CASES)
def test_mixed_bfloat16_close_to_float32(c):
    x = as_input(c)
    rounded = ops.convert_to_numpy(ops.cast(ops.cast(x, "bfloat16"), "float32"))
    expected = ops.convert_to_numpy(make(c)(rounded))
    keras.config.set_dtype_policy("mixed_bfloat16")
    kappa = make(c)
    y = kappa(x)
    assert keras.backend.standardize_dtype(y.dtype) == "bfloat16"
    got = ops.convert_to_numpy(ops.cast(y, "float32"))
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, expected, rtol=2e-2, atol=2e-2)


# On torch, jit_compile=True means torch.compile (TorchDynamo + Inductor), which Keras
# treats as experimental (graph breaks on Keras internals) and which compiles slowly
# on CPU; the torch run therefore checks the eager fit step, while the jax and
# tensorflow runs compile the same step with jax.jit and XLA.
JIT = BACKEND != "torch"
GROUPS = sorted({p.values[0].module for p in CASES})


@pytest.mark.parametrize("module", GROUPS)
def test_jit_fit_step_in_heads(module, rng):
    group = [p.values[0] for p in CASES if p.values[0].module == module]
    inputs = keras.Input((3,))
    heads = [RPNHead(3, expansion=make(c)) for c in group]
    outputs = [head(inputs) for head in heads]
    model = keras.Model(inputs, outputs[0] if len(outputs) == 1 else ops.concatenate(outputs, -1))
    x = rng.uniform(0.2, 1.0, (8, 3)).astype("float32")  # away from reciprocal's pole
    y = rng.normal(size=(8, 3 * len(group))).astype("float32")
    assert_fit_step(model, x, y, jit_compile=JIT)
    assert np.all(np.isfinite(ops.convert_to_numpy(model(x))))


# --------------------------------------------------------------------------------------
# project = call @ basis^T.

PROJECT_CASES = [
    ("taylor", {"d": 1}),
    ("taylor", {"d": 2}),
    ("taylor", {"d": 3}),
    ("ricker", {"d": 2, "t": 2}),
    (
        "extended",
        {"composition_functions": ["bspline", {"class_name": "taylor", "config": {"d": 3}}]},
    ),
    (
        "nested",
        {"composition_functions": [{"class_name": "chebyshev", "config": {"d": 2}}, "taylor"]},
    ),
    ("taylor", {"d": 2, "postprocessing": "layer_norm"}),
    ("extended", {"composition_functions": ["taylor", "identity"], "postprocessing": "tanh"}),
]


@pytest.mark.parametrize("name,kwargs", PROJECT_CASES)
def test_project_equals_call_times_basis(name, kwargs, rng):
    kappa = expansions.get(name, **kwargs)
    x = rng.uniform(-1, 1, (5, 3)).astype("float32")
    kappa.build(x.shape)
    basis = rng.normal(size=(4, kappa.output_dim(3))).astype("float32")
    expected = ops.convert_to_numpy(kappa(x)) @ basis.T
    got = ops.convert_to_numpy(
        kappa.project(ops.convert_to_tensor(x), ops.convert_to_tensor(basis))
    )
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


class _StructuredProject(expansions.IdentityExpansion):
    structured_projection = True

    def structured_project(self, x, basis, training=None):
        raise AssertionError("structured project called")


def test_processing_disables_structured_project_automatically():
    x, basis = np.ones((2, 3), "float32"), np.eye(3, dtype="float32")
    with pytest.raises(AssertionError, match="structured"):
        _StructuredProject().project(x, basis)
    wrapped = _StructuredProject(postprocessing="relu")
    assert wrapped.has_processing
    np.testing.assert_allclose(ops.convert_to_numpy(wrapped.project(x, basis)), x)


# --------------------------------------------------------------------------------------
# Processing (pre/post) layers.


def layer_norm(v, eps=1e-5):
    return (v - v.mean(-1, keepdims=True)) / np.sqrt(v.var(-1, keepdims=True) + eps)


def test_layer_norm_name_is_tinybig_layer_norm(rng):
    x = rng.uniform(-1, 1, (4, 3)).astype("float32")
    kappa = expansions.get("taylor", postprocessing="layer_norm")
    assert isinstance(kappa.postprocessing[0], keras.layers.LayerNormalization)
    assert kappa.postprocessing[0].weights == []
    np.testing.assert_allclose(
        ops.convert_to_numpy(kappa(x)), layer_norm(taylor(x.astype("float64"), 2)), atol=1e-4
    )


def test_preprocessing_runs_before_expansion(rng):
    x = rng.uniform(-2, 2, (4, 3)).astype("float32")
    kappa = expansions.get("chebyshev", d=2, preprocessing="tanh")
    expected = degrees(sp.eval_chebyt, 2)(np.tanh(x.astype("float64")))
    np.testing.assert_allclose(ops.convert_to_numpy(kappa(x)), expected, atol=1e-5)


def test_postprocessing_honours_training_and_survives_save_load(rng, tmp_path):
    x = rng.uniform(-1, 1, (16, 3)).astype("float32")
    kappa = expansions.TaylorExpansion(
        d=2, postprocessing=[keras.layers.LayerNormalization(), keras.layers.Dropout(0.5)]
    )
    kappa.build(x.shape)
    ln = kappa.postprocessing[0]
    assert ln.gamma.shape == (12,)  # built with the D-wide shape
    ln.gamma.assign(rng.uniform(0.5, 2.0, 12).astype("float32"))
    ln.beta.assign(rng.normal(size=12).astype("float32"))
    gamma, beta = ops.convert_to_numpy(ln.gamma), ops.convert_to_numpy(ln.beta)
    expected = layer_norm(taylor(x.astype("float64"), 2), 1e-3) * gamma + beta
    inference = ops.convert_to_numpy(kappa(x, training=False))
    np.testing.assert_allclose(inference, expected, atol=1e-4)
    training = ops.convert_to_numpy(kappa(x, training=True))
    dropped = training == 0
    assert 0.2 < dropped.mean() < 0.8
    np.testing.assert_allclose(training[~dropped], 2 * inference[~dropped], atol=1e-4)
    # The head passes `training` through to the expansion's processing layers.
    head = RPNHead(2, expansion=kappa, reconciliation="lorr")
    model = as_model(head, 3)
    a = ops.convert_to_numpy(model(x, training=False))
    np.testing.assert_allclose(a, ops.convert_to_numpy(model(x, training=False)))
    assert not np.allclose(a, ops.convert_to_numpy(model(x, training=True)))
    # Saved with the model: the LayerNormalization weights come back.
    head.expansion.postprocessing[0].gamma.assign(gamma)
    loaded = assert_save_load(model, x, atol=1e-5)
    restored = loaded.layers[-1].expansion.postprocessing[0]
    np.testing.assert_array_equal(ops.convert_to_numpy(restored.gamma), gamma)


def test_composite_child_processing_weights_survive_save_load(rng):
    child = expansions.TaylorExpansion(postprocessing=keras.layers.LayerNormalization())
    kappa = expansions.ExtendedExpansion([child, "bspline"])
    model = as_model(RPNHead(2, expansion=kappa), 3)
    ln = model.layers[-1].expansion.composition_functions[0].postprocessing[0]
    ln.gamma.assign(rng.uniform(0.5, 2.0, 12).astype("float32"))
    x = rng.uniform(-1, 1, (4, 3)).astype("float32")
    loaded = assert_save_load(model, x, atol=1e-5)
    restored = loaded.layers[-1].expansion.composition_functions[0].postprocessing[0]
    np.testing.assert_array_equal(
        ops.convert_to_numpy(restored.gamma), ops.convert_to_numpy(ln.gamma)
    )


def test_processing_config_roundtrip():
    kappa = expansions.get("bspline", preprocessing="tanh", postprocessing=["layer_norm", "relu"])
    kappa.build((None, 3))
    clone = assert_config_roundtrip(kappa)
    assert [type(layer) for layer in clone.postprocessing] == [
        keras.layers.LayerNormalization,
        keras.layers.Activation,
    ]


def test_processing_must_keep_width():
    kappa = expansions.get("taylor", postprocessing=keras.layers.Dense(2))
    with pytest.raises(ValueError, match="postprocessing"):
        kappa.build((None, 3))


# --------------------------------------------------------------------------------------
# Composites, specific layouts and edges.


def test_composite_children_are_a_flat_list_of_built_sublayers():
    kappa = expansions.get(
        "extended", composition_functions=["bspline", expansions.TaylorExpansion(d=1)]
    )
    kappa.build((None, 3))
    assert [type(child) for child in kappa.composition_functions] == [
        expansions.BSplineExpansion,
        expansions.TaylorExpansion,
    ]
    assert all(child.built for child in kappa.composition_functions)
    assert kappa.output_dim(3) == 24 + 3


def test_composite_children_follow_parent_dtype_policy():
    child = expansions.TaylorExpansion()
    kappa = expansions.NestedExpansion([child, "identity"], dtype="mixed_bfloat16")
    assert all(c.compute_dtype == "bfloat16" for c in kappa.composition_functions)


def test_taylor_readme_example():
    y = expansions.get("taylor")(np.array([[1.0, 2.0]], dtype="float32"))
    np.testing.assert_array_equal(ops.convert_to_numpy(y), [[1, 2, 1, 2, 2, 4]])


def test_reciprocal_never_mutates_its_input():
    x = np.array([[0.0, 1e-7, -1e-7]], dtype="float32")
    t = ops.convert_to_tensor(x)
    expansions.get("reciprocal")(t)
    np.testing.assert_array_equal(ops.convert_to_numpy(t), x)


def test_meyer_is_accurate_around_its_removable_singularities():
    near = 0.75 + np.arange(-150, 151) * 1e-4  # crosses the series window edges at +-1e-2
    tau = np.concatenate([near, -near, np.linspace(-3, 3, 601), [1e-5, -1e-5]])
    tau = tau.astype("float32")[None, :]
    got = ops.convert_to_numpy(expansions.get("meyer")(tau))
    np.testing.assert_allclose(got, meyer(tau.astype("float64")), rtol=0, atol=5e-6)


def test_linear_pre_c_mixes_the_axis_before_features(rng):
    pre = [[0.0, 1.0], [2.0, -1.0]]
    x = rng.normal(size=(3, 2, 4)).astype("float32")
    y = ops.convert_to_numpy(expansions.get("linear", pre_C=pre)(x))
    np.testing.assert_allclose(y, np.einsum("kj,bjm->bkm", np.array(pre), x), atol=1e-5)
    with pytest.raises(ValueError, match="pre_C"):
        expansions.get("linear", pre_C=pre).build((None, 4))


# --------------------------------------------------------------------------------------
# Argument validation: the error names the argument and the value.

BAD_ARGUMENTS = [
    ("taylor", {"d": 0}, ValueError, "d=0"),
    ("fourier", {"P": 0}, ValueError, "P=0"),
    ("fourier", {"N": 1.5}, ValueError, "N=1.5"),
    ("gaussian_rbf", {"num_interval": 0}, ValueError, "num_interval=0"),
    ("gaussian_rbf", {"epsilon": -1.0}, ValueError, "epsilon=-1.0"),
    ("inverse_quadratic_rbf", {"base_range": (1.0, 0.0)}, ValueError, "base_range=(1.0, 0.0)"),
    ("gaussian_rbf", {"base": []}, ValueError, "base=[]"),
    ("gaussian_rbf", {"base": ["a"]}, TypeError, "base=['a']"),
    ("bspline", {"t": 0}, ValueError, "t=0"),
    ("chebyshev", {"d": True}, ValueError, "d=True"),
    ("jacobi", {"alpha": -1.0}, ValueError, "alpha=-1.0"),
    ("jacobi", {"beta": "1"}, TypeError, "beta='1'"),
    ("laguerre", {"alpha": float("nan")}, ValueError, "alpha=nan"),
    ("gegenbauer", {"alpha": -0.5}, ValueError, "alpha=-0.5"),
    ("combinatorial", {"d": 0}, ValueError, "d=0"),
    ("combinatorial_normal", {"with_replacement": "yes"}, TypeError, "with_replacement='yes'"),
    ("haar", {"a": 0.5}, ValueError, "a=0.5"),
    ("shannon", {"b": -1.0}, ValueError, "b=-1.0"),
    ("meyer", {"s": 0}, ValueError, "s=0"),
    ("dog", {"t": 0}, ValueError, "t=0"),
    ("ricker", {"d": 0}, ValueError, "d=0"),
    ("ricker", {"sigma": 0.0}, ValueError, "sigma=0.0"),
    ("dog", {"sigma_2": -2.0}, ValueError, "sigma_2=-2.0"),
    ("beta_wavelet", {"alpha": 0.5}, ValueError, "alpha=0.5"),
    ("linear", {"c": "x"}, TypeError, "c='x'"),
    ("linear", {"post_C": [[1.0, 2.0]]}, ValueError, "post_C"),
    ("linear", {"c": 1.0, "post_C": [[1.0]]}, ValueError, "c, post_C"),
    ("nested", {"composition_functions": []}, ValueError, "composition_functions=[]"),
    ("extended", {}, ValueError, "composition_functions=None"),
    ("extended", {"composition_functions": ["nope"]}, ValueError, "'nope'"),
    ("identity", {"postprocessing": "nope"}, ValueError, "postprocessing='nope'"),
]


@pytest.mark.parametrize("name,kwargs,error,text", BAD_ARGUMENTS)
def test_bad_arguments_are_refused(name, kwargs, error, text):
    with pytest.raises(error) as info:
        expansions.get(name, **kwargs)
    assert text in str(info.value)
