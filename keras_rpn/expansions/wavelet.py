"""Discrete wavelet expansions: scaled and shifted mother wavelets, then tensor powers."""

import math

from keras import ops

from keras_rpn import validation
from keras_rpn.expansions.base import Expansion
from keras_rpn.expansions.base import register
from keras_rpn.expansions.polynomial import tensor_powers
from keras_rpn.expansions.polynomial import tensor_powers_dim
from keras_rpn.expansions.polynomial import tensor_powers_project


def _where_safe(condition, safe_value, x):
    """`x` where `condition` is false, `safe_value` elsewhere (keeps gradients finite)."""
    return ops.where(condition, ops.full_like(x, safe_value), x)


class WaveletExpansion(Expansion):
    """Base of discrete wavelet expansions (tinyBIG's `discrete_wavelet_expansion`).

    Formula: for scales `s = 0..S-1` and shifts `t = 0..T-1`,
    ```
    w_{s,t}(x) = a^{-s/2} psi(x / a^s - t b)
    v(x) = [w_{0,0}(x_1) .. w_{S-1,T-1}(x_1), ..., w_{S-1,T-1}(x_m)]   (m S T values)
    kappa(x) = [v, v (x) v, ..., v^{(x) d}]                           (as Taylor on v)
    D(m) = sum_{k=1..d} (m S T)^k
    ```
    `v` is feature-major with the `(s, t)` pairs in row-major order (`s` slow).
    A subclass implements the mother wavelet `psi(tau)`. `project` contracts the
    tensor powers without forming them, as `TaylorExpansion.project` does.

    Args:
        a: scale base, a number >= 1 (default 1.0).
        b: shift step, a number >= 0 (default 1.0).
        d: highest tensor power, a positive integer (default 1).
        s: number of scales `S`, a positive integer (default 1).
        t: number of shifts `T`, a positive integer (default 1).
        **kwargs: `preprocessing`, `postprocessing` (see `Expansion`) and base layer
            keyword arguments, such as `name` and `dtype`.
    """

    @property
    def column_layout(self):
        # One wavelet level per feature is separable; d > 1 mixes features.
        return "feature_major" if self.d == 1 else None

    float32_compute = True

    def __init__(self, a=1.0, b=1.0, d=1, s=1, t=1, **kwargs):
        super().__init__(**kwargs)
        self.a = validation.bounded_float("a", a, low=1.0, low_inclusive=True)
        self.b = validation.bounded_float("b", b, low=0.0, low_inclusive=True)
        self.d = validation.positive_int("d", d)
        self.s = validation.positive_int("s", s)
        self.t = validation.positive_int("t", t)

    def psi(self, tau):
        raise NotImplementedError

    def output_dim(self, input_dim):
        return tensor_powers_dim(input_dim * self.s * self.t, self.d)

    def wavelet_features(self, x):
        """The `m S T` wavelet values `v(x)`, feature-major."""
        columns = []
        for s in range(self.s):
            scale = self.a**s
            for t in range(self.t):
                columns.append(self.psi(x / scale - t * self.b) / math.sqrt(scale))
        if len(columns) == 1:
            return columns[0]
        stacked = ops.stack(columns, axis=-1)
        return ops.reshape(stacked, ops.shape(x)[:-1] + (x.shape[-1] * len(columns),))

    def expand(self, x):
        return tensor_powers(self.wavelet_features(x), self.d)

    structured_projection = True

    def structured_project(self, x, basis, training=None):
        v = self.wavelet_features(x)
        dtype = basis.dtype
        return tensor_powers_project(ops.cast(v, dtype), basis, self.d)

    def get_config(self):
        return {
            **super().get_config(),
            "a": self.a,
            "b": self.b,
            "d": self.d,
            "s": self.s,
            "t": self.t,
        }


@register("haar", "haar_wavelet", "haar_wavelet_expansion", tinybig="harr_wavelet_expansion")
class HaarWaveletExpansion(WaveletExpansion):
    """Haar wavelet expansion.

    Formula (see `WaveletExpansion` for scales, shifts and powers):
    ```
    psi(tau) = 1 for 0 <= tau < 1/2,  -1 for 1/2 <= tau < 1,  0 otherwise
    D(m) = sum_{k=1..d} (m S T)^k
    ```
    Piecewise constant: its gradient with respect to `x` is zero (returned as
    zeros on every backend, never as a missing gradient). Registered also
    under tinyBIG's spelling `"harr_wavelet_expansion"`.

    Args:
        a, b, d, s, t: see `WaveletExpansion` (defaults 1, 1, 1, 1, 1).
        **kwargs: `preprocessing`, `postprocessing` (see `Expansion`) and base layer
            keyword arguments, such as `name` and `dtype`.

    Example:
    >>> kappa = keras_rpn.expansions.HaarWaveletExpansion()
    >>> keras.ops.convert_to_numpy(kappa(np.array([[0.25, 0.75, 1.5]])))
    array([[ 1., -1.,  0.]], dtype=float32)
    """

    def psi(self, tau):
        first = ops.logical_and(tau >= 0.0, tau < 0.5)
        second = ops.logical_and(tau >= 0.5, tau < 1.0)
        # `0 * tau` makes the (zero) derivative explicit rather than missing, so
        # every backend returns zeros, not None, for gradients through it.
        return ops.cast(first, tau.dtype) - ops.cast(second, tau.dtype) + 0.0 * tau


@register("beta_wavelet", "beta_wavelet_expansion")
class BetaWaveletExpansion(WaveletExpansion):
    """Beta wavelet expansion: the beta density on `[0, 1]`.

    Formula (see `WaveletExpansion` for scales, shifts and powers):
    ```
    u = tau if 0 <= tau <= 1 else sigmoid(tau),  then clipped to [1e-6, 1 - 1e-6]
    psi(tau) = u^(alpha - 1) (1 - u)^(beta - 1) / B(alpha, beta)
    D(m) = sum_{k=1..d} (m S T)^k
    ```
    Difference from tinyBIG: tinyBIG applies the sigmoid to the *whole tensor* as
    soon as one entry lies outside `[0, 1]` (a data-dependent branch that couples
    the samples of a batch and cannot be compiled). Here the choice is made per
    element: entries in `[0, 1]` are used as they are, the others are squashed.
    Both agree whenever the whole input lies in `[0, 1]`. The clip keeps the
    gradient finite at the ends when `1 < alpha < 2` or `1 < beta < 2`.

    Args:
        alpha: first shape parameter, a number >= 1 (default 1.0).
        beta: second shape parameter, a number >= 1 (default 1.0).
        a, b, d, s, t: see `WaveletExpansion` (defaults 1, 1, 1, 1, 1).
        **kwargs: `preprocessing`, `postprocessing` (see `Expansion`) and base layer
            keyword arguments, such as `name` and `dtype`.

    Example:
    >>> kappa = keras_rpn.expansions.BetaWaveletExpansion(alpha=2.0, beta=2.0)
    >>> keras.ops.convert_to_numpy(kappa(np.array([[0.5]])))
    array([[1.5]], dtype=float32)
    """

    clip = 1e-6

    def __init__(self, a=1.0, b=1.0, alpha=1.0, beta=1.0, **kwargs):
        super().__init__(a=a, b=b, **kwargs)
        self.alpha = validation.bounded_float("alpha", alpha, low=1.0, low_inclusive=True)
        self.beta = validation.bounded_float("beta", beta, low=1.0, low_inclusive=True)

    def psi(self, tau):
        inside = ops.logical_and(tau >= 0.0, tau <= 1.0)
        u = ops.clip(ops.where(inside, tau, ops.sigmoid(tau)), self.clip, 1.0 - self.clip)
        # `0 * u` keeps the constant case (alpha = beta = 1) connected to the input, so
        # its zero gradient is returned as zeros; zero exponents are skipped.
        log_beta = math.lgamma(self.alpha) + math.lgamma(self.beta)
        log_beta -= math.lgamma(self.alpha + self.beta)
        log_density = 0.0 * u - ops.cast(log_beta, tau.dtype)
        if self.alpha != 1.0:
            log_density = log_density + (self.alpha - 1.0) * ops.log(u)
        if self.beta != 1.0:
            log_density = log_density + (self.beta - 1.0) * ops.log1p(-u)
        return ops.exp(log_density)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha, "beta": self.beta}


@register("shannon", "shannon_wavelet", "shannon_wavelet_expansion")
class ShannonWaveletExpansion(WaveletExpansion):
    """Shannon wavelet expansion.

    Formula (see `WaveletExpansion` for scales, shifts and powers):
    ```
    psi(tau) = (sin(2 pi tau) - sin(pi tau)) / (pi tau),   psi(0) = 1
    D(m) = sum_{k=1..d} (m S T)^k
    ```
    Difference from tinyBIG: tinyBIG evaluates the quotient at `tau = 0` too and
    returns NaN there; here `psi(0)` is the limit 1 (used for `|tau| < 1e-4`, where
    the quotient equals `1 - 7 pi^2 tau^2 / 6` to float32 precision).

    Args:
        a, b, d, s, t: see `WaveletExpansion` (defaults 1, 1, 1, 1, 1).
        **kwargs: `preprocessing`, `postprocessing` (see `Expansion`) and base layer
            keyword arguments, such as `name` and `dtype`.

    Example:
    >>> kappa = keras_rpn.expansions.ShannonWaveletExpansion()
    >>> keras.ops.convert_to_numpy(kappa(np.array([[0.0, 0.5]])))
    array([[ 1.       , -0.6366198]], dtype=float32)
    """

    def psi(self, tau):
        near_zero = ops.less(ops.abs(tau), 1e-4)
        safe = _where_safe(near_zero, 1.0, tau)
        quotient = (ops.sin(2.0 * math.pi * safe) - ops.sin(math.pi * safe)) / (math.pi * safe)
        return ops.where(near_zero, ops.ones_like(tau), quotient)


@register("ricker", "ricker_wavelet", "ricker_wavelet_expansion")
class RickerWaveletExpansion(WaveletExpansion):
    """Ricker ("Mexican hat") wavelet expansion.

    Formula (see `WaveletExpansion` for scales, shifts and powers):
    ```
    psi(tau) = 2 / (sqrt(3 sigma) pi^(1/4)) (1 - tau^2 / sigma^2) exp(-tau^2 / (2 sigma^2))
    D(m) = sum_{k=1..d} (m S T)^k
    ```

    Args:
        sigma: width, a positive number (default 1.0).
        a, b, d, s, t: see `WaveletExpansion` (defaults 1, 1, 1, 1, 1).
        **kwargs: `preprocessing`, `postprocessing` (see `Expansion`) and base layer
            keyword arguments, such as `name` and `dtype`.

    Example:
    >>> keras.ops.convert_to_numpy(keras_rpn.expansions.RickerWaveletExpansion()(np.array([[1.0]])))
    array([[0.]], dtype=float32)
    """

    def __init__(self, a=1.0, b=1.0, sigma=1.0, **kwargs):
        super().__init__(a=a, b=b, **kwargs)
        self.sigma = validation.finite_float("sigma", sigma, positive=True)

    def psi(self, tau):
        sigma = self.sigma
        z2 = ops.square(tau / sigma)
        scale = 2.0 / (math.sqrt(3.0 * sigma) * math.pi**0.25)
        return scale * (1.0 - z2) * ops.exp(-0.5 * z2)

    def get_config(self):
        return {**super().get_config(), "sigma": self.sigma}


@register("dog", "dog_wavelet", "dog_wavelet_expansion")
class DoGWaveletExpansion(WaveletExpansion):
    """Difference-of-Gaussians wavelet expansion.

    Formula (see `WaveletExpansion` for scales, shifts and powers):
    ```
    psi(tau) = N(tau; 0, sigma_1^2) - N(tau; 0, sigma_2^2)    (normal densities)
    D(m) = sum_{k=1..d} (m S T)^k
    ```

    Args:
        sigma_1: width of the first Gaussian, a positive number (default 1.0).
        sigma_2: width of the second Gaussian, a positive number (default 2.0).
        a, b, d, s, t: see `WaveletExpansion` (defaults 1, 1, 1, 1, 1).
        **kwargs: `preprocessing`, `postprocessing` (see `Expansion`) and base layer
            keyword arguments, such as `name` and `dtype`.

    Example:
    >>> keras.ops.convert_to_numpy(keras_rpn.expansions.DoGWaveletExpansion()(np.array([[0.0]])))
    array([[0.19947115]], dtype=float32)
    """

    def __init__(self, a=1.0, b=1.0, sigma_1=1.0, sigma_2=2.0, **kwargs):
        super().__init__(a=a, b=b, **kwargs)
        self.sigma_1 = validation.finite_float("sigma_1", sigma_1, positive=True)
        self.sigma_2 = validation.finite_float("sigma_2", sigma_2, positive=True)

    def psi(self, tau):
        def density(sigma):
            return ops.exp(-0.5 * ops.square(tau / sigma)) / (sigma * math.sqrt(2.0 * math.pi))

        return density(self.sigma_1) - density(self.sigma_2)

    def get_config(self):
        return {**super().get_config(), "sigma_1": self.sigma_1, "sigma_2": self.sigma_2}


# Meyer wavelet: psi(tau) = g(|tau|) is even, with removable singularities at 0 and 3/4.
_MEYER_AT_ZERO = 2.0 / 3.0 + 4.0 / (3.0 * math.pi)
_MEYER_AT_POLE = 2.0 / (3.0 * math.pi)
_MEYER_SLOPE_AT_POLE = -(math.pi**2 + 4.0) / (3.0 * math.pi)
_MEYER_CURVATURE_AT_POLE = 2.0 * (math.pi**2 + 28.0) / (27.0 * math.pi)  # psi''/2
_MEYER_POLE_WINDOW = 1e-2


@register("meyer", "meyer_wavelet", "meyer_wavelet_expansion")
class MeyerWaveletExpansion(WaveletExpansion):
    """Meyer wavelet expansion (tinyBIG's closed-form approximation).

    Formula (see `WaveletExpansion` for scales, shifts and powers):
    ```
    psi(tau) = (sin(2 pi tau / 3) + (4/3) tau cos(4 pi tau / 3)) / (pi tau - (16 pi / 9) tau^3)
    psi(0) = 2/3 + 4 / (3 pi),   psi(+-3/4) = 2 / (3 pi)
    D(m) = sum_{k=1..d} (m S T)^k
    ```
    Difference from tinyBIG: at `|tau| = 3/4` numerator and denominator both
    vanish and tinyBIG returns NaN (and loses all precision nearby). Here the
    removable singularity is filled by continuity: for `e = |tau| - 3/4` with
    `|e| < 1e-2`, the Taylor polynomial
    `2/(3 pi) - (pi^2 + 4)/(3 pi) e + 2 (pi^2 + 28)/(27 pi) e^2` is used instead of
    the quotient (error below 2e-6, where float32 cancellation in the quotient is
    of the same size), and `psi(tau) = 2/3 + 4/(3 pi)` for `|tau| < 1e-4`, as in
    tinyBIG at 0. Outputs and gradients are finite everywhere.

    Args:
        a, b, d, s, t: see `WaveletExpansion` (defaults 1, 1, 1, 1, 1).
        **kwargs: `preprocessing`, `postprocessing` (see `Expansion`) and base layer
            keyword arguments, such as `name` and `dtype`.

    Example:
    >>> keras.ops.convert_to_numpy(keras_rpn.expansions.MeyerWaveletExpansion()(np.array([[0.75]])))
    array([[0.21220659]], dtype=float32)
    """

    def psi(self, tau):
        r = ops.abs(tau)
        near_zero = ops.less(r, 1e-4)
        e = r - 0.75
        near_pole = ops.less(ops.abs(e), _MEYER_POLE_WINDOW)
        special_point = ops.logical_or(near_zero, near_pole)
        safe = _where_safe(special_point, 0.5, r)
        numerator = ops.sin((2.0 * math.pi / 3.0) * safe) + (4.0 / 3.0) * safe * ops.cos(
            (4.0 * math.pi / 3.0) * safe
        )
        denominator = math.pi * safe - (16.0 * math.pi / 9.0) * safe**3
        pole = _MEYER_AT_POLE + e * (_MEYER_SLOPE_AT_POLE + _MEYER_CURVATURE_AT_POLE * e)
        result = ops.where(near_pole, pole, numerator / denominator)
        return ops.where(near_zero, ops.full_like(tau, _MEYER_AT_ZERO), result)
