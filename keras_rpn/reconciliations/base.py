"""The reconciliation protocol: psi maps a channel's parameters R^l to R^{n x D}."""

import math

import keras
from keras import ops

from keras_rpn.registry import Registry


class Reconciliation(keras.layers.Layer):
    """Base class of parameter reconciliation functions `psi: R^l -> R^{n x D}`.

    The head owns the trainable parameters, a `kernel` of shape `(C, l)`, one row
    per channel, with `l = num_params(n, D)`. The reconciliation is built with the
    shape `(n, D)` of the matrices it produces (constants such as masks or frozen
    random matrices are made in `build`) and turns the kernel into `C` matrices.

    A subclass implements:

    * `num_params(units, input_dim)`: tinyBIG's `l(n, D)`;
    * `reconcile(kernel)`: `(C, l) -> (C, n, D)`;
    * `variance_gain(units, input_dim)` and the class attribute `parameter_degree`
      (optional): when the entries of `w` are independent with variance `v`, an
      entry of `psi(w)` has variance `variance_gain * v ** parameter_degree`
      (identity: gain 1, degree 1; low rank `A B`: gain r, degree 2; a Kronecker
      product of two factors: gain 1, degree 2; `(P Q^T) (x) (S T^T)`: gain r^2,
      degree 4). The head's default initializer solves this for the `v` that gives
      `psi(w)` the Glorot variance `2 / (n + D)`;
    * `contract(expansion, x, kernel, training=None)` (optional): `<kappa(x), psi(w_c)>` for every
      channel, shape `(batch, C, n)`, computed the cheapest way. The default builds
      `kappa(x)` and the `C` matrices and multiplies.

    Args:
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.
    """

    #: How many parameter entries multiply together in one entry of psi(w).
    parameter_degree = 1

    def build(self, input_shape):
        self.units, self.input_dim = (int(s) for s in input_shape)

    def num_params(self, units, input_dim):
        raise NotImplementedError

    def reconcile(self, kernel):
        raise NotImplementedError

    def variance_gain(self, units, input_dim):
        return 1.0

    def default_initializer(self, units, input_dim):
        """Uniform initializer giving `psi(w)` a Glorot-like scale."""
        target = 2.0 / (units + input_dim)
        variance = (target / self.variance_gain(units, input_dim)) ** (1.0 / self.parameter_degree)
        std = math.sqrt(variance)
        limit = math.sqrt(3.0) * std
        return keras.initializers.RandomUniform(-limit, limit)

    def contract(self, expansion, x, kernel, training=None):
        weights = self.reconcile(kernel)
        channels = weights.shape[0]
        flat = ops.reshape(weights, (channels * self.units, self.input_dim))
        y = ops.matmul(expansion.call(x, training=training), ops.transpose(flat))
        return ops.reshape(y, (-1, channels, self.units))

    def call(self, inputs):
        return self.reconcile(inputs)

    def get_config(self):
        # Written out so that Keras never falls back to its auto-config, which
        # refuses the dtype-policy objects that heads pass to their components.
        return super().get_config()

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.units, self.input_dim)


_registry = Registry("reconciliation", Reconciliation)
register = _registry.register
names = _registry.names


def get(identifier, **overrides):
    """Returns a reconciliation from an instance, a short name or a config dict."""
    return _registry.get(identifier, **overrides)
