"""Low-rank reconciliation."""

import warnings

from keras import ops

from keras_rpn import validation
from keras_rpn.reconciliations.base import Reconciliation
from keras_rpn.reconciliations.base import project_low_rank
from keras_rpn.reconciliations.base import register


@register("lorr", "lorr_reconciliation", "low_rank", "lowrank")
class LowRankReconciliation(Reconciliation):
    """Low-rank reconciliation (LoRR): `psi(w) = A B`.

    Formula:
    ```
    A = reshape(w[:n r], (n, r)),  B = reshape(w[n r:], (r, D))
    psi(w) = A B,                  l(n, D) = r (n + D)
    ```
    The head output is computed as `A (B kappa(x))` through the expansion's
    `project`, so the `n x D` matrix is never formed, and with a Taylor expansion
    neither is the D-wide expansion.

    Args:
        r: rank, a positive integer (default 2). A rank above `min(n, D)` is
            accepted with a warning: it adds parameters, not expressiveness.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Example:
    >>> head = keras_rpn.layers.RPNHead(
    ...     4, expansion="taylor", reconciliation={"class_name": "lorr", "config": {"r": 3}})
    >>> tuple(head(np.zeros((2, 5))).shape)
    (2, 4)
    """

    parameter_degree = 2
    flat_xavier_default = True  # measured: see Reconciliation.default_initializer

    def __init__(self, r=2, **kwargs):
        super().__init__(**kwargs)
        self.r = validation.positive_int("r", r)

    def build(self, input_shape):
        super().build(input_shape)
        bound = min(self.units, self.input_dim)
        if self.r > bound:
            # Valid (tinyBIG accepts it; its SST-2 config has r=5 on a 32 -> 2 layer),
            # only redundant: A B has rank at most min(n, D) whatever r is.
            warnings.warn(
                f"LowRankReconciliation: rank r={self.r} exceeds min(n, D) = {bound} "
                f"(n={self.units}, D={self.input_dim}): psi(w) = A B has rank at most "
                f"{bound}, so the extra {self.r - bound} rank(s) only add parameters.",
                stacklevel=2,
            )

    def num_params(self, units, input_dim):
        return self.r * (units + input_dim)

    def variance_gain(self, units, input_dim):
        return float(self.r)

    def factors(self, kernel):
        """`A` of shape `(C, n, r)` and `B` of shape `(C, r, D)`."""
        split = self.units * self.r
        a = ops.reshape(kernel[:, :split], (-1, self.units, self.r))
        b = ops.reshape(kernel[:, split:], (-1, self.r, self.input_dim))
        return a, b

    def reconcile(self, kernel):
        a, b = self.factors(kernel)
        return ops.matmul(a, b)

    def contract(self, expansion, x, kernel, training=None):
        a, b = self.factors(kernel)
        return project_low_rank(expansion, x, a, b, training=training)

    def get_config(self):
        return {**super().get_config(), "r": self.r}
