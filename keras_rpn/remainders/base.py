"""The remainder protocol: pi maps R^m to R^n."""

import keras
from keras import activations

from keras_rpn import validation
from keras_rpn.registry import Registry


class Remainder(keras.layers.Layer):
    """Base class of remainder functions `pi: R^m -> R^n`.

    The head adds `pi(x)` to the fused channel outputs. `units` (n) is normally
    left as `None` and filled in by the head that owns the remainder.

    A subclass implements `remainder(x)` (`pi(x)` before the activation) and, when
    that is a sum of per-feature terms, `additive_terms(x)`, which
    `keras_rpn.interpret` reads to split a head into univariate functions.

    Args:
        units: output width `n`; set by the head when `None`.
        activation: activation applied last, `sigma` in `pi(x) = sigma(...)`
            (a name or a registered callable; default none).
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.
    """

    #: True for the zero remainder, which the head skips.
    is_zero = False

    def __init__(self, units=None, activation=None, **kwargs):
        super().__init__(**kwargs)
        self.units = validation.positive_int("units", units, allow_none=True)
        self.activation = activations.get(activation)

    def kernel_size(self, input_dim):
        """Number of elements of the largest weight built for input width `m`."""
        return 0

    def remainder(self, x):
        """`pi(x)` before the activation."""
        raise NotImplementedError

    def symbolic(self, symbols, activation):
        """`pi` as `n` sympy expressions of the `m` input symbols.

        `activation(fn, expr)` turns a Keras activation applied to an expression
        into sympy (given by `keras_rpn.symbolic`). Remainders with a closed form
        implement `symbolic_remainder(symbols, activation)`, the part before
        `sigma`; others raise `NotImplementedError`.
        """
        return [
            activation(self.activation, e) for e in self.symbolic_remainder(symbols, activation)
        ]

    def symbolic_remainder(self, symbols, activation):
        raise NotImplementedError(f"{type(self).__name__} has no closed-form symbolic form.")

    def additive_terms(self, x):
        """`remainder(x)` split per input feature, in numpy, or `None`.

        Args:
            x: a numpy array of shape `(N, m)`; the remainder is built.

        Returns:
            `(terms, offset)` with `terms` of shape `(N, m, n)` and `offset` of shape
            `(n,)` such that `remainder(x) = terms.sum(1) + offset` (before the
            activation), or `None` when the remainder is not such a sum.
        """
        return None

    def call(self, inputs):
        return self.activation(self.remainder(inputs))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "activation": activations.serialize(self.activation),
        }


registry = Registry("remainder", Remainder)
_registry = registry  # the name older code and tests use
register = registry.register
names = registry.names


def get(identifier, **overrides):
    """Returns a remainder from an instance, a short name or a config dict."""
    return _registry.get(identifier, **overrides)
