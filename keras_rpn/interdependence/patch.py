"""Geometric patch interdependence: cuboid, cylinder and sphere patches, and the
tinyBIG subclasses that fix their padding or aggregation mode.

The patch shapes plug into `geometric.GeometricInterdependence` (a gather of every
patch's cells, the dense matrix never formed).
"""

from keras_rpn import geometry
from keras_rpn import validation
from keras_rpn.interdependence.base import register
from keras_rpn.interdependence.geometric import GeometricInterdependence


class _FixedMode:
    """Mixin of the tinyBIG subclasses that fix `interdependence_matrix_mode`."""

    fixed_mode = "padding"

    def __init__(self, **kwargs):
        kwargs.pop("interdependence_matrix_mode", None)
        super().__init__(interdependence_matrix_mode=self.fixed_mode, **kwargs)

    def get_config(self):
        config = super().get_config()
        config.pop("interdependence_matrix_mode")
        return config


@register("cuboid_patch", "geometric", "cuboid_patch_based_geometric_interdependence")
class CuboidPatchInterdependence(GeometricInterdependence):
    """Cuboid patches: offsets `i in [-p_h, p_h']`, `j in [-p_w, p_w']`, `k in [-p_d, p_d']`.

    `k = (p_h + p_h' + 1)(p_w + p_w' + 1)(p_d + p_d' + 1)` cells per patch, enumerated
    `i` outer, `k` inner. Packing strategies (centre distances): `"sparse_square"`
    `3p`, `"complete_square"` `2p`, `"dense_square"` `p`, `"densest_packing"` 1.

    Args:
        p_h, p_w: half sizes above/left of the centre (defaults 1).
        p_d: half size in depth (default 0).
        p_h_prime, p_w_prime, p_d_prime: sizes below/right/behind (default: equal).
        h, w, d, channel_num, packing_strategy, cd_h, cd_w, cd_d,
            interdependence_matrix_mode, normalization, normalization_mode,
            interdependence_type: see `GeometricInterdependence`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Example (a 3x3 convolution's patches of a 4x4 grid with 2 channels):
    >>> xi = keras_rpn.interdependence.get("cuboid_patch", p_h=1, p_w=1)
    >>> tuple(xi(np.zeros((8, 4, 4, 2))).shape)
    (8, 4, 4, 18)
    """

    def __init__(
        self, p_h=1, p_w=1, p_d=0, p_h_prime=None, p_w_prime=None, p_d_prime=None, **kwargs
    ):
        self.p_h = validation.non_negative_int("p_h", p_h)
        self.p_w = validation.non_negative_int("p_w", p_w)
        self.p_d = validation.non_negative_int("p_d", p_d)
        self.p_h_prime = (
            self.p_h if p_h_prime is None else validation.non_negative_int("p_h_prime", p_h_prime)
        )
        self.p_w_prime = (
            self.p_w if p_w_prime is None else validation.non_negative_int("p_w_prime", p_w_prime)
        )
        self.p_d_prime = (
            self.p_d if p_d_prime is None else validation.non_negative_int("p_d_prime", p_d_prime)
        )
        super().__init__(**kwargs)

    def patch(self):
        return geometry.Patch(
            "cuboid",
            **{
                key: getattr(self, key)
                for key in ("p_h", "p_w", "p_d", "p_h_prime", "p_w_prime", "p_d_prime")
            },
        )

    def get_config(self):
        return {
            **super().get_config(),
            **{
                key: getattr(self, key)
                for key in ("p_h", "p_w", "p_d", "p_h_prime", "p_w_prime", "p_d_prime")
            },
        }


@register("cylinder_patch", "cylinder_patch_based_geometric_interdependence")
class CylinderPatchInterdependence(GeometricInterdependence):
    """Cylinder patches: a disk `i^2 + j^2 <= p_r^2` times depths `k in [-p_d, p_d']`.

    Packing strategies: `"sparse_square"`, `"complete_square"`, `"sparse_hexagonal"`,
    `"complete_hexagonal"`, `"dense_hexagonal"`, `"denser_hexagonal"`,
    `"densest_packing"` (tinyBIG's multiples of `p_r` and `p_d`).

    Difference from tinyBIG: tinyBIG's cylinder interdependence classes always raise
    (they pass `r=` to a patch expecting `p_r`), and its patch uses `p_d'` for both
    depth directions; here the documented patch is built (`r` is accepted as an
    alias of `p_r`).

    Args:
        p_r: disk radius (default 1); `r` is accepted as an alias.
        p_d: depth before the centre (default 0); `p_d_prime`: after (default `p_d`).
        h, w, d, channel_num, packing_strategy, cd_h, cd_w, cd_d,
            interdependence_matrix_mode, normalization, normalization_mode,
            interdependence_type: see `GeometricInterdependence`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.
    """

    def __init__(self, p_r=1, p_d=0, p_d_prime=None, r=None, **kwargs):
        self.p_r = validation.non_negative_int("p_r", p_r if r is None else r)
        self.p_d = validation.non_negative_int("p_d", p_d)
        self.p_d_prime = (
            self.p_d if p_d_prime is None else validation.non_negative_int("p_d_prime", p_d_prime)
        )
        super().__init__(**kwargs)

    def patch(self):
        return geometry.Patch("cylinder", p_r=self.p_r, p_d=self.p_d, p_d_prime=self.p_d_prime)

    def get_config(self):
        return {
            **super().get_config(),
            "p_r": self.p_r,
            "p_d": self.p_d,
            "p_d_prime": self.p_d_prime,
        }


@register("sphere_patch", "sphere_patch_based_geometric_interdependence")
class SpherePatchInterdependence(GeometricInterdependence):
    """Sphere patches: the ball `i^2 + j^2 + k^2 <= p_r^2`.

    Packing strategies: simple cubic, face-centred cubic and hexagonal (sparse,
    complete, dense variants) and `"densest_packing"` (tinyBIG's multiples of `p_r`).

    Difference from tinyBIG: tinyBIG's sphere interdependence classes always raise
    (they pass `r=` to a patch expecting `p_r`); here the documented patch is built
    (`r` is accepted as an alias of `p_r`).

    Args:
        p_r: ball radius (default 1); `r` is accepted as an alias.
        h, w, d, channel_num, packing_strategy, cd_h, cd_w, cd_d,
            interdependence_matrix_mode, normalization, normalization_mode,
            interdependence_type: see `GeometricInterdependence`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.
    """

    def __init__(self, p_r=1, r=None, **kwargs):
        self.p_r = validation.non_negative_int("p_r", p_r if r is None else r)
        super().__init__(**kwargs)

    def patch(self):
        return geometry.Patch("sphere", p_r=self.p_r)

    def get_config(self):
        return {**super().get_config(), "p_r": self.p_r}


@register("cuboid_patch_padding", "cuboid_patch_padding_based_geometric_interdependence")
class CuboidPatchPaddingInterdependence(_FixedMode, CuboidPatchInterdependence):
    """`CuboidPatchInterdependence` in padding mode (see it for the arguments)."""

    fixed_mode = "padding"


@register("cuboid_patch_aggregation", "cuboid_patch_aggregation_based_geometric_interdependence")
class CuboidPatchAggregationInterdependence(_FixedMode, CuboidPatchInterdependence):
    """`CuboidPatchInterdependence` in aggregation mode (see it for the arguments)."""

    fixed_mode = "aggregation"


@register("cylinder_patch_padding", "cylinder_patch_padding_based_geometric_interdependence")
class CylinderPatchPaddingInterdependence(_FixedMode, CylinderPatchInterdependence):
    """`CylinderPatchInterdependence` in padding mode (see it for the arguments)."""

    fixed_mode = "padding"


@register(
    "cylinder_patch_aggregation", "cylinder_patch_aggregation_based_geometric_interdependence"
)
class CylinderPatchAggregationInterdependence(_FixedMode, CylinderPatchInterdependence):
    """`CylinderPatchInterdependence` in aggregation mode (see it for the arguments)."""

    fixed_mode = "aggregation"


@register("sphere_patch_padding", "sphere_patch_padding_based_geometric_interdependence")
class SpherePatchPaddingInterdependence(_FixedMode, SpherePatchInterdependence):
    """`SpherePatchInterdependence` in padding mode (see it for the arguments)."""

    fixed_mode = "padding"


@register("sphere_patch_aggregation", "sphere_patch_aggregation_based_geometric_interdependence")
class SpherePatchAggregationInterdependence(_FixedMode, SpherePatchInterdependence):
    """`SpherePatchInterdependence` in aggregation mode (see it for the arguments)."""

    fixed_mode = "aggregation"
