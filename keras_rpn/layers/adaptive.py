"""Grid adaptation methods of RPN heads and layers (they delegate to `keras_rpn.grid`)."""


class GridAdaptation:
    """`update_grid`, `extend_grid` and `out_of_range` on `RPNHead` and `RPNLayer`.

    They act on the heads whose expansion has a grid (`Expansion.has_grid`: the
    B-spline and RBF expansions); build those with `adaptive_grid=True` (as
    `keras_rpn.layers.KANDense` does) for a grid that is saved state.
    """

    #: The config argument setting the grid size of the whole layer, when it has
    #: one (`KANDense`: `grid_size`); otherwise every grid expansion's own
    #: `grid_size_argument` is changed in the config.
    grid_size_argument = None

    @property
    def has_grid(self):
        """Whether any head's expansion has a grid."""
        from keras_rpn import grid

        return bool(grid.grid_owners(self))

    def update_grid(self, x, percentile=0.0, margin=0.05):
        """Refits the grid to the inputs `x`, keeping the learned functions on `x`.

        See `keras_rpn.grid.update_grid`. Returns `self`.
        """
        from keras_rpn import grid

        return grid.update_grid(self, x, percentile=percentile, margin=margin)

    def extend_grid(self, grid_size, num=None):
        """A built copy with `grid_size` grid intervals computing the same function.

        See `keras_rpn.grid.extend_grid`.
        """
        from keras_rpn import grid

        return grid.extend_grid(self, grid_size, num=num)

    def out_of_range(self, x):
        """The fraction of the inputs `x` outside the grid (see `keras_rpn.grid.out_of_range`)."""
        from keras_rpn import grid

        return grid.out_of_range(self, x)[self.name]
