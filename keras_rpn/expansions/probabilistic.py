"""Probabilistic expansions: log-densities of fixed distributions (block-major)."""

import math

from keras import ops

from keras_rpn.expansions.base import BlockExpansion
from keras_rpn.expansions.base import register

_LOG_PI = math.log(math.pi)
_HALF_LOG_TWO_PI = 0.5 * math.log(2.0 * math.pi)


def normal_log_pdf(x, loc, scale):
    """`log N(x; loc, scale^2)`."""
    z = (x - loc) / scale
    return -0.5 * ops.square(z) - (math.log(scale) + _HALF_LOG_TWO_PI)


def cauchy_log_pdf(x, loc, scale):
    """`log Cauchy(x; loc, scale)`."""
    z = (x - loc) / scale
    return -ops.log1p(ops.square(z)) - (_LOG_PI + math.log(scale))


def laplace_log_pdf(x, loc, scale):
    """`log Laplace(x; loc, scale)`."""
    return -ops.abs(x - loc) / scale - math.log(2.0 * scale)


def gamma_log_pdf(x, concentration, rate):
    """`log Gamma(x; concentration, rate)` for `x > 0`."""
    k = float(concentration)
    log_norm = k * math.log(rate) - math.lgamma(k)
    return ops.cast(log_norm, x.dtype) + (k - 1.0) * ops.log(x) - rate * x


def exponential_log_pdf(x, rate):
    """`log Exp(x; rate)` for `x >= 0`."""
    return math.log(rate) - rate * x


def chi2_log_pdf(x, df):
    """`log chi^2_df(x)` for `x > 0` (a Gamma with concentration df/2 and rate 1/2)."""
    return gamma_log_pdf(x, 0.5 * df, 0.5)


_LOG_PDFS = {
    "normal": normal_log_pdf,
    "cauchy": cauchy_log_pdf,
    "laplace": laplace_log_pdf,
    "gamma": gamma_log_pdf,
    "exponential": exponential_log_pdf,
    "chi2": chi2_log_pdf,
}


def _squash(x, domain):
    """The input a density sees: `x`, `0.99 sigmoid(x) + 0.001` or `sigmoid(x) + 0.001`."""
    if domain == "x":
        return x
    if domain == "u":
        return 0.99 * ops.sigmoid(x) + 0.001
    return ops.sigmoid(x) + 0.001


class ProbabilisticExpansion(BlockExpansion):
    """Base of expansions made of log-densities of fixed distributions.

    A subclass lists its blocks in the class attribute `components`: tuples
    `(family, parameters, domain)` with `family` one of `normal`, `cauchy`,
    `laplace` (parameters `(loc, scale)`), `gamma` (`(concentration, rate)`),
    `exponential` (`(rate,)`), `chi2` (`(df,)`), and `domain` the input each
    density sees: `"x"` (raw), `"u"` (`0.99 sigmoid(x) + 0.001`, in `(0.001, 0.991)`)
    or `"s"` (`sigmoid(x) + 0.001`). The densities with positive support use the
    squashed inputs, as in tinyBIG, so every output and gradient stays finite.
    Output: `[log p_1(.) | ... | log p_k(.)]`, block-major, `D = k m`.

    Args:
        **kwargs: `preprocessing`, `postprocessing` (see `Expansion`) and base layer
            keyword arguments, such as `name` and `dtype`.
    """

    float32_compute = True
    components = ()

    @property
    def num_blocks(self):
        return len(self.components)

    def blocks(self, x):
        squashed = {}
        parts = []
        for family, params, domain in self.components:
            if domain not in squashed:
                squashed[domain] = _squash(x, domain)
            parts.append(_LOG_PDFS[family](squashed[domain], *params))
        return parts


_NORMAL = tuple(
    ("normal", p, "x")
    for p in ((0.0, 1.0), (1.0, 1.0), (-1.0, 1.0), (0.0, 0.1), (1.0, 0.1), (-1.0, 0.1))
)
_CAUCHY = tuple(
    ("cauchy", p, "x")
    for p in ((0.0, 1.0), (0.0, 0.5), (1.0, 1.0), (1.0, 0.5), (-1.0, 1.0), (-1.0, 0.5))
)
_GAMMA = tuple(
    ("gamma", p, "u")
    for p in ((0.5, 1.0), (0.5, 2.0), (1.0, 1.0), (1.0, 2.0), (2.0, 1.0), (2.0, 2.0))
)
_LAPLACE = tuple(
    ("laplace", p, "x")
    for p in ((0.0, 1.0), (0.0, 2.0), (1.0, 1.0), (1.0, 2.0), (-1.0, 1.0), (-1.0, 2.0))
)
_EXPONENTIAL = tuple(("exponential", (r,), "u") for r in (0.5, 0.75, 1.0, 2.0, 3.0, 5.0))
_CHI2 = tuple(("chi2", (df,), "s") for df in (1.0, 2.0))


@register("normal", "normal_expansion")
class NormalExpansion(ProbabilisticExpansion):
    """Log-densities of six normal distributions.

    Formula:
    ```
    kappa(x) = [log N(x; mu_i, sigma_i^2)  for i = 1..6],   D(m) = 6 m   (block-major)
    (mu, sigma) = (0, 1), (1, 1), (-1, 1), (0, 0.1), (1, 0.1), (-1, 0.1)
    log N(x; mu, sigma^2) = -(x - mu)^2 / (2 sigma^2) - log sigma - log(2 pi) / 2
    ```

    Args:
        **kwargs: `preprocessing`, `postprocessing` (see `Expansion`) and base layer
            keyword arguments, such as `name` and `dtype`.

    Example:
    >>> tuple(keras_rpn.expansions.NormalExpansion()(np.zeros((2, 3))).shape)
    (2, 18)
    """

    components = _NORMAL


@register("cauchy", "cauchy_expansion")
class CauchyExpansion(ProbabilisticExpansion):
    """Log-densities of six Cauchy distributions.

    Formula:
    ```
    kappa(x) = [log Cauchy(x; x0_i, g_i)  for i = 1..6],   D(m) = 6 m   (block-major)
    (x0, g) = (0, 1), (0, 0.5), (1, 1), (1, 0.5), (-1, 1), (-1, 0.5)
    log Cauchy(x; x0, g) = -log(pi g) - log(1 + ((x - x0) / g)^2)
    ```

    Args:
        **kwargs: `preprocessing`, `postprocessing` (see `Expansion`) and base layer
            keyword arguments, such as `name` and `dtype`.

    Example:
    >>> tuple(keras_rpn.expansions.CauchyExpansion()(np.zeros((2, 3))).shape)
    (2, 18)
    """

    components = _CAUCHY


@register("chi2", "chi2_expansion")
class Chi2Expansion(ProbabilisticExpansion):
    """Log-densities of the chi-squared distributions with 1 and 2 degrees of freedom.

    Formula:
    ```
    s = sigmoid(x) + 0.001
    kappa(x) = [log chi2_1(s) | log chi2_2(s)],   D(m) = 2 m   (block-major)
    log chi2_k(s) = (k/2 - 1) log s - s/2 - (k/2) log 2 - log Gamma(k/2)
    ```

    Args:
        **kwargs: `preprocessing`, `postprocessing` (see `Expansion`) and base layer
            keyword arguments, such as `name` and `dtype`.

    Example:
    >>> tuple(keras_rpn.expansions.Chi2Expansion()(np.zeros((2, 3))).shape)
    (2, 6)
    """

    components = _CHI2


@register("gamma", "gamma_expansion")
class GammaExpansion(ProbabilisticExpansion):
    """Log-densities of six gamma distributions on sigmoid-squashed inputs.

    Formula:
    ```
    u = 0.99 sigmoid(x) + 0.001
    kappa(x) = [log Gamma(u; k_i, r_i)  for i = 1..6],   D(m) = 6 m   (block-major)
    (k, r) = (0.5, 1), (0.5, 2), (1, 1), (1, 2), (2, 1), (2, 2)   (concentration, rate)
    log Gamma(u; k, r) = k log r + (k - 1) log u - r u - log Gamma(k)
    ```

    Args:
        **kwargs: `preprocessing`, `postprocessing` (see `Expansion`) and base layer
            keyword arguments, such as `name` and `dtype`.

    Example:
    >>> tuple(keras_rpn.expansions.GammaExpansion()(np.zeros((2, 3))).shape)
    (2, 18)
    """

    components = _GAMMA


@register("laplace", "laplace_expansion")
class LaplaceExpansion(ProbabilisticExpansion):
    """Log-densities of six Laplace distributions.

    Formula:
    ```
    kappa(x) = [log Laplace(x; mu_i, b_i)  for i = 1..6],   D(m) = 6 m   (block-major)
    (mu, b) = (0, 1), (0, 2), (1, 1), (1, 2), (-1, 1), (-1, 2)
    log Laplace(x; mu, b) = -|x - mu| / b - log(2 b)
    ```

    Args:
        **kwargs: `preprocessing`, `postprocessing` (see `Expansion`) and base layer
            keyword arguments, such as `name` and `dtype`.

    Example:
    >>> tuple(keras_rpn.expansions.LaplaceExpansion()(np.zeros((2, 3))).shape)
    (2, 18)
    """

    components = _LAPLACE


@register("exponential", "exponential_expansion")
class ExponentialExpansion(ProbabilisticExpansion):
    """Log-densities of six exponential distributions on sigmoid-squashed inputs.

    Formula:
    ```
    u = 0.99 sigmoid(x) + 0.001
    kappa(x) = [log Exp(u; r_i)  for i = 1..6],   D(m) = 6 m   (block-major)
    r = 0.5, 0.75, 1, 2, 3, 5   (rates);   log Exp(u; r) = log r - r u
    ```

    Args:
        **kwargs: `preprocessing`, `postprocessing` (see `Expansion`) and base layer
            keyword arguments, such as `name` and `dtype`.

    Example:
    >>> tuple(keras_rpn.expansions.ExponentialExpansion()(np.zeros((2, 3))).shape)
    (2, 18)
    """

    components = _EXPONENTIAL
