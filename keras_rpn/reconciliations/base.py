"""The reconciliation protocol: psi maps a channel's parameters R^l to R^{n x D}."""

import math

import keras
from keras import ops

from keras_rpn.initializers import TinyBIG
from keras_rpn.registry import Registry


class Reconciliation(keras.layers.Layer):
    """Base class of parameter reconciliation functions `psi: R^l -> R^{n x D}`.

    The head owns the trainable parameters, a `kernel` of shape `(C, l)`, one row
    per channel, with `l = num_params(n, D)`. The reconciliation is built with the
    shape `(n, D)` of the matrices it produces (constants such as masks or frozen
    random matrices are made in `build`, as non-trainable weights, so that they are
    saved with the model) and turns the kernel into `C` matrices. A function with
    `l = 0` accepts a kernel of shape `(C, 0)`, or `None` for one channel.

    A subclass implements:

    * `num_params(units, input_dim)`: tinyBIG's `l(n, D)`;
    * `reconcile(kernel)`: `(C, l) -> (C, n, D)`;
    * `variance_gain(units, input_dim)` and the class attribute `parameter_degree`
      (optional): when the entries of `w` are independent with variance `v`, an
      entry of `psi(w)` has variance `variance_gain * v ** parameter_degree`
      (identity: gain 1, degree 1; low rank `A B`: gain r, degree 2; a Kronecker
      product of two factors: gain 1, degree 2; `(P Q^T) (x) (S T^T)`: gain r^2,
      degree 4; `None` when frozen random matrices set the scale of `psi(w)`).
      `parameter_variance` solves this for `v`: `glorot_initializer` gives
      `psi(w)` the Glorot variance `2 / (n + D)`, and a Keras initializer the
      variance it gives a `Dense` kernel `(D, n)` (`keras_rpn.initializers`);
    * `contract(expansion, x, kernel, training=None)` (optional): `<kappa(x), psi(w_c)>` for every
      channel, shape `(batch, C, n)`, computed the cheapest way. The default builds
      `kappa(x)` and the `C` matrices and multiplies. Factorised functions use
      `project_low_rank`, which asks the expansion for `kappa(x) @ basis^T`
      (`Expansion.project`), and read `expansion.has_structured_projection` to
      choose between projecting and materialising.

    Capability read by `keras_rpn.distribution.layout_map` (instead of switching on
    the class):

    * `kernel_layout` (class attribute): `"row_major"` when `psi(w_c)` is
      `reshape(w_c, (n, D))` (times constant `(n, D)` weights such as a mask), so
      contiguous blocks of a kernel row, and the rows of those constants, are blocks
      of output rows that devices can hold apart; `"structured"` (the default) when
      a row stores factors (low rank `[A | B]`, Kronecker factors, ...) that a split
      would cut across: the kernel is then replicated or split by channel.

    Args:
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.
    """

    #: "row_major" (psi(w) = reshape(w, (n, D)), times constants) or "structured".
    kernel_layout = "structured"

    #: How many parameter entries multiply together in one entry of psi(w).
    parameter_degree = 1
    #: Whether `default_initializer` is tinyBIG's xavier_uniform on the flat kernel.
    flat_xavier_default = False

    def build(self, input_shape):
        self.units, self.input_dim = (int(s) for s in input_shape)

    def num_params(self, units, input_dim):
        raise NotImplementedError

    def reconcile(self, kernel):
        raise NotImplementedError

    def variance_gain(self, units, input_dim):
        return 1.0

    def kernel_from_matrices(self, matrices):
        """The `(C, l)` kernel whose `reconcile` gives `matrices` (`(C, n, D)`, numpy).

        Used to write refitted coefficients back (grid updates, pruning). Only
        reconciliations whose parameters are the matrix can do it; others raise
        `NotImplementedError`.
        """
        raise NotImplementedError(
            f"{type(self).__name__} cannot set its parameters from given matrices."
        )

    def parameter_variance(self, target, units, input_dim):
        """The variance of the entries of `w` that gives `psi(w)` the variance `target`.

        Solves `variance_gain * v ** parameter_degree = target`. `None` when the
        scale of `psi(w)` is not set by `w` (hypernets: frozen random matrices set
        it, and `parameter_degree` is `None`); a Keras initializer is then applied
        to `w` unchanged.
        """
        if self.parameter_degree is None:
            return None
        return (target / self.variance_gain(units, input_dim)) ** (1.0 / self.parameter_degree)

    def default_initializer(self, units, input_dim):
        """The initializer of `w` when the head is given none.

        Chosen from measurements over seeds (`benchmarks/initialisation.py`, table in
        `examples/README.md`): a function whose `flat_xavier_default` is true (LoRR)
        uses tinyBIG's xavier_uniform on the flat `(C, l)` kernel,
        `U(+-sqrt(6 / (C + l)))`, which on function fitting beats the Glorot scale of
        `psi(w)` at the median and the worst seed; the others keep
        `glorot_initializer`, which classification with the identity prefers (the
        other factorised functions were not measured and keep it too).
        """
        if self.flat_xavier_default:
            return TinyBIG("xavier_uniform")
        return self.glorot_initializer(units, input_dim)

    def glorot_initializer(self, units, input_dim):
        """Uniform initializer giving `psi(w)` the Glorot variance `2 / (n + D)`."""
        target = 2.0 / (units + input_dim)
        std = math.sqrt(self.parameter_variance(target, units, input_dim))
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


def num_channels(kernel):
    """`C` for a `(C, l)` kernel; 1 for `None` (a function without parameters)."""
    return 1 if kernel is None else int(kernel.shape[0])


def project_low_rank(expansion, x, left, basis, training=None):
    """`<kappa(x), L_c B_c>` for every channel, through `expansion.project`.

    Args:
        expansion: the expansion `kappa`.
        x: inputs, shape `(batch, m)`.
        left: `L`, shape `(C, n, R)`, or `None` when `B_c` already has the `n` rows
            of `psi(w_c)` (then `R = n`).
        basis: `B`, shape `(C, R, D)`, or `(R, D)` when shared by all channels (it
            is then projected once and `left` must be given).
        training: passed to the expansion.

    Returns:
        `(batch, C, n)`.
    """
    if len(basis.shape) == 2:
        p = expansion.project(x, basis, training=training)
        return ops.einsum("br,cnr->bcn", p, left)
    channels, rank, dim = basis.shape
    p = expansion.project(x, ops.reshape(basis, (channels * rank, dim)), training=training)
    p = ops.reshape(p, (-1, channels, rank))
    return p if left is None else ops.einsum("bcr,cnr->bcn", p, left)


registry = Registry("reconciliation", Reconciliation)
_registry = registry  # the name older code and tests use
register = registry.register
names = registry.names


def get(identifier, **overrides):
    """Returns a reconciliation from an instance, a short name or a config dict."""
    return _registry.get(identifier, **overrides)
