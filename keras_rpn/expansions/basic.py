"""Basic expansions: identity, reciprocal, linear (`D = m`)."""

import numpy as np
from keras import ops

from keras_rpn import validation
from keras_rpn.expansions.base import Expansion
from keras_rpn.expansions.base import register


@register("identity", "identity_expansion")
class IdentityExpansion(Expansion):
    """Identity expansion: `kappa(x) = x`.

    With the identity reconciliation this makes an RPN head a dense layer.

    Formula:
    ```
    kappa(x) = x,   D(m) = m
    ```

    Args:
        **kwargs: `preprocessing`, `postprocessing` (see `Expansion`) and base layer
            keyword arguments, such as `name` and `dtype`.

    Example:
    >>> keras.ops.convert_to_numpy(keras_rpn.expansions.IdentityExpansion()(np.array([[0.5, 2.0]])))
    array([[0.5, 2. ]], dtype=float32)
    """

    is_identity = True
    column_layout = "feature_major"

    def output_dim(self, input_dim):
        return input_dim

    def symbolic_columns(self, symbols):
        return list(symbols)

    def expand(self, x):
        return x


@register("reciprocal", "reciprocal_expansion")
class ReciprocalExpansion(Expansion):
    """Reciprocal expansion: `kappa(x) = 1 / x`, with inputs near zero clamped.

    Formula:
    ```
    x' = sign(x) max(|x|, 1e-6)   with sign(0) = +1
    kappa(x) = 1 / x',            D(m) = m
    ```
    Difference from tinyBIG: tinyBIG clamps by writing into its input tensor in
    place (a side effect on the caller's data and on autograd); here the input is
    never modified. The values are the same: `[0, 1e-6] -> 1e-6`,
    `[-1e-6, 0) -> -1e-6`.

    Args:
        **kwargs: `preprocessing`, `postprocessing` (see `Expansion`) and base layer
            keyword arguments, such as `name` and `dtype`.

    Example:
    >>> kappa = keras_rpn.expansions.ReciprocalExpansion()
    >>> keras.ops.convert_to_numpy(kappa(np.array([[2.0, 0.0]])))
    array([[5.e-01, 1.e+06]], dtype=float32)
    """

    column_layout = "feature_major"

    float32_compute = True
    epsilon = 1e-6

    def output_dim(self, input_dim):
        return input_dim

    def expand(self, x):
        eps = ops.full_like(x, self.epsilon)
        clamped = ops.where(ops.greater_equal(x, 0.0), eps, -eps)
        safe = ops.where(ops.less_equal(ops.abs(x), self.epsilon), clamped, x)
        return 1.0 / safe


def _matrix_or_none(name, value):
    if value is None:
        return None
    try:
        array = np.asarray(value, dtype="float64")
    except (TypeError, ValueError):
        raise TypeError(
            f"Expected `{name}` to be a 2-D array of numbers. Received: {name}={value!r}"
        ) from None
    if array.ndim != 2 or array.shape[0] != array.shape[1] or array.size == 0:
        raise ValueError(
            f"Expected `{name}` to be a square matrix (the linear expansion keeps the "
            f"width). Received: {name} with shape {array.shape}"
        )
    if not np.all(np.isfinite(array)):
        raise ValueError(f"Expected `{name}` to be finite. Received: {name}={value!r}")
    return array


@register("linear", "linear_expansion")
class LinearExpansion(Expansion):
    """Linear expansion by a fixed scalar or matrix.

    Formula (one of):
    ```
    kappa(x) = c x            (c given)
    kappa(X) = C_pre X        (pre_C given: mixes the rows of X along axis -2)
    kappa(x) = x C_post       (post_C given: an m x m matrix)
    kappa(x) = x              (none given),    D(m) = m
    ```
    Difference from tinyBIG: tinyBIG applies `pre_C` along the batch axis (mixing
    samples). Here it mixes the axis just before the features (tokens, nodes), so
    `pre_C` needs inputs of rank >= 3 `(batch, k, m)` with a `k x k` matrix; samples
    of a batch never interact. tinyBIG silently uses the first of `c`, `pre_C`,
    `post_C` that is set; here giving more than one is an error.

    Args:
        c: optional scalar factor.
        pre_C: optional square matrix (nested lists or array) applied on the left.
        post_C: optional `m x m` matrix (nested lists or array) applied on the right.
        **kwargs: `preprocessing`, `postprocessing` (see `Expansion`) and base layer
            keyword arguments, such as `name` and `dtype`.

    Example:
    >>> kappa = keras_rpn.expansions.LinearExpansion(c=2.0)
    >>> keras.ops.convert_to_numpy(kappa(np.array([[1.0, -1.0]])))
    array([[ 2., -2.]], dtype=float32)
    """

    @property
    def column_layout(self):
        # A matrix mixes features (post_C) or rows (pre_C); a scalar does not.
        return "feature_major" if self.pre_C is None and self.post_C is None else None

    def __init__(self, c=None, pre_C=None, post_C=None, **kwargs):
        super().__init__(**kwargs)
        self.c = None if c is None else validation.finite_float("c", c)
        self.pre_C = _matrix_or_none("pre_C", pre_C)
        self.post_C = _matrix_or_none("post_C", post_C)
        given = [n for n, v in (("c", c), ("pre_C", pre_C), ("post_C", post_C)) if v is not None]
        if len(given) > 1:
            raise ValueError(
                "Expected at most one of `c`, `pre_C`, `post_C` for a linear expansion. "
                f"Received: {', '.join(given)}"
            )

    def build(self, input_shape):
        super().build(input_shape)
        if self.post_C is not None and input_shape[-1] not in (None, self.post_C.shape[0]):
            raise ValueError(
                f"`post_C` must be m x m for inputs of width m={input_shape[-1]}. "
                f"Received: post_C with shape {self.post_C.shape}"
            )
        if self.pre_C is not None:
            if len(input_shape) < 3 or input_shape[-2] not in (None, self.pre_C.shape[0]):
                raise ValueError(
                    "`pre_C` mixes the axis before the features: it needs inputs of shape "
                    f"(batch, k, m) with k = {self.pre_C.shape[0]}. "
                    f"Received: input_shape={tuple(input_shape)}"
                )

    def output_dim(self, input_dim):
        return input_dim

    def expand(self, x):
        if self.c is not None:
            return self.c * x
        if self.pre_C is not None:
            return ops.einsum("kj,...jm->...km", ops.cast(self.pre_C, x.dtype), x)
        if self.post_C is not None:
            return ops.matmul(x, ops.cast(self.post_C, x.dtype))
        return x

    def get_config(self):
        return {
            **super().get_config(),
            "c": self.c,
            "pre_C": None if self.pre_C is None else self.pre_C.tolist(),
            "post_C": None if self.post_C is None else self.post_C.tolist(),
        }
