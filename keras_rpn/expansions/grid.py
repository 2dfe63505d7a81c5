"""Per-feature grids saved as state: the shared part of B-spline and RBF expansions."""

import keras
import numpy as np
from keras import ops

from keras_rpn import validation
from keras_rpn.expansions.base import Expansion


class GridExpansion(Expansion):
    """Base of expansions on a grid that can be refitted to the data, feature by feature.

    The configured range `(low, high)` (`grid_range` for B-splines, `base_range` for
    RBFs) is where every feature's grid starts. With `adaptive_grid=True`, once built
    (with input width `m`) the expansion holds two non-trainable float32 weights of
    shape `(m,)`,
    `grid_low` and `grid_high`: feature `j`'s grid spans `[grid_low[j], grid_high[j]]`,
    and the subclass' formula is applied to `x_j` mapped affinely from that span
    onto the configured one,
    ```
    x'_j = low + (x_j - grid_low[j]) (high - low) / (grid_high[j] - grid_low[j])
    ```
    so knots, centres and widths move with the grid. Initially the two spans are
    equal and the formula is the plain one. The weights are saved with the model,
    so a refitted grid (see `keras_rpn.grid.update_grid`) is restored on load; the
    expansion width `D` does not depend on them. Without `adaptive_grid` (the
    default, tinyBIG's fixed grid) there is no such state and `count_params()`
    counts the coefficients only.

    A subclass implements `reference_range` (the configured `(low, high)`) and
    names in `grid_size_argument` the constructor argument that sets its number of
    grid intervals (`t` for B-splines, `num_interval` for RBFs), which `resized`
    changes (see `keras_rpn.grid.extend_grid`).

    Args:
        adaptive_grid: whether every feature has its own grid, saved with the model
            and refittable to the data (default `False`: one fixed grid).
        **kwargs: `preprocessing`, `postprocessing` (see `Expansion`) and base layer
            keyword arguments, such as `name` and `dtype`.
    """

    def __init__(self, adaptive_grid=False, **kwargs):
        super().__init__(**kwargs)
        self.adaptive_grid = validation.boolean("adaptive_grid", adaptive_grid)
        self.grid_low = self.grid_high = None

    #: The expansion has a per-feature grid that `keras_rpn.grid` can refit.
    has_grid = True

    #: The constructor argument that sets the number of grid intervals.
    grid_size_argument = None

    @property
    def grid_size(self):
        """The number of grid intervals (the `grid_size_argument`)."""
        return getattr(self, self.grid_size_argument)

    def resized(self, grid_size):
        """A new, unbuilt expansion like this one with `grid_size` grid intervals."""
        grid_size = validation.positive_int("grid_size", grid_size)
        config = {**self.get_config(), self.grid_size_argument: grid_size}
        return type(self).from_config(config)

    @property
    def reference_range(self):
        """The configured `(low, high)` the grid of every feature starts from."""
        raise NotImplementedError

    def build(self, input_shape):
        super().build(input_shape)
        m = input_shape[-1]
        if m is None:
            raise ValueError(
                f"{self.__class__.__name__} needs a known input width to build its grid. "
                f"Received: input_shape={tuple(input_shape)}"
            )
        self.input_width = int(m)
        if not self.adaptive_grid:
            return
        low, high = self.reference_range
        # float32 whatever the policy: 16-bit grids would move the knots.
        self.grid_low = self.add_weight(
            name="grid_low",
            shape=(int(m),),
            initializer=keras.initializers.Constant(low),
            trainable=False,
            dtype="float32",
        )
        self.grid_high = self.add_weight(
            name="grid_high",
            shape=(int(m),),
            initializer=keras.initializers.Constant(high),
            trainable=False,
            dtype="float32",
        )

    @property
    def unshared_weights(self):
        # The grid is a function of the layer's inputs only: `keras_rpn.grid` refits
        # the heads of a layer together, so heads made from one config keep equal
        # grids and may still be computed in one batch.
        grid = {id(self.grid_low), id(self.grid_high)}
        return [w for w in self.weights if id(w) not in grid]

    def grid_scale(self, x):
        """`(grid_low, s)` in the dtype of `x`: `x'_j = low + (x_j - grid_low[j]) s[j]`.

        Python numbers `(low, 1.0)` for a fixed grid.
        """
        low, high = self.reference_range
        if not self.adaptive_grid:
            return low, 1.0
        grid_low = ops.cast(self.grid_low, x.dtype)
        scale = (high - low) / ops.cast(self.grid_high - self.grid_low, x.dtype)
        return grid_low, scale

    def to_reference(self, x):
        """`x` mapped from every feature's grid onto the configured range."""
        if not self.adaptive_grid:
            return x
        grid_low, scale = self.grid_scale(x)
        return (x - grid_low) * scale + self.reference_range[0]

    def grid_bounds(self):
        """The `(m, 2)` float array of every feature's `(low, high)`."""
        if not self.built:
            raise ValueError(f"{self.name} is not built: call it on data first.")
        if not self.adaptive_grid:
            return np.tile(np.asarray(self.reference_range, dtype="float64"), (self.input_width, 1))
        low = keras.ops.convert_to_numpy(self.grid_low)
        high = keras.ops.convert_to_numpy(self.grid_high)
        return np.stack([low, high], axis=-1).astype("float64")

    def set_grid(self, bounds):
        """Sets every feature's grid from an `(m, 2)` array of `(low, high)`."""
        if not self.adaptive_grid:
            raise ValueError(
                f"{self.name} has a fixed grid: build it with adaptive_grid=True (as "
                "keras_rpn.layers.KANDense does) to refit its grid to the data."
            )
        bounds = np.asarray(bounds, dtype="float64")
        m = self.input_width
        if bounds.shape != (m, 2):
            raise ValueError(f"Expected grid bounds of shape ({m}, 2). Received: {bounds.shape}")
        if not np.all(np.isfinite(bounds)) or np.any(bounds[:, 1] <= bounds[:, 0]):
            raise ValueError(
                f"Every grid needs finite bounds with low < high. Received: bounds={bounds}"
            )
        self.grid_low.assign(bounds[:, 0].astype("float32"))
        self.grid_high.assign(bounds[:, 1].astype("float32"))

    def get_config(self):
        return {**super().get_config(), "adaptive_grid": self.adaptive_grid}
