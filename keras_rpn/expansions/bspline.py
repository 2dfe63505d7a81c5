"""B-spline expansion (the basis of KAN-like RPN heads)."""

import math

import numpy as np
from keras import ops

from keras_rpn import validation
from keras_rpn.expansions.base import register
from keras_rpn.expansions.grid import GridExpansion


@register("bspline", "bspline_expansion", "b_spline")
class BSplineExpansion(GridExpansion):
    """B-spline expansion on a uniform grid (Cox-de Boor recursion).

    Formula: with `h = (high - low) / t` and knots `g_j = low + (j - d) h` for
    `j = 0 .. t + 2d`,
    ```
    B_{j,0}(x) = 1 if g_j <= x < g_{j+1} else 0
    B_{j,k}(x) = (x - g_j) / (k h) B_{j,k-1}(x) + (g_{j+k+1} - x) / (k h) B_{j+1,k-1}(x)
    kappa(x) = [B_{0,d}(x_1) .. B_{t+d-1,d}(x_1), ..., B_{t+d-1,d}(x_m)]
    D(m) = m (t + d)
    ```
    The output is feature-major (the `t + d` bases of `x_1`, then those of `x_2`, ...).
    Inputs outside `[g_0, g_{t+2d})` give all-zero bases. Computed in float32, so
    that 16-bit policies do not move the knots.

    With `adaptive_grid=True` each feature has its own grid, saved with the model
    (see `GridExpansion`): it starts at `grid_range` and `keras_rpn.grid.update_grid`
    refits it to the data, feature `j` then using `low_j, high_j` for `low, high`.

    Args:
        grid_range: `(low, high)`, the interval split into `t` pieces (default
            `(-1, 1)`).
        t: number of grid intervals, a positive integer (default 5).
        d: spline degree, a non-negative integer (default 3).
        adaptive_grid: whether every feature's grid is saved state that
            `keras_rpn.grid.update_grid` can refit (default `False`).
        **kwargs: `preprocessing`, `postprocessing` (see `Expansion`) and base layer
            keyword arguments, such as `name` and `dtype`.

    Example:
    >>> tuple(keras_rpn.expansions.BSplineExpansion(t=5, d=3)(np.zeros((2, 4))).shape)
    (2, 32)
    """

    column_layout = "feature_major"
    grid_size_argument = "t"

    @property
    def input_range(self):
        return tuple(float(v) for v in self.grid_range)

    float32_compute = True

    def __init__(self, grid_range=(-1.0, 1.0), t=5, d=3, **kwargs):
        super().__init__(**kwargs)
        self.grid_range = validation.float_range("grid_range", grid_range)
        self.t = validation.positive_int("t", t)
        self.d = validation.non_negative_int("d", d)

    @property
    def reference_range(self):
        return self.grid_range

    def output_dim(self, input_dim):
        return input_dim * (self.t + self.d)

    def expand(self, x):
        if self.d == 0:
            return self._expand_recursive(x)
        return self._expand_closed_form(x)

    def _expand_closed_form(self, x):
        # On a uniform grid every basis is a shifted copy of the centred cardinal
        # B-spline M_d: B_{j,d}(x) = M_d(u - j + (d - 1) / 2) with u = (x - low) / h, and
        #   M_d(z) = 1/d! sum_{k < (d+1)/2} (-1)^k C(d+1, k) ((d+1)/2 - k - |z|)_+^d.
        # Same values as the Cox-de Boor recursion (continuous for d >= 1, zero outside
        # [g_0, g_{t+2d}]), but a handful of elementwise ops on the (.., m, t+d) tensor
        # instead of d rounds of slicing, which XLA and eager backends run far faster.
        # u = (x - low_j) / h_j, each feature on its own grid of t intervals.
        d = self.d
        grid_low, scale = self.grid_scale(x)
        h = (self.grid_range[1] - self.grid_range[0]) / self.t
        shifts = np.arange(self.t + d, dtype="float32") - (d - 1) / 2.0
        u = (x - grid_low) * (scale * (1.0 / h))
        z = ops.abs(ops.expand_dims(u, -1) - ops.cast(shifts, x.dtype))
        bases = None
        for k in range((d + 2) // 2):
            term = ops.relu((d + 1) / 2.0 - k - z)
            power = term
            for _ in range(d - 1):
                power = power * term
            coef = (-1.0) ** k * math.comb(d + 1, k) / math.factorial(d)
            power = power * coef if coef != 1.0 else power
            bases = power if bases is None else bases + power
        return ops.reshape(bases, ops.shape(x)[:-1] + (x.shape[-1] * (self.t + d),))

    def _expand_recursive(self, x):
        low, high = self.grid_range
        h = (high - low) / self.t
        knots = low + h * (ops.arange(-self.d, self.t + self.d + 1, dtype="float32"))
        knots = ops.cast(knots, x.dtype)
        xe = ops.expand_dims(self.to_reference(x), -1)
        bases = ops.cast(ops.logical_and(xe >= knots[:-1], xe < knots[1:]), x.dtype)
        for k in range(1, self.d + 1):
            left = (xe - knots[: -(k + 1)]) * bases[..., :-1]
            right = (knots[k + 1 :] - xe) * bases[..., 1:]
            bases = (left + right) / (k * h)
        return ops.reshape(bases, ops.shape(x)[:-1] + (x.shape[-1] * (self.t + self.d),))

    def get_config(self):
        return {
            **super().get_config(),
            "grid_range": self.grid_range,
            "t": self.t,
            "d": self.d,
        }
