"""Pruning of separable RPN models (KANs): drop the inputs and hidden units that do little."""

import dataclasses

import keras
import numpy as np

from keras_rpn import interpret
from keras_rpn.symbolic.export import layers_of

__all__ = ["PruneReport", "edge_scores", "prune"]


def _numpy(x):
    return np.asarray(keras.ops.convert_to_numpy(x), dtype="float64")


@dataclasses.dataclass
class PruneReport:
    """What `prune` kept and how close the pruned model stays.

    Attributes:
        kept_inputs: indices of the model inputs the pruned model takes
            (feed it `x[:, kept_inputs]`).
        kept_units: for every hidden layer, the indices of the units kept.
        scores: for every layer, the `(n, m)` edge scores, divided by the layer's
            largest.
        params_before, params_after: `count_params()` of both models.
        max_abs_error: `max |pruned(x') - model(x)|` on the samples.
        relative_error: `max_abs_error` over the largest `|model(x)|`.
    """

    kept_inputs: list
    kept_units: list
    scores: list
    params_before: int
    params_after: int
    max_abs_error: float
    relative_error: float

    def __str__(self):
        units = ", ".join(str(len(u)) for u in self.kept_units) or "-"
        return (
            f"kept {len(self.kept_inputs)} inputs {self.kept_inputs}, hidden units [{units}]; "
            f"parameters {self.params_before} -> {self.params_after}; "
            f"max |error| {self.max_abs_error:.3g} ({100 * self.relative_error:.3g}% of max |y|)"
        )


def edge_scores(model, x):
    """Every layer's `(n, m)` edge scores `mean_s |f_ij(h_j) - mean f_ij|` and inputs `h`.

    `h` is the input of each layer on the samples `x`.
    """
    layers = layers_of(model)
    inputs, scores = [], []
    h = np.asarray(x, dtype="float32")
    for layer in layers:
        terms, _ = interpret.contributions(layer, h)  # (N, m, n)
        centred = terms - terms.mean(axis=0, keepdims=True)
        scores.append(np.abs(centred).mean(axis=0).T)  # (n, m)
        inputs.append(h)
        h = keras.ops.convert_to_numpy(layer(h)).astype("float32")
    return layers, inputs, scores


def _bias_shift(layer, delta):
    """Per-head bias shifts that move the layer's fused output by `delta` (`(n,)`)."""
    heads = layer.heads if hasattr(layer, "heads") else [layer]
    if len(heads) == 1 and (
        not hasattr(layer, "head_fusion") or layer.head_fusion.identity_for_one_input
    ):
        return [delta]
    from keras_rpn.symbolic.export import linear_map

    n = heads[0].units
    matrix = linear_map(layer.head_fusion, len(heads), n).reshape(len(heads), n, -1)
    gain = np.einsum("hii->i", matrix[:, :, :n]) if matrix.shape[-1] == n else None
    if gain is None or np.any(np.abs(gain) < 1e-12):
        raise ValueError(f"Cannot move a constant through the head fusion of {layer.name}.")
    return [delta / gain] * len(heads)


def _copy_head(old, new, rows, cols, shift):
    """Copies `old` head's weights into `new`, keeping outputs `rows`, inputs `cols`."""
    handled = set()
    if old.kernel is not None:
        m = int(old.input_spec.axes[-1])
        old_cols = interpret.feature_columns(old.expansion, m)
        new_cols = interpret.feature_columns(new.expansion, len(cols))
        w = _numpy(old.reconciliation.reconcile(old.kernel))  # (C, n, D)
        out = np.zeros((w.shape[0], len(rows), new.expansion.output_dim(len(cols))))
        out[:, :, new_cols.reshape(-1)] = w[:, rows][:, :, old_cols[cols].reshape(-1)]
        try:
            kernel = new.reconciliation.kernel_from_matrices(out)
        except NotImplementedError:
            raise ValueError(
                f"Cannot prune {old.name}: its reconciliation "
                f"{type(old.reconciliation).__name__} does not hold the matrix itself "
                "(use reconciliation='identity', the KAN default)."
            ) from None
        new.kernel.assign(np.asarray(kernel, dtype="float32"))
        handled.add(id(old.kernel))
    if old.bias is not None:
        new.bias.assign((_numpy(old.bias)[rows] + shift).astype("float32"))
        handled.add(id(old.bias))
    # Without a bias the constants of dropped inputs are lost: the report shows it.
    if getattr(old.expansion, "adaptive_grid", False):
        new.expansion.set_grid(old.expansion.grid_bounds()[cols])
        handled.update({id(old.expansion.grid_low), id(old.expansion.grid_high)})
    remainder = old.remainder
    if not remainder.is_zero and remainder.weights:
        kernel = getattr(remainder, "kernel", None)
        if kernel is not None:
            new.remainder.kernel.assign(_numpy(kernel)[cols][:, rows].astype("float32"))
            handled.add(id(kernel))
        bias = getattr(remainder, "bias", None)
        if bias is not None:
            new.remainder.bias.assign(_numpy(bias)[rows].astype("float32"))
            handled.add(id(bias))
    left = [w.path for w in old.weights if id(w) not in handled]
    if left:
        raise ValueError(f"Cannot prune {old.name}: no rule to slice its weights {left}.")


def _rebuilt(model, layers, widths):
    """A fresh model like `model` with layer widths `widths` (input first)."""
    if hasattr(model, "rpn_layers"):
        config = model.get_config()
        config["dims"] = list(widths)
        new = type(model).from_config(config)
        return new, list(new.rpn_layers)
    new_layers = []
    for layer, units in zip(layers, widths[1:], strict=True):
        config = layer.get_config()
        config["units"] = int(units)
        new_layers.append(type(layer).from_config(config))
    new = keras.Sequential([keras.Input((widths[0],))] + new_layers, name=model.name)
    return new, new_layers


def prune(model, x, threshold=0.01, prune_inputs=False):
    """A smaller copy of a separable RPN model, without its unimportant units.

    Every edge `j -> i` of every layer is scored by how much its function moves on
    the samples, `mean_s |f_ij(h_j) - mean_s f_ij(h_j)|` (`h`: the layer's input),
    divided by the layer's largest score. A hidden unit is kept when one of its
    incoming and one of its outgoing edges score at least `threshold`; an input
    (with `prune_inputs`) when one of its edges does. The constant left by the
    dropped units (their functions' means) moves into the next layer's biases.

    Args:
        model: an `RPN` model (such as `KAN`) or a `Sequential` of `RPNLayer`s /
            `KANDense` layers, whose heads are separable per feature with the
            identity reconciliation (the KAN default).
        x: samples of the model input, `(N, m)`.
        threshold: relative score below which units go (default 0.01).
        prune_inputs: also drop unused inputs (the pruned model then takes
            `x[:, report.kept_inputs]`; default `False`).

    Returns:
        `(pruned_model, report)`, a `PruneReport`.

    Example:
    >>> pruned, report = keras_rpn.prune(model, x_train[:1000], threshold=0.02)
    >>> print(report)
    """
    threshold = float(threshold)
    if not 0.0 <= threshold < 1.0:
        raise ValueError(f"`threshold` must be in [0, 1). Received: threshold={threshold}")
    x = np.asarray(x, dtype="float32")
    layers, inputs, raw = edge_scores(model, x)
    scores = [s / max(s.max(), 1e-30) for s in raw]
    keep = [np.arange(x.shape[1])]
    if prune_inputs:
        keep[0] = np.flatnonzero(scores[0].max(axis=0) >= threshold)
    for k in range(len(layers) - 1):
        incoming = scores[k].max(axis=1) >= threshold
        outgoing = scores[k + 1].max(axis=0) >= threshold
        keep.append(np.flatnonzero(incoming & outgoing))
    keep.append(np.arange(scores[-1].shape[0]))
    if any(len(k) == 0 for k in keep):
        raise ValueError(
            f"threshold={threshold} would drop every unit of a layer; use a smaller threshold."
        )
    widths = [len(k) for k in keep]
    new_model, new_layers = _rebuilt(model, layers, widths)
    for k, (old, new) in enumerate(zip(layers, new_layers, strict=True)):
        rows, cols = keep[k + 1], keep[k]
        dropped = np.setdiff1d(np.arange(inputs[k].shape[1]), cols)
        delta = np.zeros(len(rows))
        if len(dropped):
            terms, _ = interpret.contributions(old, inputs[k])
            delta = terms[:, dropped][:, :, rows].mean(axis=0).sum(axis=0)
        old_heads = old.heads if hasattr(old, "heads") else [old]
        new_heads = new.heads if hasattr(new, "heads") else [new]
        for old_head, new_head, shift in zip(
            old_heads, new_heads, _bias_shift(old, delta), strict=True
        ):
            _copy_head(old_head, new_head, rows, cols, shift)
    expected = _numpy(model(x))
    got = _numpy(new_model(x[:, keep[0]]))
    error = float(np.abs(got - expected).max())
    report = PruneReport(
        kept_inputs=[int(i) for i in keep[0]],
        kept_units=[[int(i) for i in k] for k in keep[1:-1]],
        scores=scores,
        params_before=int(model.count_params()),
        params_after=int(new_model.count_params()),
        max_abs_error=error,
        relative_error=error / max(float(np.abs(expected).max()), 1e-30),
    )
    return new_model, report
