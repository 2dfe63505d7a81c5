"""Padding reconciliations: `psi(w) = A (x) reshape(w, (n/p, D/q))` with a constant `A`.

Kronecker-structured (see `kronecker`): the duplicated padding (`A` all ones) and the
duplicated diagonal padding (`A` the rectangular identity).
"""

from keras import ops

from keras_rpn import validation
from keras_rpn.reconciliations.base import register
from keras_rpn.reconciliations.kronecker import KroneckerReconciliation
from keras_rpn.reconciliations.kronecker import _shared
from keras_rpn.reconciliations.kronecker import split
from keras_rpn.reconciliations.kronecker import trivial_factors


class _PaddingReconciliation(KroneckerReconciliation):
    """Base of the paddings: `psi(w) = A (x) reshape(w, (n/p, D/q))` with a constant `A`."""

    parameter_degree = 1

    def __init__(self, p=2, q=None, **kwargs):
        super().__init__(p=validation.positive_int("p", p), q=q, **kwargs)

    def resolve_pq(self, units, input_dim):
        return self.p, self.p if self.q is None else self.q

    def num_params(self, units, input_dim):
        p, q, s, t = self.block_shape(units, input_dim)
        return s * t

    def constant_factor(self, dtype):
        raise NotImplementedError

    def factors(self, kernel):
        (b,) = split(kernel, [(self.s_, self.t_)])
        return _shared(self.constant_factor(b.dtype), b.shape[0]), b


@register("duplicated_padding", "duplicated_padding_reconciliation")
class DuplicatedPaddingReconciliation(_PaddingReconciliation):
    """Duplicated padding: the parameter block tiled `p x q` times.

    Formula:
    ```
    B = reshape(w, (s, t)),  s = n/p,  t = D/q
    psi(w) = 1_{p x q} (x) B,          l(n, D) = n D / (p q)
    ```
    Applied as: sum `kappa(x)` over its `q` blocks of width `t`, multiply by `B`,
    repeat the `s` outputs `p` times. (tinyBIG tiles `w` in a different layout.)

    Args:
        p: row repeats, a divisor of `n` (default 2).
        q: column repeats, a divisor of `D` (default: `p`).
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Example:
    >>> head = keras_rpn.layers.RPNHead(4, reconciliation="duplicated_padding")
    >>> tuple(head(np.zeros((2, 6))).shape)
    (2, 4)
    """

    def variance_gain(self, units, input_dim):
        return 1.0

    def constant_factor(self, dtype):
        return ops.ones((self.p_, self.q_), dtype=dtype)

    def low_rank_factors(self, kernel):
        a, b = self.factors(kernel)
        channels = b.shape[0]
        ua = _shared(ops.ones((self.p_, 1), dtype=b.dtype), channels)
        va = _shared(ops.ones((self.q_, 1), dtype=b.dtype), channels)
        return (ua, va), trivial_factors(b)

    def apply_reshaped(self, k, kernel):
        _, b = self.factors(kernel)
        z = ops.einsum("bt,cst->bcs", ops.sum(k, axis=1), b)
        y = ops.repeat(ops.expand_dims(z, 2), self.p_, axis=2)
        return ops.reshape(y, (-1, b.shape[0], self.units))


@register("duplicated_diagonal_padding", "duplicated_diagonal_padding_reconciliation")
class DuplicatedDiagonalPaddingReconciliation(_PaddingReconciliation):
    """Duplicated diagonal padding: copies of the parameter block on the diagonal.

    Formula (`E` is the rectangular `p x q` identity, `E_ij = [i == j]`):
    ```
    B = reshape(w, (s, t)),  s = n/p,  t = D/q
    psi(w) = E_{p x q} (x) B,          l(n, D) = n D / (p q)
    ```
    i.e. `min(p, q)` copies of `B` down the block diagonal, zeros elsewhere; the
    output is dense. tinyBIG's version (a sparse block-diagonal of `n` copies of
    the `1 x l` row) is the case `p = q = n`.

    Args:
        p: block rows, a divisor of `n` (default 2).
        q: block columns, a divisor of `D` (default: `p`).
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Example:
    >>> head = keras_rpn.layers.RPNHead(4, reconciliation="duplicated_diagonal_padding")
    >>> tuple(head(np.zeros((2, 6))).shape)
    (2, 4)
    """

    def variance_gain(self, units, input_dim):
        p, q = self.resolve_pq(units, input_dim)
        return min(p, q) / (p * q)

    def constant_factor(self, dtype):
        return ops.eye(self.p_, self.q_, dtype=dtype)

    def low_rank_factors(self, kernel):
        _, b = self.factors(kernel)
        channels, k = b.shape[0], min(self.p_, self.q_)
        ua = _shared(ops.eye(self.p_, k, dtype=b.dtype), channels)
        va = _shared(ops.eye(self.q_, k, dtype=b.dtype), channels)
        return (ua, va), trivial_factors(b)

    def apply_reshaped(self, k, kernel):
        _, b = self.factors(kernel)
        blocks = min(self.p_, self.q_)
        z = ops.einsum("bjt,cst->bcjs", k[:, :blocks, :], b)
        if blocks < self.p_:
            z = ops.pad(z, ((0, 0), (0, 0), (0, self.p_ - blocks), (0, 0)))
        return ops.reshape(z, (-1, b.shape[0], self.units))
