"""Orthogonal-polynomial expansions, computed by their three-term recurrences."""

from keras import ops

from keras_rpn import validation
from keras_rpn.expansions.base import Expansion
from keras_rpn.expansions.base import register


class RecurrenceExpansion(Expansion):
    """Base of per-feature polynomial families `P_1 .. P_d` given by a recurrence.

    A subclass defines `initial(x)`, returning `(P_0, P_1)`, and `step(n, x, p1, p2)`,
    returning `P_n` from `P_{n-1}` (`p1`) and `P_{n-2}` (`p2`). The output is
    feature-major: `[P_1(x_1) .. P_d(x_1), ..., P_1(x_m) .. P_d(x_m)]`, `D = m d`.

    Args:
        d: highest degree, a positive integer (default 2).
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.
    """

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
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Example:
    >>> keras_rpn.expansions.ChebyshevExpansion(d=3)(np.array([[0.5]]))
    array([[ 0.5, -0.5, -1. ]])
    """

    def initial(self, x):
        return ops.ones_like(x), x

    def step(self, n, x, p1, p2):
        return 2.0 * x * p1 - p2
