"""Weighted summation fusions."""

from keras import constraints
from keras import initializers
from keras import ops
from keras import regularizers

from keras_rpn.fusions.base import Fusion
from keras_rpn.fusions.base import register


@register(
    "parameterized_weighted_summation",
    "parameterized_weighted_summation_fusion",
)
class ParameterizedWeightedSumFusion(Fusion):
    """Learned weighted sum: `F(y_1..y_K) = sum_k alpha_k y_k`, `l = K`.

    Args:
        kernel_initializer: initializer of `alpha` (default: `1/K` each, the mean).
        kernel_regularizer: regularizer of `alpha`.
        kernel_constraint: constraint of `alpha` (e.g. `"non_neg"`).
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.
    """

    identity_for_one_input = False

    def __init__(
        self,
        kernel_initializer=None,
        kernel_regularizer=None,
        kernel_constraint=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)

    def build(self, input_shape):
        super().build(input_shape)
        self.kernel = self.add_weight(
            name="kernel",
            shape=(self.num_inputs,),
            initializer=self.kernel_initializer or initializers.Constant(1.0 / self.num_inputs),
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )

    def fuse(self, stacked):
        return ops.einsum("...kn,k->...n", stacked, self.kernel)

    def get_config(self):
        return {
            **super().get_config(),
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
        }
