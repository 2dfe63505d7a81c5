"""Grid (convolution-like) RPN 2 head and layer, and grid compression (pooling)."""

import keras
import numpy as np
from keras import ops

from keras_rpn import geometry
from keras_rpn import validation
from keras_rpn.layers.interdependent import HeadStack
from keras_rpn.layers.interdependent import InterdependentHead

_DEFAULT_PATCH = {"shape": "cuboid", "p_h": 1, "p_w": 1}


def _patch(patch):
    if patch is None:
        patch = _DEFAULT_PATCH
    if isinstance(patch, geometry.Patch):
        return patch
    if not isinstance(patch, dict) or "shape" not in patch:
        raise ValueError(
            "Expected `patch` to be a keras_rpn.geometry.Patch or a patch config dict "
            f"with a 'shape' key, e.g. {_DEFAULT_PATCH}. Received: patch={patch!r}"
        )
    return geometry.Patch(**patch)


class GridMixin:
    """The grid arguments shared by `GridHead` and `GridCompression`: a patch, and
    the stride from a packing strategy or given."""

    def _init_grid(self, patch, packing_strategy, strides):
        self.patch = _patch(patch)
        self.packing_strategy = packing_strategy
        self.given_strides = None
        if strides is not None:
            if isinstance(strides, int):
                strides = (strides, strides)
            strides = tuple(
                validation.positive_int(f"strides[{i}]", s) for i, s in enumerate(strides)
            )
            if len(strides) not in (2, 3):
                raise ValueError(f"`strides` must hold 2 or 3 integers. Received: {strides}")
            self.given_strides = list(strides)
            strides = strides + (1,) * (3 - len(strides))
        else:
            strides = self.patch.strides(packing_strategy)
        self.strides = strides

    def grid_shape(self, input_shape):
        """`(h, w, d, channels)` of a `(batch, h, w, C)` or `(batch, h, w, d, C)` input."""
        shape = tuple(input_shape)
        if len(shape) not in (4, 5) or any(s is None for s in shape[1:]):
            raise ValueError(
                f"{self.__class__.__name__} expects images (batch, h, w, channels) or "
                f"volumes (batch, h, w, d, channels) of known size. Received: "
                f"input_shape={shape}"
            )
        h, w = int(shape[1]), int(shape[2])
        d = int(shape[3]) if len(shape) == 5 else 1
        return h, w, d, int(shape[-1])

    def output_grid_shape(self, input_shape):
        h, w, d, _ = self.grid_shape(input_shape)
        out = geometry.output_grid((h, w, d), self.strides)
        return out if len(input_shape) == 5 else out[:2]

    def grid_config(self):
        return {
            "patch": self.patch.get_config(),
            "packing_strategy": self.packing_strategy,
            "strides": self.given_strides,
        }


@keras.saving.register_keras_serializable(package="keras_rpn")
class GridHead(GridMixin, InterdependentHead):
    """Convolution-like RPN 2 head: one shared RPN function of every grid patch.

    For an image `X` of shape `(batch, h, w, C_in)` (or a volume `(batch, h, w, d,
    C_in)`), patch centres every `stride` cells from the top-left cell, and the patch
    vector `x_p` of centre `p` (its cells' channels, `C_in k` values ordered channel
    first then offset, zeros outside the grid; tinyBIG's geometric interdependence
    in padding mode):
    ```
    y_p = activation( F_channel([ kappa(x_p) psi(w_c)^T ]) + b + pi(x[p]) )
    ```
    Output `(batch, ceil(h / s_h), ceil(w / s_w), n)`. With the identity expansion this
    is a convolution with kernel `psi(w_c)` (computed as one: `keras.ops.conv` on the
    zero-padded input); any other expansion is applied to the extracted patches. The
    remainder acts on the centre cell (a `"linear"` remainder is a 1x1 convolution with
    the stride: ResNet's projection shortcut). Unlike tinyBIG's grid head, the bias is
    one per output channel (tinyBIG: one per position and channel) and the remainder is
    per cell (tinyBIG: one dense matrix over the flattened image).

    Args:
        units: output channels `n`.
        patch: a `keras_rpn.geometry.Patch` or its config dict (default
            `{"shape": "cuboid", "p_h": 1, "p_w": 1}`: a 3x3 patch centred on its
            cell; `p_h_prime`, `p_w_prime` for asymmetric ones; cylinders and spheres
            by radius `p_r`).
        packing_strategy: spacing of the centres (default `"densest_packing"`: every
            cell, stride 1; `"complete_square"` gives stride `2 p`, ...).
        strides: explicit `(s_h, s_w)` or `(s_h, s_w, s_d)`, overriding the packing.
        **kwargs: `InterdependentHead` arguments (`expansion`, `reconciliation`,
            `remainder`, `channels`, `activation`, `use_bias`, initializers, ...).

    Example:
    >>> head = keras_rpn.layers.GridHead(16, strides=2)
    >>> head(np.zeros((2, 8, 8, 3))).shape
    (2, 4, 4, 16)
    """

    def __init__(self, units, patch=None, packing_strategy="densest_packing", strides=None, **kwargs):
        super().__init__(units, **kwargs)
        self._init_grid(patch, packing_strategy, strides)

    def feature_dim(self, input_shape):
        return self.grid_shape(input_shape)[-1] * self.patch.size

    def build_mixing(self, input_shape):
        h, w, d, _ = self.grid_shape(input_shape)
        self.grid = (h, w, d)
        self.rank = len(input_shape) - 2
        self.output_grid = geometry.output_grid(self.grid, self.strides)
        index, _ = geometry.patch_table(self.grid, self.patch, self.strides)
        self.patch_index = index  # numpy (P, k), h w d = a padding cell
        # The bounding box of the patch, for the convolution: box cell -> offset index.
        extent = self.patch.extent
        self.window = tuple(before + after + 1 for before, after in extent)
        lookup = {tuple(o): q for q, o in enumerate(self.patch.offsets.tolist())}
        box = np.full(self.window, self.patch.size, dtype="int32")
        for cell in np.ndindex(*self.window):
            offset = tuple(c - before for c, (before, _) in zip(cell, extent))
            box[cell] = lookup.get(offset, self.patch.size)
        if self.rank == 2:  # depth offsets other than 0 only ever see padding
            box = box[:, :, extent[2][0]]
        self.box_index = box.reshape(-1)
        self.pads = [
            (before, max((out - 1) * s + k - n - before, 0))
            for n, s, (before, _), k, out in zip(
                self.grid, self.strides, extent, self.window, self.output_grid
            )
        ][: self.rank]
        head = self.feature_head
        self.use_conv = (
            getattr(head.expansion, "is_identity", False)
            and not head.expansion.has_processing
            and head.kernel is not None
        )

    def features(self, x):
        """The patch vectors, `(batch, h', w', [d',] C_in k)`."""
        channels = x.shape[-1]
        cells = ops.reshape(x, (-1, int(np.prod(self.grid)), channels))
        cells = ops.pad(cells, [(0, 0), (0, 1), (0, 0)])  # the padding cell
        patches = ops.take(cells, self.patch_index, axis=1)  # (b, P, k, C)
        patches = ops.swapaxes(patches, -1, -2)  # channel first, then offset
        return ops.reshape(patches, (-1,) + self._out_grid() + (channels * self.patch.size,))

    def _out_grid(self):
        return tuple(self.output_grid[: self.rank])

    def contract(self, x, training=None):
        if not self.use_conv:
            return super().contract(x, training=training)
        head = self.feature_head
        channels_in = x.shape[-1]
        w = head.reconciliation.reconcile(head.kernel)  # (C, n, C_in k)
        filters = head.channels * self.units
        w = ops.reshape(w, (filters, channels_in, self.patch.size))
        w = ops.pad(w, [(0, 0), (0, 0), (0, 1)])  # a zero for box cells outside the patch
        kernel = ops.take(w, self.box_index, axis=2)
        kernel = ops.reshape(kernel, (filters, channels_in) + self.window[: self.rank])
        kernel = ops.transpose(kernel, tuple(range(2, 2 + self.rank)) + (1, 0))
        if self.rank == 2 and len(x.shape) == 5:
            x = x[..., 0, :]
        x = ops.pad(x, [(0, 0)] + self.pads + [(0, 0)])
        kernel = ops.cast(kernel, x.dtype)
        y = ops.conv(x, kernel, strides=self.strides[: self.rank], padding="valid")
        y = y[(slice(None),) + tuple(slice(0, n) for n in self._out_grid())]
        y = ops.reshape(y, (-1,) + self._out_grid() + (head.channels, self.units))
        if head.channels == 1 and head.channel_fusion.identity_for_one_input:
            return y[..., 0, :]
        return head.channel_fusion(y)

    def mix(self, y, x, context=None, mask=None):
        return y  # the patches are the mixing (attribute interdependence)

    def remainder_input(self, x):
        strides = self.strides[: len(x.shape) - 2]
        return x[(slice(None),) + tuple(slice(None, None, s) for s in strides)]

    def compute_output_shape(self, input_shape):
        n = self.feature_head.channel_fusion.output_dim(self.feature_head.channels, self.units)
        return (input_shape[0],) + self.output_grid_shape(input_shape) + (n,)

    def get_config(self):
        return {**super().get_config(), **self.grid_config()}


@keras.saving.register_keras_serializable(package="keras_rpn")
class GridLayer(HeadStack):
    """`width` independent `GridHead`s, fused (tinyBIG's `grid_interdependence_layer`).

    Example:
    >>> layer = keras_rpn.layers.GridLayer(16, width=2)
    >>> layer(np.zeros((2, 8, 8, 3))).shape
    (2, 8, 8, 16)
    """

    head_class = GridHead


@keras.saving.register_keras_serializable(package="keras_rpn")
class GridCompression(GridMixin, keras.layers.Layer):
    """Pooling over grid patches (tinyBIG's `grid_compression_head`/`_layer`).

    For an image `(batch, h, w, C)` (or a volume `(batch, h, w, d, C)`), every
    channel of every patch (centres every `stride` cells from the top-left cell)
    reduces to one value with `metric`, ignoring cells outside the grid:
    `y[p, c] = metric({x[cell, c] : cell in patch(p)})`. A cuboid patch with
    `"max"` is `keras.layers.MaxPooling2D`. The pooling is the geometric compression
    of `keras_rpn.compressions` applied to the unflattened grid.

    Args:
        metric: `"max"` (default), `"min"`, `"mean"` or `"sum"`.
        patch: as in `GridHead` (default: a 2x2 patch, `{"shape": "cuboid", "p_h": 0,
            "p_w": 0, "p_h_prime": 1, "p_w_prime": 1}`).
        packing_strategy: spacing of the centres (default `None`: the `strides`).
        strides: `(s_h, s_w)` or `(s_h, s_w, s_d)` (default 2, if no packing given).
        **kwargs: base layer keyword arguments.

    Example:
    >>> pool = keras_rpn.layers.GridCompression()
    >>> pool(np.zeros((2, 8, 8, 3))).shape
    (2, 4, 4, 3)
    """

    def __init__(self, metric="max", patch=None, packing_strategy=None, strides=None, **kwargs):
        super().__init__(**kwargs)
        if patch is None:
            patch = {"shape": "cuboid", "p_h": 0, "p_w": 0, "p_h_prime": 1, "p_w_prime": 1}
        if packing_strategy is None and strides is None:
            strides = 2
        self._init_grid(patch, packing_strategy or "densest_packing", strides)
        self.metric = metric
        self._check_metric()

    def _check_metric(self):
        from keras_rpn.compressions.geometric import GeometricCompression

        if self.metric not in GeometricCompression.metrics:
            raise ValueError(
                f"Unknown metric {self.metric!r}. Valid metrics: "
                f"{', '.join(GeometricCompression.metrics)}."
            )

    def build(self, input_shape):
        from keras_rpn import compressions

        h, w, d, channels = self.grid_shape(input_shape)
        cd_h, cd_w, cd_d = self.strides
        compression = compressions.get(
            "geometric",
            metric=self.metric,
            patch=self.patch.get_config(),
            h=h,
            w=w,
            d=d,
            channels=channels,
            cd_h=cd_h,
            cd_w=cd_w,
            cd_d=cd_d,
            name="compression",
            dtype=self.dtype_policy,
        )
        # Held untracked: it has no weights, and its class attribute `metrics` (the
        # names of its metrics) would shadow `Layer.metrics` in Keras' metric walk.
        object.__setattr__(self, "_compression", compression)

    def call(self, inputs):
        return self._compression.pool(inputs)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + self.output_grid_shape(input_shape) + (input_shape[-1],)

    def get_config(self):
        return {
            **super().get_config(),
            "metric": self.metric,
            **self.grid_config(),
        }
