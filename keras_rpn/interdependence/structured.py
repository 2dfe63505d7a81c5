"""Constant mixing matrices applied as the cheapest equivalent op.

A constant interdependence matrix `A` of shape `(d, d')` (a chain, a graph, PageRank's
inverse, an identity) is known in numpy when the function is built. `MatrixOp` looks at
its structure once and applies `z -> A^T z` along the mixing axis with one of:

* `identity`: `A = I`, nothing to compute; `zero`: `A = 0`;
* `banded` (square `A` whose nonzeros lie on a few diagonals, e.g. a chain or a
  multihop chain): a sum of shifted copies of `z`, each scaled by a per-position
  coefficient vector (a chain is a shifted add);
* `sparse` (e.g. a graph): a gather of the source rows of the edges, scaled by the
  edge weights and summed per target, when the cost model below says it is cheaper
  than the dense product;
* `dense`: one `einsum` with `A`.

All index tables and coefficients are numpy constants, so the ops have static shapes
and jit-compile on every backend.

Cost model (sparse or dense). The dense product costs `d d'` multiply-adds per
feature column. A sparse matrix is applied in one of two layouts:

* padded per-target source lists (`width` = the largest in-degree): `width` gathers
  of the whole `(..., d', f)` slab, each scaled and added. One gathered row costs
  about `GATHER_COST` dense multiply-adds, so this layout is chosen when
  `width * GATHER_COST <= d`;
* a COO product (gather every edge, `segment_sum` per target), for skewed in-degrees
  (a hub makes `width` large): about `SCATTER_COST` multiply-adds per edge, chosen
  when `nnz * SCATTER_COST <= d d'`.

Otherwise the matrix is applied dense. The two constants are measured, on one CPU
core, by `python benchmarks/interdependence.py --threads 1 --sweep` on JAX and
PyTorch (the table in `benchmarks/README.md`): a graph of in-degree 8 is applied
sparse from 512 nodes on, one of in-degree 32 from 2048 (JAX's gathers are cheaper
than torch's; 64 is the compromise between the two).
"""

import numpy as np
from keras import ops

#: A square matrix with at most this many nonzero diagonals is applied as shifted adds.
MAX_BANDS = 8
#: Dense multiply-adds one gathered row costs (padded source lists), measured.
GATHER_COST = 64
#: Dense multiply-adds one edge of a COO product (gather + segment_sum) costs, measured.
SCATTER_COST = 256


def _in_degrees(cols, d_out):
    return np.bincount(cols, minlength=d_out)


def _gather_width(cols, d_out):
    return int(_in_degrees(cols, d_out).max(initial=0))


def choose_kind(a):
    """The op `MatrixOp` uses for the numpy matrix `a` (see the module docstring)."""
    d, d_out = a.shape
    if d == d_out and np.array_equal(a, np.eye(d, dtype=a.dtype)):
        return "identity"
    rows, cols = np.nonzero(a)
    if len(rows) == 0:
        return "zero"
    if d == d_out and d > 1:
        bands = np.unique(rows - cols)
        if len(bands) <= MAX_BANDS and 2 * len(bands) < d:
            return "banded"
    if _gather_width(cols, d_out) * GATHER_COST <= d or len(rows) * SCATTER_COST <= d * d_out:
        return "sparse"
    return "dense"


class MatrixOp:
    """`z -> A^T z` along axis -2 of `z` (shape `(..., d, f)`), for a constant `A`.

    Args:
        a: the matrix, a numpy array of shape `(d, d')`.
        kind: `"auto"` (default: `choose_kind(a)`), or one of `"identity"`,
            `"banded"`, `"sparse"`, `"dense"` to force an op (`"identity"` and
            `"banded"` need a matrix of that structure).
    """

    def __init__(self, a, kind="auto"):
        a = np.asarray(a, dtype="float64")
        self.a = a
        self.kind = choose_kind(a) if kind == "auto" else kind
        d, d_out = a.shape
        rows, cols = np.nonzero(a)
        if self.kind == "banded":
            if d != d_out:
                raise ValueError(f"A banded op needs a square matrix. Received shape {a.shape}")
            self.offsets = [int(o) for o in np.unique(rows - cols)]
            # out[j] = sum_o coef[o][j] * z[j + o]
            self.coefficients = []
            for o in self.offsets:
                j = np.arange(d)
                i = j + o
                valid = (i >= 0) & (i < d)
                coef = np.zeros(d)
                coef[valid] = a[i[valid], j[valid]]
                self.coefficients.append(coef)
            self.pad_low = max(0, -min(self.offsets))
            self.pad_high = max(0, max(self.offsets))
        elif self.kind == "sparse":
            order = np.argsort(cols, kind="stable")
            self.sources = rows[order].astype("int32")
            self.targets = cols[order].astype("int32")
            self.values = a[rows[order], cols[order]]
            # Padded per-target source lists: `width` gathers and weighted adds, when
            # the cost model allows it or the in-degrees are even; else a COO product.
            degrees = _in_degrees(self.targets, d_out)
            width = int(degrees.max(initial=0))
            self.ell = None
            if width * GATHER_COST <= d or width * d_out <= 2 * len(self.values):
                starts = np.concatenate([[0], np.cumsum(degrees)[:-1]])
                slot = np.arange(len(self.targets)) - starts[self.targets]
                index = np.full((d_out, width), d, dtype="int32")  # d: a zero row
                weight = np.zeros((d_out, width))
                index[self.targets, slot] = self.sources
                weight[self.targets, slot] = self.values
                self.ell = (index, weight)
        elif self.kind not in ("identity", "zero", "dense"):
            raise ValueError(
                "`kind` must be one of 'auto', 'identity', 'zero', 'banded', 'sparse', 'dense'. "
                f"Received: kind={kind!r}"
            )

    @property
    def output_dim(self):
        return self.a.shape[1]

    def __call__(self, z):
        dtype = z.dtype
        if self.kind == "identity":
            return z
        if self.kind == "zero":
            shape = ops.shape(z)
            return ops.zeros(tuple(shape[:-2]) + (self.output_dim, shape[-1]), dtype=dtype)
        if self.kind == "dense":
            return ops.einsum("...if,ij->...jf", z, ops.cast(self.a, dtype))
        if self.kind == "banded":
            d = self.a.shape[0]
            rank = len(z.shape)
            padding = [(0, 0)] * (rank - 2) + [(self.pad_low, self.pad_high), (0, 0)]
            padded = ops.pad(z, padding) if self.pad_low or self.pad_high else z
            out = None
            for o, coef in zip(self.offsets, self.coefficients, strict=True):
                start = self.pad_low + o
                part = padded[..., start : start + d, :]
                if not np.all(coef == 1.0):
                    part = part * ops.cast(coef[:, None], dtype)
                out = part if out is None else out + part
            return out
        if self.ell is not None:
            # One gather per slot of the source lists (one (..., d', f) slab each),
            # never a (..., d', width, f) intermediate.
            index, weight = self.ell
            rank = len(z.shape)
            padded = ops.pad(z, [(0, 0)] * (rank - 2) + [(0, 1), (0, 0)])
            out = None
            for k in range(index.shape[1]):
                part = ops.take(padded, index[:, k], axis=-2)
                if not np.all(weight[:, k] == 1.0):
                    part = part * ops.cast(weight[:, k][:, None], dtype)
                out = part if out is None else out + part
            return out
        # sparse: gather the source rows of every edge, scale, sum per target.
        moved = ops.moveaxis(z, -2, 0)
        gathered = ops.take(moved, self.sources, axis=0)
        weights = ops.cast(self.values.reshape((-1,) + (1,) * (len(z.shape) - 1)), dtype)
        summed = ops.segment_sum(
            gathered * weights, self.targets, num_segments=self.output_dim, sorted=False
        )
        return ops.moveaxis(summed, 0, -2)
