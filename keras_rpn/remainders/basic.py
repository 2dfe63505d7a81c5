"""Basic remainders: zero, constant, one, identity and linear."""

import numpy as np
from keras import constraints
from keras import initializers
from keras import ops
from keras import regularizers

from keras_rpn import validation
from keras_rpn.remainders.base import Remainder
from keras_rpn.remainders.base import register


@register("zero", "zero_remainder")
class ZeroRemainder(Remainder):
    """Zero remainder: nothing is added (the head skips it).

    Formula:
    ```
    pi(x) = 0_n
    ```

    Args:
        **kwargs: passed to `Remainder` (`units`, `activation`) and the base layer.

    Example:
    >>> head = keras_rpn.layers.RPNHead(3, remainder="zero")
    >>> tuple(head(np.zeros((2, 5))).shape)
    (2, 3)
    """

    def additive_terms(self, x):
        return np.zeros(x.shape + (self.units,)), np.zeros(self.units)

    is_zero = True

    def symbolic_remainder(self, symbols, activation):
        return [0.0] * self.units

    def remainder(self, x):
        return ops.zeros(ops.shape(x)[:-1] + (self.units,), dtype=x.dtype)


@register("constant", "constant_remainder")
class ConstantRemainder(Remainder):
    """Constant remainder: the same vector for every input.

    Formula:
    ```
    pi(x) = sigma(c 1_n)
    ```
    It has no parameters and, unlike the identity remainder, works for any input
    width `m`.

    Args:
        c: the constant, a finite float (default 1.0).
        units: output width; set by the head when `None`.
        activation: activation `sigma` (default none).
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Example:
    >>> head = keras_rpn.layers.RPNHead(
    ...     2, reconciliation="zero", remainder={"class_name": "constant", "config": {"c": 0.5}})
    >>> keras.ops.convert_to_numpy(head(np.zeros((1, 5))))
    array([[0.5, 0.5]], dtype=float32)
    """

    def additive_terms(self, x):
        return np.zeros(x.shape + (self.units,)), np.full(self.units, self.c)

    def __init__(self, c=1.0, units=None, activation=None, **kwargs):
        super().__init__(units=units, activation=activation, **kwargs)
        self.c = validation.finite_float("c", c)

    def symbolic_remainder(self, symbols, activation):
        return [self.c] * self.units

    def remainder(self, x):
        constant = ops.full((self.units,), self.c, dtype=x.dtype)
        return ops.ones_like(x[..., :1]) * constant

    def get_config(self):
        return {**super().get_config(), "c": self.c}


@register("one", "one_remainder")
class OneRemainder(ConstantRemainder):
    """One remainder: `pi(x) = sigma(1_n)`, the constant remainder with `c = 1`.

    Args:
        units: output width; set by the head when `None`.
        activation: activation `sigma` (default none).
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Example:
    >>> head = keras_rpn.layers.RPNHead(2, reconciliation="zero", remainder="one")
    >>> keras.ops.convert_to_numpy(head(np.zeros((1, 5))))
    array([[1., 1.]], dtype=float32)
    """

    def __init__(self, units=None, activation=None, **kwargs):
        super().__init__(c=1.0, units=units, activation=activation, **kwargs)

    def get_config(self):
        config = super().get_config()
        del config["c"]
        return config


@register("identity", "identity_remainder")
class IdentityRemainder(Remainder):
    """Identity remainder: a residual connection.

    Formula:
    ```
    pi(x) = sigma(x)
    ```
    Needs the input width `m` to equal the head's `units` (checked when built).

    Args:
        units: output width; set by the head when `None`.
        activation: activation `sigma` (default none).
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Example:
    >>> head = keras_rpn.layers.RPNHead(4, remainder="identity")
    >>> tuple(head(np.zeros((2, 4))).shape)
    (2, 4)
    """

    def additive_terms(self, x):
        terms = np.zeros(x.shape + (self.units,))
        idx = np.arange(x.shape[1])
        terms[:, idx, idx] = x
        return terms, np.zeros(self.units)

    def build(self, input_shape):
        m = validation.input_dim(self, input_shape)
        if self.units is not None and m != self.units:
            raise ValueError(
                f"The identity remainder needs the input width to equal `units`. "
                f"Received: input width m={m}, units={self.units}. Use "
                f"remainder='linear' to map {m} inputs to {self.units} outputs."
            )

    def remainder(self, x):
        return x

    def symbolic_remainder(self, symbols, activation):
        return list(symbols)


@register("linear", "linear_remainder")
class LinearRemainder(Remainder):
    """Linear remainder: a learned linear map of the (activated) input.

    Formula:
    ```
    pi(x) = sigma(phi(x) W_r + b_r),   W_r of shape (m, n),   m n (+ n) parameters
    ```
    (tinyBIG stores `W_r` as `(n, m)` and computes `x W_r^T`; the kernel here is
    laid out as in `keras.layers.Dense`.) `phi` acts on every input separately, so
    with `sigma` the identity the remainder is a sum of univariate functions
    `phi(x_j) W_r[j, i]`: the KAN paper's base branch is `phi = silu`, tinyBIG's
    KAN uses `sigma = silu` instead.

    Args:
        units: output width; set by the head when `None`.
        activation: activation `sigma` (default none; tinyBIG's KAN uses `"silu"`).
        input_activation: element-wise `phi` applied to the input first (default
            none; the KAN paper's base branch uses `"silu"`).
        use_bias: whether to add `b_r` (default `False`, as in tinyBIG).
        kernel_initializer, bias_initializer: initializers of `W_r` and `b_r`.
        kernel_regularizer, bias_regularizer: their regularizers.
        kernel_constraint, bias_constraint: their constraints.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Example:
    >>> head = keras_rpn.layers.RPNHead(
    ...     3, expansion="bspline",
    ...     remainder={"class_name": "linear", "config": {"activation": "silu"}})
    >>> tuple(head(np.zeros((2, 5))).shape)
    (2, 3)
    """

    def additive_terms(self, x):
        kernel = np.asarray(ops.convert_to_numpy(self.kernel), dtype="float64")  # (m, n)
        bias = np.zeros(self.units)
        if self.bias is not None:
            bias = np.asarray(ops.convert_to_numpy(self.bias), dtype="float64")
        phi = self.input_activation(ops.convert_to_tensor(x))
        phi = np.asarray(ops.convert_to_numpy(phi), dtype="float64")
        return phi[:, :, None] * kernel[None, :, :], bias

    def __init__(
        self,
        units=None,
        activation=None,
        input_activation=None,
        use_bias=False,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        super().__init__(units=units, activation=activation, **kwargs)
        self.input_activation = validation.activation("input_activation", input_activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)

    def kernel_size(self, input_dim):
        return input_dim * (self.units or 0)

    def build(self, input_shape):
        m = validation.input_dim(self, input_shape)
        if self.units is None:
            raise ValueError("LinearRemainder needs `units` before it is built.")
        self.kernel = self.add_weight(
            name="kernel",
            shape=(m, self.units),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias",
                shape=(self.units,),
                initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )

    def symbolic_remainder(self, symbols, activation):
        kernel = np.asarray(ops.convert_to_numpy(self.kernel), dtype="float64")
        bias = (
            np.zeros(kernel.shape[1])
            if self.bias is None
            else np.asarray(ops.convert_to_numpy(self.bias), dtype="float64")
        )
        phi = [activation(self.input_activation, x) for x in symbols]
        return [
            sum((float(kernel[j, i]) * phi[j] for j in range(len(phi))), float(bias[i]))
            for i in range(kernel.shape[1])
        ]

    def remainder(self, x):
        y = ops.matmul(self.input_activation(x), self.kernel)
        return y if self.bias is None else y + self.bias

    def get_config(self):
        return {
            **super().get_config(),
            "input_activation": validation.serialize_activation(
                "input_activation", self.input_activation
            ),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        }
