"""Naive probabilistic expansions: one standard distribution's log-density, and the
hybrid of six; no parameter grid (see `probabilistic` for the multi-parameter ones).
"""

from keras_rpn.expansions.base import register
from keras_rpn.expansions.probabilistic import ProbabilisticExpansion


@register("naive_normal", "naive_normal_expansion")
class NaiveNormalExpansion(ProbabilisticExpansion):
    """Log-density of the standard normal distribution, element-wise.

    Formula:
    ```
    kappa(x) = log N(x; 0, 1) = -x^2 / 2 - log(2 pi) / 2,   D(m) = m
    ```

    Args:
        **kwargs: `preprocessing`, `postprocessing` (see `Expansion`) and base layer
            keyword arguments, such as `name` and `dtype`.

    Example:
    >>> keras.ops.convert_to_numpy(keras_rpn.expansions.NaiveNormalExpansion()(np.array([[0.0]])))
    array([[-0.9189385]], dtype=float32)
    """

    components = (("normal", (0.0, 1.0), "x"),)


@register("naive_cauchy", "naive_cauchy_expansion")
class NaiveCauchyExpansion(ProbabilisticExpansion):
    """Log-density of the standard Cauchy distribution, element-wise.

    Formula:
    ```
    kappa(x) = log Cauchy(x; 0, 1) = -log(pi) - log(1 + x^2),   D(m) = m
    ```

    Args:
        **kwargs: `preprocessing`, `postprocessing` (see `Expansion`) and base layer
            keyword arguments, such as `name` and `dtype`.

    Example:
    >>> tuple(keras_rpn.expansions.NaiveCauchyExpansion()(np.zeros((2, 3))).shape)
    (2, 3)
    """

    components = (("cauchy", (0.0, 1.0), "x"),)


@register("naive_chi2", "naive_chi2_expansion")
class NaiveChi2Expansion(ProbabilisticExpansion):
    """Log-density of the chi-squared distribution with one degree of freedom.

    Formula:
    ```
    s = sigmoid(x) + 0.001
    kappa(x) = log chi2_1(s) = -log(s) / 2 - s / 2 - log(2 pi) / 2,   D(m) = m
    ```

    Args:
        **kwargs: `preprocessing`, `postprocessing` (see `Expansion`) and base layer
            keyword arguments, such as `name` and `dtype`.

    Example:
    >>> tuple(keras_rpn.expansions.NaiveChi2Expansion()(np.zeros((2, 3))).shape)
    (2, 3)
    """

    components = (("chi2", (1.0,), "s"),)


@register("naive_gamma", "naive_gamma_expansion")
class NaiveGammaExpansion(ProbabilisticExpansion):
    """Log-density of the gamma distribution (concentration 0.5, rate 1).

    Formula:
    ```
    u = 0.99 sigmoid(x) + 0.001
    kappa(x) = log Gamma(u; 0.5, 1) = -log(u) / 2 - u - log Gamma(1/2),   D(m) = m
    ```

    Args:
        **kwargs: `preprocessing`, `postprocessing` (see `Expansion`) and base layer
            keyword arguments, such as `name` and `dtype`.

    Example:
    >>> tuple(keras_rpn.expansions.NaiveGammaExpansion()(np.zeros((2, 3))).shape)
    (2, 3)
    """

    components = (("gamma", (0.5, 1.0), "u"),)


@register("naive_laplace", "naive_laplace_expansion")
class NaiveLaplaceExpansion(ProbabilisticExpansion):
    """Log-density of the standard Laplace distribution, element-wise.

    Formula:
    ```
    kappa(x) = log Laplace(x; 0, 1) = -|x| - log 2,   D(m) = m
    ```

    Args:
        **kwargs: `preprocessing`, `postprocessing` (see `Expansion`) and base layer
            keyword arguments, such as `name` and `dtype`.

    Example:
    >>> tuple(keras_rpn.expansions.NaiveLaplaceExpansion()(np.zeros((2, 3))).shape)
    (2, 3)
    """

    components = (("laplace", (0.0, 1.0), "x"),)


@register("naive_exponential", "naive_exponential_expansion")
class NaiveExponentialExpansion(ProbabilisticExpansion):
    """Log-density of the exponential distribution with rate 0.5.

    Formula:
    ```
    u = 0.99 sigmoid(x) + 0.001
    kappa(x) = log Exp(u; 0.5) = log(0.5) - 0.5 u,   D(m) = m
    ```

    Args:
        **kwargs: `preprocessing`, `postprocessing` (see `Expansion`) and base layer
            keyword arguments, such as `name` and `dtype`.

    Example:
    >>> tuple(keras_rpn.expansions.NaiveExponentialExpansion()(np.zeros((2, 3))).shape)
    (2, 3)
    """

    components = (("exponential", (0.5,), "u"),)


@register("hybrid_probabilistic", "hybrid_probabilistic_expansion")
class HybridProbabilisticExpansion(ProbabilisticExpansion):
    """Log-densities of six different standard distributions.

    Formula:
    ```
    u = 0.99 sigmoid(x) + 0.001
    kappa(x) = [log N(x; 0, 1) | log Cauchy(x; 0, 1) | log chi2_1(u)
                | log Gamma(u; 0.5, 1) | log Laplace(x; 0, 1) | log Exp(u; 1)]
    D(m) = 6 m   (block-major)
    ```

    Args:
        **kwargs: `preprocessing`, `postprocessing` (see `Expansion`) and base layer
            keyword arguments, such as `name` and `dtype`.

    Example:
    >>> tuple(keras_rpn.expansions.HybridProbabilisticExpansion()(np.zeros((2, 3))).shape)
    (2, 18)
    """

    components = (
        ("normal", (0.0, 1.0), "x"),
        ("cauchy", (0.0, 1.0), "x"),
        ("chi2", (1.0,), "u"),
        ("gamma", (0.5, 1.0), "u"),
        ("laplace", (0.0, 1.0), "x"),
        ("exponential", (1.0,), "u"),
    )
