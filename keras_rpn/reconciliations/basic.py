"""Basic reconciliations: the parameters are the matrix."""

from keras import ops

from keras_rpn.reconciliations.base import Reconciliation
from keras_rpn.reconciliations.base import register


@register("identity", "identity_reconciliation")
class IdentityReconciliation(Reconciliation):
    """Identity reconciliation: `psi(w) = reshape(w, (n, D))`, `l = n D`.

    With the identity expansion, the head is a dense layer.

    Args:
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.
    """

    def num_params(self, units, input_dim):
        return units * input_dim

    def reconcile(self, kernel):
        return ops.reshape(kernel, (-1, self.units, self.input_dim))
