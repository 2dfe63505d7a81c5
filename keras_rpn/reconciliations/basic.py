"""Basic reconciliations: constants, the identity and masking."""

import keras
import numpy as np
from keras import ops

from keras_rpn import validation
from keras_rpn.reconciliations.base import Reconciliation
from keras_rpn.reconciliations.base import num_channels
from keras_rpn.reconciliations.base import register


def _repeat_channels(y, channels):
    """`(batch, n)` -> `(batch, C, n)`, the same row for every channel."""
    return ops.repeat(ops.expand_dims(y, 1), channels, axis=1)


@register("constant", "constant_reconciliation")
class ConstantReconciliation(Reconciliation):
    """Constant reconciliation: every entry of `psi(w)` is `c`.

    Formula:
    ```
    psi(w) = c 1_{n x D},   l(n, D) = 0
    ```
    The head output `c sum_j kappa(x)_j` (the same for all `n` outputs) is computed
    as one projection of `kappa(x)` onto a row of ones, which a Taylor expansion
    computes without building `kappa(x)`.

    Args:
        c: the constant, a finite float (default 1.0).
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Example:
    >>> head = keras_rpn.layers.RPNHead(2, reconciliation="constant", use_bias=False)
    >>> keras.ops.convert_to_numpy(head(np.array([[1.0, 2.0]])))
    array([[3., 3.]], dtype=float32)
    """

    def __init__(self, c=1.0, **kwargs):
        super().__init__(**kwargs)
        self.c = validation.finite_float("c", c)

    def num_params(self, units, input_dim):
        return 0

    def reconcile(self, kernel):
        shape = (num_channels(kernel), self.units, self.input_dim)
        return ops.full(shape, self.c, dtype=self.compute_dtype)

    def contract(self, expansion, x, kernel, training=None):
        channels = num_channels(kernel)
        if self.c == 0.0:
            zeros = ops.zeros_like(x[:, :1])
            return _repeat_channels(ops.repeat(zeros, self.units, axis=1), channels)
        if expansion.has_structured_projection:
            ones = ops.ones((1, self.input_dim), dtype=x.dtype)
            total = expansion.project(x, ones, training=training)
        else:
            total = ops.sum(expansion.call(x, training=training), axis=-1, keepdims=True)
        total = self.c * total
        return _repeat_channels(ops.repeat(total, self.units, axis=1), channels)

    def get_config(self):
        return {**super().get_config(), "c": self.c}


@register("zero", "zero_reconciliation")
class ZeroReconciliation(ConstantReconciliation):
    """Zero reconciliation: `psi(w) = 0_{n x D}`, `l(n, D) = 0`.

    The head output is its bias (plus the remainder); the expansion is not computed.

    Args:
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Example:
    >>> head = keras_rpn.layers.RPNHead(2, reconciliation="zero", remainder="identity")
    >>> keras.ops.convert_to_numpy(head(np.array([[1.0, 2.0]])))
    array([[1., 2.]], dtype=float32)
    """

    def __init__(self, **kwargs):
        super().__init__(c=0.0, **kwargs)

    def get_config(self):
        config = super().get_config()
        del config["c"]
        return config


@register("one", "one_reconciliation")
class OneReconciliation(ConstantReconciliation):
    """One reconciliation: `psi(w) = 1_{n x D}`, `l(n, D) = 0`.

    Args:
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Example:
    >>> head = keras_rpn.layers.RPNHead(1, reconciliation="one", use_bias=False)
    >>> keras.ops.convert_to_numpy(head(np.array([[1.0, 2.0]])))
    array([[3.]], dtype=float32)
    """

    def __init__(self, **kwargs):
        super().__init__(c=1.0, **kwargs)

    def get_config(self):
        config = super().get_config()
        del config["c"]
        return config


@register("constant_eye", "eye", "constant_eye_reconciliation")
class ConstantEyeReconciliation(Reconciliation):
    """Rectangular identity: `psi(w)_{ij} = [i == j]`.

    Formula:
    ```
    psi(w) = I_{n x D},   l(n, D) = 0
    ```
    Output `i` is `kappa(x)_i` for `i < min(n, D)` and 0 beyond: the head takes a
    slice of the expansion instead of multiplying by the identity.

    Args:
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Example:
    >>> head = keras_rpn.layers.RPNHead(2, reconciliation="constant_eye", use_bias=False)
    >>> keras.ops.convert_to_numpy(head(np.array([[1.0, 2.0, 3.0]])))
    array([[1., 2.]], dtype=float32)
    """

    def num_params(self, units, input_dim):
        return 0

    def reconcile(self, kernel):
        eye = ops.eye(self.units, self.input_dim, dtype=self.compute_dtype)
        return ops.repeat(ops.expand_dims(eye, 0), num_channels(kernel), axis=0)

    def contract(self, expansion, x, kernel, training=None):
        width = min(self.units, self.input_dim)
        y = expansion.call(x, training=training)[:, :width]
        if width < self.units:
            y = ops.pad(y, ((0, 0), (0, self.units - width)))
        return _repeat_channels(y, num_channels(kernel))


@register("identity", "identity_reconciliation")
class IdentityReconciliation(Reconciliation):
    """Identity reconciliation: the parameters are the matrix.

    Formula:
    ```
    psi(w) = reshape(w, (n, D)),   l(n, D) = n D
    ```
    With the identity expansion, the head is a dense layer.

    Args:
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Example:
    >>> head = keras_rpn.layers.RPNHead(3, reconciliation="identity")
    >>> tuple(head(np.zeros((2, 5))).shape)
    (2, 3)
    """

    kernel_layout = "row_major"

    def num_params(self, units, input_dim):
        return units * input_dim

    def reconcile(self, kernel):
        return ops.reshape(kernel, (-1, self.units, self.input_dim))

    def kernel_from_matrices(self, matrices):
        matrices = np.asarray(matrices)
        return matrices.reshape(matrices.shape[0], -1)

    def contract(self, expansion, x, kernel, training=None):
        # The (C, n D) kernel already is the stacked (C n, D) matrix: one reshape,
        # not the base class's (C, n, D) detour (each keras.ops call costs ~15-30 us
        # of dispatch in torch eager mode).
        channels = int(kernel.shape[0])
        flat = ops.reshape(kernel, (channels * self.units, self.input_dim))
        y = ops.matmul(expansion.call(x, training=training), ops.transpose(flat))
        return ops.reshape(y, (-1, channels, self.units))


def _bernoulli_initializer(p, seed):
    """Initializer drawing `[u < p]` with `u ~ U(0, 1)`."""
    uniform = keras.initializers.RandomUniform(0.0, 1.0, seed=seed)

    def initializer(shape, dtype=None):
        return ops.cast(uniform(shape, dtype="float32") < p, dtype or "float32")

    return initializer


@register("masking", "masking_reconciliation")
class MaskingReconciliation(Reconciliation):
    """Masking reconciliation: the parameter matrix with a fixed random mask.

    Formula:
    ```
    psi(w) = reshape(w, (n, D)) * M,   M_ij = [u_ij < p],  u_ij ~ U(0, 1)
    l(n, D) = n D
    ```
    The mask is drawn once, when the head is built, and kept as a non-trainable
    weight, so it is saved and restored with the model (tinyBIG keeps it as a plain
    attribute, lost on save).

    Args:
        p: probability that an entry is kept, in `(0, 1]` (default 0.5).
        fixed_mask: must be `True` (the default). tinyBIG's `fixed_mask=False`
            draws a new mask on every call, at inference too, which makes the model
            non-deterministic; it is refused rather than reproduced. Use a
            `keras.layers.Dropout` in the expansion's `postprocessing` for random
            masking during training.
        seed: optional integer seed of the mask.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Example:
    >>> head = keras_rpn.layers.RPNHead(
    ...     3, reconciliation={"class_name": "masking", "config": {"p": 0.3}})
    >>> tuple(head(np.zeros((2, 5))).shape)
    (2, 3)
    """

    kernel_layout = "row_major"

    def __init__(self, p=0.5, fixed_mask=True, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.p = validation.probability("p", p)
        if fixed_mask is not True:
            raise ValueError(
                "MaskingReconciliation only supports `fixed_mask=True`: a mask "
                "resampled on every call would make inference random. Received: "
                f"fixed_mask={fixed_mask!r}"
            )
        self.fixed_mask = True
        self.seed = None if seed is None else validation.non_negative_int("seed", seed)

    def build(self, input_shape):
        super().build(input_shape)
        self.mask = self.add_weight(
            name="mask",
            shape=(self.units, self.input_dim),
            initializer=_bernoulli_initializer(self.p, self.seed),
            trainable=False,
        )

    def num_params(self, units, input_dim):
        return units * input_dim

    def variance_gain(self, units, input_dim):
        return self.p

    def reconcile(self, kernel):
        weights = ops.reshape(kernel, (-1, self.units, self.input_dim))
        return weights * ops.cast(self.mask, weights.dtype)

    def get_config(self):
        return {
            **super().get_config(),
            "p": self.p,
            "fixed_mask": self.fixed_mask,
            "seed": self.seed,
        }
