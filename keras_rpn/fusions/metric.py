"""Parameter-free fusions that reduce over the K inputs."""

from keras import ops

from keras_rpn.fusions.base import Fusion
from keras_rpn.fusions.base import register


@register("mean", "average", "mean_fusion", "average_fusion")
class MeanFusion(Fusion):
    """Mean over the inputs: `F(y_1..y_K) = (1/K) sum_k y_k` (the default fusion).

    Args:
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.
    """

    def fuse(self, stacked):
        return ops.mean(stacked, axis=-2)


@register("sum", "summation", "sum_fusion", "summation_fusion")
class SumFusion(Fusion):
    """Sum over the inputs: `F(y_1..y_K) = sum_k y_k`.

    Args:
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.
    """

    def fuse(self, stacked):
        return ops.sum(stacked, axis=-2)


@register("max", "max_fusion")
class MaxFusion(Fusion):
    """Elementwise maximum over the inputs: `F(y_1..y_K) = max_k y_k`.

    Args:
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.
    """

    def fuse(self, stacked):
        return ops.max(stacked, axis=-2)
