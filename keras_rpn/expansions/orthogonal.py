"""Polynomial families defined by three-term recurrences (`D = m d`, feature-major)."""

from keras import ops

from keras_rpn import validation
from keras_rpn.expansions.base import Expansion
from keras_rpn.expansions.base import register


class RecurrenceExpansion(Expansion):
    """Base of per-feature polynomial families `P_1 .. P_d` given by a recurrence.

    A subclass defines `initial(x)`, returning `(P_0, P_1)`, and `step(n, x, p1, p2)`,
    returning `P_n` from `P_{n-1}` (`p1`) and `P_{n-2}` (`p2`). The output is
    feature-major: `[P_1(x_1) .. P_d(x_1), ..., P_1(x_m) .. P_d(x_m)]`, `D = m d`
    (`P_0` is dropped, as in tinyBIG). Subclasses with extra hyper-parameters add
    them to `get_config`.

    Args:
        d: highest degree, a positive integer (default 2).
        **kwargs: `preprocessing`, `postprocessing` (see `Expansion`) and base layer
            keyword arguments, such as `name` and `dtype`.
    """

    column_layout = "feature_major"

    float32_compute = True

    def __init__(self, d=2, **kwargs):
        super().__init__(**kwargs)
        self.d = validation.positive_int("d", d)

    def initial(self, x):
        raise NotImplementedError

    def step(self, n, x, p1, p2):
        raise NotImplementedError

    def output_dim(self, input_dim):
        return input_dim * self.d

    def expand(self, x):
        p2, p1 = self.initial(x)
        polys = [p1]
        for n in range(2, self.d + 1):
            p2, p1 = p1, self.step(n, x, p1, p2)
            polys.append(p1)
        stacked = ops.stack(polys, axis=-1)
        return ops.reshape(stacked, ops.shape(x)[:-1] + (x.shape[-1] * self.d,))

    def symbolic_columns(self, symbols):
        # P_0 and P_1 (constant and affine) from their values at 0 and 1; the
        # recurrence itself is plain arithmetic, so it runs on sympy expressions.
        import numpy as np

        ends = np.array([[0.0], [1.0]], dtype="float32")
        p0, p1 = (np.asarray(ops.convert_to_numpy(p), "float64")[:, 0] for p in self.initial(ends))
        columns = []
        for x in symbols:
            q2, q1 = float(p0[0]), float(p1[0]) + float(p1[1] - p1[0]) * x
            polys = [q1]
            for n in range(2, self.d + 1):
                q2, q1 = q1, self.step(n, x, q1, q2)
                polys.append(q1)
            columns.extend(polys)
        return columns

    def get_config(self):
        return {**super().get_config(), "d": self.d}


@register("chebyshev", "chebyshev_expansion")
class ChebyshevExpansion(RecurrenceExpansion):
    """Chebyshev polynomials of the first kind, degrees 1 to `d`.

    Formula:
    ```
    T_0 = 1,  T_1 = x,  T_n = 2 x T_{n-1} - T_{n-2}
    kappa(x) = [T_1(x_j) .. T_d(x_j)  for j = 1..m],   D(m) = m d
    ```

    Args:
        d: highest degree, a positive integer (default 2).
        **kwargs: `preprocessing`, `postprocessing` (see `Expansion`) and base layer
            keyword arguments, such as `name` and `dtype`.

    Example:
    >>> keras.ops.convert_to_numpy(keras_rpn.expansions.ChebyshevExpansion(d=3)(np.array([[0.5]])))
    array([[ 0.5, -0.5, -1. ]], dtype=float32)
    """

    def initial(self, x):
        return ops.ones_like(x), x

    def step(self, n, x, p1, p2):
        return 2.0 * x * p1 - p2


@register("jacobi", "jacobi_expansion")
class JacobiExpansion(RecurrenceExpansion):
    """Jacobi polynomials `P_n^{(alpha, beta)}`, degrees 1 to `d`.

    Formula (with `s = alpha + beta`):
    ```
    P_0 = 1,  P_1 = ((alpha - beta) + (s + 2) x) / 2
    2n (n + s)(2n + s - 2) P_n = (2n + s - 1) [(2n + s)(2n + s - 2) x + alpha^2 - beta^2] P_{n-1}
                                 - 2 (n + alpha - 1)(n + beta - 1)(2n + s) P_{n-2}
    kappa(x) = [P_1(x_j) .. P_d(x_j)  for j = 1..m],   D(m) = m d
    ```

    Args:
        d: highest degree, a positive integer (default 2).
        alpha: first parameter, a number > -1 (default 1.0).
        beta: second parameter, a number > -1 (default 1.0).
        **kwargs: `preprocessing`, `postprocessing` (see `Expansion`) and base layer
            keyword arguments, such as `name` and `dtype`.

    Example:
    >>> keras.ops.convert_to_numpy(keras_rpn.expansions.JacobiExpansion(d=2)(np.array([[0.5]])))
    array([[1.    , 0.1875]], dtype=float32)
    """

    def __init__(self, d=2, alpha=1.0, beta=1.0, **kwargs):
        super().__init__(d=d, **kwargs)
        self.alpha = validation.bounded_float("alpha", alpha, low=-1.0)
        self.beta = validation.bounded_float("beta", beta, low=-1.0)

    def initial(self, x):
        a, b = self.alpha, self.beta
        return ops.ones_like(x), ((a - b) + (a + b + 2.0) * x) / 2.0

    def step(self, n, x, p1, p2):
        a, b = self.alpha, self.beta
        s = a + b
        c1 = 2.0 * n * (n + s) * (2 * n + s - 2)
        c2 = (2 * n + s - 1) * (2 * n + s) * (2 * n + s - 2)
        c3 = (2 * n + s - 1) * (a * a - b * b)
        c4 = 2.0 * (n + a - 1) * (n + b - 1) * (2 * n + s)
        return ((c2 / c1) * x + c3 / c1) * p1 - (c4 / c1) * p2

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha, "beta": self.beta}


@register("hermite", "hermite_expansion")
class HermiteExpansion(RecurrenceExpansion):
    """Probabilists' Hermite polynomials `He_n`, degrees 1 to `d`.

    Formula:
    ```
    He_0 = 1,  He_1 = x,  He_n = x He_{n-1} - (n - 1) He_{n-2}
    kappa(x) = [He_1(x_j) .. He_d(x_j)  for j = 1..m],   D(m) = m d
    ```
    Difference from tinyBIG: tinyBIG's default name for this class is
    `'chebyshev_polynomial_expansion'` (a copy-paste slip); here the default layer
    name derives from the class, as for every Keras layer.

    Args:
        d: highest degree, a positive integer (default 2).
        **kwargs: `preprocessing`, `postprocessing` (see `Expansion`) and base layer
            keyword arguments, such as `name` and `dtype`.

    Example:
    >>> keras.ops.convert_to_numpy(keras_rpn.expansions.HermiteExpansion(d=3)(np.array([[2.0]])))
    array([[2., 3., 2.]], dtype=float32)
    """

    def initial(self, x):
        return ops.ones_like(x), x

    def step(self, n, x, p1, p2):
        return x * p1 - (n - 1.0) * p2


@register("laguerre", "laguerre_expansion")
class LaguerreExpansion(RecurrenceExpansion):
    """Generalised Laguerre polynomials `L_n^{(alpha)}`, degrees 1 to `d`.

    Formula:
    ```
    L_0 = 1,  L_1 = 1 + alpha - x
    L_n = ((2n - 1 + alpha - x) L_{n-1} - (n - 1 + alpha) L_{n-2}) / n
    kappa(x) = [L_1(x_j) .. L_d(x_j)  for j = 1..m],   D(m) = m d
    ```
    Difference from tinyBIG: tinyBIG's code starts from `L_1 = x + 1 + alpha` (a
    sign slip; its docstring, and the definition, have `1 + alpha - x`), which also
    changes every higher degree. This class implements the documented polynomials.

    Args:
        d: highest degree, a positive integer (default 2).
        alpha: parameter, a number > -1 (default 1.0).
        **kwargs: `preprocessing`, `postprocessing` (see `Expansion`) and base layer
            keyword arguments, such as `name` and `dtype`.

    Example:
    >>> kappa = keras_rpn.expansions.LaguerreExpansion(d=2, alpha=0.0)
    >>> keras.ops.convert_to_numpy(kappa(np.array([[1.0]])))
    array([[ 0. , -0.5]], dtype=float32)
    """

    def __init__(self, d=2, alpha=1.0, **kwargs):
        super().__init__(d=d, **kwargs)
        self.alpha = validation.bounded_float("alpha", alpha, low=-1.0)

    def initial(self, x):
        return ops.ones_like(x), (1.0 + self.alpha) - x

    def step(self, n, x, p1, p2):
        a = self.alpha
        return ((2 * n - 1 + a - x) * p1 - (n - 1 + a) * p2) / n

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


@register("legendre", "legendre_expansion")
class LegendreExpansion(RecurrenceExpansion):
    """Legendre polynomials `P_n`, degrees 1 to `d`.

    Formula:
    ```
    P_0 = 1,  P_1 = x,  P_n = ((2n - 1) x P_{n-1} - (n - 1) P_{n-2}) / n
    kappa(x) = [P_1(x_j) .. P_d(x_j)  for j = 1..m],   D(m) = m d
    ```

    Args:
        d: highest degree, a positive integer (default 2).
        **kwargs: `preprocessing`, `postprocessing` (see `Expansion`) and base layer
            keyword arguments, such as `name` and `dtype`.

    Example:
    >>> keras.ops.convert_to_numpy(keras_rpn.expansions.LegendreExpansion(d=2)(np.array([[0.5]])))
    array([[ 0.5  , -0.125]], dtype=float32)
    """

    def initial(self, x):
        return ops.ones_like(x), x

    def step(self, n, x, p1, p2):
        return ((2 * n - 1) * x * p1 - (n - 1) * p2) / n


@register("gegenbauer", "gegenbauer_expansion")
class GegenbauerExpansion(RecurrenceExpansion):
    """Gegenbauer (ultraspherical) polynomials `C_n^{(alpha)}`, degrees 1 to `d`.

    Formula:
    ```
    C_0 = 1,  C_1 = 2 alpha x
    C_n = (2 x (n - 1 + alpha) C_{n-1} - (n - 2 + 2 alpha) C_{n-2}) / n
    kappa(x) = [C_1(x_j) .. C_d(x_j)  for j = 1..m],   D(m) = m d
    ```

    Args:
        d: highest degree, a positive integer (default 2).
        alpha: parameter, a number > -1/2 (default 1.0).
        **kwargs: `preprocessing`, `postprocessing` (see `Expansion`) and base layer
            keyword arguments, such as `name` and `dtype`.

    Example:
    >>> keras.ops.convert_to_numpy(keras_rpn.expansions.GegenbauerExpansion(d=2)(np.array([[0.5]])))
    array([[1., 0.]], dtype=float32)
    """

    def __init__(self, d=2, alpha=1.0, **kwargs):
        super().__init__(d=d, **kwargs)
        self.alpha = validation.bounded_float("alpha", alpha, low=-0.5)

    def initial(self, x):
        return ops.ones_like(x), (2.0 * self.alpha) * x

    def step(self, n, x, p1, p2):
        a = self.alpha
        return (2.0 * (n - 1 + a) * x * p1 - (n - 2 + 2 * a) * p2) / n

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


@register("bessel", "bessel_expansion")
class BesselExpansion(RecurrenceExpansion):
    """Bessel polynomials `y_n`, degrees 1 to `d`.

    Formula:
    ```
    y_0 = 1,  y_1 = x + 1,  y_n = (2n - 1) x y_{n-1} + y_{n-2}
    kappa(x) = [y_1(x_j) .. y_d(x_j)  for j = 1..m],   D(m) = m d
    ```

    Args:
        d: highest degree, a positive integer (default 2).
        **kwargs: `preprocessing`, `postprocessing` (see `Expansion`) and base layer
            keyword arguments, such as `name` and `dtype`.

    Example:
    >>> keras.ops.convert_to_numpy(keras_rpn.expansions.BesselExpansion(d=2)(np.array([[1.0]])))
    array([[2., 7.]], dtype=float32)
    """

    def initial(self, x):
        return ops.ones_like(x), x + 1.0

    def step(self, n, x, p1, p2):
        return (2 * n - 1) * x * p1 + p2


@register("reverse_bessel", "reverse_bessel_expansion")
class ReverseBesselExpansion(RecurrenceExpansion):
    """Reverse Bessel polynomials `theta_n`, degrees 1 to `d`.

    Formula:
    ```
    theta_0 = 1,  theta_1 = x + 1,  theta_n = (2n - 1) theta_{n-1} + x^2 theta_{n-2}
    kappa(x) = [theta_1(x_j) .. theta_d(x_j)  for j = 1..m],   D(m) = m d
    ```

    Args:
        d: highest degree, a positive integer (default 2).
        **kwargs: `preprocessing`, `postprocessing` (see `Expansion`) and base layer
            keyword arguments, such as `name` and `dtype`.

    Example:
    >>> kappa = keras_rpn.expansions.ReverseBesselExpansion(d=2)
    >>> keras.ops.convert_to_numpy(kappa(np.array([[1.0]])))
    array([[2., 7.]], dtype=float32)
    """

    def initial(self, x):
        return ops.ones_like(x), x + 1.0

    def step(self, n, x, p1, p2):
        return (2 * n - 1) * p1 + (x * x) * p2


@register("fibonacci", "fibonacci_expansion")
class FibonacciExpansion(RecurrenceExpansion):
    """Fibonacci polynomials `F_n`, degrees 1 to `d`.

    Formula:
    ```
    F_0 = 0,  F_1 = 1,  F_n = x F_{n-1} + F_{n-2}
    kappa(x) = [F_1(x_j) .. F_d(x_j)  for j = 1..m],   D(m) = m d
    ```
    `F_1` is the constant 1, as in tinyBIG.

    Args:
        d: highest degree, a positive integer (default 2).
        **kwargs: `preprocessing`, `postprocessing` (see `Expansion`) and base layer
            keyword arguments, such as `name` and `dtype`.

    Example:
    >>> keras.ops.convert_to_numpy(keras_rpn.expansions.FibonacciExpansion(d=3)(np.array([[2.0]])))
    array([[1., 2., 5.]], dtype=float32)
    """

    def initial(self, x):
        return ops.zeros_like(x), ops.ones_like(x)

    def step(self, n, x, p1, p2):
        return x * p1 + p2


@register("lucas", "lucas_expansion")
class LucasExpansion(RecurrenceExpansion):
    """Lucas polynomials `L_n`, degrees 1 to `d`.

    Formula:
    ```
    L_0 = 2,  L_1 = x,  L_n = x L_{n-1} + L_{n-2}
    kappa(x) = [L_1(x_j) .. L_d(x_j)  for j = 1..m],   D(m) = m d
    ```

    Args:
        d: highest degree, a positive integer (default 2).
        **kwargs: `preprocessing`, `postprocessing` (see `Expansion`) and base layer
            keyword arguments, such as `name` and `dtype`.

    Example:
    >>> keras.ops.convert_to_numpy(keras_rpn.expansions.LucasExpansion(d=3)(np.array([[2.0]])))
    array([[ 2.,  6., 14.]], dtype=float32)
    """

    def initial(self, x):
        return 2.0 * ops.ones_like(x), x

    def step(self, n, x, p1, p2):
        return x * p1 + p2
