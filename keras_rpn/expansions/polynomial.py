"""Polynomial expansions: Taylor (tensor powers)."""

from keras import ops

from keras_rpn import validation
from keras_rpn.expansions.base import Expansion
from keras_rpn.expansions.base import register


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
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Example:
    >>> keras_rpn.expansions.TaylorExpansion(d=2)(np.array([[1.0, 2.0]]))
    array([[1., 2., 1., 2., 2., 4.]])
    """

    float32_compute = True

    def __init__(self, d=2, **kwargs):
        super().__init__(**kwargs)
        self.d = validation.positive_int("d", d)

    def output_dim(self, input_dim):
        return sum(input_dim**k for k in range(1, self.d + 1))

    def expand(self, x):
        m = x.shape[-1]
        blocks, power = [x], x
        for k in range(2, self.d + 1):
            outer = ops.expand_dims(power, -1) * ops.expand_dims(x, -2)
            power = ops.reshape(outer, ops.shape(outer)[:-2] + (m**k,))
            blocks.append(power)
        return blocks[0] if self.d == 1 else ops.concatenate(blocks, axis=-1)

    def project(self, x, basis, training=None):
        m = x.shape[-1]
        rank = basis.shape[0]
        out = ops.matmul(x, ops.transpose(basis[:, :m]))
        offset = m
        for k in range(2, self.d + 1):
            block = basis[:, offset : offset + m**k]
            offset += m**k
            # Contract the last axis of the (R, m, ..., m) block with x, then the next...
            t = ops.matmul(x, ops.transpose(ops.reshape(block, (rank * m ** (k - 1), m))))
            for j in range(k - 2, -1, -1):
                t = ops.reshape(t, (-1, rank * m**j, m))
                t = ops.sum(t * ops.expand_dims(x, -2), axis=-1)
            out = out + t
        return out

    def get_config(self):
        return {**super().get_config(), "d": self.d}
