"""The expansion protocol: kappa maps R^m to R^D."""

import keras
from keras import ops

from keras_rpn.registry import Registry

_LOW_PRECISION = ("float16", "bfloat16")


class Expansion(keras.layers.Layer):
    """Base class of data expansion functions `kappa: R^m -> R^D`.

    A subclass implements `output_dim(input_dim)` (tinyBIG's `D(m)`) and
    `expand(x)`, the formula itself, written with `keras.ops` for inputs of shape
    `(batch, m)` (most also work for any rank). It may also implement
    `project(x, basis)`, the product `expand(x) @ basis^T` computed without building
    the D-wide expansion, which factorised reconciliations use; the default builds it.

    Subclasses whose formula overflows or loses too much in 16-bit floats set the
    class attribute `float32_compute = True`: `call` then computes in float32 and
    casts back to the input dtype.

    An expansion is a Keras layer, so it can also be used on its own:

    >>> kappa = keras_rpn.expansions.get("taylor")
    >>> kappa(np.array([[1.0, 2.0]])).shape
    (1, 6)
    """

    float32_compute = False

    def output_dim(self, input_dim):
        """The expansion width `D` for an input width `m`."""
        raise NotImplementedError

    def expand(self, x):
        """The expansion of `x` (shape `(..., m)`) to shape `(..., D)`."""
        raise NotImplementedError

    def project(self, x, basis, training=None):
        """`expand(x) @ basis^T` for `basis` of shape `(R, D)`; returns `(..., R)`."""
        return ops.matmul(self.call(x, training=training), ops.transpose(basis))

    def call(self, inputs, training=None):
        dtype = keras.backend.standardize_dtype(inputs.dtype)
        if self.float32_compute and dtype in _LOW_PRECISION:
            return ops.cast(self.expand(ops.cast(inputs, "float32")), dtype)
        return self.expand(inputs)

    def compute_output_shape(self, input_shape):
        m = input_shape[-1]
        return tuple(input_shape[:-1]) + (None if m is None else self.output_dim(m),)


_registry = Registry("expansion", Expansion)
register = _registry.register
names = _registry.names


def get(identifier, **overrides):
    """Returns an expansion from an instance, a short name or a config dict."""
    return _registry.get(identifier, **overrides)
