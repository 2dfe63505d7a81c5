"""Sparsity regularizers on the learned univariate functions of separable heads."""

import keras
from keras import ops

from keras_rpn import validation

__all__ = ["FunctionSparsity"]


_MAGNITUDES = ("weights", "data")


@keras.saving.register_keras_serializable(package="keras_rpn")
class FunctionSparsity(keras.regularizers.Regularizer):
    """L1 and entropy of the per-edge functions of a separable head (the KAN paper's).

    A separable head is a sum of univariate functions, one per edge `j -> i`:
    `f_ij(t) = sum_{k in cols(j)} psi(w_c)[i, k] kappa_k(t)` (see
    `keras_rpn.interpret`; `cols(j)` is the expansion's `separable_columns`). With
    `|f_ij|` the magnitude of each function,
    ```
    R = l1 sum_ij |f_ij| + entropy S,   S = - sum_ij p_ij log p_ij,   p_ij = |f_ij| / sum |f|
    ```
    The L1 term drives whole edges to zero and the entropy term concentrates the
    magnitude on few edges, so `keras_rpn.prune` can then drop them. Two
    magnitudes:

    * `magnitude="weights"` (default): on the coefficients, without data,
      `|f_ij| = mean_{c, k in cols(j)} |psi(w_c)[i, k]|`. For B-splines (a
      partition of unity) and RBFs it bounds the function on its grid. A weight
      regularizer: in `layer.losses` at any time.
    * `magnitude="data"`: on the training batch, as the KAN paper does,
      `|f_ij| = mean_{s, c} |sum_{k in cols(j)} psi(w_c)[i, k] kappa_k(x_sj)|` over
      the batch `x` the head is called on with `training=True` (the penalty is
      added then, like an activity regularizer; inference adds nothing). The
      head is then computed on its own, not batched with its siblings.

    Both measure the expansion part of the functions (the head's learned
    coefficients), not a remainder (such as KANDense's base branch `w b(x)`: give
    its weights a Keras regularizer if needed).

    Pass it as a head's `kernel_regularizer` (`RPNHead`, `RPNLayer`, `KANDense`):
    the head binds a copy to its own layout when built (any reconciliation; the
    expansion must be separable per feature; `magnitude="data"` also needs a head
    without attribute interdependence). Saved in the layer's config.

    Args:
        l1: weight of the L1 term (default 0.01).
        entropy: weight of the entropy term (default 0.0).
        magnitude: `"weights"` (default) or `"data"`, see above.

    Example:
    >>> layer = keras_rpn.layers.KANDense(
    ...     4, kernel_regularizer=keras_rpn.regularizers.FunctionSparsity(
    ...         l1=1e-3, entropy=1e-3, magnitude="data"))
    """

    def __init__(self, l1=0.01, entropy=0.0, magnitude="weights"):
        self.l1 = validation.bounded_float("l1", l1, low=0.0, low_inclusive=True)
        self.entropy = validation.bounded_float("entropy", entropy, low=0.0, low_inclusive=True)
        if magnitude not in _MAGNITUDES:
            raise ValueError(
                f"`magnitude` must be one of {_MAGNITUDES}. Received: magnitude={magnitude!r}"
            )
        self.magnitude = magnitude
        self._reconciliation = None
        self._columns = None

    @property
    def reads_data(self):
        """Whether the penalty is computed on the head's inputs (`magnitude="data"`)."""
        return self.magnitude == "data"

    def bound_to(self, head, input_dim):
        """A copy of this regularizer reading `head`'s kernel (called by the head's build)."""
        if self.reads_data and head.attribute_interdependence is not None:
            raise ValueError(
                f"FunctionSparsity(magnitude='data') measures the functions of the head's "
                f"inputs; {head.name} mixes them first with an attribute interdependence. "
                "Use magnitude='weights'."
            )
        bound = FunctionSparsity(self.l1, self.entropy, self.magnitude)
        bound._reconciliation = head.reconciliation
        bound._columns = head.expansion.separable_columns(input_dim)
        return bound

    def _check_bound(self):
        if self._columns is None:
            raise ValueError(
                "FunctionSparsity reads a head's kernel: pass it as the kernel_regularizer "
                "of an RPNHead, RPNLayer or KANDense."
            )

    def _per_feature_weights(self, kernel, dtype=None):
        """`psi(w)` as `(C, n, m, K)`: every channel's coefficients per edge."""
        weights = self._reconciliation.reconcile(kernel)  # (C, n, D)
        if dtype is not None:
            weights = ops.cast(weights, dtype)
        m, k = self._columns.shape
        picked = ops.take(weights, self._columns.reshape(-1), axis=-1)
        return ops.reshape(picked, tuple(picked.shape[:2]) + (m, k))

    def magnitudes(self, kernel):
        """`|f_ij|` on the coefficients, shape `(n, m)`, from a bound head's `(C, l)` kernel."""
        self._check_bound()
        return ops.mean(ops.abs(self._per_feature_weights(kernel)), axis=(0, 3))

    def data_magnitudes(self, head, inputs, training=None):
        """`|f_ij|` on the batch `inputs` of `head`, shape `(n, m)`."""
        self._check_bound()
        m, k = self._columns.shape
        x = ops.reshape(inputs, (-1, inputs.shape[-1]))
        kappa = head.expansion(x, training=training)  # (B, D)
        kappa = ops.reshape(ops.take(kappa, self._columns.reshape(-1), axis=-1), (-1, m, k))
        weights = self._per_feature_weights(head.kernel, kappa.dtype)  # (C, n, m, K)
        values = ops.einsum("bjk,cnjk->bcnj", kappa, weights)  # f_ij(x_bj) per channel
        return ops.mean(ops.abs(values), axis=(0, 1))

    def penalty(self, magnitude):
        """`R` of the `(n, m)` magnitudes."""
        loss = self.l1 * ops.sum(magnitude)
        if self.entropy > 0:
            p = magnitude / (ops.sum(magnitude) + 1e-12)
            loss = loss - self.entropy * ops.sum(p * ops.log(p + 1e-12))
        return loss

    def __call__(self, x):
        return self.penalty(self.magnitudes(x))

    def get_config(self):
        return {"l1": self.l1, "entropy": self.entropy, "magnitude": self.magnitude}
