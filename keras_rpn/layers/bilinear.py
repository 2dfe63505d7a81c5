"""Bilinear (attention-like) RPN 2 head and layer."""

import math

import keras
from keras import initializers
from keras import ops

from keras_rpn import interdependence
from keras_rpn import validation
from keras_rpn.layers.interdependent import HeadStack
from keras_rpn.layers.interdependent import InterdependentHead


@keras.saving.register_keras_serializable(package="keras_rpn")
class BilinearHead(InterdependentHead):
    """Attention-like RPN 2 head: tokens mix by a softmax of bilinear scores.

    For a sequence `X` of shape `(batch, L, m)`, per sample:
    ```
    S[j, i] = scale * x_i W x_j^T              (key i, query j)
    A[j, :] = softmax(S[j, :] over unmasked i)
    Y = activation( A F_channel([ kappa(X) psi(w_c)^T ]) + b + pi(X) )
    ```
    tinyBIG's `bilinear_interdependence_head` (`A = X W X^T`, masked column
    softmax), computed per sample along the token axis, not across the batch. The
    scores `A` come from the parameterised bilinear interdependence of
    `keras_rpn.interdependence` (`"bilinear"`: a full `m x m` matrix, `l = m^2`, when
    `rank=None`; `"lowrank_parameterized_bilinear"`: `W = W_k W_q^T` with `W_k`, `W_q`
    of shape `(m, r)`, so `S = (X W_q)(X W_k)^T`, single-head dot-product attention
    with key dimension `r`); the head scales, masks and normalises them. The default
    `scale` is `1 / sqrt(d)`, `d = r` (or `m` when full); tinyBIG multiplies by
    `sqrt(n)` instead, and its head crashes on a misspelt keyword.

    With the identity expansion and reconciliation this is
    `keras.layers.MultiHeadAttention(num_heads=1, key_dim=r, use_bias=False)` with
    the value and output projections merged into one `m x n` matrix.

    Args:
        units: output width `n` per token.
        rank: rank `r` of the bilinear matrix, or `None` for a full matrix
            (default `None`).
        scale: score scale (default `1 / sqrt(r)`, or `1 / sqrt(m)` when full).
        causal: whether token `j` only attends to tokens `i <= j` (default `False`).
        score_initializer: initializer of the bilinear kernel (default: the
            reconciliation's Glorot-like scale).
        **kwargs: `InterdependentHead` arguments (`expansion`, `reconciliation`,
            `remainder`, `channels`, `activation`, `use_bias`, initializers, ...).

    Call arguments:
        inputs: `(batch, L, m)`.
        mask: optional boolean `(batch, L)`: `False` marks padding tokens, which
            receive no attention (Keras masking, e.g. from `Embedding(mask_zero=True)`).

    Example:
    >>> head = keras_rpn.layers.BilinearHead(8, rank=4, causal=True)
    >>> tuple(head(np.zeros((2, 5, 6))).shape)
    (2, 5, 8)
    """

    def __init__(
        self,
        units,
        rank=None,
        scale=None,
        causal=False,
        score_initializer=None,
        **kwargs,
    ):
        super().__init__(units, **kwargs)
        self.rank = validation.positive_int("rank", rank, allow_none=True)
        self.scale = None if scale is None else validation.finite_float("scale", scale)
        self.causal = validation.boolean("causal", causal)
        name, arguments = "bilinear", {}
        if self.rank is not None:
            name, arguments = "lowrank_parameterized_bilinear", {"r": self.rank}
        self.interdependence = interdependence.get(
            name,
            interdependence_type="instance",
            kernel_initializer=score_initializer,
            name="interdependence",
            dtype=self.dtype_policy,
            **arguments,
        )
        self.supports_masking = True

    def build_mixing(self, input_shape):
        super().build_mixing(input_shape)
        x_shape, _ = self.split_inputs(input_shape)
        d = int(x_shape[-1]) if self.rank is None else self.rank
        self.score_scale = 1.0 / math.sqrt(d) if self.scale is None else self.scale

    def scores(self, x):
        """`S`, shape `(batch, queries, keys)`, before masking."""
        if self.rank is None:
            a = self.interdependence.matrix(x)  # A[i, j] = x_i W x_j^T
            return ops.swapaxes(a, -1, -2) * self.score_scale
        # Low rank W = W_k W_q^T (the lorr factors A B): S = (x W_q)(x W_k)^T at width r,
        # never the m-wide x W.
        keys, queries = self.interdependence.reconciliation.factors(self.interdependence.kernel)
        keys = ops.matmul(x, ops.cast(keys[0], x.dtype))
        queries = ops.matmul(x, ops.transpose(ops.cast(queries[0], x.dtype)))
        return ops.einsum("bjr,bir->bji", queries, keys) * self.score_scale

    def score_mask(self, x, context=None, mask=None):
        """Boolean `(batch or 1, queries, keys)` of allowed pairs, or `None`."""
        allowed = None
        length = x.shape[1]
        if self.causal:
            allowed = ops.expand_dims(ops.tril(ops.ones((length, length), dtype="bool")), 0)
        if mask is not None:
            keys = ops.expand_dims(ops.cast(mask, "bool"), 1)
            allowed = keys if allowed is None else ops.logical_and(allowed, keys)
        return allowed

    def mix(self, y, x, context=None, mask=None):
        scores = ops.cast(self.scores(ops.cast(x, self.compute_dtype)), "float32")
        allowed = self.score_mask(x, context=context, mask=mask)
        if allowed is not None:
            scores = ops.where(allowed, scores, -1e9)
        weights = ops.softmax(scores, axis=-1)
        if allowed is not None:  # a query with no allowed key gets nothing, not a mean
            weights = weights * ops.cast(allowed, weights.dtype)
        return ops.einsum("bji,bif->bjf", ops.cast(weights, y.dtype), y)

    def get_config(self):
        return {
            **super().get_config(),
            "rank": self.rank,
            "scale": self.scale,
            "causal": self.causal,
            "score_initializer": None
            if self.interdependence.kernel_initializer is None
            else initializers.serialize(self.interdependence.kernel_initializer),
        }


@keras.saving.register_keras_serializable(package="keras_rpn")
class BilinearLayer(HeadStack):
    """`width` independent `BilinearHead`s, fused (tinyBIG's
    `bilinear_interdependence_layer`; with `head_fusion="concatenation"` this is
    multi-head attention).

    Args:
        units, width, head_fusion, activation: as in `HeadStack`.
        **kwargs: `BilinearHead` arguments shared by the heads.

    Example:
    >>> layer = keras_rpn.layers.BilinearLayer(8, width=2, rank=4)
    >>> tuple(layer(np.zeros((2, 5, 6))).shape)
    (2, 5, 8)
    """

    head_class = BilinearHead
