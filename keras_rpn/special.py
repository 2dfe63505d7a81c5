"""Special functions that `keras.ops` lacks, written with `keras.ops` only.

They run on every backend, inside jit-compiled functions, and are differentiable.
"""

import math

import keras
from keras import ops

# Lanczos approximation with g = 5 and 6 terms (the coefficients of Numerical
# Recipes' `gammln`): error below 2e-10 for every x > 0 in exact arithmetic. Its
# small coefficients keep the float32 round-off near 1e-7 relative.
_LANCZOS_COEFFICIENTS = (
    1.000000000190015,
    76.18009172947146,
    -86.50532032941677,
    24.01409824083091,
    -1.231739572450155,
    0.1208650973866179e-2,
    -0.5395239384953e-5,
)
_SQRT_TWO_PI = math.sqrt(2.0 * math.pi)


def _as_float_tensor(x):
    x = ops.convert_to_tensor(x)
    if "float" not in keras.backend.standardize_dtype(x.dtype):
        x = ops.cast(x, "float32")
    return x


def lgamma(x):
    """Natural logarithm of the gamma function, `log Gamma(x)`, for `x > 0`.

    Formula (Lanczos, `g = 5`, valid for every `x > 0`):
    ```
    A(x) = c_0 + sum_{j=1..6} c_j / (x + j)
    log Gamma(x) = (x + 1/2) log(x + 11/2) - (x + 11/2) + log(sqrt(2 pi) A(x) / x)
    ```
    16-bit inputs are computed in float32 and cast back. Non-positive arguments are
    outside the domain (the result is then meaningless, not an error: there are no
    data-dependent checks, so it is safe inside compiled functions).

    Args:
        x: tensor, array or number with positive entries.

    Returns:
        A tensor of the shape of `x`.

    Example:
    >>> from keras_rpn.special import lgamma
    >>> round(float(lgamma(5.0)), 5)  # log(4!) = log(24)
    3.17805
    """
    x = _as_float_tensor(x)
    dtype = keras.backend.standardize_dtype(x.dtype)
    if dtype in ("float16", "bfloat16"):
        return ops.cast(lgamma(ops.cast(x, "float32")), dtype)
    series = ops.full_like(x, _LANCZOS_COEFFICIENTS[0])
    for j, c in enumerate(_LANCZOS_COEFFICIENTS[1:], start=1):
        series = series + c / (x + float(j))
    u = x + 5.5
    return (x + 0.5) * ops.log(u) - u + ops.log(_SQRT_TWO_PI * series / x)


def log_beta(a, b):
    """Natural logarithm of the beta function, `log B(a, b)`, for `a, b > 0`.

    Formula:
    ```
    log B(a, b) = log Gamma(a) + log Gamma(b) - log Gamma(a + b)
    ```

    Args:
        a: tensor, array or number with positive entries.
        b: tensor, array or number with positive entries (broadcast with `a`).

    Returns:
        A tensor of the broadcast shape of `a` and `b`.

    Example:
    >>> from keras_rpn.special import log_beta
    >>> round(float(log_beta(2.0, 3.0)), 5)  # log(1/12)
    -2.48491
    """
    a, b = _as_float_tensor(a), _as_float_tensor(b)
    return lgamma(a) + lgamma(b) - lgamma(a + b)
