"""Patch geometry on a grid: cuboid, cylinder and sphere patches, packings, index tables.

Shared by every function that works on patches of an `(h, w, d)` grid (geometric
compressions, i.e. pooling; geometric interdependence, i.e. convolution). Everything
here is numpy, computed once when a layer is built; layers turn the tables into
constants for `keras.ops`.

Conventions (tinyBIG's, `koala/geometry`):

* a grid has height `h`, width `w` and depth `d` (`d = 1` for images); the cell
  `(i, j, k)` has flat index `(i * w + j) * d + k`, the order of a row-major
  `(h, w, d)` array, so that a Keras `(batch, h, w, channels)` image flattens to
  `(batch, h * w * channels)` with `keras.layers.Flatten` (cells outer, channels inner);
* a patch is a set of integer offsets `(di, dj, dk)` around its centre, enumerated with
  `di` outermost, then `dj`, then `dk`;
* centres are `range(0, h, cd_h) x range(0, w, cd_w) x range(0, d, cd_d)` (anchored at the
  top-left cell), so there are `P = ceil(h / cd_h) ceil(w / cd_w) ceil(d / cd_d)` patches;
  cells of a patch outside the grid are padding.

>>> from keras_rpn.geometry import Patch
>>> patch = Patch("cuboid", p_h=1, p_w=1)
>>> patch.size, patch.strides("complete_square")
(9, (2, 2, 1))
"""

import math

import numpy as np

from keras_rpn import validation

SHAPES = ("cuboid", "cylinder", "sphere")


_SQ2, _SQ3, _SQ6 = math.sqrt(2), math.sqrt(3), math.sqrt(6)
_TWO_THIRDS = 0.6667

# Centre distances (cd_h, cd_w, cd_d) per packing strategy, as multiples of the patch
# sizes (tinyBIG's tables; every distance is truncated to an integer >= 1).
_CUBOID = {
    "sparse_square": lambda h, w, d: (3 * h, 3 * w, 3 * d),
    "complete_square": lambda h, w, d: (2 * h, 2 * w, 2 * d),
    "dense_square": lambda h, w, d: (h, w, d),
}
_CYLINDER = {
    "sparse_square": lambda r, d: (2 * r, 2 * r, 2 * d),
    "complete_square": lambda r, d: (_SQ2 * r, _SQ2 * r, 2 * d),
    "sparse_hexagonal": lambda r, d: (_SQ3 * r, 2 * r, 2 * d),
    "complete_hexagonal": lambda r, d: (1.5 * r, _SQ3 * r, 2 * d),
    "dense_hexagonal": lambda r, d: (0.5 * _SQ6 * r, _SQ2 * r, d),
    "denser_hexagonal": lambda r, d: (0.5 * _SQ3 * r, r, d),
}
_SPHERE = {
    "sparse_simple_cubic": lambda r: (2 * r,) * 3,
    "complete_simple_cubic": lambda r: (_TWO_THIRDS * _SQ3 * r,) * 3,
    "dense_simple_cubic": lambda r: (r,) * 3,
    "sparse_face_centered_cubic": lambda r: (2 * r, _SQ3 * r, _TWO_THIRDS * _SQ6 * r),
    "complete_face_centered_cubic": lambda r: (_SQ2 * r, _TWO_THIRDS * _SQ6 * r, 1.3333 * r),
    "dense_face_centered_cubic": lambda r: (r,) * 3,
    "sparse_hexagonal": lambda r: (2 * r, 2 * r, _SQ6 * r),
    "complete_hexagonal": lambda r: (_TWO_THIRDS * _SQ3 * r, _TWO_THIRDS * _SQ3 * r, r),
    "dense_hexagonal": lambda r: (r,) * 3,
}


def _packings(patch):
    """Packing strategy -> centre distances `(cd_h, cd_w, cd_d)` before truncation."""
    if patch.shape == "cuboid":
        table, sizes = _CUBOID, (patch.p_h, patch.p_w, patch.p_d)
    elif patch.shape == "cylinder":
        table, sizes = _CYLINDER, (patch.p_r, patch.p_d)
    else:
        table, sizes = _SPHERE, (patch.p_r,)
    strategies = {name: (lambda f=f: f(*sizes)) for name, f in table.items()}
    strategies["densest_packing"] = lambda: (1, 1, 1)
    return strategies


class Patch:
    """A patch shape: offsets around a centre cell.

    Args:
        shape: `"cuboid"`, `"cylinder"` or `"sphere"`.
        p_h, p_w, p_d: cuboid: cells before the centre along height, width and depth
            (`di` in `[-p_h, p_h']`, ...); cylinder: `p_d` is the depth before the centre.
        p_h_prime, p_w_prime, p_d_prime: cells after the centre (default: the same as
            before). For a cylinder, `p_d_prime` defaults to `p_d`.
        p_r: radius of a cylinder (the disk `di^2 + dj^2 <= p_r^2`) or of a sphere (the
            ball `di^2 + dj^2 + dk^2 <= p_r^2`).

    A cylinder spans `dk` in `[-p_d, p_d']` (tinyBIG ignores `p_d` and uses
    `[-p_d', p_d']`; the two agree when `p_d_prime` is not given).
    """

    def __init__(
        self,
        shape,
        p_h=0,
        p_w=0,
        p_d=0,
        p_h_prime=None,
        p_w_prime=None,
        p_d_prime=None,
        p_r=0,
    ):
        if shape not in SHAPES:
            raise ValueError(f"Unknown patch shape {shape!r}. Valid shapes: {', '.join(SHAPES)}.")
        self.shape = shape
        self.p_h = validation.non_negative_int("p_h", p_h)
        self.p_w = validation.non_negative_int("p_w", p_w)
        self.p_d = validation.non_negative_int("p_d", p_d)
        self.p_r = validation.non_negative_int("p_r", p_r)

        def prime(name, value, default):
            return default if value is None else validation.non_negative_int(name, value)

        self.p_h_prime = prime("p_h_prime", p_h_prime, self.p_h)
        self.p_w_prime = prime("p_w_prime", p_w_prime, self.p_w)
        self.p_d_prime = prime("p_d_prime", p_d_prime, self.p_d)
        self.offsets = self._offsets()

    def _offsets(self):
        if self.shape == "cuboid":
            ranges = [(-self.p_h, self.p_h_prime), (-self.p_w, self.p_w_prime)]
            ranges.append((-self.p_d, self.p_d_prime))
            grid = np.meshgrid(*[np.arange(a, b + 1) for a, b in ranges], indexing="ij")
            return np.stack([g.ravel() for g in grid], axis=1)
        r = self.p_r
        ks = np.arange(-self.p_d, self.p_d_prime + 1) if self.shape == "cylinder" else None
        out = []
        for i in range(-r, r + 1):
            for j in range(-r, r + 1):
                if i * i + j * j > r * r:
                    continue
                if ks is None:
                    limit = r * r - i * i - j * j
                    out.extend((i, j, k) for k in range(-r, r + 1) if k * k <= limit)
                else:
                    out.extend((i, j, int(k)) for k in ks)
        return np.asarray(out, dtype=np.int64).reshape(-1, 3)

    @property
    def size(self):
        """Number of cells of the patch (tinyBIG's `k`)."""
        return len(self.offsets)

    @property
    def is_box(self):
        """Whether the patch is a full box (so plain pooling windows implement it)."""
        lo, hi = self.offsets.min(axis=0), self.offsets.max(axis=0)
        return self.size == int(np.prod(hi - lo + 1))

    @property
    def extent(self):
        """`((before_h, after_h), (before_w, after_w), (before_d, after_d))`."""
        lo, hi = self.offsets.min(axis=0), self.offsets.max(axis=0)
        return tuple((int(-a), int(b)) for a, b in zip(lo, hi, strict=True))

    def packing_strategies(self):
        """The names `strides` accepts for this shape."""
        return tuple(_packings(self))

    def strides(self, packing_strategy="densest_packing"):
        """Centre distances `(cd_h, cd_w, cd_d)` of a packing strategy."""
        table = _packings(self)
        if packing_strategy not in table:
            raise ValueError(
                f"Unknown packing_strategy {packing_strategy!r} for a {self.shape} patch. "
                f"Valid strategies: {', '.join(table)}."
            )
        return tuple(max(int(c), 1) for c in table[packing_strategy]())

    def get_config(self):
        keys = {
            "cuboid": ("p_h", "p_w", "p_d", "p_h_prime", "p_w_prime", "p_d_prime"),
            "cylinder": ("p_r", "p_d", "p_d_prime"),
            "sphere": ("p_r",),
        }[self.shape]
        return {"shape": self.shape, **{k: getattr(self, k) for k in keys}}


def output_grid(grid, strides):
    """Number of patch centres along each axis: `ceil(n / cd)`."""
    return tuple(-(-int(n) // int(s)) for n, s in zip(grid, strides, strict=True))


def patch_table(grid, patch, strides):
    """Index table of the cells of every patch.

    Args:
        grid: `(h, w, d)`.
        patch: a `Patch`.
        strides: `(cd_h, cd_w, cd_d)`.

    Returns:
        `(index, valid)`, two arrays of shape `(P, k)`: `index[p, q]` is the flat cell
        index of offset `q` of patch `p` (centres in row-major order), and
        `valid[p, q]` whether it lies inside the grid. Out-of-grid entries hold the
        index `h * w * d` (one past the last cell), for a padding cell.
    """
    h, w, d = (int(n) for n in grid)
    centres = np.meshgrid(
        *[np.arange(0, n, s) for n, s in zip((h, w, d), strides, strict=True)], indexing="ij"
    )
    centres = np.stack([c.ravel() for c in centres], axis=1)  # (P, 3)
    cells = centres[:, None, :] + patch.offsets[None, :, :]  # (P, k, 3)
    valid = np.all((cells >= 0) & (cells < np.array([h, w, d])), axis=-1)
    flat = (cells[..., 0] * w + cells[..., 1]) * d + cells[..., 2]
    index = np.where(valid, flat, h * w * d)
    return index.astype(np.int32), valid
