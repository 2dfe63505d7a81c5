"""Chain (recurrence-like) RPN 2 head and layer."""

import keras
import numpy as np

from keras_rpn import validation
from keras_rpn.layers.interdependent import ConstantMixing
from keras_rpn.layers.interdependent import HeadStack
from keras_rpn.layers.interdependent import InterdependentHead

_MODES = ("row", "column", "row_column")


def normalize(matrix, mode):
    """tinyBIG's degree normalisations of an adjacency matrix `A`, in numpy.

    `"row"`: `D_r^-1 A`; `"column"`: `A D_c^-1`; `"row_column"`:
    `D_r^-1/2 A D_c^-1/2` (rows or columns that sum to 0 are left at 0).
    """
    if mode not in _MODES:
        raise ValueError(
            f"Unknown normalization_mode {mode!r}. Valid modes: {', '.join(_MODES)}."
        )
    rows, cols = matrix.sum(axis=1), matrix.sum(axis=0)

    def inverse(d, power):
        out = np.zeros_like(d)
        np.power(d, -power, out=out, where=d != 0)
        return out

    if mode == "row":
        return inverse(rows, 1.0)[:, None] * matrix
    if mode == "column":
        return matrix * inverse(cols, 1.0)[None, :]
    return inverse(rows, 0.5)[:, None] * matrix * inverse(cols, 0.5)[None, :]


def hops(matrix, num_hops, accumulative):
    """`A^h`, or `A + A^2 + ... + A^h` when `accumulative`."""
    power, total = matrix, matrix.copy()
    for _ in range(num_hops - 1):
        power = power @ matrix
        total = total + power
    return total if accumulative else power


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
    raised to `num_hops` (summed over hops `1..num_hops` if `accumulative`). With the
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
        normalization_mode: `"row"`, `"column"` or `"row_column"` (default `"row"`).
        **kwargs: `InterdependentHead` arguments (`expansion`, `reconciliation`,
            `remainder`, `channels`, `activation`, `use_bias`, initializers, ...).

    Example:
    >>> head = keras_rpn.layers.ChainHead(8, bi_directional=True)
    >>> head(np.zeros((2, 5, 3))).shape
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
        **kwargs,
    ):
        super().__init__(units, **kwargs)
        self.bi_directional = validation.boolean("bi_directional", bi_directional)
        self.num_hops = validation.positive_int("num_hops", num_hops)
        self.accumulative = validation.boolean("accumulative", accumulative)
        self.self_dependence = validation.boolean("self_dependence", self_dependence)
        self.self_scaling = validation.finite_float("self_scaling", self_scaling)
        self.normalization = validation.boolean("normalization", normalization)
        if normalization_mode not in _MODES:
            raise ValueError(
                f"Unknown normalization_mode {normalization_mode!r}. Valid modes: "
                f"{', '.join(_MODES)}."
            )
        self.normalization_mode = normalization_mode
        self.supports_masking = True

    def propagation_matrix(self, length):
        """The numpy matrix `P` (`L x L`) that mixes the tokens: `y_i = sum_j P_ij x_j`."""
        a = np.eye(length, k=1)
        if self.bi_directional:
            a = a + a.T
        if self.self_dependence:
            a = a + self.self_scaling * np.eye(length)
        if self.normalization:
            a = normalize(a, self.normalization_mode)
        return hops(a, self.num_hops, self.accumulative).T

    def build_mixing(self, input_shape):
        if len(input_shape) != 3 or input_shape[1] is None:
            raise ValueError(
                f"ChainHead expects sequences of shape (batch, tokens, features) with a "
                f"known number of tokens. Received: input_shape={tuple(input_shape)}"
            )
        self.mixing = ConstantMixing(self, self.propagation_matrix(int(input_shape[1])))

    def mix(self, y, x, context=None, mask=None):
        return self.mixing(y)

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
        }


@keras.saving.register_keras_serializable(package="keras_rpn")
class ChainLayer(HeadStack):
    """`width` independent `ChainHead`s, fused (tinyBIG's `chain_interdependence_layer`).

    Args:
        units, width, head_fusion, activation: as in `HeadStack`.
        **kwargs: `ChainHead` arguments shared by the heads.

    Example:
    >>> layer = keras_rpn.layers.ChainLayer(8, width=2)
    >>> layer(np.zeros((2, 5, 3))).shape
    (2, 5, 8)
    """

    head_class = ChainHead
