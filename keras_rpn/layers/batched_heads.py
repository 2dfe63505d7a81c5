"""The forward pass of RPN heads: a pipeline of named stages, batched over heads.

A head computes, stage by stage (`HEAD_STAGES`; every stage but the expansion and
the contraction is optional):

1. `input_processing`: not a separate component today (tinyBIG's input processing
   is imported as the expansion's `preprocessing`);
2. `attribute_interdependence` `xi_a`: `(..., m) -> (..., m')`, before the expansion
   (on the unflattened input, so it may also regroup the instance axis: a geometric
   patch extraction maps `(batch, cells, C)` to `(batch, P, C k)`);
3. `expansion` `kappa`: `(..., m') -> (..., D)`;
4. `instance_interdependence` `xi_i`: mixes the instance axis of the expansion,
   `(batch, N, D) -> (batch, N', D)` (axis -2 of a rank-3 input; never the batch
   axis), with a matrix computed from the head's input when it depends on data;
5. `reconciliation`: the contraction `<kappa, psi(w_c)>` with every channel's kernel row;
6. `bias` `b`, added once per channel;
7. `channel_fusion` `F_channel` over the `C` channels;
8. `remainder` `pi(x)`, of the raw input `x`;
9. `output_processing`: the head's activation.

`run_heads` runs the stages for `G` heads built from one config at once: their
kernels are stacked along the channel axis, so the expansion is computed (or
projected) once and contracted with all `G * C` channels in one product.
`run_layer_heads` runs all the heads of an `RPNLayer` (in such groups) and fuses them.
"""

import keras
from keras import ops

HEAD_STAGES = (
    "input_processing",
    "attribute_interdependence",
    "expansion",
    "instance_interdependence",
    "reconciliation",
    "bias",
    "channel_fusion",
    "remainder",
    "output_processing",
)


def run_heads(heads, inputs, training=None):
    """The outputs of built heads that share one config, in one batched contraction.

    Returns `(..., n')` for one head and `(..., G, n')` for `G` heads. `RPNHead.call`
    is the one-head case; `RPNLayer` passes groups of heads for which
    `can_share_computation()` holds.
    """
    head = heads[0]
    num_heads, channels, units = len(heads), head.channels, head.units
    x = inputs
    if not keras.backend.is_float_dtype(x.dtype):
        # Integer and boolean inputs are cast to the compute dtype, as Dense does.
        x = ops.cast(x, head.compute_dtype)
    raw = x
    if head.attribute_interdependence is not None:
        x = head.attribute_interdependence(x, training=training)
    if head.kernel is None:  # l = 0: an empty kernel still carries the channel count
        kernel = ops.zeros((num_heads * channels, 0), dtype=head.compute_dtype)
    elif num_heads == 1:
        kernel = head.kernel
    else:
        kernel = ops.concatenate([h.kernel for h in heads], axis=0)
    batch_shape = None if len(x.shape) == 2 else ops.shape(x)[:-1]
    flat = ops.reshape(x, (-1, x.shape[-1]))
    if head.instance_interdependence is None:
        y = head.reconciliation.contract(head.expansion, flat, kernel, training=training)
    else:
        # xi_i mixes the instance axis of the expansion; its matrix comes from the
        # head's input (tinyBIG), or from xi_a's output when xi_a changed that axis.
        data = raw if raw.shape[-2] == x.shape[-2] else x
        kappa = head.expansion(flat, training=training)
        kappa = ops.reshape(kappa, (-1, x.shape[-2], kappa.shape[-1]))
        kappa = head.instance_interdependence(kappa, data=data, training=training)
        batch_shape = ops.shape(kappa)[:-1]
        kappa = ops.reshape(kappa, (-1, kappa.shape[-1]))
        y = head.reconciliation.contract(head.expanded_features, kappa, kernel, training=training)
    if num_heads > 1:
        y = ops.reshape(y, (-1, num_heads, channels, units))
    if head.bias is not None:
        bias = head.bias
        if num_heads > 1:
            bias = ops.concatenate([h.bias for h in heads])
            bias = ops.reshape(bias, (num_heads, 1, units))
        y = y + bias
    if channels == 1 and head.channel_fusion.identity_for_one_input:
        y = y[..., 0, :]
    else:
        y = head.channel_fusion.call(y)
    if not head.remainder.is_zero:
        # pi takes the raw input, whose instances are those of y (checked at build).
        raw_flat = ops.reshape(raw, (-1, raw.shape[-1]))
        if num_heads == 1:
            y = y + head.remainder.call(raw_flat)
        else:
            y = y + ops.stack([h.remainder.call(raw_flat) for h in heads], axis=1)
    y = head.activation(y)
    if batch_shape is not None:
        y = ops.reshape(y, tuple(batch_shape) + tuple(y.shape[1:]))
    return y


def group_heads(heads, config_index):
    """Lists of indices of heads that can run as one batch.

    Heads batch together when they were made from the same config (`config_index[i]`
    is the config head `i` was made from) and `can_share_computation()` holds.
    """
    groups = {}
    for i, head in enumerate(heads):
        key = ("config", config_index[i]) if head.can_share_computation() else ("head", i)
        groups.setdefault(key, []).append(i)
    return list(groups.values())


def run_layer_heads(heads, groups, head_fusion, inputs, training=None):
    """`F_head` of the outputs of all `heads`, each group (`group_heads`) run as one batch."""
    if len(groups) == 1 and len(heads) > 1:
        # All heads share one config: their stacked outputs come out in order.
        return head_fusion.call(run_heads(heads, inputs, training=training))
    outputs = [None] * len(heads)
    for group in groups:
        members = [heads[i] for i in group]
        if len(group) == 1:
            if members[0].can_share_computation():
                outputs[group[0]] = run_heads(members, inputs, training=training)
            else:
                # Through `Layer.__call__`, for the head's activity regularizer.
                outputs[group[0]] = members[0](inputs, training=training)
            continue
        y = run_heads(members, inputs, training=training)
        for j, i in enumerate(group):
            outputs[i] = y[..., j, :]
    if len(outputs) == 1 and head_fusion.identity_for_one_input:
        return outputs[0]
    return head_fusion.call(ops.stack(outputs, axis=-2))
