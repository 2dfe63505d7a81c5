"""Hybrid interdependence (a fusion of several matrices) and the RPN-generated one."""

from keras import ops

from keras_rpn import expansions
from keras_rpn import fusions
from keras_rpn import validation
from keras_rpn.interdependence.base import Interdependence
from keras_rpn.interdependence.base import get
from keras_rpn.interdependence.base import items
from keras_rpn.interdependence.base import register
from keras_rpn.interdependence.parameterized import ReconciledInterdependence
from keras_rpn.registry import serialize_component


@register("hybrid", "hybrid_interdependence")
class HybridInterdependence(Interdependence):
    """A fusion of several interdependence matrices: `A = F([A_1, ..., A_K])`.

    Every `A_k` is computed by its function (all of this function's type), then
    fused entry by entry by a keras_rpn fusion over the `K` matrices (e.g. `"prod"`:
    a graph mask times bilinear attention, tinyBIG's GAT). A data-dependent member
    makes `A` per sample; constant members are broadcast to it.

    Formula:
    ```
    A = F([A_1, ..., A_K]),   d' = F's output width for K inputs of width d'_k
    ```
    Difference from tinyBIG: tinyBIG's `calculate_m_prime` calls `calculate_b_prime`
    with the wrong argument and fails; here `d'` is the fusion's output width (the
    members' `d'`, or `K d'` for a concatenation), as documented.

    Args:
        interdependence_functions: the members, a list of names, config dicts or
            `Interdependence` instances (they take this function's type).
        fusion_function: a name from `keras_rpn.fusions.names()`, a `Fusion` or a
            config dict (default `"mean"`).
        interdependence_type: `"attribute"` (default) or `"instance"`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Example (graph-masked attention):
    >>> xi = keras_rpn.interdependence.get(
    ...     "hybrid", interdependence_type="instance", fusion_function="prod",
    ...     interdependence_functions=[{"class_name": "graph", "config": {"links": [(0, 1)]}},
    ...                                "bilinear"])
    >>> tuple(xi(np.ones((2, 3, 4))).shape)
    (2, 3, 4)
    """

    def __init__(self, interdependence_functions, fusion_function="mean", **kwargs):
        super().__init__(**kwargs)
        if isinstance(interdependence_functions, (str, dict)) or not interdependence_functions:
            raise ValueError(
                "`interdependence_functions` must be a non-empty list. Received: "
                f"interdependence_functions={interdependence_functions!r}"
            )
        self.members = [
            get(
                f,
                interdependence_type=self.interdependence_type,
                name=f"member_{i}",
                dtype=self.dtype_policy,
            )
            for i, f in enumerate(interdependence_functions)
        ]
        self.fusion = fusions.get(fusion_function, name="fusion", dtype=self.dtype_policy)
        self.require_data = any(m.require_data for m in self.members)

    def build(self, inputs_shape, data_shape=None):
        super().build(inputs_shape, data_shape)
        widths = set()
        for member in self.members:
            if not member.built:
                member.build(inputs_shape, data_shape)
            widths.add(member.output_dim(self.dim))
        if len(widths) != 1:
            raise ValueError(
                f"The members of {self.__class__.__name__} make matrices of different widths "
                f"{sorted(widths)}; they must agree."
            )
        self.member_dim = widths.pop()
        self.fusion.build((None, len(self.members), self.member_dim))
        self.output_dim_ = self.output_dim(self.dim)

    def output_dim(self, dim):
        width = self.members[0].output_dim(dim)
        return self.fusion.output_dim(len(self.members), width)

    def matrix(self, x=None):
        mats = [m.matrix(x) for m in self.members]
        per_sample = [a for a in mats if len(a.shape) == 3]
        if per_sample:
            shape = ops.shape(per_sample[0])
            mats = [a if len(a.shape) == 3 else ops.broadcast_to(a, shape) for a in mats]
        return self.fusion.call(ops.stack(mats, axis=-2))

    def get_config(self):
        return {
            **super().get_config(),
            "interdependence_functions": [serialize_component(m) for m in self.members],
            "fusion_function": serialize_component(self.fusion),
        }


@register("parameterized_rpn", "parameterized_rpn_interdependence")
class ParameterizedRPNInterdependence(ReconciledInterdependence):
    """An RPN-generated matrix: `A = kappa(U) psi(w)^T`, per sample.

    `U` holds the items of a sample (instance type: its `N` instances, each of its
    `m` features; attribute type: its `m` features, each over the `N` instances),
    expanded by `kappa` and contracted with the reconciled `psi(w)` of shape
    `(d', D)` (an RPN head without bias, generating `A`).

    Formula:
    ```
    A = kappa(U) psi(w)^T of shape (d, d'),   l = psi.l(d', D(f))
    ```

    Args:
        data_transformation: `kappa`, a name from `keras_rpn.expansions.names()`, an
            `Expansion` or a config dict (default `"identity"`).
        parameter_fabrication: `psi`, a reconciliation (default `"identity"`).
        b_prime, m_prime: `N'` (instance type) or `m'` (attribute type); default `d`.
        kernel_initializer, interdependence_type: see `ReconciledInterdependence`
            (attribute type by default).
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.
    """

    require_data = True

    def __init__(
        self,
        data_transformation="identity",
        parameter_fabrication="identity",
        b_prime=None,
        m_prime=None,
        **kwargs,
    ):
        kwargs.pop("reconciliation", None)
        super().__init__(reconciliation=parameter_fabrication, **kwargs)
        self.expansion = expansions.get(
            data_transformation, name="data_transformation", dtype=self.dtype_policy
        )
        self.b_prime = validation.positive_int("b_prime", b_prime, allow_none=True)
        self.m_prime = validation.positive_int("m_prime", m_prime, allow_none=True)

    def output_dim(self, dim):
        size = self.b_prime if self.is_instance else self.m_prime
        return dim if size is None else size

    def matrix_shape(self, dim):
        features = int(self.data_shape[-1] if self.is_instance else self.data_shape[-2])
        self.expansion.build((None, features))
        return self.output_dim(dim), self.expansion.output_dim(features)

    def build(self, inputs_shape, data_shape=None):
        super().build(inputs_shape, data_shape)
        self.build_parameters(self.dim)

    def matrix(self, x=None):
        u = items(x, self.interdependence_type)
        flat = ops.reshape(u, (-1, u.shape[-1]))
        a = self.reconciliation.contract(self.expansion, flat, self.kernel)[:, 0, :]
        return ops.reshape(a, (-1, u.shape[-2], a.shape[-1]))

    def get_config(self):
        config = super().get_config()
        config["parameter_fabrication"] = config.pop("reconciliation")
        return {
            **config,
            "data_transformation": serialize_component(self.expansion),
            "b_prime": self.b_prime,
            "m_prime": self.m_prime,
        }
