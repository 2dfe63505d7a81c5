"""The data interdependence protocol: xi mixes attributes or instances of the data."""

import keras
import numpy as np
from keras import ops

from keras_rpn.interdependence.structured import MatrixOp
from keras_rpn.registry import Registry

_TYPES = {
    "attribute": "attribute",
    "column": "attribute",
    "right": "attribute",
    "attribute_interdependence": "attribute",
    "instance": "instance",
    "row": "instance",
    "left": "instance",
    "instance_interdependence": "instance",
}


def normalize_type(value):
    """Normalises tinyBIG's type names to `"attribute"` or `"instance"`."""
    key = value.strip().lower() if isinstance(value, str) else value
    if key not in _TYPES:
        raise ValueError(
            "`interdependence_type` must be 'attribute' (aliases 'column', 'right') or "
            f"'instance' (aliases 'row', 'left'). Received: interdependence_type={value!r}"
        )
    return _TYPES[key]


class Interdependence(keras.layers.Layer):
    """Base class of data interdependence functions `xi`.

    An interdependence function builds a matrix `A` and mixes one axis of a tensor
    with it. Inputs carry an explicit instance axis: `(batch, instances, features)`,
    where instances are tokens, graph nodes or grid cells. The Keras batch axis is
    never mixed (tinyBIG mixes the rows of a batch; keras_rpn mixes the instances of
    each sample).

    * attribute type (`xi_a`): `A` has shape `(m, m')` and `xi(X) = X A` mixes the
      last (feature) axis; inputs `(batch, ..., m)` give `(batch, ..., m')`.
    * instance type (`xi_i`): `A` has shape `(N, N')` and `xi(Z) = A^T Z` mixes axis
      -2; inputs `(batch, N, D)` give `(batch, N', D)`. Inputs of rank 2 are refused
      (there is no instance axis to mix).

    `A` is either constant (chains, graphs, identity: computed in numpy at build and
    applied as the cheapest equivalent op, see `structured.MatrixOp`), learned
    (parameterised functions: made from the layer's own weights through a
    reconciliation), or data-dependent (kernels, bilinear forms: computed per sample
    from the data `X`, shape `(batch, N, m)`, between its instances (instance type:
    `(batch, N, N)`) or its features across the instances (attribute type:
    `(batch, m, m)`)).

    Usage:

    * `xi(Z)`: `A` is computed from `Z` itself and applied to `Z`;
    * `xi(Z, data=X)`: `A` is computed from `X` and applied to `Z`. An RPN head
      does this for `xi_i`: `A` comes from the (processed) input `X`, shape
      `(batch, N, m)`, and mixes the expansion `kappa(xi_a(X))`, shape
      `(batch, N, D)`; the two share `N`;
    * `xi.matrix(X)`: the matrix itself, `(d, d')` for a constant or learned `A`,
      `(batch, d, d')` for a data-dependent one (`d = m` or `N` by type);
    * `build(shape)` takes the shape of the data `X` (the one `A` is computed from;
      for a data-free function any tensor with the mixed axis); parameterised
      functions create their weights there (`num_params()` of them, in a `kernel`
      of shape `(1, l)`, initialised by their reconciliation at the Glorot scale);
    * `output_dim(d)`: `d'`, the mixed axis after mixing (`m'` or `N'`);
      `compute_output_shape(shape)` the whole output shape.

    A head holds one interdependence per slot: `RPNHead(...,
    attribute_interdependence=..., instance_interdependence=...)`; `xi_a` acts
    before the expansion and `xi_i` after it (on `(batch, N, D)`).

    A subclass implements `output_dim(dim)` if `d' != d` and one of:

    * `constant_matrix(dim)`: the numpy `A` of a constant function (the base class
      builds the structured op and applies it);
    * `matrix(x)`: `A` as a tensor (learned or data-dependent); the base class
      applies it densely with `mix`;
    * `call` itself, for functions with their own structured op (geometric patches).

    Args:
        interdependence_type: `"attribute"` (aliases `"column"`, `"right"`) or
            `"instance"` (aliases `"row"`, `"left"`); the default is tinyBIG's default
            for the function (`default_type`).
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Example:
    >>> xi = keras_rpn.interdependence.get("chain", chain_length=4)
    >>> tuple(xi(np.ones((2, 4, 3))).shape)  # (batch, N, features)
    (2, 4, 3)
    """

    #: tinyBIG's default type for the function.
    default_type = "attribute"
    #: Whether `A` depends on the data.
    require_data = False

    def __init__(self, interdependence_type=None, **kwargs):
        super().__init__(**kwargs)
        self.interdependence_type = normalize_type(
            self.default_type if interdependence_type is None else interdependence_type
        )

    @property
    def is_instance(self):
        return self.interdependence_type == "instance"

    @property
    def mixed_axis(self):
        """The axis `A` mixes: -2 (instances) or -1 (attributes)."""
        return -2 if self.is_instance else -1

    @property
    def require_parameters(self):
        return bool(self.trainable_weights)

    def output_dim(self, dim):
        """`d'` (`m'` or `N'`) for a mixed axis of size `d`."""
        return dim

    def num_params(self):
        """tinyBIG's `l`: the number of learned parameters."""
        return sum(int(np.prod(w.shape)) for w in self.trainable_weights)

    def check_shape(self, shape):
        """Checks the data shape; returns the size `d` of the mixed axis."""
        shape = tuple(shape)
        needs_instances = self.is_instance or self.require_data
        if len(shape) < (3 if needs_instances else 2):
            what = "an instance axis" if self.is_instance else "instances to compare features over"
            raise ValueError(
                f"{self.__class__.__name__} ({self.interdependence_type} type) needs "
                f"{what}: inputs of shape (batch, instances, features). Received: "
                f"input_shape={shape}"
            )
        dim = shape[self.mixed_axis]
        if dim is None:
            raise ValueError(
                f"The {'instance' if self.is_instance else 'feature'} axis of the input to "
                f"{self.__class__.__name__} must be known when it is built. Received: "
                f"input_shape={shape}"
            )
        return int(dim)

    def build(self, inputs_shape, data_shape=None):
        shape = tuple(inputs_shape if data_shape is None else data_shape)
        self.dim = self.check_shape(shape)
        self.data_shape = shape
        self.output_dim_ = self.output_dim(self.dim)
        self.op = None
        if (
            not self.require_data
            and type(self).constant_matrix is not Interdependence.constant_matrix
        ):
            a = np.asarray(self.constant_matrix(self.dim), dtype="float64")
            expected = (self.dim, self.output_dim_)
            if a.shape != expected:
                raise ValueError(
                    f"{self.__class__.__name__} makes a matrix of shape {a.shape}, but the "
                    f"{self.interdependence_type} axis of the input has size {self.dim}: "
                    f"expected shape {expected}. Received: input_shape={shape}"
                )
            self.op = MatrixOp(a)

    def constant_matrix(self, dim):
        raise NotImplementedError

    def matrix(self, x=None):
        """`A`: `(d, d')`, or `(batch, d, d')` when it depends on the data `x`."""
        if self.op is not None:
            return ops.convert_to_tensor(self.op.a, dtype=self.compute_dtype)
        raise NotImplementedError

    def mix(self, z, a):
        """`z A` (attribute) or `A^T z` (instance) for `A` of rank 2 or 3."""
        per_sample = len(a.shape) == 3
        if self.is_instance:
            return ops.einsum("bnk,bnf->bkf" if per_sample else "nk,...nf->...kf", a, z)
        if per_sample:
            return ops.einsum("b...m,bmk->b...k", z, a)
        return ops.matmul(z, a)

    def check_instances(self, inputs):
        """Checks that instance-type inputs have the instance axis `A` was built for."""
        if self.is_instance and (len(inputs.shape) < 3 or inputs.shape[-2] != self.dim):
            raise ValueError(
                f"{self.__class__.__name__} was built for {self.dim} instances on axis -2 "
                f"of inputs (batch, instances, features). Received: shape={inputs.shape}"
            )

    def call(self, inputs, data=None):
        self.check_instances(inputs)
        if self.op is not None:
            if self.is_instance:
                return self.op(inputs)
            return self.op(ops.expand_dims(inputs, -1))[..., 0]
        return self.mix(inputs, self.matrix(inputs if data is None else data))

    def compute_output_shape(self, inputs_shape, data_shape=None):
        shape = list(inputs_shape)
        dim = shape[self.mixed_axis]
        shape[self.mixed_axis] = None if dim is None else self.output_dim(int(dim))
        return tuple(shape)

    def get_config(self):
        return {**super().get_config(), "interdependence_type": self.interdependence_type}


def items(x, interdependence_type):
    """The items a data-dependent `A` compares, shape `(batch, d, f)`.

    Instance type: the `N` instances of each sample (rows of `x`, `f = m`);
    attribute type: its `m` features, observed over the `N` instances (`f = N`).
    """
    return x if interdependence_type == "instance" else ops.swapaxes(x, -1, -2)


registry = Registry("interdependence", Interdependence)
_registry = registry
register = registry.register
names = registry.names


def get(identifier, **overrides):
    """Returns an interdependence function from an instance, a name or a config dict."""
    return registry.get(identifier, **overrides)


class KernelInterdependence(Interdependence):
    """Base of data-dependent kernels: `A[i, j] = k(u_i, u_j)`, per sample.

    The items `u` (see `items`) are the instances of a sample (instance type: each
    a vector of its `m` features) or its features (attribute type: each a vector of
    its values over the `N` instances). tinyBIG compares columns across the rows of
    a batch; here the comparison never leaves the sample. A subclass implements
    `kernel(u)`: `(batch, d, f) -> (batch, d, d)`.

    Args:
        interdependence_type: `"attribute"` (default) or `"instance"`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.
    """

    require_data = True

    def kernel(self, u):
        raise NotImplementedError

    def matrix(self, x=None):
        return self.kernel(items(x, self.interdependence_type))


def gram(u):
    """`u u^T` per sample: `(batch, d, f) -> (batch, d, d)`."""
    return ops.einsum("bif,bjf->bij", u, u)


def safe_sqrt(s):
    """`sqrt(max(s, 0))` with a zero (not infinite) gradient where `s <= 0`."""
    positive = ops.greater(s, 0.0)
    return ops.where(positive, ops.sqrt(ops.where(positive, s, 1.0)), 0.0)


def safe_divide(num, den):
    """`num / den`, 0 where `den == 0` (with finite gradients)."""
    nonzero = ops.not_equal(den, 0.0)
    return ops.where(nonzero, num / ops.where(nonzero, den, 1.0), 0.0)
