"""Weighted summation fusions."""

from keras import constraints
from keras import initializers
from keras import ops
from keras import regularizers

from keras_rpn import validation
from keras_rpn.fusions.base import Fusion
from keras_rpn.fusions.base import register


@register("weighted_summation", "weighted_sum", "weighted_summation_fusion")
class WeightedSumFusion(Fusion):
    """Weighted sum with fixed, given weights.

    Formula:
    ```
    F(y_1..y_K) = sum_k alpha_k y_k,   alpha = weights (fixed),   l = 0
    ```
    The weights are part of the config (tinyBIG keeps them as a plain tensor).

    Args:
        weights: list of `K` finite floats, one per input.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Example:
    >>> fusion = keras_rpn.fusions.WeightedSumFusion(weights=[1.0, 0.5])
    >>> keras.ops.convert_to_numpy(fusion(np.array([[[2.0, 2.0], [4.0, 0.0]]])))
    array([[4., 2.]], dtype=float32)
    """

    is_linear = True

    def __init__(self, weights, **kwargs):
        super().__init__(**kwargs)
        # `Layer.weights` is taken (the layer's variables), hence the name.
        self.fixed_weights = validation.float_list("weights", weights)

    @property
    def identity_for_one_input(self):
        return self.fixed_weights == [1.0]

    def build(self, input_shape):
        super().build(input_shape)
        if len(self.fixed_weights) != self.num_inputs:
            raise ValueError(
                f"`weights` needs one weight per fused input ({self.num_inputs}). "
                f"Received: weights={self.fixed_weights}"
            )

    def fuse(self, stacked):
        alpha = ops.convert_to_tensor(self.fixed_weights, dtype=stacked.dtype)
        return ops.einsum("...kn,k->...n", stacked, alpha)

    def get_config(self):
        return {**super().get_config(), "weights": list(self.fixed_weights)}


@register(
    "parameterized_weighted_summation",
    "parameterized_weighted_summation_fusion",
)
class ParameterizedWeightedSumFusion(Fusion):
    """Learned weighted sum.

    Formula:
    ```
    F(y_1..y_K) = sum_k alpha_k y_k,   alpha = w (learned),   l = K
    ```

    Args:
        kernel_initializer: initializer of `alpha` (default: `1/K` each, the mean).
        kernel_regularizer: regularizer of `alpha`.
        kernel_constraint: constraint of `alpha` (e.g. `"non_neg"`).
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Example:
    >>> fusion = keras_rpn.fusions.ParameterizedWeightedSumFusion()
    >>> tuple(fusion(np.ones((2, 3, 4))).shape)
    (2, 4)
    """

    is_linear = True

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
