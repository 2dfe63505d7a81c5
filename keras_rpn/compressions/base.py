"""The compression protocol: kappa maps R^m to R^D with D < m (usually)."""

from keras import ops

from keras_rpn.expansions import base as expansion_base
from keras_rpn.expansions.base import Expansion
from keras_rpn.registry import Registry


class Compression(Expansion):
    """Base class of data compression functions `kappa: R^m -> R^D`, `D <= m`.

    A compression is a data transformation like an expansion (same protocol:
    `output_dim(m)` is tinyBIG's `D(m)`, `expand(x)` the formula on inputs of shape
    `(..., m)`), so it goes in a head's `expansion=` slot; only `D` is smaller.
    Every compression name resolves there too: `RPNHead(10, expansion="pca")`.

    Capabilities a subclass may declare:

    * `adaptable = True`: the function has state fitted on data, once, with
      `adapt(data)` (see `FittedCompression`), before it can be called.

    Args:
        **kwargs: `preprocessing`, `postprocessing` and base layer keyword arguments
            (see `keras_rpn.expansions.Expansion`).
    """

    adaptable = False


# Compression names also resolve in the expansion registry (a head's `expansion=`
# slot); the parent registry refuses clashing names.
_registry = Registry("compression", Expansion, parent=expansion_base._registry)
register = _registry.register
names = _registry.names


def get(identifier, **overrides):
    """Returns a compression from an instance, a short name or a config dict."""
    return _registry.get(identifier, **overrides)


# --------------------------------------------------------------------------------------
# Reductions shared by the metric and geometric compressions.

METRICS = ("max", "min", "sum", "mean", "prod", "median")


def reduce(x, metric, axis=-1):
    """`metric` of `x` along `axis` (`median` is the lower median, as torch's)."""
    if metric == "max":
        return ops.max(x, axis=axis)
    if metric == "min":
        return ops.min(x, axis=axis)
    if metric == "sum":
        return ops.sum(x, axis=axis)
    if metric == "mean":
        return ops.mean(x, axis=axis)
    if metric == "prod":
        return ops.prod(x, axis=axis)
    n = x.shape[axis]
    return ops.take(ops.sort(ops.moveaxis(x, axis, -1), axis=-1), (n - 1) // 2, axis=-1)


class MetricMixin:
    """A `metric` hyper-parameter that subclasses may fix (`fixed_metric = "max"`).

    `max_compression` is `metric_compression` with the metric fixed: the fixed
    subclasses accept no other metric and leave it out of their config.
    """

    fixed_metric = None
    allowed_metrics = METRICS

    def _set_metric(self, metric):
        if self.fixed_metric is not None:
            if metric not in (None, self.fixed_metric):
                raise ValueError(
                    f"{self.__class__.__name__} always uses metric={self.fixed_metric!r}. "
                    f"Received: metric={metric!r}"
                )
            metric = self.fixed_metric
        if metric not in self.allowed_metrics:
            raise ValueError(
                f"Expected `metric` to be one of {', '.join(self.allowed_metrics)}. "
                f"Received: metric={metric!r}"
            )
        self.metric = metric

    def _metric_config(self, config):
        if self.fixed_metric is None:
            config["metric"] = self.metric
        return config
