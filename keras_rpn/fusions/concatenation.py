"""Concatenating fusions."""

from keras import constraints
from keras import initializers
from keras import ops
from keras import regularizers

from keras_rpn import validation
from keras_rpn.fusions.base import Fusion
from keras_rpn.fusions.base import register


@register("concatenation", "concat", "concatenation_fusion")
class ConcatenationFusion(Fusion):
    """Concatenation on the last axis.

    Formula:
    ```
    F(y_1..y_K) = [y_1 | ... | y_K],   width K n,   l = 0
    ```

    Args:
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Example:
    >>> tuple(keras_rpn.fusions.ConcatenationFusion()(np.ones((2, 3, 4))).shape)
    (2, 12)
    """

    is_linear = True

    def output_dim(self, num_inputs, input_dim):
        if num_inputs is None or input_dim is None:
            return None
        return num_inputs * input_dim

    def fuse(self, stacked):
        return ops.reshape(stacked, ops.shape(stacked)[:-2] + (self.num_inputs * self.input_dim,))


@register(
    "parameterized_concatenation",
    "parameterized_concatenation_fusion",
)
class ParameterizedConcatenationFusion(ConcatenationFusion):
    """Concatenation followed by a learned linear map.

    Formula:
    ```
    F(y_1..y_K) = [y_1 | ... | y_K] W,   W of shape (K n, units),   l = K n units
    ```
    (tinyBIG stores `W^T`, of shape `(units, K n)`.)

    Args:
        units: output width (default: the input width `n`).
        kernel_initializer: initializer of `W` (default `"glorot_uniform"`).
        kernel_regularizer: regularizer of `W`.
        kernel_constraint: constraint of `W`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Example:
    >>> fusion = keras_rpn.fusions.ParameterizedConcatenationFusion(units=5)
    >>> tuple(fusion(np.ones((2, 3, 4))).shape)
    (2, 5)
    """

    identity_for_one_input = False

    def __init__(
        self,
        units=None,
        kernel_initializer="glorot_uniform",
        kernel_regularizer=None,
        kernel_constraint=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = validation.positive_int("units", units, allow_none=True)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)

    def output_dim(self, num_inputs, input_dim):
        return self.units or input_dim

    def build(self, input_shape):
        super().build(input_shape)
        self.kernel = self.add_weight(
            name="kernel",
            shape=(self.num_inputs * self.input_dim, self.units or self.input_dim),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )

    def fuse(self, stacked):
        return ops.matmul(super().fuse(stacked), self.kernel)

    def model_parallel_axis(self, variable):
        # W is (K n, units): its output axis 1.
        return 1 if len(variable.shape) == 2 else None

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
        }
