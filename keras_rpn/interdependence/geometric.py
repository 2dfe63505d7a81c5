"""Geometric interdependence: patches of an (h, w, d) grid, by patch extraction.

tinyBIG builds a `hwd x P k` 0/1 matrix and multiplies the flattened grid by it; the
same result is a gather: an index table of shape `(P, k)` (patch centre, offset in
the patch), made in numpy at build, picks the cells of every patch from the grid (an
extra zero row stands for cells outside the grid). The dense matrix is never formed.

Inputs carry the grid on the instance axis: `(batch, h w d, C)` (cells in row-major
`(h, w, d)` order, channels last), or `(batch, h, w, C)` / `(batch, h, w, d, C)`.
"""

import numpy as np
from keras import ops

from keras_rpn import geometry
from keras_rpn import validation
from keras_rpn.interdependence.base import Interdependence
from keras_rpn.interdependence.topological import _MODES


class GeometricInterdependence(Interdependence):
    """Base of patch-based geometric interdependences (convolution machinery).

    Every patch centre `c` (centres every `(cd_h, cd_w, cd_d)` cells from the
    top-left corner: `P = ceil(h/cd_h) ceil(w/cd_w) ceil(d/cd_d)` patches) collects
    the `k` cells at the patch's offsets from `c`; cells outside the grid count as
    zeros ("same" padding anchored at the top-left).

    * `"padding"` mode (attribute type, the default): `(batch, cells, C)` ->
      `(batch, P, C k)`, the patch contents, features ordered `(channel, offset)`
      (tinyBIG's order); a head then applies one `n x C k` matrix per patch, i.e. a
      convolution. Instance type: `(batch, cells, f)` -> `(batch, P k, f)`.
    * `"aggregation"` mode: the sum over each patch: `(batch, P, C)` (attribute) or
      `(batch, P, f)` (instance).

    Grid-shaped inputs `(batch, h, w, C)` / `(batch, h, w, d, C)` keep their layout:
    `(batch, h', w', C k)` / `(batch, h', w', d', C k)`.

    A subclass implements `offsets()` (the `(k, 3)` integer offsets in tinyBIG's
    enumeration order) and `packing(strategy)` (the centre distances).

    Args:
        h, w, d: grid size (default: from a grid-shaped input; `d` defaults to 1).
        channel_num: channels `C` (default: the last axis of the input).
        packing_strategy: how densely patches are packed (default
            `"densest_packing"`: stride 1).
        cd_h, cd_w, cd_d: explicit centre distances (strides), each overriding the
            packing strategy's (tinyBIG uses them only when all three are given).
        interdependence_matrix_mode: `"padding"` (default) or `"aggregation"`.
        normalization: degree-normalise the 0/1 patch matrix (default False).
        normalization_mode: `"row_column"` (default), `"row"`, `"column"` or
            `"symmetric"`; e.g. `"column"` in aggregation mode is mean pooling.
        interdependence_type: `"attribute"` (default) or `"instance"`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.
    """

    def __init__(
        self,
        h=None,
        w=None,
        d=1,
        channel_num=None,
        packing_strategy="densest_packing",
        cd_h=None,
        cd_w=None,
        cd_d=None,
        interdependence_matrix_mode="padding",
        normalization=False,
        normalization_mode="row_column",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.h = validation.positive_int("h", h, allow_none=True)
        self.w = validation.positive_int("w", w, allow_none=True)
        self.d = validation.positive_int("d", d, allow_none=True)
        self.channel_num = validation.positive_int("channel_num", channel_num, allow_none=True)
        self.cd_h = validation.positive_int("cd_h", cd_h, allow_none=True)
        self.cd_w = validation.positive_int("cd_w", cd_w, allow_none=True)
        self.cd_d = validation.positive_int("cd_d", cd_d, allow_none=True)
        strategies = self.patch().packing_strategies()
        if packing_strategy not in strategies:
            raise ValueError(
                f"`packing_strategy` must be one of {', '.join(strategies)} for "
                f"{self.__class__.__name__}. Received: packing_strategy={packing_strategy!r}"
            )
        self.packing_strategy = packing_strategy
        if interdependence_matrix_mode not in ("padding", "aggregation"):
            raise ValueError(
                "`interdependence_matrix_mode` must be 'padding' or 'aggregation'. "
                f"Received: interdependence_matrix_mode={interdependence_matrix_mode!r}"
            )
        self.interdependence_matrix_mode = interdependence_matrix_mode
        self.normalization = validation.boolean("normalization", normalization)
        if normalization_mode not in _MODES:
            raise ValueError(
                f"`normalization_mode` must be one of {', '.join(_MODES)}. "
                f"Received: normalization_mode={normalization_mode!r}"
            )
        self.normalization_mode = normalization_mode

    def patch(self):
        """The `keras_rpn.geometry.Patch` of the function."""
        raise NotImplementedError

    def offsets(self):
        return self.patch().offsets

    def strides(self):
        """`(cd_h, cd_w, cd_d)`: the given ones, the packing strategy's for the others."""
        packed = self.patch().strides(self.packing_strategy)
        given = (self.cd_h, self.cd_w, self.cd_d)
        return tuple(p if g is None else g for g, p in zip(given, packed, strict=True))

    @property
    def patch_size(self):
        return len(self.offsets())

    def grid(self, shape):
        """`(h, w, d, C)` of an input shape, checked against the arguments."""
        shape = tuple(shape)
        if len(shape) not in (3, 4, 5) or None in shape[1:]:
            raise ValueError(
                f"{self.__class__.__name__} expects inputs (batch, cells, channels), "
                "(batch, h, w, channels) or (batch, h, w, d, channels) with known sizes. "
                f"Received: input_shape={shape}"
            )
        channels = shape[-1]
        if len(shape) == 3:
            if self.h is None or self.w is None:
                raise ValueError(
                    f"{self.__class__.__name__} needs `h` and `w` for inputs of shape "
                    f"(batch, cells, channels). Received: input_shape={shape}"
                )
            grid = (self.h, self.w, self.d or 1)
            if grid[0] * grid[1] * grid[2] != shape[1]:
                raise ValueError(
                    f"The grid h*w*d = {grid[0]}*{grid[1]}*{grid[2]} = "
                    f"{grid[0] * grid[1] * grid[2]} does not match the {shape[1]} cells of "
                    f"the input. Received: input_shape={shape}"
                )
        else:
            grid = tuple(shape[1:-1]) + ((1,) if len(shape) == 4 else ())
            for name, given, got in zip(
                ("h", "w", "d"), (self.h, self.w, self.d), grid, strict=True
            ):
                if (
                    given is not None
                    and given != got
                    and not (name == "d" and len(shape) == 4 and given == 1)
                ):
                    raise ValueError(
                        f"`{name}`={given} does not match the input grid {grid}. "
                        f"Received: input_shape={shape}"
                    )
        if self.channel_num is not None and self.channel_num != channels:
            raise ValueError(
                f"`channel_num`={self.channel_num} does not match the {channels} channels "
                f"of the input. Received: input_shape={shape}"
            )
        return grid + (channels,)

    def build(self, inputs_shape, data_shape=None):
        shape = tuple(inputs_shape)
        self.grid_ = self.grid(shape)
        h, w, d, _ = self.grid_
        strides = self.strides()
        self.packed_shape = geometry.output_grid((h, w, d), strides)
        # index[p, q]: the cell of offset q of patch p; h*w*d (the zero row) outside.
        self.index, inside = geometry.patch_table((h, w, d), self.patch(), strides)
        self.weights_table = None
        if self.normalization:
            self.weights_table = self.normalized_weights(inside, h * w * d)
        self.dim = h * w * d
        self.op = None

    def normalized_weights(self, inside, cells):
        """Entries of the degree-normalised patch matrix, one per `(patch, offset)`."""
        num_patches, k = self.index.shape
        values = inside.astype("float64")
        rows = self.index.reshape(-1)
        if self.interdependence_matrix_mode == "padding":
            cols = np.arange(num_patches * k)
        else:
            cols = np.repeat(np.arange(num_patches), k)
        values = values.reshape(-1)
        row_sums = np.bincount(rows, values, minlength=cells + 1)
        col_sums = np.bincount(cols, values)

        def safe(s):
            return np.where(s == 0, 1.0, s)

        mode = self.normalization_mode
        if mode == "row":
            values = values / safe(row_sums)[rows]
        elif mode == "column":
            values = values / safe(col_sums)[cols]
        elif mode == "symmetric":
            values = values / np.sqrt(safe(row_sums)[rows] * safe(col_sums)[cols])
        else:
            values = values / np.sqrt(safe(row_sums)[rows])
            col_sums = np.bincount(cols, values)
            values = values / np.sqrt(safe(col_sums)[cols])
        return values.reshape(num_patches, k)

    def output_dim(self, dim):
        return len(self.index) * (
            self.patch_size if self.interdependence_matrix_mode == "padding" else 1
        )

    def matrix(self, x=None):
        """The dense `hwd x P k` (padding) or `hwd x P` (aggregation) matrix, for reference."""
        num_patches, k = self.index.shape
        padding = self.interdependence_matrix_mode == "padding"
        a = np.zeros((self.dim + 1, num_patches * k if padding else num_patches))
        values = np.ones(self.index.shape) if self.weights_table is None else self.weights_table
        cols = (
            np.arange(num_patches * k).reshape(num_patches, k)
            if padding
            else np.repeat(np.arange(num_patches)[:, None], k, axis=1)
        )
        np.add.at(a, (self.index, cols), values)
        return ops.convert_to_tensor(a[: self.dim], dtype=self.compute_dtype)

    def call(self, inputs, data=None):
        shape = tuple(inputs.shape)
        if shape[1:] != tuple(self.input_spec_shape(shape))[1:]:
            raise ValueError(
                f"{self.__class__.__name__} was built for a grid {self.grid_[:3]} with "
                f"{self.grid_[3]} channels. Received: shape={shape}"
            )
        x = ops.reshape(inputs, (-1, self.dim, shape[-1]))
        x = ops.pad(x, [(0, 0), (0, 1), (0, 0)])  # the zero row for cells outside the grid
        num_patches, k = self.index.shape
        patches = ops.take(x, self.index.reshape(-1), axis=1)  # (batch, P k, C)
        if self.weights_table is not None:
            weights = ops.cast(self.weights_table.reshape(1, -1, 1), patches.dtype)
            patches = patches * weights
        patches = ops.reshape(patches, (-1, num_patches, k, shape[-1]))
        if self.interdependence_matrix_mode == "aggregation":
            y = ops.sum(patches, axis=2)
        elif self.is_instance:
            y = ops.reshape(patches, (-1, num_patches * k, shape[-1]))
        else:
            y = ops.reshape(ops.swapaxes(patches, -1, -2), (-1, num_patches, shape[-1] * k))
        return ops.reshape(y, self.output_shape_for(shape, batch=-1))

    def input_spec_shape(self, shape):
        h, w, d, c = self.grid_
        if len(shape) == 3:
            return (None, h * w * d, c)
        return (None, h, w) + ((d,) if len(shape) == 5 else ()) + (c,)

    def output_shape_for(self, shape, batch=None):
        num_patches, k = self.index.shape
        c = shape[-1]
        padding = self.interdependence_matrix_mode == "padding"
        if self.is_instance:
            return (batch, num_patches * k if padding else num_patches, c)
        features = c * k if padding else c
        if len(shape) == 3:
            return (batch, num_patches, features)
        packed = self.packed_shape if len(shape) == 5 else self.packed_shape[:2]
        return (batch,) + tuple(packed) + (features,)

    def compute_output_shape(self, inputs_shape, data_shape=None):
        if not self.built:
            self.build(inputs_shape)
        return self.output_shape_for(tuple(inputs_shape), batch=inputs_shape[0])

    def get_config(self):
        return {
            **super().get_config(),
            "h": self.h,
            "w": self.w,
            "d": self.d,
            "channel_num": self.channel_num,
            "packing_strategy": self.packing_strategy,
            "cd_h": self.cd_h,
            "cd_w": self.cd_w,
            "cd_d": self.cd_d,
            "interdependence_matrix_mode": self.interdependence_matrix_mode,
            "normalization": self.normalization,
            "normalization_mode": self.normalization_mode,
        }
