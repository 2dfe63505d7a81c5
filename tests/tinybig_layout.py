"""tinyBIG 0.2.1 parameter layouts into keras_rpn variables.

Shared by the parity tests (`test_tinybig_parity.py`) and the fidelity benchmark
(`benchmarks/fidelity.py --same-init`). tinyBIG's head parameters and keras_rpn's:

* `w` `(C, l)` -> the head's `kernel` `(C, l)`, unchanged; `b` `(n,)` -> `bias`;
* `w_remainder` `(n, m)` -> a `LinearRemainder`'s `kernel` `(m, n)`, transposed;
  `b_remainder` `(n,)` -> its `bias`;
* `w_channel_fusion` (flat) -> the fusion's one weight (the parameterized
  concatenation fusion's `(units, width)` matrix transposed into its `kernel`).
"""

import keras
import numpy as np

from keras_rpn import fusions
from keras_rpn import remainders


def assign(variable, value):
    """Assigns `value` to `variable`, refusing a shape mismatch."""
    value = np.asarray(value, dtype=np.float64)
    if tuple(variable.shape) != value.shape:
        raise AssertionError(
            f"{variable.path}: keras_rpn's shape is {tuple(variable.shape)}, the mapped "
            f"tinyBIG parameter has shape {value.shape}"
        )
    variable.assign(value.astype(keras.backend.standardize_dtype(variable.dtype)))


def set_remainder_weights(remainder, w_r, b_r):
    """tinyBIG's `W_r` (n, m) and `b_r` (n,) into a keras_rpn remainder."""
    if isinstance(remainder, remainders.LinearRemainder):
        assign(remainder.kernel, np.transpose(w_r))
        if remainder.bias is not None:
            assign(remainder.bias, np.reshape(b_r, -1))
    elif remainder.weights:
        raise AssertionError(
            f"No parameter mapping for {type(remainder).__name__}: add one to "
            "set_remainder_weights in tests/tinybig_layout.py"
        )


def set_fusion_weights(fusion, w):
    """tinyBIG's flat fusion parameters `w` (l,) into a keras_rpn fusion."""
    w = np.reshape(w, -1)
    if type(fusion) is fusions.ParameterizedConcatenationFusion:
        width, units = fusion.kernel.shape
        assign(fusion.kernel, np.reshape(w, (units, width)).T)
        return
    variables = fusion.trainable_weights
    if not variables:
        if w.size:
            raise AssertionError(f"{type(fusion).__name__} has no weights, tinyBIG has {w.size}")
        return
    if len(variables) != 1:
        raise AssertionError(
            f"No parameter mapping for {type(fusion).__name__} ({len(variables)} weights): "
            "add one to set_fusion_weights in tests/tinybig_layout.py"
        )
    assign(variables[0], np.reshape(w, tuple(variables[0].shape)))


def set_head_weights(head, params):
    """A tinyBIG head's parameters (`{"w", "b", "w_remainder", ...}`) into an `RPNHead`.

    Every keras_rpn weight of the head must be given by `params`, and every entry
    of `params` must land in a weight.
    """
    params = dict(params)
    assign(head.kernel, params.pop("w"))
    if head.bias is not None:
        assign(head.bias, np.reshape(params.pop("b"), -1))
    if head.remainder.weights or "w_remainder" in params:
        set_remainder_weights(
            head.remainder, params.pop("w_remainder"), params.pop("b_remainder", None)
        )
    fusion = getattr(head, "channel_fusion", None)
    if fusion is not None and (fusion.trainable_weights or "w_channel_fusion" in params):
        set_fusion_weights(fusion, params.pop("w_channel_fusion"))
    if params:
        raise AssertionError(f"tinyBIG parameters left unmapped: {sorted(params)}")


def set_model_weights(model, state):
    """tinyBIG's `named_parameters()` of an `rpn` model (`layers.i.heads.j.<name>`)
    into a keras_rpn `RPN` imported from the same configuration."""
    per_head = {}
    for key, value in state.items():
        parts = key.split(".")
        if len(parts) != 5 or parts[0] != "layers" or parts[2] != "heads":
            raise AssertionError(f"No mapping for tinyBIG parameter {key!r}")
        per_head.setdefault((int(parts[1]), int(parts[3])), {})[parts[4]] = value
    for (i, j), params in sorted(per_head.items()):
        set_head_weights(model.rpn_layers[i].heads[j], params)
    expected = sum(int(np.prod(v.shape)) for v in model.trainable_weights)
    given = sum(int(np.size(v)) for v in state.values())
    if expected != given:
        raise AssertionError(f"keras_rpn has {expected} trainable values, tinyBIG gave {given}")
