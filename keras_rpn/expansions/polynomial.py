"""Polynomial expansions: Taylor (tensor powers) and Fourier series."""

import math

from keras import ops
from keras.backend import standardize_dtype

from keras_rpn import validation
from keras_rpn.expansions.base import BlockExpansion
from keras_rpn.expansions.base import Expansion
from keras_rpn.expansions.base import register


def tensor_powers_dim(width, d):
    """`width + width^2 + ... + width^d`, the size of `tensor_powers`."""
    return sum(width**k for k in range(1, d + 1))


def tensor_powers(v, d):
    """`[v, v (x) v, ..., v^{(x) d}]`, each flattened row-major, along the last axis."""
    width = v.shape[-1]
    blocks, power = [v], v
    for k in range(2, d + 1):
        outer = ops.expand_dims(power, -1) * ops.expand_dims(v, -2)
        power = ops.reshape(outer, ops.shape(outer)[:-2] + (width**k,))
        blocks.append(power)
    return blocks[0] if d == 1 else ops.concatenate(blocks, axis=-1)


def tensor_powers_project(v, basis, d):
    """`tensor_powers(v, d) @ basis^T` without forming the `width^k`-wide blocks.

    The degree-k part contracts `v` with the block of `basis` reshaped to
    `(R, width, ..., width)`, one axis at a time. `v` has shape `(batch, width)`.
    """
    width = v.shape[-1]
    rank = basis.shape[0]
    out = ops.matmul(v, ops.transpose(basis[:, :width]))
    offset = width
    for k in range(2, d + 1):
        block = basis[:, offset : offset + width**k]
        offset += width**k
        # Contract the last axis of the (R, w, ..., w) block with v, then the next...
        t = ops.matmul(v, ops.transpose(ops.reshape(block, (rank * width ** (k - 1), width))))
        for j in range(k - 2, -1, -1):
            t = ops.reshape(t, (-1, rank * width**j, width))
            t = ops.sum(t * ops.expand_dims(v, -2), axis=-1)
        out = out + t
    return out


def _fft_length(n):
    """The smallest `2^a 3^b 5^c >= n` (sizes every backend's FFT handles fast)."""
    size = n
    while True:
        k = size
        for f in (2, 3, 5):
            while k % f == 0:
                k //= f
        if k == 1:
            return size
        size += 1


def taylor2_kronecker_project(x, q, t):
    """`[x, x (x) x] @ (q[:, i] (x) t[:, j])` for every `(i, j)`, in O(m log m) a row.

    With `q` of `m` rows and `t` of `m + 1` rows, the degree-2 entry `x_a x_c` sits at
    index `m (a + 1) + c = (m + 1) u + v`, with `(u, v) = (a + 1, c - a - 1)` when
    `c > a` and `(a, m + c - a)` otherwise. So its weight is `Q[a+1] T[c-a-1]` above
    the diagonal and `Q[a] T[m+c-a]` on and below it: `T` enters through the lag
    `c - a` only, and the quadratic form is
    `sum_a x_a (Q[a+1] u_j[a] + Q[a] l_j[a])` with the correlations
    `u_j[a] = sum_{k>=1} T[k-1] x_{a+k}`, `l_j[a] = sum_{k<=0} T[m+k] x_{a+k}`,
    computed with real FFTs of length >= 2m - 1. The degree-1 entries give
    `Q[0] (x . T[:m])`.

    Shapes: `x (batch, m)`, `q (C, m, r_q)`, `t (C, m + 1, r_t)` -> `(batch, C, r_q r_t)`.
    """
    m = x.shape[-1]
    channels, _, rq = q.shape
    rt = t.shape[-1]
    n = _fft_length(2 * m - 1)
    zero_t = ops.zeros((channels, 1, rt), dtype=t.dtype)
    # Filters over lags mod n: u_j at lags 1..m-1, l_j at lags 0, -1, ..., -(m-1).
    upper = ops.concatenate([zero_t, t[:, : m - 1], ops.zeros((channels, n - m, rt), t.dtype)], 1)
    lower = ops.concatenate([t[:, m:], ops.zeros((channels, n - m, rt), t.dtype), t[:, 1:m]], 1)
    filters = ops.transpose(ops.stack([upper, lower], axis=1), (0, 3, 1, 2))  # (C, rt, 2, n)
    f_re, f_im = ops.rfft(filters)
    x_re, x_im = ops.rfft(ops.pad(x, ((0, 0), (0, n - m))))
    x_re = ops.reshape(x_re, (-1, 1, 1, 1, x_re.shape[-1]))
    x_im = ops.reshape(x_im, (-1, 1, 1, 1, x_im.shape[-1]))
    # Correlation: conj(F) X.
    corr = ops.irfft((f_re * x_re + f_im * x_im, f_re * x_im - f_im * x_re), fft_length=n)
    weighted = corr[..., :m] * ops.reshape(x, (-1, 1, 1, 1, m))  # (batch, C, rt, 2, m)
    zero_q = ops.zeros((channels, 1, rq), dtype=q.dtype)
    q_pair = ops.stack([ops.concatenate([q[:, 1:], zero_q], axis=1), q], axis=1)  # (C, 2, m, rq)
    degree2 = ops.einsum("bcjsa,csai->bcij", weighted, q_pair)
    degree1 = ops.einsum("bcj,ci->bcij", ops.einsum("ba,caj->bcj", x, t[:, :m]), q[:, 0])
    return ops.reshape(degree1 + degree2, (-1, channels, rq * rt))


@register("taylor", "taylor_expansion")
class TaylorExpansion(Expansion):
    """Taylor expansion: all monomials of degree 1 to `d`.

    Formula:
    ```
    kappa(x) = [x, x (x) x, ..., x^{(x) d}]     (each tensor power flattened)
    D(m) = m + m^2 + ... + m^d
    ```
    The degree-k block lists `x_{a1} x_{a2} ... x_{ak}` at index
    `a1 m^{k-1} + ... + ak` (row-major), as tinyBIG does: `[1, 2] -> [1, 2, 1, 2, 2, 4]`.

    `project` never forms the `m^k`-wide blocks: the degree-k part of
    `kappa(x) @ B^T` is computed by contracting `x` with `B` reshaped to
    `(R, m, ..., m)` one axis at a time, which is what makes a Taylor expansion with
    a low-rank reconciliation cheap.

    Args:
        d: highest degree, a positive integer (default 2).
        **kwargs: `preprocessing`, `postprocessing` (see `Expansion`) and base layer
            keyword arguments, such as `name` and `dtype`.

    Example:
    >>> kappa = keras_rpn.expansions.TaylorExpansion(d=2)
    >>> keras.ops.convert_to_numpy(kappa(np.array([[1.0, 2.0]])))
    array([[1., 2., 1., 2., 2., 4.]], dtype=float32)
    """

    @property
    def column_layout(self):
        # Degree 1: each column is one feature; higher degrees mix features.
        return "feature_major" if self.d == 1 else None

    float32_compute = True

    def __init__(self, d=2, **kwargs):
        super().__init__(**kwargs)
        self.d = validation.positive_int("d", d)

    def output_dim(self, input_dim):
        return tensor_powers_dim(input_dim, self.d)

    def expand(self, x):
        return tensor_powers(x, self.d)

    structured_projection = True

    def structured_project(self, x, basis, training=None):
        return tensor_powers_project(x, basis, self.d)

    def has_kronecker_projection(self, input_dim, q, t):
        # Degree 2 with q = m (the default q of D = m (m + 1)): see
        # `taylor2_kronecker_project`.
        m = input_dim
        return (
            self.has_structured_projection
            and self.d == 2
            and m is not None
            and m > 1
            and q == m
            and t == m + 1
        )

    def kronecker_project(self, x, va, vb):
        dtype = x.dtype
        compute = "float32" if standardize_dtype(dtype) in ("float16", "bfloat16") else dtype
        p = taylor2_kronecker_project(
            ops.cast(x, compute), ops.cast(va, compute), ops.cast(vb, compute)
        )
        return ops.cast(p, dtype)

    def symbolic_columns(self, symbols):
        import itertools
        import math

        return [
            math.prod((symbols[a] for a in index), start=1)
            for k in range(1, self.d + 1)
            for index in itertools.product(range(len(symbols)), repeat=k)
        ]

    def get_config(self):
        return {**super().get_config(), "d": self.d}


@register("fourier", "fourier_expansion")
class FourierExpansion(BlockExpansion):
    """Fourier expansion: cosines and sines of `N` harmonics of period `P`.

    Formula:
    ```
    kappa(x) = [cos(2 pi 1 x / P) | sin(2 pi 1 x / P) | ... | cos(2 pi N x / P) | sin(2 pi N x / P)]
    D(m) = 2 m N
    ```
    Block-major: each block holds one function of all `m` features, in the order
    above (tinyBIG's order).

    Args:
        P: period, a positive number (default 10).
        N: number of harmonics, a positive integer (default 5).
        **kwargs: `preprocessing`, `postprocessing` (see `Expansion`) and base layer
            keyword arguments, such as `name` and `dtype`.

    Example:
    >>> kappa = keras_rpn.expansions.FourierExpansion(P=8, N=1)
    >>> keras.ops.convert_to_numpy(kappa(np.array([[1.0]])))
    array([[0.70710677, 0.70710677]], dtype=float32)
    """

    float32_compute = True

    def __init__(self, P=10.0, N=5, **kwargs):
        super().__init__(**kwargs)
        self.P = validation.finite_float("P", P, positive=True)
        self.N = validation.positive_int("N", N)

    @property
    def num_blocks(self):
        return 2 * self.N

    def blocks(self, x):
        parts = []
        for k in range(1, self.N + 1):
            angle = (2.0 * math.pi * k / self.P) * x
            parts += [ops.cos(angle), ops.sin(angle)]
        return parts

    def get_config(self):
        return {**super().get_config(), "P": self.P, "N": self.N}
