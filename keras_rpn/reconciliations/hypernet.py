"""Hypernetwork reconciliation: a small MLP generates the weight matrix."""

import math

import keras
from keras import ops

from keras_rpn import validation
from keras_rpn.reconciliations.base import Reconciliation
from keras_rpn.reconciliations.base import register
from keras_rpn.reconciliations.random_matrix import frozen_normal
from keras_rpn.reconciliations.random_matrix import mean_sigmoid_square
from keras_rpn.reconciliations.random_matrix import seed_arg


@register("hypernet", "hypernet_reconciliation")
class HypernetReconciliation(Reconciliation):
    """Hypernet reconciliation: `psi(w)` is the output of a generator MLP.

    Formula (`h` = `hidden_dim`):
    ```
    psi(w) = reshape( sigmoid(w U + a) V + c, (n, D) ),   l(n, D) = l
    U (l, h), a (h,), V (h, n D), c (n D,)
    ```
    The generator is made in `build` and kept as weights of this layer, so it is
    saved with the model; with `static=True` (the default) it is frozen
    (non-trainable), otherwise it is trained with the head. `U`, `a` are drawn from
    `N(0, 1)` as in tinyBIG; `V`, `c` from `N(0, tau^2)`, with `tau` chosen so that
    `psi(w)` has the Glorot variance `2 / (n + D)` at the default initialisation
    (tinyBIG: `N(0, 1)`, entries of variance about `0.3 h`). The generator holds
    `(h + 1) n D` numbers: use it for small heads. tinyBIG's `net` argument (a
    user-supplied torch module) is not offered.

    Args:
        l: number of parameters per channel, a positive integer (default 64).
        hidden_dim: `h`, width of the hidden layer (default 128).
        static: whether the generator is frozen (default `True`).
        seed: optional integer seed of the generator.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Example:
    >>> head = keras_rpn.layers.RPNHead(
    ...     4, reconciliation={"class_name": "hypernet", "config": {"l": 8}})
    >>> tuple(head(np.zeros((2, 3))).shape)
    (2, 4)
    """

    parameter_degree = None  # the frozen matrices set the scale of psi(w)

    def __init__(self, l=64, hidden_dim=128, static=True, seed=None, **kwargs):  # noqa: E741
        super().__init__(**kwargs)
        self.l = validation.positive_int("l", l)
        self.hidden_dim = validation.positive_int("hidden_dim", hidden_dim)
        self.static = bool(static)
        self.seed = seed_arg(seed)

    def build(self, input_shape):
        super().build(input_shape)
        h, size = self.hidden_dim, self.units * self.input_dim
        # Default kernel variance 1/l: w U + a has variance 2, so the hidden units
        # have E[sigmoid^2] = mu and psi(w) has variance (h mu + 1) tau^2.
        mu = mean_sigmoid_square(2.0)
        tau = math.sqrt(2.0 / (self.units + self.input_dim) / (h * mu + 1.0))
        specs = [
            ("hidden_kernel", (self.l, h), 1.0),
            ("hidden_bias", (h,), 1.0),
            ("output_kernel", (h, size), tau),
            ("output_bias", (size,), tau),
        ]
        for offset, (name, shape, stddev) in enumerate(specs):
            weight = self.add_weight(
                name=name,
                shape=shape,
                initializer=frozen_normal(self.seed, offset, stddev),
                trainable=not self.static,
            )
            setattr(self, name, weight)

    def num_params(self, units, input_dim):
        return self.l

    def glorot_initializer(self, units, input_dim):
        """Uniform with variance `1 / l` (see `build` for the resulting scale)."""
        limit = math.sqrt(3.0 / self.l)
        return keras.initializers.RandomUniform(-limit, limit)

    def reconcile(self, kernel):
        dtype = kernel.dtype
        hidden = ops.sigmoid(
            ops.matmul(kernel, ops.cast(self.hidden_kernel, dtype))
            + ops.cast(self.hidden_bias, dtype)
        )
        w = ops.matmul(hidden, ops.cast(self.output_kernel, dtype))
        w = w + ops.cast(self.output_bias, dtype)
        return ops.reshape(w, (-1, self.units, self.input_dim))

    def get_config(self):
        return {
            **super().get_config(),
            "l": self.l,
            "hidden_dim": self.hidden_dim,
            "static": self.static,
            "seed": self.seed,
        }
