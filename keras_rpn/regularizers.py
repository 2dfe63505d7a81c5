"""Sparsity regularizers on the learned univariate functions of separable heads."""

import keras
import numpy as np
from keras import ops

from keras_rpn import validation

__all__ = ["FunctionSparsity"]


@keras.saving.register_keras_serializable(package="keras_rpn")
class FunctionSparsity(keras.regularizers.Regularizer):
    """L1 and entropy of the per-edge functions of a separable head (the KAN paper's).

    A separable head is a sum of univariate functions, one per edge `j -> i`:
    `f_ij(t) = sum_{k in cols(j)} W[i, k] kappa_k(t)` (see `keras_rpn.interpret`).
    Its magnitude is measured on the coefficients, without data:
    ```
    |f_ij| = mean_{c, k in cols(j)} |psi(w_c)[i, k]|
    R = l1 sum_ij |f_ij| + entropy S,   S = - sum_ij p_ij log p_ij,   p_ij = |f_ij| / sum |f|
    ```
    For B-splines (a partition of unity) and RBFs, `|f_ij|` bounds the function
    on its grid; the L1 term drives whole edges to zero and the entropy term (the
    KAN paper's) concentrates the magnitude on few edges, so `keras_rpn.prune` can
    then drop them.

    Pass it as a head's `kernel_regularizer` (`RPNHead`, `RPNLayer`, `KANDense`):
    the head binds a copy to its own layout when built (any reconciliation; the
    expansion must be separable per feature). Saved in the layer's config.

    Args:
        l1: weight of the L1 term (default 0.01).
        entropy: weight of the entropy term (default 0.0).

    Example:
    >>> layer = keras_rpn.layers.KANDense(
    ...     4, kernel_regularizer=keras_rpn.regularizers.FunctionSparsity(l1=1e-3, entropy=1e-3))
    """

    def __init__(self, l1=0.01, entropy=0.0):
        self.l1 = validation.bounded_float("l1", l1, low=0.0, low_inclusive=True)
        self.entropy = validation.bounded_float("entropy", entropy, low=0.0, low_inclusive=True)
        self._reconciliation = None
        self._columns = None

    def bound_to(self, head, input_dim):
        """A copy of this regularizer reading `head`'s kernel (called by the head's build)."""
        from keras_rpn import interpret

        bound = FunctionSparsity(self.l1, self.entropy)
        bound._reconciliation = head.reconciliation
        bound._columns = np.asarray(interpret.feature_columns(head.expansion, input_dim))
        return bound

    def magnitudes(self, kernel):
        """`|f_ij|`, shape `(n, m)`, from a bound head's `(C, l)` kernel."""
        if self._columns is None:
            raise ValueError(
                "FunctionSparsity reads a head's kernel: pass it as the kernel_regularizer "
                "of an RPNHead, RPNLayer or KANDense."
            )
        weights = self._reconciliation.reconcile(kernel)  # (C, n, D)
        m, k = self._columns.shape
        picked = ops.take(weights, self._columns.reshape(-1), axis=-1)
        picked = ops.reshape(picked, tuple(picked.shape[:2]) + (m, k))
        return ops.mean(ops.abs(picked), axis=(0, 3))

    def __call__(self, x):
        magnitude = self.magnitudes(x)
        loss = self.l1 * ops.sum(magnitude)
        if self.entropy > 0:
            p = magnitude / (ops.sum(magnitude) + 1e-12)
            loss = loss - self.entropy * ops.sum(p * ops.log(p + 1e-12))
        return loss

    def get_config(self):
        return {"l1": self.l1, "entropy": self.entropy}
