"""Parameterised interdependences: learned `A = psi(w)^T` and bilinear `A = X psi(w) X^T`.

The parameter matrices come from keras_rpn's reconciliations (`keras_rpn.reconciliations`):
the interdependence owns a kernel of shape `(1, l)` and a reconciliation `psi` built
for the matrix it needs, and applies it with the reconciliation's own structured
contraction (`psi.contract`: low-rank factors, Kronecker reshapes, frozen random
projections), so neither the `d x d'` matrix nor any copy of the reconciliation
formulas lives here.
"""

from keras import initializers
from keras import ops

from keras_rpn import expansions
from keras_rpn import reconciliations
from keras_rpn import validation
from keras_rpn.interdependence.base import Interdependence
from keras_rpn.interdependence.base import items
from keras_rpn.interdependence.base import register
from keras_rpn.registry import serialize_component


class ReconciledInterdependence(Interdependence):
    """Base of interdependences whose parameters go through a reconciliation.

    Args:
        reconciliation: `psi`, a name from `keras_rpn.reconciliations.names()`, a
            `Reconciliation` or a config dict (default `"identity"`: a full matrix).
        kernel_initializer: initializer of the `(1, l)` kernel (default: the
            reconciliation's, which gives `psi(w)` a Glorot-like scale).
        interdependence_type: `"attribute"` or `"instance"`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.
    """

    def __init__(self, reconciliation="identity", kernel_initializer=None, **kwargs):
        super().__init__(**kwargs)
        self.reconciliation = reconciliations.get(
            reconciliation, name="reconciliation", dtype=self.dtype_policy
        )
        self.kernel_initializer = (
            None if kernel_initializer is None else initializers.get(kernel_initializer)
        )
        self._identity = expansions.IdentityExpansion(dtype=self.dtype_policy)

    def matrix_shape(self, dim):
        """`(n, D)` of `psi(w)`."""
        raise NotImplementedError

    def build_parameters(self, dim):
        units, input_dim = self.matrix_shape(dim)
        self.reconciliation.build((units, input_dim))
        num = self.reconciliation.num_params(units, input_dim)
        self.kernel = self.add_weight(
            name="kernel",
            shape=(1, num),
            initializer=self.kernel_initializer
            or self.reconciliation.default_initializer(units, input_dim),
        )

    def contract(self, u):
        """`u psi(w)^T` over the last axis of `u`, by the reconciliation's contraction."""
        shape = ops.shape(u)
        flat = ops.reshape(u, (-1, u.shape[-1]))
        y = self.reconciliation.contract(self._identity, flat, self.kernel)[:, 0, :]
        return ops.reshape(y, tuple(shape[:-1]) + (y.shape[-1],))

    def num_params(self):
        return int(self.kernel.shape[-1])

    def get_config(self):
        config = {
            **super().get_config(),
            "reconciliation": serialize_component(self.reconciliation),
        }
        if self.kernel_initializer is not None:
            config["kernel_initializer"] = initializers.serialize(self.kernel_initializer)
        return config


@register("parameterized", "parameterized_interdependence")
class ParameterizedInterdependence(ReconciledInterdependence):
    """A learned mixing matrix: `A = psi(w)^T`, data-free.

    Formula (`d = m`, `d' = m'` for the attribute type; `N`, `N'` for instances):
    ```
    W = psi(w) of shape (d', d),  A = W^T of shape (d, d'),  l = psi.l(d', d)
    xi(X) = X A = X W^T  (attribute),   xi(Z) = A^T Z = W Z  (instance)
    ```
    Applied through the reconciliation's contraction (e.g. low rank: two thin
    products), never forming `A` unless the reconciliation has no structure.

    Args:
        reconciliation: `psi` (default `"identity"`: `A` has `d d'` free entries).
        m_prime: `m'` for the attribute type (default `m`).
        b_prime: `N'` for the instance type (default `N`).
        kernel_initializer, interdependence_type: see `ReconciledInterdependence`
            (attribute type by default).
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Example:
    >>> xi = keras_rpn.interdependence.get("lowrank_parameterized", r=1, m_prime=2)
    >>> tuple(xi(np.ones((3, 5))).shape)
    (3, 2)
    """

    def __init__(self, reconciliation="identity", b_prime=None, m_prime=None, **kwargs):
        super().__init__(reconciliation=reconciliation, **kwargs)
        self.b_prime = validation.positive_int("b_prime", b_prime, allow_none=True)
        self.m_prime = validation.positive_int("m_prime", m_prime, allow_none=True)

    def output_dim(self, dim):
        size = self.b_prime if self.is_instance else self.m_prime
        return dim if size is None else size

    def matrix_shape(self, dim):
        return self.output_dim(dim), dim

    def build(self, inputs_shape, data_shape=None):
        super().build(inputs_shape, data_shape)
        self.build_parameters(self.dim)

    def matrix(self, x=None):
        return ops.transpose(self.reconciliation.reconcile(self.kernel)[0])

    def call(self, inputs, data=None):
        if not self.is_instance:
            return self.contract(inputs)
        self.check_instances(inputs)
        return ops.swapaxes(self.contract(ops.swapaxes(inputs, -1, -2)), -1, -2)

    def get_config(self):
        return {**super().get_config(), "b_prime": self.b_prime, "m_prime": self.m_prime}


@register("parameterized_bilinear", "bilinear", "parameterized_bilinear_interdependence")
class ParameterizedBilinearInterdependence(ReconciledInterdependence):
    """Bilinear (attention-like) interdependence: `A = X psi(w) X^T`, per sample.

    Formula, per sample `X` of shape `(N, m)` (the data; `f = m`):
    ```
    instance type:   A = X W X^T  of shape (N, N),  W = psi(w) of shape (m, m)
    attribute type:  A = X^T W X  of shape (m, m),  W of shape (N, N)  (f = N)
    with normalization="softmax":  A <- softmax over i of A[i, j] / sqrt(f)
    ```
    `A` compares the instances of one sample (tokens, nodes), never the rows of a
    batch. `X psi(w)^T` comes from the reconciliation's contraction (a low-rank `W`
    costs `2 f r` per instance instead of `f^2`); `A` is then one batched product.

    Args:
        reconciliation: `psi` (default `"identity"`: `l = f^2`).
        normalization: `None` (default, tinyBIG's plain bilinear form) or
            `"softmax"`: scaled dot-product attention weights, each output instance
            a convex combination of the inputs.
        kernel_initializer, interdependence_type: see `ReconciledInterdependence`
            (instance type by default).
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Example:
    >>> xi = keras_rpn.interdependence.get("bilinear", normalization="softmax")
    >>> tuple(xi(np.ones((2, 5, 3))).shape)  # (batch, tokens, features)
    (2, 5, 3)
    """

    default_type = "instance"
    require_data = True

    def __init__(self, reconciliation="identity", normalization=None, **kwargs):
        super().__init__(reconciliation=reconciliation, **kwargs)
        if normalization not in (None, "softmax"):
            raise ValueError(
                f"`normalization` must be None or 'softmax'. "
                f"Received: normalization={normalization!r}"
            )
        self.normalization = normalization

    def matrix_shape(self, dim):
        features = self.data_shape[-1] if self.is_instance else self.data_shape[-2]
        if features is None:
            raise ValueError(
                f"{self.__class__.__name__} needs the data's other axis to be known at "
                f"build. Received: input_shape={self.data_shape}"
            )
        return int(features), int(features)

    def build(self, inputs_shape, data_shape=None):
        super().build(inputs_shape, data_shape)
        self.build_parameters(self.dim)

    def matrix(self, x=None):
        u = items(x, self.interdependence_type)
        a = ops.einsum("bif,bjf->bij", u, self.contract(u))
        if self.normalization == "softmax":
            a = ops.softmax(a / float(u.shape[-1]) ** 0.5, axis=1)
        return a

    def get_config(self):
        return {**super().get_config(), "normalization": self.normalization}


class _Fixed:
    """Mixin of tinyBIG's subclasses that fix the reconciliation by its hyper-parameters.

    A subclass sets `reconciliation_name` and `hyper_parameters` (argument names of
    that reconciliation); its `__init__` passes them on.
    """

    reconciliation_name = "identity"
    hyper_parameters = ()

    def _init_fixed(self, values, kwargs):
        kwargs.pop("reconciliation", None)
        config = {key: value for key, value in values.items() if value is not None}
        super().__init__(
            reconciliation={"class_name": self.reconciliation_name, "config": config}, **kwargs
        )
        for key, value in values.items():
            setattr(self, key, value)

    def get_config(self):
        config = super().get_config()
        config.pop("reconciliation")
        return {**config, **{key: getattr(self, key) for key in self.hyper_parameters}}


class _LowRank(_Fixed):
    reconciliation_name = "lorr"
    hyper_parameters = ("r",)

    def __init__(self, r=2, **kwargs):
        self._init_fixed({"r": r}, kwargs)


class _HM(_Fixed):
    reconciliation_name = "hm"
    hyper_parameters = ("p", "q")

    def __init__(self, p=None, q=None, **kwargs):
        self._init_fixed({"p": p, "q": p if q is None else q}, kwargs)


class _LPHM(_Fixed):
    reconciliation_name = "lphm"
    hyper_parameters = ("r", "p", "q")

    def __init__(self, r=2, p=None, q=None, **kwargs):
        self._init_fixed({"r": r, "p": p, "q": p if q is None else q}, kwargs)


class _DualLPHM(_LPHM):
    reconciliation_name = "dual_lphm"


class _RandomMatrix(_Fixed):
    reconciliation_name = "random_matrix_adaption"
    hyper_parameters = ("r",)

    def __init__(self, r=2, **kwargs):
        self._init_fixed({"r": r}, kwargs)


_DOC = """`{base}` with `psi` the {what} reconciliation (tinyBIG's `{tinybig}`).

    Args:
        {args}: the reconciliation's hyper-parameters (see `keras_rpn.reconciliations`;
            `q` defaults to `p`).
        Other arguments: see `{base}`.
    """


def _doc(base, what, tinybig, args):
    return _DOC.format(base=base, what=what, tinybig=tinybig, args=args)


@register("lowrank_parameterized", "lowrank_parameterized_interdependence")
class LowRankParameterizedInterdependence(_LowRank, ParameterizedInterdependence):
    __doc__ = _doc(
        "ParameterizedInterdependence",
        "lorr (low-rank)",
        "lowrank_parameterized_interdependence",
        "r",
    )


@register("hm_parameterized", "hm_parameterized_interdependence")
class HMParameterizedInterdependence(_HM, ParameterizedInterdependence):
    __doc__ = _doc(
        "ParameterizedInterdependence", "HM (Kronecker)", "hm_parameterized_interdependence", "p, q"
    )


@register("lphm_parameterized", "lphm_parameterized_interdependence")
class LPHMParameterizedInterdependence(_LPHM, ParameterizedInterdependence):
    __doc__ = _doc(
        "ParameterizedInterdependence", "LPHM", "lphm_parameterized_interdependence", "r, p, q"
    )


@register("dual_lphm_parameterized", "dual_lphm_parameterized_interdependence")
class DualLPHMParameterizedInterdependence(_DualLPHM, ParameterizedInterdependence):
    __doc__ = _doc(
        "ParameterizedInterdependence",
        "dual LPHM",
        "dual_lphm_parameterized_interdependence",
        "r, p, q",
    )


@register(
    "random_matrix_adaption_parameterized", "random_matrix_adaption_parameterized_interdependence"
)
class RandomMatrixAdaptionParameterizedInterdependence(_RandomMatrix, ParameterizedInterdependence):
    __doc__ = _doc(
        "ParameterizedInterdependence",
        "random matrix adaption",
        "random_matrix_adaption_parameterized_interdependence",
        "r",
    )


@register("lowrank_parameterized_bilinear", "lowrank_parameterized_bilinear_interdependence")
class LowRankParameterizedBilinearInterdependence(_LowRank, ParameterizedBilinearInterdependence):
    __doc__ = _doc(
        "ParameterizedBilinearInterdependence",
        "lorr (low-rank)",
        "lowrank_parameterized_bilinear_interdependence",
        "r",
    )


@register("hm_parameterized_bilinear", "hm_parameterized_bilinear_interdependence")
class HMParameterizedBilinearInterdependence(_HM, ParameterizedBilinearInterdependence):
    __doc__ = _doc(
        "ParameterizedBilinearInterdependence",
        "HM (Kronecker)",
        "hm_parameterized_bilinear_interdependence",
        "p, q",
    )


@register("lphm_parameterized_bilinear", "lphm_parameterized_bilinear_interdependence")
class LPHMParameterizedBilinearInterdependence(_LPHM, ParameterizedBilinearInterdependence):
    __doc__ = _doc(
        "ParameterizedBilinearInterdependence",
        "LPHM",
        "lphm_parameterized_bilinear_interdependence",
        "r, p, q",
    )


@register("dual_lphm_parameterized_bilinear", "dual_lphm_parameterized_bilinear_interdependence")
class DualLPHMParameterizedBilinearInterdependence(_DualLPHM, ParameterizedBilinearInterdependence):
    __doc__ = _doc(
        "ParameterizedBilinearInterdependence",
        "dual LPHM",
        "dual_lphm_parameterized_bilinear_interdependence",
        "r, p, q",
    )


@register(
    "random_matrix_adaption_parameterized_bilinear",
    "random_matrix_adaption_parameterized_bilinear_interdependence",
)
class RandomMatrixAdaptionParameterizedBilinearInterdependence(
    _RandomMatrix, ParameterizedBilinearInterdependence
):
    __doc__ = _doc(
        "ParameterizedBilinearInterdependence",
        "random matrix adaption",
        "random_matrix_adaption_parameterized_bilinear_interdependence",
        "r",
    )
