"""Metric compressions: one statistic of the features of each row."""

from keras import ops

from keras_rpn.compressions.base import Compression
from keras_rpn.compressions.base import MetricMixin
from keras_rpn.compressions.base import reduce
from keras_rpn.compressions.base import register


@register("metric", "metric_compression")
class MetricCompression(MetricMixin, Compression):
    """Compresses each row to one statistic of its features.

    Formula, for `x` of shape `(..., m)`:
    ```
    kappa(x) = [metric(x_1, ..., x_m)]      D(m) = 1
    ```
    `metric` is one of `max`, `min`, `sum`, `mean`, `prod` and `median` (the lower
    median: the `floor((m - 1) / 2)`-th smallest value, as tinyBIG's, which uses
    `torch.median`).

    Args:
        metric: the statistic (required).
        **kwargs: `preprocessing`, `postprocessing` and base layer keyword arguments.

    >>> kappa = keras_rpn.compressions.get("metric", metric="median")
    >>> keras.ops.convert_to_numpy(kappa(np.array([[3.0, 1.0, 4.0, 2.0]]))).tolist()  # lower median
    [[2.0]]
    """

    def __init__(self, metric=None, **kwargs):
        super().__init__(**kwargs)
        self._set_metric(metric)

    def output_dim(self, input_dim):
        return 1

    def expand(self, x):
        return ops.expand_dims(reduce(x, self.metric), -1)

    def get_config(self):
        return self._metric_config(super().get_config())


@register("max", "max_compression")
class MaxCompression(MetricCompression):
    """The largest feature of each row: `kappa(x) = [max_j x_j]`, `D(m) = 1`."""

    fixed_metric = "max"


@register("min", "min_compression")
class MinCompression(MetricCompression):
    """The smallest feature of each row: `kappa(x) = [min_j x_j]`, `D(m) = 1`."""

    fixed_metric = "min"


@register("sum", "sum_compression")
class SumCompression(MetricCompression):
    """The sum of the features of each row: `kappa(x) = [sum_j x_j]`, `D(m) = 1`."""

    fixed_metric = "sum"


@register("mean", "mean_compression")
class MeanCompression(MetricCompression):
    """The mean of the features of each row: `kappa(x) = [mean_j x_j]`, `D(m) = 1`."""

    fixed_metric = "mean"


@register("prod", "prod_compression")
class ProdCompression(MetricCompression):
    """The product of the features of each row: `kappa(x) = [prod_j x_j]`, `D(m) = 1`."""

    fixed_metric = "prod"


@register("median", "median_compression")
class MedianCompression(MetricCompression):
    """The lower median of the features of each row, `D(m) = 1`."""

    fixed_metric = "median"
