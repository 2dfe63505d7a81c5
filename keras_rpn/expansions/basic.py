"""Basic expansions."""

from keras_rpn.expansions.base import Expansion
from keras_rpn.expansions.base import register


@register("identity", "identity_expansion")
class IdentityExpansion(Expansion):
    """Identity expansion: `kappa(x) = x`, so `D = m`.

    With the identity reconciliation this makes an RPN head a dense layer.

    Args:
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.
    """

    def output_dim(self, input_dim):
        return input_dim

    def expand(self, x):
        return x
