"""Reconciliations built on frozen random matrices."""

import math

import keras
import numpy as np
from keras import ops

from keras_rpn import validation
from keras_rpn.reconciliations.base import Reconciliation
from keras_rpn.reconciliations.base import project_low_rank
from keras_rpn.reconciliations.base import register


def frozen_normal(seed, offset, stddev=1.0):
    """`N(0, stddev^2)` initializer; `offset` separates the matrices of one layer."""
    return keras.initializers.RandomNormal(
        0.0, stddev, seed=None if seed is None else seed + offset
    )


def mean_sigmoid_square(variance):
    """`E[sigmoid(z)^2]` for `z ~ N(0, variance)` (Gauss-Hermite quadrature)."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(64)
    values = 1.0 / (1.0 + np.exp(-math.sqrt(variance) * nodes))
    return float(np.sum(weights * values**2) / math.sqrt(2.0 * math.pi))


def seed_arg(seed):
    return None if seed is None else validation.non_negative_int("seed", seed)


@register(
    "random_matrix_adaption",
    "random_matrix_adaption_reconciliation",
    "random_matrix_adaptation",
)
class RandomMatrixAdaptionReconciliation(Reconciliation):
    """Random matrix adaption: frozen random factors, learned diagonal scalings.

    Formula (`A`, `B` drawn once from `N(0, 1)` and frozen):
    ```
    lambda_1 = w[:n],  lambda_2 = w[n:],  A of shape (n, r),  B of shape (D, r)
    psi(w) = diag(lambda_1) A diag(lambda_2) B^T,   l(n, D) = n + r
    ```
    Applied as `lambda_1 * (A (lambda_2 * (B^T kappa(x))))`: one projection of
    `kappa(x)` onto the `r` rows of `B^T`, shared by all channels. `A` and `B` are
    non-trainable weights, saved with the model.

    Args:
        r: rank, a positive integer at most `min(n, D)` (default 2).
        seed: optional integer seed of `A` and `B`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Example:
    >>> head = keras_rpn.layers.RPNHead(
    ...     4, expansion="taylor", reconciliation="random_matrix_adaption")
    >>> tuple(head(np.zeros((2, 3))).shape)
    (2, 4)
    """

    parameter_degree = 2

    def __init__(self, r=2, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.r = validation.positive_int("r", r)
        self.seed = seed_arg(seed)

    def build(self, input_shape):
        super().build(input_shape)
        validation.at_most("r", self.r, "min(n, D)", min(self.units, self.input_dim))
        self.random_a = self.add_weight(
            name="random_a",
            shape=(self.units, self.r),
            initializer=frozen_normal(self.seed, 0),
            trainable=False,
        )
        self.random_b = self.add_weight(
            name="random_b",
            shape=(self.input_dim, self.r),
            initializer=frozen_normal(self.seed, 1),
            trainable=False,
        )

    def num_params(self, units, input_dim):
        return units + self.r

    def variance_gain(self, units, input_dim):
        return float(self.r)

    def reconcile(self, kernel):
        lambda_1, lambda_2 = kernel[:, : self.units], kernel[:, self.units :]
        a = ops.cast(self.random_a, kernel.dtype)
        b = ops.cast(self.random_b, kernel.dtype)
        left = ops.expand_dims(lambda_1, -1) * a * ops.expand_dims(lambda_2, 1)
        return ops.einsum("cnr,dr->cnd", left, b)

    def contract(self, expansion, x, kernel, training=None):
        lambda_1, lambda_2 = kernel[:, : self.units], kernel[:, self.units :]
        a = ops.cast(self.random_a, kernel.dtype)
        basis = ops.transpose(ops.cast(self.random_b, kernel.dtype))
        left = ops.expand_dims(lambda_1, -1) * a * ops.expand_dims(lambda_2, 1)
        return project_low_rank(expansion, x, left, basis, training=training)

    def get_config(self):
        return {**super().get_config(), "r": self.r, "seed": self.seed}


@register(
    "random_matrix_hypernet",
    "random_matrix_hypernet_reconciliation",
)
class RandomMatrixHypernetReconciliation(Reconciliation):
    """Random matrix hypernet: a frozen random low-rank generator of `psi(w)`.

    Formula (`P`, `Q`, `S`, `T` drawn once and frozen; `h` = `hidden_dim`):
    ```
    P (l, r), Q (h, r), S (h, r) ~ N(0, 1),   T (r, n D) ~ N(0, tau^2)
    psi(w) = reshape( ((sigmoid((w P) Q^T)) S) T, (n, D) ),   l(n, D) = l
    ```
    `psi(w)` is a combination of the `r` fixed matrices `reshape(T[k], (n, D))`;
    with a Taylor expansion the head projects `x` onto their `r n` rows instead
    of building the expansion. Differences from tinyBIG: `T` is stored transposed
    (`(r, n D)` instead of `(n D, r)`), and drawn with the standard deviation `tau`
    that gives `psi(w)` the Glorot variance `2 / (n + D)` at the default
    initialisation (tinyBIG: `N(0, 1)`, entries of variance about `0.3 r h`).

    Args:
        r: rank of the generator, a positive integer (default 2).
        l: number of parameters per channel, a positive integer (default 64).
        hidden_dim: `h`, width of the hidden layer (default 128).
        seed: optional integer seed of `P`, `Q`, `S`, `T`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Example:
    >>> head = keras_rpn.layers.RPNHead(
    ...     4, reconciliation={"class_name": "random_matrix_hypernet", "config": {"l": 8}})
    >>> tuple(head(np.zeros((2, 3))).shape)
    (2, 4)
    """

    parameter_degree = None  # the frozen matrices set the scale of psi(w)

    def __init__(self, r=2, l=64, hidden_dim=128, seed=None, **kwargs):  # noqa: E741
        super().__init__(**kwargs)
        self.r = validation.positive_int("r", r)
        self.l = validation.positive_int("l", l)
        self.hidden_dim = validation.positive_int("hidden_dim", hidden_dim)
        self.seed = seed_arg(seed)

    def build(self, input_shape):
        super().build(input_shape)
        n, d, h, r = self.units, self.input_dim, self.hidden_dim, self.r
        # Default kernel variance 1/l: (w P) Q^T has variance r, so the hidden
        # units have E[sigmoid^2] = mu and psi(w) has variance r h mu tau^2.
        mu = mean_sigmoid_square(float(r))
        tau = math.sqrt(2.0 / (n + d) / (r * h * mu))
        shapes = {"random_p": (self.l, r), "random_q": (h, r), "random_s": (h, r)}
        for offset, (name, shape) in enumerate(shapes.items()):
            weight = self.add_weight(
                name=name,
                shape=shape,
                initializer=frozen_normal(self.seed, offset),
                trainable=False,
            )
            setattr(self, name, weight)
        self.random_t = self.add_weight(
            name="random_t",
            shape=(r, n * d),
            initializer=frozen_normal(self.seed, 3, tau),
            trainable=False,
        )

    def num_params(self, units, input_dim):
        return self.l

    def glorot_initializer(self, units, input_dim):
        """Uniform with variance `1 / l` (see `build` for the resulting scale)."""
        limit = math.sqrt(3.0 / self.l)
        return keras.initializers.RandomUniform(-limit, limit)

    def mixing(self, kernel):
        """`z = sigmoid((w P) Q^T) S`, shape `(C, r)`."""
        dtype = kernel.dtype
        u = ops.matmul(kernel, ops.cast(self.random_p, dtype))
        v = ops.sigmoid(ops.matmul(u, ops.transpose(ops.cast(self.random_q, dtype))))
        return ops.matmul(v, ops.cast(self.random_s, dtype))

    def reconcile(self, kernel):
        w = ops.matmul(self.mixing(kernel), ops.cast(self.random_t, kernel.dtype))
        return ops.reshape(w, (-1, self.units, self.input_dim))

    def contract(self, expansion, x, kernel, training=None):
        if not expansion.has_structured_projection:
            return super().contract(expansion, x, kernel, training=training)
        z = self.mixing(kernel)
        basis = ops.reshape(
            ops.cast(self.random_t, kernel.dtype), (self.r * self.units, self.input_dim)
        )
        p = ops.reshape(expansion.project(x, basis, training=training), (-1, self.r, self.units))
        return ops.einsum("brn,cr->bcn", p, z)

    def get_config(self):
        return {
            **super().get_config(),
            "r": self.r,
            "l": self.l,
            "hidden_dim": self.hidden_dim,
            "seed": self.seed,
        }
