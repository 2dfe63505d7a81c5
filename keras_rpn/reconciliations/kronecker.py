"""Kronecker-structured reconciliations: HM, LPHM, dual LPHM (the paddings: `padding`).

Every function here is `psi(w) = A (x) B`, the Kronecker product (numpy's `np.kron`
layout: `(A (x) B)[i s + a, j t + b] = A[i, j] B[a, b]`) of a `p x q` factor `A`
and an `s x t` factor `B`, with `s = n / p` and `t = D / q`. tinyBIG 0.2.1 computes
a reshaped outer product instead; keras_rpn computes the documented product, with
the same parameter count `l`.

Two structured ways apply it without forming the `n x D` matrix:

* reshape (default): `kappa(x)` reshaped to `K` of shape `(q, t)` gives
  `psi(w) kappa(x) = vec(A K B^T)`, two small products per channel;
* projection (when the expansion projects without materialising, e.g. Taylor):
  with `A = U_A V_A^T` and `B = U_B V_B^T`, `A (x) B = (U_A (x) U_B)(V_A (x) V_B)^T`
  is a low-rank map; `kappa(x)` is projected onto the `r_A r_B` rows of
  `(V_A (x) V_B)^T` (Kronecker products of small factor columns) and then
  multiplied by `U_A (x) U_B`. When `r_A r_B >= n`, the `n` rows of `psi(w)`
  themselves are the basis. An expansion may project onto those Kronecker rows
  without forming them (`Expansion.has_kronecker_projection`; Taylor of degree 2
  with `q = m`, the default `q`, through FFT correlations).
"""

import math

from keras import ops

from keras_rpn import validation
from keras_rpn.reconciliations.base import Reconciliation
from keras_rpn.reconciliations.base import project_low_rank
from keras_rpn.reconciliations.base import register


def largest_divisor_up_to_sqrt(value):
    """The largest divisor `p` of the positive integer `value` with `p * p <= value`
    (the default Kronecker factor shape: `p x (value / p)`, as square as possible)."""
    return max(p for p in range(1, math.isqrt(value) + 1) if value % p == 0)


def kron(a, b):
    """Per-channel Kronecker product: `(C, p, q), (C, s, t) -> (C, p s, q t)`."""
    _, p, q = a.shape
    _, s, t = b.shape
    return ops.reshape(ops.einsum("cpq,cst->cpsqt", a, b), (-1, p * s, q * t))


def kron_rows(va, vb):
    """Rows `va[:, i] (x) vb[:, j]`, in `(i, j)` order.

    Shapes: `(C, q, ra), (C, t, rb) -> (C, ra rb, q t)`.
    """
    _, q, ra = va.shape
    _, t, rb = vb.shape
    return ops.reshape(ops.einsum("cqi,ctj->cijqt", va, vb), (-1, ra * rb, q * t))


def kron_apply(k, a, b):
    """`vec(A K B^T)` for every channel, the two contractions in the cheaper order.

    Shapes: `k (batch, q, t)`, `a (C, p, q)`, `b (C, s, t)` -> `(batch, C, p s)`.
    """
    channels, p, q = a.shape
    _, s, t = b.shape
    if s * (q * t + p * q) <= p * (q * t + t * s):
        z = ops.einsum("bqt,cst->bcqs", k, b)
        y = ops.einsum("cpq,bcqs->bcps", a, z)
    else:
        z = ops.einsum("cpq,bqt->bcpt", a, k)
        y = ops.einsum("bcpt,cst->bcps", z, b)
    return ops.reshape(y, (-1, channels, p * s))


def _shared(matrix, channels):
    """A constant matrix repeated for `channels` channels."""
    return ops.repeat(ops.expand_dims(matrix, 0), channels, axis=0)


def trivial_factors(m):
    """`(U, V)` with `U V^T = m` and the fewest columns: `(m, I_q)` or `(I_p, m^T)`."""
    channels, p, q = m.shape
    if q <= p:
        return m, _shared(ops.eye(q, dtype=m.dtype), channels)
    return _shared(ops.eye(p, dtype=m.dtype), channels), ops.transpose(m, (0, 2, 1))


def split(kernel, shapes):
    """Consecutive slices of the `(C, l)` kernel, reshaped to `(C,) + shape` each."""
    parts, offset = [], 0
    for shape in shapes:
        size = 1
        for dim in shape:
            size *= dim
        parts.append(ops.reshape(kernel[:, offset : offset + size], (-1,) + tuple(shape)))
        offset += size
    return parts


class KroneckerReconciliation(Reconciliation):
    """Base of `psi(w) = A (x) B`, `A` of shape `(p, q)`, `B` of shape `(n/p, D/q)`.

    A subclass implements `num_params`, `factors(kernel)` (dense `A`, `B` per
    channel) and `low_rank_factors(kernel)` (`((U_A, V_A), (U_B, V_B))` with
    `A = U_A V_A^T`, `B = U_B V_B^T`), and may override `apply_reshaped`.

    Args:
        p: rows of `A`, a positive divisor of `n` (default: the largest divisor of
            `n` not above `sqrt(n)`).
        q: columns of `A`, a positive divisor of `D` (default: the largest divisor
            of `D` not above `sqrt(D)`).
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.
    """

    parameter_degree = 2

    def __init__(self, p=None, q=None, **kwargs):
        super().__init__(**kwargs)
        self.p = validation.positive_int("p", p, allow_none=True)
        self.q = validation.positive_int("q", q, allow_none=True)

    def resolve_pq(self, units, input_dim):
        """The `(p, q)` actually used for an `n x D` matrix."""
        p = largest_divisor_up_to_sqrt(units) if self.p is None else self.p
        q = largest_divisor_up_to_sqrt(input_dim) if self.q is None else self.q
        return p, q

    def block_shape(self, units, input_dim):
        """`(p, q, s, t)` for an `n x D` matrix, checked."""
        p, q = self.resolve_pq(units, input_dim)
        validation.divides("p", p, "n", units)
        validation.divides("q", q, "D", input_dim)
        return p, q, units // p, input_dim // q

    def build(self, input_shape):
        super().build(input_shape)
        self.p_, self.q_, self.s_, self.t_ = self.block_shape(self.units, self.input_dim)

    def factors(self, kernel):
        raise NotImplementedError

    def low_rank_factors(self, kernel):
        raise NotImplementedError

    def reconcile(self, kernel):
        return kron(*self.factors(kernel))

    def apply_reshaped(self, k, kernel):
        """`psi(w_c) kappa(x)` from `k = kappa(x)` reshaped to `(batch, q, t)`."""
        return kron_apply(k, *self.factors(kernel))

    def contract(self, expansion, x, kernel, training=None):
        if expansion.has_structured_projection:
            (ua, va), (ub, vb) = self.low_rank_factors(kernel)
            if ua.shape[-1] * ub.shape[-1] < self.units:
                if expansion.has_kronecker_projection(x.shape[-1], self.q_, self.t_):
                    p = expansion.kronecker_project(x, va, vb)
                    return ops.einsum("bcr,cnr->bcn", p, kron(ua, ub))
                return project_low_rank(
                    expansion, x, kron(ua, ub), kron_rows(va, vb), training=training
                )
            return project_low_rank(expansion, x, None, self.reconcile(kernel), training=training)
        k = ops.reshape(expansion.call(x, training=training), (-1, self.q_, self.t_))
        return self.apply_reshaped(k, kernel)

    def get_config(self):
        return {**super().get_config(), "p": self.p, "q": self.q}


@register("hm", "hm_reconciliation")
class HMReconciliation(KroneckerReconciliation):
    """Hypercomplex multiplication (HM) reconciliation: a Kronecker product.

    Formula:
    ```
    A = reshape(w[:p q], (p, q)),  B = reshape(w[p q:], (n/p, D/q))
    psi(w) = A (x) B,              l(n, D) = p q + (n/p)(D/q)
    ```

    Args:
        p: rows of `A`, a divisor of `n` (default: largest divisor <= sqrt(n)).
        q: columns of `A`, a divisor of `D` (default: largest divisor <= sqrt(D)).
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Example:
    >>> head = keras_rpn.layers.RPNHead(
    ...     4, reconciliation={"class_name": "hm", "config": {"p": 2, "q": 3}})
    >>> tuple(head(np.zeros((2, 6))).shape)
    (2, 4)
    """

    def num_params(self, units, input_dim):
        p, q, s, t = self.block_shape(units, input_dim)
        return p * q + s * t

    def factors(self, kernel):
        return split(kernel, [(self.p_, self.q_), (self.s_, self.t_)])

    def low_rank_factors(self, kernel):
        a, b = self.factors(kernel)
        return trivial_factors(a), trivial_factors(b)


class _RankMixin:
    """Shared handling of the rank `r` of the LPHM families."""

    def __init__(self, p=None, q=None, r=2, **kwargs):
        super().__init__(p=p, q=q, **kwargs)
        self.r = validation.positive_int("r", r)

    def build(self, input_shape):
        super().build(input_shape)
        validation.at_most("r", self.r, "min(n, D)", min(self.units, self.input_dim))

    def get_config(self):
        return {**super().get_config(), "r": self.r}


@register("lphm", "lphm_reconciliation")
class LPHMReconciliation(_RankMixin, KroneckerReconciliation):
    """Low-rank parameterised HM (LPHM) reconciliation.

    Formula:
    ```
    A = reshape(w[:p q], (p, q)),  S of shape (n/p, r),  T of shape (D/q, r)
    psi(w) = A (x) (S T^T),        l(n, D) = p q + r (n/p + D/q)
    ```
    (`w = [vec A, vec S, vec T]`, row-major.) `psi(w)` has rank at most
    `min(p, q) r`, which the projection path uses.

    Args:
        p: rows of `A`, a divisor of `n` (default: largest divisor <= sqrt(n)).
        q: columns of `A`, a divisor of `D` (default: largest divisor <= sqrt(D)).
        r: rank of `S T^T`, a positive integer at most `min(n, D)` (default 2).
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Example:
    >>> head = keras_rpn.layers.RPNHead(
    ...     4, expansion="taylor",
    ...     reconciliation={"class_name": "lphm", "config": {"p": 2, "q": 5, "r": 1}})
    >>> tuple(head(np.zeros((2, 4))).shape)
    (2, 4)
    """

    parameter_degree = 3

    def num_params(self, units, input_dim):
        p, q, s, t = self.block_shape(units, input_dim)
        return p * q + self.r * (s + t)

    def variance_gain(self, units, input_dim):
        return float(self.r)

    def _parts(self, kernel):
        r = self.r
        return split(kernel, [(self.p_, self.q_), (self.s_, r), (self.t_, r)])

    def factors(self, kernel):
        a, s, t = self._parts(kernel)
        return a, ops.matmul(s, ops.transpose(t, (0, 2, 1)))

    def low_rank_factors(self, kernel):
        a, s, t = self._parts(kernel)
        return trivial_factors(a), (s, t)

    def apply_reshaped(self, k, kernel):
        a, s, t = self._parts(kernel)
        z = ops.einsum("bqt,ctr->bcqr", k, t)
        z = ops.einsum("bcqr,csr->bcqs", z, s)
        y = ops.einsum("cpq,bcqs->bcps", a, z)
        return ops.reshape(y, (-1, a.shape[0], self.units))


@register("dual_lphm", "dual_lphm_reconciliation")
class DualLPHMReconciliation(_RankMixin, KroneckerReconciliation):
    """Dual LPHM reconciliation: a Kronecker product of two low-rank factors.

    Formula:
    ```
    P (p, r), Q (q, r), S (n/p, r), T (D/q, r),  w = [vec P, vec Q, vec S, vec T]
    psi(w) = (P Q^T) (x) (S T^T),   l(n, D) = r (p + q + n/p + D/q)
    ```
    `psi(w) = (P (x) S)(Q (x) T)^T` has rank at most `r^2`: with a Taylor expansion
    the head projects `x` onto the `r^2` rows of `(Q (x) T)^T`, never forming the
    expansion. tinyBIG's MNIST model (784-64-64-10, Taylor d=2, `(p, q, r)` =
    `(8, 784, 5), (8, 64, 5), (2, 64, 5)`) has `7925 + 725 + 680 = 9330` parameters.

    Args:
        p: rows of `P Q^T`, a divisor of `n` (default: largest divisor <= sqrt(n)).
        q: columns of `P Q^T`, a divisor of `D` (default: largest divisor <= sqrt(D)).
        r: rank of both factors, a positive integer at most `min(n, D)` (default 2).
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Example:
    >>> head = keras_rpn.layers.RPNHead(
    ...     4, expansion="taylor",
    ...     reconciliation={"class_name": "dual_lphm", "config": {"p": 2, "q": 4, "r": 2}})
    >>> tuple(head(np.zeros((2, 4))).shape)
    (2, 4)
    """

    parameter_degree = 4

    def num_params(self, units, input_dim):
        p, q, s, t = self.block_shape(units, input_dim)
        return self.r * (p + q + s + t)

    def variance_gain(self, units, input_dim):
        return float(self.r) ** 2

    def _parts(self, kernel):
        r = self.r
        return split(kernel, [(self.p_, r), (self.q_, r), (self.s_, r), (self.t_, r)])

    def factors(self, kernel):
        p, q, s, t = self._parts(kernel)
        return (
            ops.matmul(p, ops.transpose(q, (0, 2, 1))),
            ops.matmul(s, ops.transpose(t, (0, 2, 1))),
        )

    def low_rank_factors(self, kernel):
        p, q, s, t = self._parts(kernel)
        return (p, q), (s, t)

    def apply_reshaped(self, k, kernel):
        p, q, s, t = self._parts(kernel)
        z = ops.einsum("bqt,ctr->bcqr", k, t)
        z = ops.einsum("bcqr,csr->bcqs", z, s)
        z = ops.einsum("bcqs,cqr->bcrs", z, q)
        y = ops.einsum("bcrs,cpr->bcps", z, p)
        return ops.reshape(y, (-1, p.shape[0], self.units))
