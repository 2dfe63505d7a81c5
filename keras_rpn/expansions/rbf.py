"""Radial basis function expansions on fixed centres (`D = m K`, feature-major)."""

import numbers

import numpy as np
from keras import ops

from keras_rpn import validation
from keras_rpn.expansions.base import register
from keras_rpn.expansions.grid import GridExpansion


def _centres(base):
    if isinstance(base, (str, bytes)) or not hasattr(base, "__len__") or len(base) == 0:
        raise ValueError(
            f"Expected `base` to be a non-empty sequence of numbers. Received: base={base!r}"
        )
    values = []
    for v in base:
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise TypeError(f"Expected `base` to hold real numbers. Received: base={base!r}")
        values.append(validation.finite_float("base", v))
    return tuple(values)


class RBFExpansion(GridExpansion):
    """Base of radial basis expansions `phi((x_j - c_k) epsilon)` on fixed centres.

    The centres are `c = linspace(low, high, num_interval)` over `base_range`, or
    the explicit `base` when given. The output is feature-major: the `K` values
    of `x_1`, then those of `x_2`, ..., so `D(m) = m K`. A subclass implements
    `phi(r)` for the scaled distance `r = (x - c) epsilon`.

    With `adaptive_grid=True` each feature has its own grid, saved with the model
    (see `GridExpansion`): it starts at the span of the centres and
    `keras_rpn.grid.update_grid` refits it to the data, moving and scaling that
    feature's centres and widths together.

    Args:
        base_range: `(low, high)` spanned by the centres (default `(-1, 1)`).
        num_interval: number of centres `K`, a positive integer (default 10).
        epsilon: shape parameter, a positive number (default 1.0).
        base: optional explicit sequence of centres; it then sets `K` and
            `base_range` and `num_interval` are ignored.
        adaptive_grid: whether every feature's grid is saved state that
            `keras_rpn.grid.update_grid` can refit (default `False`).
        **kwargs: `preprocessing`, `postprocessing` (see `Expansion`) and base layer
            keyword arguments, such as `name` and `dtype`.
    """

    column_layout = "feature_major"
    grid_size_argument = "num_interval"

    @property
    def input_range(self):
        return tuple(float(v) for v in self.base_range)

    float32_compute = True

    def __init__(self, base_range=(-1.0, 1.0), num_interval=10, epsilon=1.0, base=None, **kwargs):
        super().__init__(**kwargs)
        self.base_range = validation.float_range("base_range", base_range)
        self.num_interval = validation.positive_int("num_interval", num_interval)
        self.epsilon = validation.finite_float("epsilon", epsilon, positive=True)
        self.base = None if base is None else _centres(base)

    def resized(self, grid_size):
        if self.base is not None:
            raise ValueError(
                f"{self.name} has explicit centres (`base`): it cannot be resized to "
                f"grid_size={grid_size}."
            )
        return super().resized(grid_size)

    @property
    def centres(self):
        """The centres as a float32 numpy array of length `K`."""
        if self.base is not None:
            return np.asarray(self.base, dtype="float32")
        low, high = self.base_range
        return np.linspace(low, high, self.num_interval, dtype="float32")

    @property
    def reference_range(self):
        centres = self.centres
        if len(centres) > 1 and centres.max() > centres.min():
            return float(centres.min()), float(centres.max())
        return self.base_range

    def phi(self, r):
        raise NotImplementedError

    def output_dim(self, input_dim):
        return input_dim * len(self.centres)

    def expand(self, x):
        centres = self.centres
        x = self.to_reference(x)
        r = (ops.expand_dims(x, -1) - ops.cast(centres, x.dtype)) * self.epsilon
        return ops.reshape(self.phi(r), ops.shape(x)[:-1] + (x.shape[-1] * len(centres),))

    def get_config(self):
        return {
            **super().get_config(),
            "base_range": self.base_range,
            "num_interval": self.num_interval,
            "epsilon": self.epsilon,
            "base": None if self.base is None else list(self.base),
        }


@register("gaussian_rbf", "gaussian_rbf_expansion")
class GaussianRBFExpansion(RBFExpansion):
    """Gaussian RBF expansion.

    Formula:
    ```
    c = linspace(low, high, K)
    kappa(x) = [exp(-((x_j - c_k) epsilon)^2)  for j = 1..m, k = 1..K],   D(m) = m K
    ```
    Feature-major (the `K` values of `x_1` first).

    Args:
        base_range: `(low, high)` spanned by the centres (default `(-1, 1)`).
        num_interval: number of centres `K`, a positive integer (default 10).
        epsilon: shape parameter, a positive number (default 1.0).
        base: optional explicit sequence of centres (then sets `K`).
        adaptive_grid: per-feature grids refittable to the data (default `False`).
        **kwargs: `preprocessing`, `postprocessing` (see `Expansion`) and base layer
            keyword arguments, such as `name` and `dtype`.

    Example:
    >>> kappa = keras_rpn.expansions.GaussianRBFExpansion(num_interval=3)
    >>> keras.ops.convert_to_numpy(kappa(np.array([[0.0]])))
    array([[0.36787945, 1.        , 0.36787945]], dtype=float32)
    """

    def phi(self, r):
        return ops.exp(-ops.square(r))


@register("inverse_quadratic_rbf", "inverse_quadratic_rbf_expansion")
class InverseQuadraticRBFExpansion(RBFExpansion):
    """Inverse quadratic RBF expansion.

    Formula:
    ```
    c = linspace(low, high, K)
    kappa(x) = [1 / (1 + ((x_j - c_k) epsilon)^2)  for j = 1..m, k = 1..K],   D(m) = m K
    ```
    Feature-major (the `K` values of `x_1` first).

    Args:
        base_range: `(low, high)` spanned by the centres (default `(-1, 1)`).
        num_interval: number of centres `K`, a positive integer (default 10).
        epsilon: shape parameter, a positive number (default 1.0).
        base: optional explicit sequence of centres (then sets `K`).
        adaptive_grid: per-feature grids refittable to the data (default `False`).
        **kwargs: `preprocessing`, `postprocessing` (see `Expansion`) and base layer
            keyword arguments, such as `name` and `dtype`.

    Example:
    >>> kappa = keras_rpn.expansions.InverseQuadraticRBFExpansion(num_interval=3)
    >>> keras.ops.convert_to_numpy(kappa(np.array([[0.0]])))
    array([[0.5, 1. , 0.5]], dtype=float32)
    """

    def phi(self, r):
        return 1.0 / (1.0 + ops.square(r))
