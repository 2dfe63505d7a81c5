"""Initializers of a head's parameters, and how a head applies the ones it is given.

A head's trainable parameters are a flat `(C, l)` kernel from which the
reconciliation builds the `C` matrices `psi(w_c)` of shape `(n, D)`. Two kinds of
initializer are meaningful for it:

* a Keras initializer (`"glorot_uniform"`, `"he_normal"`, `RandomNormal(0.02)`,
  ...) means what it means for a `keras.layers.Dense` kernel of shape `(D, n)`:
  the head draws it on the flat kernel and rescales the draw so that the entries
  of `psi(w)` get the variance the initializer gives that `Dense` kernel, for
  every reconciliation (the reconciliation's `parameter_variance` converts the
  variance of `psi(w)` into the variance of `w`). Initializers without a scale
  (`zeros`, `ones`, `constant`, `identity`) are applied unchanged;
* `TinyBIG(method)` reproduces tinyBIG's own initialisation, applied to the flat
  `(C, l)` kernel as it is (fan-in `l`, fan-out `C`), and to the bias as tinyBIG
  does. `keras_rpn.config.from_tinybig` uses it, so an imported model starts
  where tinyBIG's starts.
"""

import math

import keras

from keras_rpn import validation

__all__ = ["GlorotPsi", "TinyBIG", "bias_initializer", "dense_variance", "kernel_initializer"]

METHODS = ("xavier_uniform", "xavier_normal", "kaiming_uniform", "fanout_std_uniform")

# Standard deviation of a standard normal truncated at two standard deviations.
_TRUNCATED_STD = 0.87962566103423978


@keras.saving.register_keras_serializable(package="keras_rpn")
class TinyBIG(keras.initializers.Initializer):
    """tinyBIG's parameter initialisation (`parameters_init_method`).

    Shapes are read in tinyBIG's `(fan_out, fan_in)` layout: a head kernel
    `(C, l)` has fan-in `l` and fan-out `C`, a 1-D bias of size `n` is tinyBIG's
    `(1, n)` view (fan-in `n`, fan-out 1). `fan_in`, `fan_out` and `units`
    override what the shape says (for another layout, such as the `(m, n)`
    kernel of `remainders.LinearRemainder`).

    Formulas (`U(a)` is uniform on `[-a, a]`):
    ```
    xavier_uniform:      U(sqrt(6 / (fan_in + fan_out)))
    xavier_normal:       N(0, 2 / (fan_in + fan_out))
    kaiming_uniform:     U(1 / sqrt(fan_in))   (torch's kaiming_uniform, a = sqrt(5);
                         a head bias uses the fan-in l of the head kernel)
    fanout_std_uniform:  U(1 / sqrt(units))    (units: the head's output width n)
    ```
    A head given this initializer fills in what only it knows (`units`, and `l`
    for the kaiming bias), so `RPNHead(n, kernel_initializer=TinyBIG(m),
    bias_initializer=TinyBIG(m))` initialises as tinyBIG's head does.

    Args:
        method: one of `"xavier_uniform"` (tinyBIG's default), `"xavier_normal"`,
            `"kaiming_uniform"`, `"fanout_std_uniform"`.
        fan_in, fan_out: optional positive integers replacing the fans read from
            the shape.
        units: optional positive integer, the `n` of `fanout_std_uniform`
            (default: the first axis of the shape).
        seed: optional integer seed, as for Keras' random initializers.

    Example:
    >>> init = keras_rpn.initializers.TinyBIG("xavier_uniform", seed=0)
    >>> w = init((1, 218))  # bound sqrt(6 / 219) = 0.166
    >>> bool(np.abs(w).max() <= 0.166)
    True
    """

    def __init__(self, method="xavier_uniform", fan_in=None, fan_out=None, units=None, seed=None):
        if method not in METHODS:
            raise ValueError(f"`method` must be one of {METHODS}. Received: method={method!r}")
        self.method = method
        self.fan_in = _optional_positive("fan_in", fan_in)
        self.fan_out = _optional_positive("fan_out", fan_out)
        self.units = _optional_positive("units", units)
        if seed is not None and not isinstance(seed, int):
            raise TypeError(f"`seed` must be an integer or None. Received: seed={seed!r}")
        self.seed = seed

    def fans(self, shape):
        """`(fan_in, fan_out)` of a shape in tinyBIG's layout, with the overrides."""
        shape = tuple(int(s) for s in shape)
        if len(shape) == 1:
            fan_in, fan_out = shape[0], 1
        elif len(shape) == 2:
            fan_in, fan_out = shape[1], shape[0]
        else:
            raise ValueError(f"TinyBIG initializes 1-D and 2-D tensors. Received: shape={shape}")
        return self.fan_in or fan_in, self.fan_out or fan_out

    def __call__(self, shape, dtype=None):
        fan_in, fan_out = self.fans(shape)
        if self.method == "xavier_normal":
            stddev = math.sqrt(2.0 / (fan_in + fan_out))
            return keras.initializers.RandomNormal(0.0, stddev, seed=self.seed)(shape, dtype)
        if self.method == "xavier_uniform":
            limit = math.sqrt(6.0 / (fan_in + fan_out))
        elif self.method == "kaiming_uniform":
            limit = 1.0 / math.sqrt(fan_in)
        else:
            limit = 1.0 / math.sqrt(self.units or int(shape[0]))
        return keras.initializers.RandomUniform(-limit, limit, seed=self.seed)(shape, dtype)

    def for_head(self, part, reconciliation, units, input_dim):
        """The initializer of a head's `part` (`"kernel"` or `"bias"`).

        A head kernel `(C, l)` needs the head's `units` for `fanout_std_uniform`; a
        head bias uses `l` as its fan-in under `kaiming_uniform`, as tinyBIG does.
        """
        config = self.get_config()
        config["units"] = self.units or units
        if part == "bias" and self.method == "kaiming_uniform":
            config["fan_in"] = self.fan_in or reconciliation.num_params(units, input_dim)
        return TinyBIG(**config)

    def get_config(self):
        return {
            "method": self.method,
            "fan_in": self.fan_in,
            "fan_out": self.fan_out,
            "units": self.units,
            "seed": self.seed,
        }


@keras.saving.register_keras_serializable(package="keras_rpn")
class GlorotPsi(keras.initializers.Initializer):
    """Gives `psi(w)` the Glorot variance `2 / (n + D)`, whatever the reconciliation.

    Each reconciliation solves for the scale of `w` (`Reconciliation.glorot_initializer`:
    the entries of `w` are uniform with the variance `v` such that
    `variance_gain * v ** parameter_degree = 2 / (n + D)`). Meaningful only as a
    head's `kernel_initializer`; called on a bare shape it draws Glorot uniform.

    Example:
    >>> head = keras_rpn.layers.RPNHead(
    ...     8, reconciliation="lorr", kernel_initializer=keras_rpn.initializers.GlorotPsi())
    """

    def __call__(self, shape, dtype=None):
        return keras.initializers.GlorotUniform()(shape, dtype)

    def for_head(self, part, reconciliation, units, input_dim):
        if part == "bias":
            return keras.initializers.Zeros()
        return reconciliation.glorot_initializer(units, input_dim)


def _optional_positive(name, value):
    return None if value is None else validation.positive_int(name, value)


def dense_variance(initializer, shape):
    """The variance of the entries `initializer` draws for `shape`, or `None`.

    Computed from the initializer's parameters, as Keras draws them (`fan_in` is
    `shape[0]` and `fan_out` `shape[1]` for a 2-D shape). `None` for the
    initializers without a scale (constants, the identity) and for unknown ones.
    """
    init = initializer
    if isinstance(init, keras.initializers.VarianceScaling):
        axes = {"input_axes": init.input_axes, "output_axes": init.output_axes}
        fan_in, fan_out = _compute_fans(shape, **axes)
        fan = {"fan_in": fan_in, "fan_out": fan_out}.get(init.mode, (fan_in + fan_out) / 2.0)
        return init.scale / max(1.0, fan)
    if isinstance(init, keras.initializers.RandomNormal):
        return float(init.stddev) ** 2
    if isinstance(init, keras.initializers.TruncatedNormal):
        return (float(init.stddev) * _TRUNCATED_STD) ** 2
    if isinstance(init, keras.initializers.RandomUniform):
        return (float(init.maxval) - float(init.minval)) ** 2 / 12.0
    if isinstance(init, keras.initializers.Orthogonal):
        rows = math.prod(shape[:-1])
        return float(init.gain) ** 2 / max(rows, shape[-1])
    return None


def _compute_fans(shape, input_axes=None, output_axes=None):
    if input_axes is not None and output_axes is not None:
        return (
            math.prod(shape[a] for a in input_axes),
            math.prod(shape[a] for a in output_axes),
        )
    return shape[0], shape[-1]


class _Scaled:
    """`initializer`'s draw times `factor` (built by a head, never serialized)."""

    def __init__(self, initializer, factor):
        self.initializer = initializer
        self.factor = factor

    def __call__(self, shape, dtype=None):
        return self.initializer(shape, dtype=dtype) * self.factor


def kernel_initializer(initializer, reconciliation, shape):
    """The initializer a head applies to its `(C, l)` kernel.

    Args:
        initializer: what the head was given: `None` (the reconciliation's
            `default_initializer`), an initializer with a `for_head` method (such as
            `TinyBIG`, applied to the flat kernel), or a Keras initializer (rescaled
            so that `psi(w)` gets the variance it gives a `Dense` kernel `(D, n)`).
        reconciliation: the head's built reconciliation.
        shape: `(C, n, D)`.
    """
    channels, units, input_dim = shape
    num_params = reconciliation.num_params(units, input_dim)
    if initializer is None:
        return reconciliation.default_initializer(units, input_dim)
    if hasattr(initializer, "for_head"):
        return initializer.for_head("kernel", reconciliation, units, input_dim)
    target = dense_variance(initializer, (input_dim, units))
    flat = dense_variance(initializer, (channels, num_params))
    variance = None
    if target is not None:
        variance = reconciliation.parameter_variance(target, units, input_dim)
    if variance is None or not flat:
        return initializer
    return _Scaled(initializer, math.sqrt(variance / flat))


def bias_initializer(initializer, reconciliation, shape):
    """The initializer a head applies to its bias (`TinyBIG` needs the head's `l`).

    `shape` is `(n, D)`.
    """
    units, input_dim = shape
    if hasattr(initializer, "for_head"):
        return initializer.for_head("bias", reconciliation, units, input_dim)
    return initializer
