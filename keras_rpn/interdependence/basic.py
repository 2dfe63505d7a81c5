"""Basic interdependence functions: a given matrix, constants, the identity."""

import numpy as np

from keras_rpn import validation
from keras_rpn.interdependence.base import Interdependence
from keras_rpn.interdependence.base import register


def _matrix(name, value):
    try:
        array = np.asarray(value, dtype="float64")
    except (TypeError, ValueError):
        raise TypeError(
            f"Expected `{name}` to be a 2-D array of numbers. Received: {name}={value!r}"
        ) from None
    if array.ndim != 2 or 0 in array.shape:
        raise ValueError(
            f"Expected `{name}` to be a non-empty 2-D matrix. "
            f"Received: {name} of shape {array.shape}"
        )
    if not np.all(np.isfinite(array)):
        raise ValueError(f"`{name}` must hold finite numbers only. Received: {name}={value!r}")
    return array


class _SizedInterdependence(Interdependence):
    """Base of the data-free functions whose output size `d'` is an argument.

    Args:
        b_prime: `N'` for the instance type (default `N`).
        m_prime: `m'` for the attribute type (default `m`).
    """

    def __init__(self, b_prime=None, m_prime=None, **kwargs):
        super().__init__(**kwargs)
        self.b_prime = validation.positive_int("b_prime", b_prime, allow_none=True)
        self.m_prime = validation.positive_int("m_prime", m_prime, allow_none=True)

    def output_dim(self, dim):
        size = self.b_prime if self.is_instance else self.m_prime
        return dim if size is None else size

    def get_config(self):
        return {**super().get_config(), "b_prime": self.b_prime, "m_prime": self.m_prime}


@register("constant", "constant_interdependence")
class ConstantInterdependence(Interdependence):
    """A given constant matrix: `xi(X) = X A` (attribute) or `A^T X` (instance).

    Formula:
    ```
    A given, of shape (d, d'),   d = m (attribute) or N (instance)
    ```
    The matrix is checked against the mixed axis at build and applied as the
    cheapest equivalent op (sparse, banded or dense).

    Args:
        A: the matrix, a nested list or array of shape `(d, d')`.
        interdependence_type: `"attribute"` (default) or `"instance"`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Example:
    >>> xi = keras_rpn.interdependence.get("constant", A=[[1.0, 0.0], [1.0, 1.0]])
    >>> keras.ops.convert_to_numpy(xi(np.array([[1.0, 2.0]])))
    array([[3., 2.]], dtype=float32)
    """

    def __init__(self, A, **kwargs):
        super().__init__(**kwargs)
        self.A = _matrix("A", A)

    def output_dim(self, dim):
        return self.A.shape[1]

    def constant_matrix(self, dim):
        if self.A.shape[0] != dim:
            raise ValueError(
                f"`A` has {self.A.shape[0]} rows, but the {self.interdependence_type} axis "
                f"of the input has size {dim}. Received: A of shape {self.A.shape}"
            )
        return self.A

    def get_config(self):
        return {**super().get_config(), "A": self.A.tolist()}


@register("constant_c", "constant_c_interdependence")
class ConstantCInterdependence(_SizedInterdependence):
    """A constant matrix of equal entries: `A = c 1_{d x d'}`.

    Args:
        c: the entry (default 1.0).
        b_prime, m_prime: `N'` (instance type) or `m'` (attribute type); default `d`.
        interdependence_type: `"attribute"` (default) or `"instance"`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Example:
    >>> xi = keras_rpn.interdependence.get("constant_c", c=0.5)
    >>> keras.ops.convert_to_numpy(xi(np.array([[1.0, 3.0]])))
    array([[2., 2.]], dtype=float32)
    """

    def __init__(self, c=1.0, **kwargs):
        super().__init__(**kwargs)
        self.c = validation.finite_float("c", c)

    def constant_matrix(self, dim):
        return np.full((dim, self.output_dim(dim)), self.c)

    def get_config(self):
        return {**super().get_config(), "c": self.c}


@register("zero", "zero_interdependence")
class ZeroInterdependence(ConstantCInterdependence):
    """The zero matrix: `A = 0_{d x d'}`.

    Args:
        b_prime, m_prime: `N'` (instance type) or `m'` (attribute type); default `d`.
        interdependence_type: `"attribute"` (default) or `"instance"`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.
    """

    def __init__(self, **kwargs):
        kwargs.pop("c", None)
        super().__init__(c=0.0, **kwargs)

    def get_config(self):
        config = super().get_config()
        config.pop("c")
        return config


@register("one", "one_interdependence")
class OneInterdependence(ConstantCInterdependence):
    """The all-ones matrix: `A = 1_{d x d'}` (every output is the sum of the inputs).

    Args:
        b_prime, m_prime: `N'` (instance type) or `m'` (attribute type); default `d`.
        interdependence_type: `"attribute"` (default) or `"instance"`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.
    """

    def __init__(self, **kwargs):
        kwargs.pop("c", None)
        super().__init__(c=1.0, **kwargs)

    def get_config(self):
        config = super().get_config()
        config.pop("c")
        return config


@register("identity", "eye", "identity_interdependence", "eye_interdependence")
class IdentityInterdependence(_SizedInterdependence):
    """The (rectangular) identity: `A = I_{d x d'}`.

    With `d' = d` the input passes through unchanged (no op at all); with `d' < d`
    the first `d'` entries are kept, with `d' > d` zeros are appended.

    Args:
        b_prime, m_prime: `N'` (instance type) or `m'` (attribute type); default `d`.
        interdependence_type: `"attribute"` (default) or `"instance"`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Example:
    >>> xi = keras_rpn.interdependence.get("identity")
    >>> keras.ops.convert_to_numpy(xi(np.array([[1.0, 3.0]])))
    array([[1., 3.]], dtype=float32)
    """

    def constant_matrix(self, dim):
        return np.eye(dim, self.output_dim(dim))
