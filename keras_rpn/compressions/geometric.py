"""Geometric compressions: pooling over cuboid, cylinder or sphere patches of a grid."""

import numpy as np
from keras import ops

from keras_rpn import geometry
from keras_rpn import validation
from keras_rpn.compressions.base import Compression
from keras_rpn.compressions.base import MetricMixin
from keras_rpn.compressions.base import reduce
from keras_rpn.compressions.base import register


@register("geometric", "geometric_compression")
class GeometricCompression(MetricMixin, Compression):
    """Pooling: one statistic per patch of a grid, per channel.

    The input holds an `(h, w, d)` grid of `channels`-wide cells, flattened as Keras'
    `Flatten` flattens a `(batch, h, w, channels)` image (or a `(batch, h, w, d,
    channels)` volume): `x[..., ((i w + j) d + k) C + c]`. Patch centres are every
    `cd`-th cell from the top-left one (`cd = (cd_h, cd_w, cd_d)`, given or from
    `packing_strategy`); for each centre `p` and channel `c`:
    ```
    kappa(x)[p C + c] = metric({x[cell, c] : cell in patch(p), cell inside the grid})
    D(m) = P C,   P = ceil(h / cd_h) ceil(w / cd_w) ceil(d / cd_d),   m = h w d C
    ```
    so the output is the flattened `(batch, h', w', [d',] channels)` pooled grid.
    Cells of a patch outside the grid are ignored, as in Keras' pooling layers with
    `padding="same"`: a cuboid patch with `max` is `MaxPooling2D` (on `d = 1` grids)
    whose windows start `p_h`, `p_w` cells before each centre; `mean` averages
    the cells inside the grid only. tinyBIG pads with zeros instead (so its max of a
    negative patch at the border is 0, and its mean divides by the full patch size).

    `pool(grid)` applies the same pooling to an unflattened `(batch, h, w, channels)`
    (or `(batch, h, w, d, channels)`) tensor. Box patches (every cuboid) run on
    `keras.ops.max_pool` / `average_pool`; other shapes gather their cells with an
    index table built once (patch extraction), never a dense 0/1 matrix.

    Args:
        metric: `"max"`, `"min"`, `"mean"` or `"sum"` (required).
        patch: the patch, a `keras_rpn.geometry.Patch` config dict such as
            `{"shape": "sphere", "p_r": 1}` (the `cuboid_*`, `cylinder_*` and
            `sphere_*` classes take the patch sizes as arguments instead).
        h, w: grid height and width (required).
        d: grid depth (default 1).
        channels: cell width `C` (default 1).
        packing_strategy: how patch centres are spaced (`keras_rpn.geometry`;
            default `"densest_packing"`, every cell, as tinyBIG's default).
        cd_h, cd_w, cd_d: explicit centre distances (strides), overriding
            `packing_strategy`; give all three or none.
        **kwargs: `preprocessing`, `postprocessing` and base layer keyword arguments.

    >>> pool = keras_rpn.compressions.get(
    ...     "cuboid_max", h=8, w=8, channels=3, p_h=0, p_w=0, p_h_prime=1, p_w_prime=1,
    ...     cd_h=2, cd_w=2, cd_d=1)  # MaxPooling2D(2) on 8x8x3 images, flattened
    >>> pool.output_dim(8 * 8 * 3)
    48
    """

    allowed_metrics = ("max", "min", "mean", "sum")

    def __init__(
        self,
        metric=None,
        patch=None,
        h=None,
        w=None,
        d=1,
        channels=1,
        packing_strategy="densest_packing",
        cd_h=None,
        cd_w=None,
        cd_d=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self._set_metric(metric)
        if isinstance(patch, geometry.Patch):
            patch = patch.get_config()
        if not isinstance(patch, dict) or "shape" not in patch:
            raise ValueError(
                "Expected `patch` to be a patch config dict with a 'shape' key, e.g. "
                f"{{'shape': 'cuboid', 'p_h': 1, 'p_w': 1}}. Received: patch={patch!r}"
            )
        self.patch = geometry.Patch(**patch)
        self.h = validation.positive_int("h", h)
        self.w = validation.positive_int("w", w)
        self.d = validation.positive_int("d", d)
        self.channels = validation.positive_int("channels", channels)
        self.packing_strategy = packing_strategy
        given = [c is not None for c in (cd_h, cd_w, cd_d)]
        if any(given) and not all(given):
            raise ValueError(
                "Give all of `cd_h`, `cd_w`, `cd_d` or none of them. "
                f"Received: cd_h={cd_h!r}, cd_w={cd_w!r}, cd_d={cd_d!r}"
            )
        if all(given):
            names = ("cd_h", "cd_w", "cd_d")
            self.strides = tuple(
                validation.positive_int(n, v)
                for n, v in zip(names, (cd_h, cd_w, cd_d), strict=True)
            )
        else:
            self.strides = self.patch.strides(packing_strategy)
        self._explicit_strides = all(given)
        self.grid = (self.h, self.w, self.d)
        self.output_grid = geometry.output_grid(self.grid, self.strides)
        self._index, valid = geometry.patch_table(self.grid, self.patch, self.strides)
        self._count = valid.sum(axis=1).astype("float32")  # cells inside the grid, (P,)

    @property
    def num_patches(self):
        """`P`, the number of patch centres."""
        return int(np.prod(self.output_grid))

    def output_dim(self, input_dim):
        expected = self.h * self.w * self.d * self.channels
        if input_dim != expected:
            raise ValueError(
                f"{self.__class__.__name__} expects m = h w d channels = {self.h} x "
                f"{self.w} x {self.d} x {self.channels} = {expected} input features. "
                f"Received: m={input_dim}"
            )
        return self.num_patches * self.channels

    def expand(self, x):
        lead = ops.shape(x)[:-1]
        flat = ops.reshape(x, (-1, self.h, self.w, self.d, self.channels))
        pooled = self._pool(flat)
        return ops.reshape(pooled, tuple(lead) + (self.num_patches * self.channels,))

    def pool(self, grid):
        """Pools an unflattened `(batch, h, w, C)` or `(batch, h, w, d, C)` grid.

        Returns `(batch, h', w', C)` or `(batch, h', w', d', C)` with `(h', w', d')`
        the `output_grid` (the rank of the input is kept). The pre- and
        postprocessing layers, which act on flat features, are not applied.
        """
        shape = tuple(grid.shape[1:])
        if shape not in ((self.h, self.w, self.channels), self.grid + (self.channels,)):
            raise ValueError(
                f"{self.__class__.__name__}.pool expects grids of shape (batch, "
                f"{self.h}, {self.w}, {self.channels}) or (batch, {self.h}, {self.w}, "
                f"{self.d}, {self.channels}). Received: shape={tuple(grid.shape)}"
            )
        out = self._pool(ops.reshape(grid, (-1,) + self.grid + (self.channels,)))
        out = ops.reshape(out, (-1,) + self.output_grid + (self.channels,))
        if len(shape) == 3:
            out = ops.reshape(out, (-1,) + self.output_grid[:2] + (self.channels,))
        return out

    def _pool(self, volume):
        """`(N, h, w, d, C)` -> `(N, P, C)`."""
        if self.patch.is_box:
            return self._box_pool(volume)
        n = ops.shape(volume)[0]
        cells = ops.reshape(volume, (n, self.h * self.w * self.d, self.channels))
        fill = {"max": float("-inf"), "min": float("inf")}.get(self.metric, 0.0)
        pad = ops.full((n, 1, self.channels), fill, dtype=cells.dtype)
        patches = ops.take(ops.concatenate([cells, pad], axis=1), self._index, axis=1)
        if self.metric == "mean":
            count = ops.cast(self._count, patches.dtype)[:, None]
            return ops.sum(patches, axis=2) / count
        return reduce(patches, self.metric, axis=2)

    def _box_pool(self, volume):
        extent = self.patch.extent
        window = tuple(before + after + 1 for before, after in extent)
        # Pad so that window p starts `before` cells ahead of centre p * cd; pads never
        # win a max (min) and count zero in a sum, so they are ignored.
        pads = [(0, 0)]
        for n, s, (before, _), k, out in zip(
            self.grid, self.strides, extent, window, self.output_grid, strict=True
        ):
            pads.append((before, max((out - 1) * s + k - n - before, 0)))
        pads.append((0, 0))
        x = -volume if self.metric == "min" else volume
        extreme = self.metric in ("max", "min")
        x = ops.pad(x, pads, constant_values=float("-inf") if extreme else 0.0)
        rank = 2 if self.d == 1 and window[2] == 1 else 3
        if rank == 2:
            x = x[:, :, :, 0, :]
        if extreme:
            y = ops.max_pool(x, window[:rank], strides=self.strides[:rank], padding="valid")
            y = -y if self.metric == "min" else y
        else:
            y = ops.average_pool(x, window[:rank], strides=self.strides[:rank], padding="valid")
        oh, ow, od = self.output_grid
        y = y[:, :oh, :ow] if rank == 2 else y[:, :oh, :ow, :od]
        y = ops.reshape(y, (-1, self.num_patches, self.channels))
        if extreme:
            return y
        size = float(np.prod(window))
        scale = size if self.metric == "sum" else size / self._count
        return y * ops.cast(np.reshape(scale, (-1, 1)), y.dtype)

    def get_config(self):
        config = self._metric_config(super().get_config())
        config.update(
            patch=self.patch.get_config(),
            h=self.h,
            w=self.w,
            d=self.d,
            channels=self.channels,
            packing_strategy=self.packing_strategy,
        )
        strides = self.strides if self._explicit_strides else (None, None, None)
        config.update(zip(("cd_h", "cd_w", "cd_d"), strides, strict=True))
        return config


class _PatchArguments:
    """Subclasses taking the patch sizes as arguments: config lists them flat."""

    def get_config(self):
        config = super().get_config()
        patch = config.pop("patch")
        patch.pop("shape")
        config.update(patch)
        return config


@register("cuboid", "cuboid_patch_based_geometric_compression")
class CuboidPatchCompression(_PatchArguments, GeometricCompression):
    """Pooling over cuboid patches: offsets `[-p_h, p_h'] x [-p_w, p_w'] x [-p_d, p_d']`.

    `GeometricCompression` with a cuboid patch (see it for the grid layout and the
    formula); `D(m) = P C`.

    Packing strategies: `sparse_square` (centres `3 p` apart), `complete_square`
    (`2 p`), `dense_square` (`p`), `densest_packing` (1).

    Args:
        metric: `"max"`, `"min"`, `"mean"` or `"sum"`.
        p_h, p_w, p_d: cells before the centre (default 1, 1, 0: a 3 x 3 patch).
        p_h_prime, p_w_prime, p_d_prime: cells after it (default: the same).
        **kwargs: the grid (`h`, `w`, `d`, `channels`), `packing_strategy` or
            `cd_h, cd_w, cd_d`, and base keyword arguments.
    """

    def __init__(
        self,
        metric=None,
        p_h=1,
        p_w=1,
        p_d=0,
        p_h_prime=None,
        p_w_prime=None,
        p_d_prime=None,
        **kwargs,
    ):
        patch = dict(p_h=p_h, p_w=p_w, p_d=p_d, p_h_prime=p_h_prime)
        patch.update(p_w_prime=p_w_prime, p_d_prime=p_d_prime)
        super().__init__(metric=metric, patch={"shape": "cuboid", **patch}, **kwargs)


@register("cylinder", "cylinder_patch_based_geometric_compression")
class CylinderPatchCompression(_PatchArguments, GeometricCompression):
    """Pooling over cylinder patches: the disk `di^2 + dj^2 <= p_r^2`, `dk` in `[-p_d, p_d']`.

    `GeometricCompression` with a cylinder patch; `D(m) = P C`.

    Args:
        metric: `"max"`, `"min"`, `"mean"` or `"sum"`.
        p_r: disk radius (default 1).
        p_d, p_d_prime: depth before and after the centre (default 0, and `p_d`).
        **kwargs: the grid, packing and base keyword arguments.
    """

    def __init__(self, metric=None, p_r=1, p_d=0, p_d_prime=None, **kwargs):
        patch = {"shape": "cylinder", "p_r": p_r, "p_d": p_d, "p_d_prime": p_d_prime}
        super().__init__(metric=metric, patch=patch, **kwargs)


@register("sphere", "sphere_patch_based_geometric_compression")
class SpherePatchCompression(_PatchArguments, GeometricCompression):
    """Pooling over sphere patches: the ball `di^2 + dj^2 + dk^2 <= p_r^2`.

    `GeometricCompression` with a sphere patch; `D(m) = P C`.

    Args:
        metric: `"max"`, `"min"`, `"mean"` or `"sum"`.
        p_r: ball radius (default 1).
        **kwargs: the grid, packing and base keyword arguments.
    """

    def __init__(self, metric=None, p_r=1, **kwargs):
        super().__init__(metric=metric, patch={"shape": "sphere", "p_r": p_r}, **kwargs)


@register("cuboid_max", "cuboid_max_based_geometric_compression")
class CuboidMaxCompression(CuboidPatchCompression):
    """Max pooling over cuboid patches (`CuboidPatchCompression` with `metric="max"`)."""

    fixed_metric = "max"


@register("cuboid_min", "cuboid_min_based_geometric_compression")
class CuboidMinCompression(CuboidPatchCompression):
    """Min pooling over cuboid patches (`CuboidPatchCompression` with `metric="min"`)."""

    fixed_metric = "min"


@register("cuboid_mean", "cuboid_mean_based_geometric_compression")
class CuboidMeanCompression(CuboidPatchCompression):
    """Mean pooling over cuboid patches (`CuboidPatchCompression` with `metric="mean"`)."""

    fixed_metric = "mean"


@register("cylinder_max", "cylinder_max_based_geometric_compression")
class CylinderMaxCompression(CylinderPatchCompression):
    """Max pooling over cylinder patches (`metric="max"`)."""

    fixed_metric = "max"


@register("cylinder_min", "cylinder_min_based_geometric_compression")
class CylinderMinCompression(CylinderPatchCompression):
    """Min pooling over cylinder patches (`metric="min"`)."""

    fixed_metric = "min"


@register("cylinder_mean", "cylinder_mean_based_geometric_compression")
class CylinderMeanCompression(CylinderPatchCompression):
    """Mean pooling over cylinder patches (`metric="mean"`)."""

    fixed_metric = "mean"


@register("sphere_max", "sphere_max_based_geometric_compression")
class SphereMaxCompression(SpherePatchCompression):
    """Max pooling over sphere patches (`metric="max"`)."""

    fixed_metric = "max"


@register("sphere_min", "sphere_min_based_geometric_compression")
class SphereMinCompression(SpherePatchCompression):
    """Min pooling over sphere patches (`metric="min"`)."""

    fixed_metric = "min"


@register("sphere_mean", "sphere_mean_based_geometric_compression")
class SphereMeanCompression(SpherePatchCompression):
    """Mean pooling over sphere patches (`metric="mean"`)."""

    fixed_metric = "mean"
