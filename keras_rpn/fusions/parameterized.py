"""Parameterised concatenations whose matrix is a reconciliation `psi(w)`.

Each fusion concatenates its `K` inputs of width `n_in` and maps them to `units`
outputs with `W = psi(w)`, where `psi` is the reconciliation of the same name,
built for an `units x K n_in` matrix (composition: the reconciliation object does
the work, including its structured product, so `W` is never formed when `psi` has
structure). `l = psi.num_params(units, K n_in)`.
"""

from keras import constraints
from keras import initializers
from keras import ops
from keras import regularizers

from keras_rpn import expansions
from keras_rpn import initializers as initializers_lib
from keras_rpn import reconciliations
from keras_rpn import validation
from keras_rpn.fusions.base import register
from keras_rpn.fusions.concatenation import ConcatenationFusion


class ReconciledConcatenationFusion(ConcatenationFusion):
    """Base of the concatenations with a reconciled matrix.

    Formula:
    ```
    F(y_1..y_K) = [y_1 | ... | y_K] psi(w)^T,   psi(w) of shape (units, K n_in)
    l = psi.num_params(units, K n_in)
    ```
    A subclass names its reconciliation in `reconciliation_name` and calls
    `set_reconciliation(**hyper_parameters)` in `__init__`; those hyper-parameters
    become attributes and config keys, read back from the reconciliation (which
    resolves their defaults). A `q` left `None` defaults to `p`, as in tinyBIG.

    Args:
        units: output width (default: the input width `n_in`).
        kernel_initializer: initializer of `w` (default: the reconciliation's
            Glorot-like default for `psi(w)`).
        kernel_regularizer: regularizer of `w`.
        kernel_constraint: constraint of `w`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.
    """

    identity_for_one_input = False

    #: Registered name of the reconciliation `psi`.
    reconciliation_name = None

    def __init__(
        self,
        units=None,
        kernel_initializer=None,
        kernel_regularizer=None,
        kernel_constraint=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = validation.positive_int("units", units, allow_none=True)
        self.kernel_initializer = (
            None if kernel_initializer is None else initializers.get(kernel_initializer)
        )
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        # The concatenation is fed to psi as the identity expansion of itself.
        self.flat_expansion = expansions.get("identity", dtype=self.dtype_policy)

    def set_reconciliation(self, **config):
        if "q" in config and config["q"] is None:
            config["q"] = config["p"]
        self.reconciliation = reconciliations.get(
            self.reconciliation_name, dtype=self.dtype_policy, **config
        )
        self._hyper_parameters = tuple(config)
        for key in self._hyper_parameters:
            setattr(self, key, getattr(self.reconciliation, key))

    def output_dim(self, num_inputs, input_dim):
        return self.units or input_dim

    def build(self, input_shape):
        super().build(input_shape)
        units = self.units or self.input_dim
        width = self.num_inputs * self.input_dim
        if not self.reconciliation.built:
            self.reconciliation.build((units, width))
        self.kernel = self.add_weight(
            name="kernel",
            shape=(1, self.reconciliation.num_params(units, width)),
            initializer=initializers_lib.kernel_initializer(
                self.kernel_initializer, self.reconciliation, (1, units, width)
            ),
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )

    def fuse(self, stacked):
        concatenated = super().fuse(stacked)
        flat = ops.reshape(concatenated, (-1, self.num_inputs * self.input_dim))
        y = self.reconciliation.contract(self.flat_expansion, flat, self.kernel)[:, 0, :]
        return ops.reshape(y, ops.shape(concatenated)[:-1] + (y.shape[-1],))

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "kernel_initializer": None
            if self.kernel_initializer is None
            else initializers.serialize(self.kernel_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            **{key: getattr(self, key) for key in self._hyper_parameters},
        }


@register(
    "lowrank_parameterized_concatenation",
    "lorr_parameterized_concatenation",
    "lowrank_parameterized_concatenation_fusion",
)
class LowRankParameterizedConcatenationFusion(ReconciledConcatenationFusion):
    """Concatenation followed by a low-rank map `psi(w) = A B` (`"lorr"`).

    Formula:
    ```
    F(y_1..y_K) = [y_1 | ... | y_K] (A B)^T,   l = r (units + K n_in)
    ```

    Args:
        units: output width (default: the input width `n_in`).
        r: rank (default 2).
        kernel_initializer, kernel_regularizer, kernel_constraint: for `w`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Example:
    >>> fusion = keras_rpn.fusions.LowRankParameterizedConcatenationFusion(r=1)
    >>> tuple(fusion(np.ones((2, 3, 4))).shape)
    (2, 4)
    """

    reconciliation_name = "lorr"

    def __init__(self, units=None, r=2, **kwargs):
        super().__init__(units=units, **kwargs)
        self.set_reconciliation(r=validation.positive_int("r", r))


@register(
    "hm_parameterized_concatenation",
    "hm_parameterized_concatenation_fusion",
)
class HMParameterizedConcatenationFusion(ReconciledConcatenationFusion):
    """Concatenation followed by a Kronecker map `psi(w) = A (x) B` (`"hm"`).

    Formula:
    ```
    F(y_1..y_K) = [y_1 | ... | y_K] (A (x) B)^T,   A (p, q),  B (units/p, K n_in/q)
    l = p q + (units/p)(K n_in/q)
    ```

    Args:
        units: output width (default: the input width `n_in`).
        p: a divisor of `units` (default: largest divisor <= sqrt(units)).
        q: a divisor of `K n_in` (default: `p`, as in tinyBIG; with neither given,
            the largest divisors <= sqrt(units) and sqrt(K n_in)).
        kernel_initializer, kernel_regularizer, kernel_constraint: for `w`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Example:
    >>> fusion = keras_rpn.fusions.HMParameterizedConcatenationFusion(p=2, q=3)
    >>> tuple(fusion(np.ones((2, 3, 4))).shape)
    (2, 4)
    """

    reconciliation_name = "hm"

    def __init__(self, units=None, p=None, q=None, **kwargs):
        super().__init__(units=units, **kwargs)
        self.set_reconciliation(p=p, q=q)


@register(
    "lphm_parameterized_concatenation",
    "lphm_parameterized_concatenation_fusion",
)
class LPHMParameterizedConcatenationFusion(ReconciledConcatenationFusion):
    """Concatenation followed by an LPHM map `psi(w) = A (x) (S T^T)` (`"lphm"`).

    Formula:
    ```
    F(y_1..y_K) = [y_1 | ... | y_K] psi(w)^T,   l = p q + r (units/p + K n_in/q)
    ```

    Args:
        units: output width (default: the input width `n_in`).
        p: a divisor of `units` (default: largest divisor <= sqrt(units)).
        q: a divisor of `K n_in` (default: `p`, as in tinyBIG; with neither given,
            the largest divisors <= sqrt(units) and sqrt(K n_in)).
        r: rank of `S T^T` (default 2).
        kernel_initializer, kernel_regularizer, kernel_constraint: for `w`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Example:
    >>> fusion = keras_rpn.fusions.LPHMParameterizedConcatenationFusion(p=2, q=3, r=1)
    >>> tuple(fusion(np.ones((2, 3, 4))).shape)
    (2, 4)
    """

    reconciliation_name = "lphm"

    def __init__(self, units=None, p=None, q=None, r=2, **kwargs):
        super().__init__(units=units, **kwargs)
        self.set_reconciliation(p=p, q=q, r=r)


@register(
    "dual_lphm_parameterized_concatenation",
    "dual_lphm_parameterized_concatenation_fusion",
)
class DualLPHMParameterizedConcatenationFusion(LPHMParameterizedConcatenationFusion):
    """Concatenation followed by `psi(w) = (P Q^T) (x) (S T^T)` (`"dual_lphm"`).

    Formula:
    ```
    F(y_1..y_K) = [y_1 | ... | y_K] psi(w)^T,   l = r (p + q + units/p + K n_in/q)
    ```

    Args: as `LPHMParameterizedConcatenationFusion`; `r` is the rank of both factors.

    Example:
    >>> fusion = keras_rpn.fusions.DualLPHMParameterizedConcatenationFusion(p=2, q=3, r=1)
    >>> tuple(fusion(np.ones((2, 3, 4))).shape)
    (2, 4)
    """

    reconciliation_name = "dual_lphm"


@register(
    "random_matrix_adaption_parameterized_concatenation",
    "random_matrix_adaption_parameterized_concatenation_fusion",
)
class RandomMatrixAdaptionParameterizedConcatenationFusion(ReconciledConcatenationFusion):
    """Concatenation followed by `psi(w) = diag(l1) A diag(l2) B^T` (frozen `A`, `B`).

    Formula:
    ```
    F(y_1..y_K) = [y_1 | ... | y_K] psi(w)^T,   l = units + r
    ```
    `A` and `B` are non-trainable weights of the fusion, saved with the model.

    Args:
        units: output width (default: the input width `n_in`).
        r: rank (default 2).
        seed: optional integer seed of `A` and `B`.
        kernel_initializer, kernel_regularizer, kernel_constraint: for `w`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Example:
    >>> fusion = keras_rpn.fusions.RandomMatrixAdaptionParameterizedConcatenationFusion()
    >>> tuple(fusion(np.ones((2, 3, 4))).shape)
    (2, 4)
    """

    reconciliation_name = "random_matrix_adaption"

    def __init__(self, units=None, r=2, seed=None, **kwargs):
        super().__init__(units=units, **kwargs)
        self.set_reconciliation(r=r, seed=seed)
