"""Chain (recurrence-like) RPN 2 head and layer."""

import keras

from keras_rpn import interdependence
from keras_rpn import validation
from keras_rpn.layers.interdependent import HeadStack
from keras_rpn.layers.interdependent import InterdependentHead

_APPROXIMATIONS = {
    None: None,
    "inverse": "inverse_approx_multihop_chain",
    "exponential": "exponential_approx_multihop_chain",
}


@keras.saving.register_keras_serializable(package="keras_rpn")
class ChainHead(InterdependentHead):
    """Recurrence-like RPN 2 head: tokens mix along a chain.

    For a sequence `X` of shape `(batch, L, m)` (tokens in order):
    ```
    Y = activation( P F_channel([ kappa(X) psi(w_c)^T ]) + b + pi(X) )
    ```
    with `P = A^T` (tinyBIG's instance interdependence `A^T kappa(X)`), `A` the
    chain adjacency: `A[i, i+1] = 1` (and `A[i+1, i] = 1` if `bi_directional`), plus
    `self_scaling * I` if `self_dependence`, degree-normalised if `normalization`,
    raised to `num_hops` (summed over hops `1..num_hops` if `accumulative`), or all
    hops at once with `approximation` (`"inverse"`: `(I - A)^-1`; `"exponential"`:
    `expm(A)`). These are the chain functions of `keras_rpn.interdependence`. With the
    defaults, token `t` receives `x_t W^T + x_{t-1} W^T`: one step of a linear
    recurrence, applied as shifted adds (never an `L x L` matrix product).

    The weights `W = psi(w)` are shared by the tokens. Unlike tinyBIG's
    `chain_interdependence_head`, the expansion is honoured (tinyBIG ignores
    `with_taylor`) and the output keeps its token axis `(batch, L, n)`.

    Args:
        units: output width `n` per token.
        bi_directional: whether each token also receives its successor (default
            `False`: causal).
        num_hops: `h` (default 1).
        accumulative: whether hops `1..h` are summed (default `False`: `A^h`).
        self_dependence: whether each token keeps itself (default `True`).
        self_scaling: weight of the self loop (default 1.0).
        normalization: whether `A` is degree-normalised (default `False`).
        normalization_mode: `"row"`, `"column"`, `"row_column"` or `"symmetric"`
            (default `"row"`; see `keras_rpn.interdependence.ChainInterdependence`).
        approximation: `None` (default), `"inverse"` or `"exponential"`; these ignore
            `num_hops` and `self_dependence`, as in tinyBIG.
        **kwargs: `InterdependentHead` arguments (`expansion`, `reconciliation`,
            `remainder`, `channels`, `activation`, `use_bias`, initializers, ...).

    Example:
    >>> head = keras_rpn.layers.ChainHead(8, bi_directional=True)
    >>> tuple(head(np.zeros((2, 5, 3))).shape)
    (2, 5, 8)
    """

    def __init__(
        self,
        units,
        bi_directional=False,
        num_hops=1,
        accumulative=False,
        self_dependence=True,
        self_scaling=1.0,
        normalization=False,
        normalization_mode="row",
        approximation=None,
        **kwargs,
    ):
        super().__init__(units, **kwargs)
        self.bi_directional = validation.boolean("bi_directional", bi_directional)
        self.num_hops = validation.positive_int("num_hops", num_hops)
        self.accumulative = validation.boolean("accumulative", accumulative)
        self.self_dependence = validation.boolean("self_dependence", self_dependence)
        self.self_scaling = validation.finite_float("self_scaling", self_scaling)
        self.normalization = validation.boolean("normalization", normalization)
        self.normalization_mode = normalization_mode
        if approximation not in _APPROXIMATIONS:
            raise ValueError(
                f"Unknown approximation {approximation!r}. Valid values: None, "
                f"'inverse', 'exponential'."
            )
        self.approximation = approximation
        arguments = {
            "bi_directional": self.bi_directional,
            "normalization": self.normalization,
            "normalization_mode": normalization_mode,
        }
        if approximation is not None:
            name = _APPROXIMATIONS[approximation]
        else:
            arguments.update(self_dependence=self.self_dependence, self_scaling=self.self_scaling)
            name = "chain"
            if self.num_hops > 1 or self.accumulative:
                name = "multihop_chain"
                arguments.update(h=self.num_hops, accumulative=self.accumulative)
        self.interdependence = interdependence.get(
            name,
            interdependence_type="instance",
            name="interdependence",
            dtype=self.dtype_policy,
            **arguments,
        )
        self.supports_masking = True

    def build_mixing(self, input_shape):
        if len(input_shape) != 3 or input_shape[1] is None:
            raise ValueError(
                f"ChainHead expects sequences of shape (batch, tokens, features) with a "
                f"known number of tokens. Received: input_shape={tuple(input_shape)}"
            )
        super().build_mixing(input_shape)

    def get_config(self):
        return {
            **super().get_config(),
            "bi_directional": self.bi_directional,
            "num_hops": self.num_hops,
            "accumulative": self.accumulative,
            "self_dependence": self.self_dependence,
            "self_scaling": self.self_scaling,
            "normalization": self.normalization,
            "normalization_mode": self.normalization_mode,
            "approximation": self.approximation,
        }


@keras.saving.register_keras_serializable(package="keras_rpn")
class ChainLayer(HeadStack):
    """`width` independent `ChainHead`s, fused (tinyBIG's `chain_interdependence_layer`).

    Args:
        units, width, head_fusion, activation: as in `HeadStack`.
        **kwargs: `ChainHead` arguments shared by the heads.

    Example:
    >>> layer = keras_rpn.layers.ChainLayer(8, width=2)
    >>> tuple(layer(np.zeros((2, 5, 3))).shape)
    (2, 5, 8)
    """

    head_class = ChainHead
