"""Parameter-free fusions that reduce over the K inputs, element by element."""

from keras import ops

from keras_rpn.fusions.base import Fusion
from keras_rpn.fusions.base import register


@register("mean", "average", "mean_fusion", "average_fusion")
class MeanFusion(Fusion):
    """Mean over the inputs (the default fusion).

    Formula:
    ```
    F(y_1..y_K) = (1/K) sum_k y_k,   l = 0
    ```

    Args:
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Example:
    >>> fusion = keras_rpn.fusions.MeanFusion()
    >>> keras.ops.convert_to_numpy(fusion(np.array([[[1.0, 2.0], [3.0, 6.0]]])))
    array([[2., 4.]], dtype=float32)
    """

    is_linear = True

    def fuse(self, stacked):
        return ops.mean(stacked, axis=-2)


@register("sum", "summation", "sum_fusion", "summation_fusion")
class SumFusion(Fusion):
    """Sum over the inputs.

    Formula:
    ```
    F(y_1..y_K) = sum_k y_k,   l = 0
    ```

    Args:
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Example:
    >>> fusion = keras_rpn.fusions.SumFusion()
    >>> keras.ops.convert_to_numpy(fusion(np.array([[[1.0, 2.0], [3.0, 6.0]]])))
    array([[4., 8.]], dtype=float32)
    """

    is_linear = True

    def fuse(self, stacked):
        return ops.sum(stacked, axis=-2)


@register("max", "max_fusion")
class MaxFusion(Fusion):
    """Elementwise maximum over the inputs: `F(y_1..y_K) = max_k y_k`, `l = 0`.

    Args:
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Example:
    >>> fusion = keras_rpn.fusions.MaxFusion()
    >>> keras.ops.convert_to_numpy(fusion(np.array([[[1.0, 7.0], [3.0, 6.0]]])))
    array([[3., 7.]], dtype=float32)
    """

    def fuse(self, stacked):
        return ops.max(stacked, axis=-2)


@register("min", "min_fusion")
class MinFusion(Fusion):
    """Elementwise minimum over the inputs: `F(y_1..y_K) = min_k y_k`, `l = 0`.

    Args:
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Example:
    >>> fusion = keras_rpn.fusions.MinFusion()
    >>> keras.ops.convert_to_numpy(fusion(np.array([[[1.0, 7.0], [3.0, 6.0]]])))
    array([[1., 6.]], dtype=float32)
    """

    def fuse(self, stacked):
        return ops.min(stacked, axis=-2)


@register("prod", "product", "prod_fusion", "product_fusion")
class ProdFusion(Fusion):
    """Elementwise product over the inputs: `F(y_1..y_K) = prod_k y_k`, `l = 0`.

    Args:
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Example:
    >>> fusion = keras_rpn.fusions.ProdFusion()
    >>> keras.ops.convert_to_numpy(fusion(np.array([[[1.0, 7.0], [3.0, 6.0]]])))
    array([[ 3., 42.]], dtype=float32)
    """

    def fuse(self, stacked):
        return ops.prod(stacked, axis=-2)


@register("median", "median_fusion")
class MedianFusion(Fusion):
    """Elementwise lower median over the inputs, as `torch.median` (tinyBIG).

    Formula (`y_(1) <= ... <= y_(K)` the sorted inputs, element by element):
    ```
    F(y_1..y_K) = y_( floor((K + 1) / 2) ),   l = 0
    ```
    For even `K` this is the lower of the two middle values, not their mean.
    Computed with a sort and a static index, so it compiles.

    Args:
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Example:
    >>> fusion = keras_rpn.fusions.MedianFusion()
    >>> keras.ops.convert_to_numpy(fusion(np.array([[[4.0], [1.0], [3.0], [2.0]]])))
    array([[2.]], dtype=float32)
    """

    def fuse(self, stacked):
        k = stacked.shape[-2]
        return ops.sort(stacked, axis=-2)[..., (k - 1) // 2, :]


@register("l1_norm", "l1_norm_fusion")
class L1NormFusion(Fusion):
    """Elementwise L1 norm over the inputs: `F(y_1..y_K) = sum_k |y_k|`, `l = 0`.

    Args:
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Example:
    >>> fusion = keras_rpn.fusions.L1NormFusion()
    >>> keras.ops.convert_to_numpy(fusion(np.array([[[1.0, -2.0], [-3.0, 6.0]]])))
    array([[4., 8.]], dtype=float32)
    """

    identity_for_one_input = False

    def fuse(self, stacked):
        return ops.sum(ops.abs(stacked), axis=-2)


@register("l2_norm", "l2_norm_fusion")
class L2NormFusion(Fusion):
    """Elementwise L2 norm over the inputs: `F(y_1..y_K) = sqrt(sum_k y_k^2)`, `l = 0`.

    The gradient at an all-zero input is 0 (not NaN).

    Args:
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Example:
    >>> fusion = keras_rpn.fusions.L2NormFusion()
    >>> keras.ops.convert_to_numpy(fusion(np.array([[[3.0, 0.0], [4.0, 0.0]]])))
    array([[5., 0.]], dtype=float32)
    """

    identity_for_one_input = False

    def fuse(self, stacked):
        squares = ops.sum(ops.square(stacked), axis=-2)
        positive = squares > 0
        safe = ops.where(positive, squares, ops.ones_like(squares))
        return ops.where(positive, ops.sqrt(safe), ops.zeros_like(squares))
