"""Grid (convolution-like) RPN 2 head and layer, and grid compression (pooling)."""

import keras
import numpy as np
from keras import ops

from keras_rpn import compressions
from keras_rpn import interdependence
from keras_rpn import validation
from keras_rpn.layers.interdependent import HeadStack
from keras_rpn.layers.interdependent import InterdependentHead

_DEFAULT_PATCH = {"shape": "cuboid", "p_h": 1, "p_w": 1}
_DEFAULT_POOLING_PATCH = {"shape": "cuboid", "p_h": 0, "p_w": 0, "p_h_prime": 1, "p_w_prime": 1}
_SHAPES = ("cuboid", "cylinder", "sphere")


def _patch_config(patch, default):
    patch = dict(default if patch is None else patch)
    if patch.get("shape") not in _SHAPES:
        raise ValueError(
            f"Expected `patch` to be a patch config dict with a 'shape' key (one of "
            f"{', '.join(_SHAPES)}), e.g. {_DEFAULT_PATCH}. Received: patch={patch!r}"
        )
    return patch


def _strides(strides):
    """`None`, or the given strides as a list of 2 or 3 positive integers."""
    if strides is None:
        return None
    if isinstance(strides, int):
        strides = (strides, strides)
    strides = [validation.positive_int(f"strides[{i}]", s) for i, s in enumerate(strides)]
    if len(strides) not in (2, 3):
        raise ValueError(f"`strides` must hold 2 or 3 integers. Received: strides={strides}")
    return strides


def _centre_distances(strides):
    """`cd_h`, `cd_w`, `cd_d` arguments of the patch functions for given strides."""
    if strides is None:
        return {}
    return dict(
        zip(("cd_h", "cd_w", "cd_d"), list(strides) + [1] * (3 - len(strides)), strict=True)
    )


def grid_shape(layer, input_shape):
    """`(h, w, d, channels)` of a `(batch, h, w, C)` or `(batch, h, w, d, C)` input."""
    shape = tuple(input_shape)
    if len(shape) not in (4, 5) or any(s is None for s in shape[1:]):
        raise ValueError(
            f"{layer.__class__.__name__} expects images (batch, h, w, channels) or "
            f"volumes (batch, h, w, d, channels) of known size. Received: "
            f"input_shape={shape}"
        )
    d = int(shape[3]) if len(shape) == 5 else 1
    return int(shape[1]), int(shape[2]), d, int(shape[-1])


@keras.saving.register_keras_serializable(package="keras_rpn")
class GridHead(InterdependentHead):
    """Convolution-like RPN 2 head: one shared RPN function of every grid patch.

    For an image `X` of shape `(batch, h, w, C_in)` (or a volume `(batch, h, w, d,
    C_in)`), patch centres every `stride` cells from the top-left cell, and the patch
    vector `x_p` of centre `p` (its cells' channels, `C_in k` values ordered channel
    first then offset, zeros outside the grid: the geometric interdependence of
    `keras_rpn.interdependence` in padding mode, tinyBIG's):
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
        patch: the patch, a dict: `"shape"` (`"cuboid"`, `"cylinder"` or
            `"sphere"`) and the sizes of `keras_rpn.interdependence`'s patch functions
            (default `{"shape": "cuboid", "p_h": 1, "p_w": 1}`: a 3x3 patch centred on
            its cell; `p_h_prime`, `p_w_prime` for asymmetric ones; cylinders and
            spheres by radius `p_r`).
        packing_strategy: spacing of the centres (default `"densest_packing"`: every
            cell, stride 1; `"complete_square"` gives stride `2 p`, ...).
        strides: explicit `(s_h, s_w)` or `(s_h, s_w, s_d)`, overriding the packing.
        **kwargs: `InterdependentHead` arguments (`expansion`, `reconciliation`,
            `remainder`, `channels`, `activation`, `use_bias`, initializers, ...).

    Example:
    >>> head = keras_rpn.layers.GridHead(16, strides=2)
    >>> tuple(head(np.zeros((2, 8, 8, 3))).shape)
    (2, 4, 4, 16)
    """

    def __init__(
        self, units, patch=None, packing_strategy="densest_packing", strides=None, **kwargs
    ):
        super().__init__(units, **kwargs)
        self.patch = _patch_config(patch, _DEFAULT_PATCH)
        self.packing_strategy = packing_strategy
        self.strides = _strides(strides)
        arguments = {k: v for k, v in self.patch.items() if k != "shape"}
        self.interdependence = interdependence.get(
            f"{self.patch['shape']}_patch",
            interdependence_type="attribute",
            packing_strategy=packing_strategy,
            name="interdependence",
            dtype=self.dtype_policy,
            **arguments,
            **_centre_distances(self.strides),
        )

    def feature_dim(self, input_shape):
        return grid_shape(self, input_shape)[-1] * self.interdependence.patch_size

    def build_mixing(self, input_shape):
        grid = grid_shape(self, input_shape)[:3]
        self.rank = len(input_shape) - 2
        patches = self.interdependence
        if not patches.built:
            patches.build(tuple(input_shape))
        offsets = patches.offsets()
        self.num_offsets = len(offsets)
        self.output_grid = tuple(patches.packed_shape)[: self.rank]
        # The bounding box of the patch, for the convolution: box cell -> offset index
        # (the patch size for cells of the box outside the patch, a zero weight).
        low, high = offsets.min(axis=0), offsets.max(axis=0)
        self.window = tuple(int(v) for v in high - low + 1)
        box = np.full(self.window, len(offsets), dtype="int32")
        box[tuple((offsets - low).T)] = np.arange(len(offsets))
        if self.rank == 2:  # depth offsets other than 0 only ever see padding
            box = box[:, :, -low[2]]
        self.box_index = box.reshape(-1)
        strides = patches.strides()
        self.conv_strides = tuple(strides[: self.rank])
        self.pads = [
            (int(-lo), max((out - 1) * s + k - n + int(lo), 0))
            for n, s, lo, k, out in zip(
                grid, strides, low, self.window, patches.packed_shape, strict=True
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
        return self.interdependence(x)

    def contract(self, x, training=None):
        if not self.use_conv:
            return super().contract(x, training=training)
        head = self.feature_head
        channels_in = x.shape[-1]
        w = head.reconciliation.reconcile(head.kernel)  # (C, n, C_in k)
        filters = head.channels * self.units
        w = ops.reshape(w, (filters, channels_in, self.num_offsets))
        w = ops.pad(w, [(0, 0), (0, 0), (0, 1)])  # a zero for box cells outside the patch
        kernel = ops.take(w, self.box_index, axis=2)
        kernel = ops.reshape(kernel, (filters, channels_in) + self.window[: self.rank])
        kernel = ops.transpose(kernel, tuple(range(2, 2 + self.rank)) + (1, 0))
        x = ops.pad(x, [(0, 0)] + self.pads + [(0, 0)])
        kernel = ops.cast(kernel, x.dtype)
        y = ops.conv(x, kernel, strides=self.conv_strides, padding="valid")
        y = y[(slice(None),) + tuple(slice(0, n) for n in self.output_grid)]
        y = ops.reshape(y, (-1,) + self.output_grid + (head.channels, self.units))
        if head.channels == 1 and head.channel_fusion.identity_for_one_input:
            return y[..., 0, :]
        return head.channel_fusion(y)

    def mix(self, y, x, context=None, mask=None):
        return y  # the patches are the mixing (attribute interdependence)

    def remainder_input(self, x):
        return x[(slice(None),) + tuple(slice(None, None, s) for s in self.conv_strides)]

    def compute_output_shape(self, input_shape):
        n = self.feature_head.channel_fusion.output_dim(self.feature_head.channels, self.units)
        patches = self.interdependence.compute_output_shape(tuple(input_shape))
        return tuple(patches[:-1]) + (n,)

    def get_config(self):
        return {
            **super().get_config(),
            "patch": self.patch,
            "packing_strategy": self.packing_strategy,
            "strides": self.strides,
        }


@keras.saving.register_keras_serializable(package="keras_rpn")
class GridLayer(HeadStack):
    """`width` independent `GridHead`s, fused (tinyBIG's `grid_interdependence_layer`).

    Example:
    >>> layer = keras_rpn.layers.GridLayer(16, width=2)
    >>> tuple(layer(np.zeros((2, 8, 8, 3))).shape)
    (2, 8, 8, 16)
    """

    head_class = GridHead


@keras.saving.register_keras_serializable(package="keras_rpn")
class GridCompression(keras.layers.Layer):
    """Pooling over grid patches (tinyBIG's `grid_compression_head`/`_layer`).

    For an image `(batch, h, w, C)` (or a volume `(batch, h, w, d, C)`), every
    channel of every patch (centres every `stride` cells from the top-left cell)
    reduces to one value with `metric`, ignoring cells outside the grid:
    `y[p, c] = metric({x[cell, c] : cell in patch(p)})`. A cuboid patch with
    `"max"` is `keras.layers.MaxPooling2D`. The pooling is the geometric compression
    of `keras_rpn.compressions`, applied to the unflattened grid.

    Args:
        metric: `"max"` (default), `"min"`, `"mean"` or `"sum"`.
        patch: as in `GridHead` (default: a 2x2 patch, `{"shape": "cuboid", "p_h": 0,
            "p_w": 0, "p_h_prime": 1, "p_w_prime": 1}`).
        packing_strategy: spacing of the centres, when no `strides` are given.
        strides: `(s_h, s_w)` or `(s_h, s_w, s_d)` (default 2 when no packing
            strategy is given).
        **kwargs: base layer keyword arguments.

    Example:
    >>> pool = keras_rpn.layers.GridCompression()
    >>> tuple(pool(np.zeros((2, 8, 8, 3))).shape)
    (2, 4, 4, 3)
    """

    def __init__(self, metric="max", patch=None, packing_strategy=None, strides=None, **kwargs):
        super().__init__(**kwargs)
        if metric not in compressions.GeometricCompression.allowed_metrics:
            raise ValueError(
                f"Unknown metric {metric!r}. Valid metrics: "
                f"{', '.join(compressions.GeometricCompression.allowed_metrics)}."
            )
        self.metric = metric
        self.patch = _patch_config(patch, _DEFAULT_POOLING_PATCH)
        self.packing_strategy = packing_strategy
        self.strides = _strides(2 if strides is None and packing_strategy is None else strides)

    def build(self, input_shape):
        h, w, d, channels = grid_shape(self, input_shape)
        packing = (
            {} if self.packing_strategy is None else {"packing_strategy": self.packing_strategy}
        )
        self.compression = compressions.get(
            "geometric",
            metric=self.metric,
            patch=self.patch,
            h=h,
            w=w,
            d=d,
            channels=channels,
            name="compression",
            dtype=self.dtype_policy,
            **packing,
            **_centre_distances(self.strides),
        )

    def call(self, inputs):
        return self.compression.pool(inputs)

    def compute_output_shape(self, input_shape):
        if not self.built:
            self.build(input_shape)
        grid = self.compression.output_grid[: len(input_shape) - 2]
        return (input_shape[0],) + tuple(grid) + (input_shape[-1],)

    def get_config(self):
        return {
            **super().get_config(),
            "metric": self.metric,
            "patch": self.patch,
            "packing_strategy": self.packing_strategy,
            "strides": self.strides,
        }
