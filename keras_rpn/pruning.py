"""Pruning of separable RPN models (KANs): drop the inputs, hidden units and heads that
do little."""

import dataclasses

import keras
import numpy as np

from keras_rpn import interpret
from keras_rpn.interpret.functions import reconciled_matrices
from keras_rpn.interpret.functions import to_numpy
from keras_rpn.symbolic.export import layers_of
from keras_rpn.symbolic.export import linear_map

__all__ = [
    "PruneReport",
    "additive_remainder",
    "edge_scores",
    "head_weights",
    "prune",
    "remainder_scores",
]


@dataclasses.dataclass
class PruneReport:
    """What `prune` kept and how close the pruned model stays.

    Attributes:
        kept_inputs: indices of the model inputs the pruned model takes
            (feed it `x[:, kept_inputs]`).
        kept_units: for every hidden layer, the indices of the units kept.
        kept_heads: for every layer, the indices of the heads kept.
        scores: for every layer, the `(n, m)` edge scores, divided by the layer's
            largest.
        params_before, params_after: `count_params()` of both models.
        max_abs_error: `max |pruned(x') - model(x)|` on the samples.
        relative_error: `max_abs_error` over the largest `|model(x)|`.
        head_scores: for every layer, the `(H,)` head scores, divided by the
            layer's largest.
        notes: what changed besides sizes (heads dropped, reconciliations
            materialised as identity).
    """

    kept_inputs: list
    kept_units: list
    scores: list
    params_before: int
    params_after: int
    max_abs_error: float
    relative_error: float
    kept_heads: list = dataclasses.field(default_factory=list)
    head_scores: list = dataclasses.field(default_factory=list)
    notes: list = dataclasses.field(default_factory=list)

    def __str__(self):
        units = ", ".join(str(len(u)) for u in self.kept_units) or "-"
        heads = ", ".join(str(len(h)) for h in self.kept_heads) or "-"
        text = (
            f"kept {len(self.kept_inputs)} inputs {self.kept_inputs}, hidden units [{units}], "
            f"heads per layer [{heads}]; parameters {self.params_before} -> "
            f"{self.params_after}; max |error| {self.max_abs_error:.3g} "
            f"({100 * self.relative_error:.3g}% of max |y|)"
        )
        return "\n".join([text] + self.notes)


def edge_scores(model, x):
    """Every layer's `(n, m)` edge scores `mean_s |f_ij(h_j) - mean f_ij|` and inputs `h`.

    `h` is the input of each layer on the samples `x`. A remainder that is not a
    sum of per-feature terms (the default KAN's base branch `silu(h W_r)`) adds
    its linearised share `mean_s |W_r[j, i] (h_sj - mean h_j)|` (see
    `remainder_scores`); the functions `f_ij` are then the expansion part.

    Returns:
        `(layers, inputs, scores)`.
    """
    layers = layers_of(model)
    inputs, scores = [], []
    h = np.asarray(x, dtype="float32")
    for layer in layers:
        additive = additive_remainder(layer, h)
        terms, _ = interpret.contributions(layer, h, include_remainder=additive)  # (N, m, n)
        centred = terms - terms.mean(axis=0, keepdims=True)
        score = np.abs(centred).mean(axis=0).T  # (n, m)
        if not additive:
            score = score + remainder_scores(layer, h)
        scores.append(score)
        inputs.append(h)
        h = keras.ops.convert_to_numpy(layer(h)).astype("float32")
    return layers, inputs, scores


def additive_remainder(layer, h):
    """Whether every head's remainder splits into per-feature terms on `h`.

    Then the edge functions of `keras_rpn.interpret` include it; a remainder with
    an activation (the default KAN's `silu(h W_r)`) does not split.
    """
    for head in _heads(layer):
        remainder = head.remainder
        if remainder.is_zero:
            continue
        if remainder.activation is not keras.activations.linear:
            return False
        if remainder.additive_terms(np.asarray(h[:1], dtype="float64")) is None:
            return False
    return True


def remainder_scores(layer, h):
    """`(n, m)` linearised edge scores of the heads' linear remainders on `h`.

    `sum_h |alpha_h| mean_s |W_r[j, i] (h_sj - mean h_j)|`: the share of edge
    `j -> i` inside the remainder's activation (whose slope is about 1 for silu).
    """
    spread = np.abs(h - h.mean(axis=0)).mean(axis=0)  # (m,)
    total = 0.0
    for alpha, head in zip(head_weights(layer), _heads(layer), strict=True):
        kernel = getattr(head.remainder, "kernel", None)
        if kernel is not None and not head.remainder.is_zero:
            total = total + abs(alpha) * (np.abs(to_numpy(kernel)) * spread[:, None]).T
    return total


def _heads(layer):
    return layer.heads if hasattr(layer, "heads") else [layer]


def head_weights(layer):
    """`alpha_h` such that the layer's fused output is `sum_h alpha_h head_h(x)`.

    One head without a fusion: `[1]`. The head fusion must weigh every head by a
    scalar (mean, sum, weighted sums); others raise a `ValueError`.
    """
    heads = _heads(layer)
    fusion = getattr(layer, "head_fusion", None)
    if fusion is None or (len(heads) == 1 and fusion.identity_for_one_input):
        return np.ones(1)
    n = heads[0].units
    matrix = linear_map(fusion, len(heads), n)  # (H n, n')
    alpha = np.array([matrix[h * n, 0] for h in range(len(heads))], dtype="float64")
    scalar = np.kron(alpha[:, None], np.eye(n))
    if matrix.shape != scalar.shape or not np.allclose(matrix, scalar, atol=1e-6):
        raise ValueError(
            f"Cannot prune {layer.name}: its head fusion {type(fusion).__name__} does not "
            "weigh every head by a scalar (use mean, sum or a weighted sum)."
        )
    return alpha


def _holds_matrices(head):
    """Whether `head`'s reconciliation can take materialised matrices as its kernel."""
    if head.kernel is None:
        return True
    w = reconciled_matrices(head)
    try:
        head.reconciliation.kernel_from_matrices(w)
    except NotImplementedError:
        return False
    return True


def _copy_head(old, new, rows, cols, shift):
    """Copies `old` head's weights into `new`, keeping outputs `rows`, inputs `cols`.

    The kernel goes through the materialised `psi(w)` (`(C, n, D)`), sliced per
    feature and written back by `new`'s reconciliation.
    """
    handled = set()
    if old.kernel is not None:
        m = int(old.input_spec.axes[-1])
        old_cols = old.expansion.separable_columns(m)
        new_cols = new.expansion.separable_columns(len(cols))
        w = reconciled_matrices(old)  # (C, n, D)
        out = np.zeros((w.shape[0], len(rows), new.expansion.output_dim(len(cols))))
        out[:, :, new_cols.reshape(-1)] = w[:, rows][:, :, old_cols[cols].reshape(-1)]
        kernel = new.reconciliation.kernel_from_matrices(out)
        new.kernel.assign(np.asarray(kernel, dtype="float32"))
        handled.add(id(old.kernel))
        handled.update(id(v) for v in old.reconciliation.weights)
    if old.bias is not None:
        new.bias.assign((to_numpy(old.bias)[rows] + shift).astype("float32"))
        handled.add(id(old.bias))
    # Without a bias the constants of dropped inputs and heads are lost: the report
    # shows it.
    if old.expansion.has_grid and old.expansion.adaptive_grid:
        new.expansion.set_grid(old.expansion.grid_bounds()[cols])
        handled.update({id(old.expansion.grid_low), id(old.expansion.grid_high)})
    remainder = old.remainder
    if not remainder.is_zero and remainder.weights:
        kernel = getattr(remainder, "kernel", None)
        if kernel is not None:
            new.remainder.kernel.assign(to_numpy(kernel)[cols][:, rows].astype("float32"))
            handled.add(id(kernel))
        bias = getattr(remainder, "bias", None)
        if bias is not None:
            new.remainder.bias.assign(to_numpy(bias)[rows].astype("float32"))
            handled.add(id(bias))
    left = [w.path for w in old.weights if id(w) not in handled]
    if left:
        raise ValueError(f"Cannot prune {old.name}: no rule to slice its weights {left}.")


def _head_overrides(layer, kept, alpha):
    """Config entries of a layer keeping the heads `kept` with fusion weights `alpha`."""
    if len(kept) == len(_heads(layer)):
        return {}
    index = layer._head_config_index
    groups = sorted({index[h] for h in kept})
    counts = [sum(index[h] == g for h in kept) for g in groups]
    if layer.head_configs is None:
        heads = {"heads": None, "width": len(kept), "width_alloc": None}
    else:
        heads = {
            "heads": [layer.head_configs[g] for g in groups],
            "width": None,
            "width_alloc": counts,
        }
    fusion = {"class_name": "weighted_summation", "config": {"weights": list(alpha[kept])}}
    return {**heads, "head_fusion": fusion}


def _identity_overrides(config):
    """`config` with every head's reconciliation set to the identity."""
    config = {**config, "reconciliation": "identity"}
    if config.get("heads"):
        config["heads"] = [{**h, "reconciliation": "identity"} for h in config["heads"]]
    return config


def _rebuilt(model, layers, widths, overrides):
    """A fresh model like `model` with layer widths `widths` (input first).

    An RPN model keeps its class when only widths change; with structural changes
    (fewer heads, materialised reconciliations) it becomes a `Sequential` of its
    rebuilt layers (every layer's config carries its activation).
    """
    if hasattr(model, "rpn_layers") and not any(overrides):
        config = model.get_config()
        config["dims"] = list(widths)
        new = type(model).from_config(config)
        return new, list(new.rpn_layers)
    new_layers = []
    for layer, units, override in zip(layers, widths[1:], overrides, strict=True):
        config = {**layer.get_config(), "units": int(units)}
        if override.pop("identity", False):
            config = _identity_overrides(config)
        new_layers.append(type(layer).from_config({**config, **override}))
    new = keras.Sequential([keras.Input((widths[0],))] + new_layers, name=model.name)
    return new, new_layers


def _score_heads(layer, h, alpha):
    """`(H,)` scores `sum_i mean_s |alpha_h (head_h(h) - mean)|` and the heads' means."""
    outputs = [to_numpy(head(h)) for head in _heads(layer)]
    means = np.stack([alpha[k] * out.mean(axis=0) for k, out in enumerate(outputs)])
    scores = np.array(
        [np.abs(alpha[k] * (out - out.mean(axis=0))).mean(axis=0).sum()
         for k, out in enumerate(outputs)]
    )  # fmt: skip
    return scores, means


def prune(model, x, threshold=0.01, prune_inputs=False, prune_heads=True):
    """A smaller copy of a separable RPN model, without its unimportant parts.

    Every edge `j -> i` of every layer is scored by how much its function moves on
    the samples, `mean_s |f_ij(h_j) - mean_s f_ij(h_j)|` (`h`: the layer's input;
    `f_ij` read through the materialised `psi(w)`, so any reconciliation),
    divided by the layer's largest score (a remainder with an activation, such as
    the default KAN's `silu(h W_r)`, adds its linearised share, see `edge_scores`;
    dropping its inputs is then not exact, and the report's error says by how
    much). A hidden unit is kept when one of its
    incoming and one of its outgoing edges score at least `threshold`; an input
    (with `prune_inputs`) when one of its edges does. Every head of a layer is
    scored the same way by its contribution `alpha_h head_h(h)` to the fused output
    (`alpha_h`: its weight in the head fusion, which must be a mean, sum or weighted
    sum) and kept when it scores at least `threshold`; the pruned layer fuses the
    kept heads with a fixed weighted sum of their old weights. The constants left
    by the dropped parts (their means on `x`) move into the kept heads' biases.

    Heads whose reconciliation cannot take a sliced matrix as its parameters (low
    rank, Kronecker, hypernets, ...) get the identity reconciliation holding the
    materialised `psi(w)`: same function, `n D` parameters per channel (possibly
    more than before). Such structural changes turn an RPN model into a
    `Sequential` of its layers; `report.notes` lists them.

    Args:
        model: an `RPN` model (such as `KAN`) or a `Sequential` of `RPNLayer`s /
            `KANDense` layers, whose heads are separable per feature.
        x: samples of the model input, `(N, m)`.
        threshold: relative score below which units and heads go (default 0.01).
        prune_inputs: also drop unused inputs (the pruned model then takes
            `x[:, report.kept_inputs]`; default `False`).
        prune_heads: also drop weak heads (default `True`).

    Returns:
        `(pruned_model, report)`, a `PruneReport`.

    Example:
    >>> from keras_rpn.layers import KANDense
    >>> x = np.random.default_rng(0).uniform(-1, 1, (64, 3)).astype("float32")
    >>> x[:, 2] = 0.5  # input 2 is constant: its edges carry nothing
    >>> model = keras.Sequential([keras.Input((3,)), KANDense(4), KANDense(1)])
    >>> pruned, report = keras_rpn.prune(model, x, prune_inputs=True)
    >>> report.kept_inputs, report.params_before, report.params_after
    ([0, 1], 163, 125)
    >>> report.max_abs_error < 1e-5  # the constant edges moved into the biases
    True
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
    alphas, head_scores, kept_heads, overrides, notes, deltas = [], [], [], [], [], []
    for k, layer in enumerate(layers):
        alpha = head_weights(layer)
        h_scores, means = _score_heads(layer, inputs[k], alpha)
        relative = h_scores / max(h_scores.max(), 1e-30)
        kept = np.arange(len(alpha))
        if prune_heads:
            kept = np.flatnonzero(relative >= threshold)
        dropped = np.setdiff1d(np.arange(len(alpha)), kept)
        override = _head_overrides(layer, kept, alpha)
        if len(dropped):
            notes.append(f"{layer.name}: dropped heads {dropped.tolist()} of {len(alpha)}.")
        if not all(_holds_matrices(_heads(layer)[h]) for h in kept):
            override["identity"] = True
            names = sorted({type(_heads(layer)[h].reconciliation).__name__ for h in kept})
            notes.append(
                f"{layer.name}: reconciliation {', '.join(names)} materialised as "
                "identity (psi(w) held as the kernel)."
            )
        alphas.append(alpha)
        head_scores.append(relative)
        kept_heads.append(kept)
        overrides.append(override)
        deltas.append(means[dropped].sum(axis=0))
    widths = [len(k) for k in keep]
    new_model, new_layers = _rebuilt(model, layers, widths, overrides)
    for k, (old, new) in enumerate(zip(layers, new_layers, strict=True)):
        rows, cols, kept, alpha = keep[k + 1], keep[k], kept_heads[k], alphas[k]
        dropped = np.setdiff1d(np.arange(inputs[k].shape[1]), cols)
        delta = deltas[k].copy()
        additive = additive_remainder(old, inputs[k])
        for h in kept:
            if len(dropped):
                terms, _ = interpret.contributions(
                    _heads(old)[h], inputs[k], include_remainder=additive
                )
                delta += alpha[h] * terms[:, dropped].mean(axis=0).sum(axis=0)
        shift = delta[rows] / alpha[kept].sum()
        for h, new_head in zip(kept, _heads(new), strict=True):
            _copy_head(_heads(old)[h], new_head, rows, cols, shift)
        if len(kept) == len(alpha) and hasattr(old, "head_fusion") and old.head_fusion.weights:
            for source, target in zip(
                old.head_fusion.weights, new.head_fusion.weights, strict=True
            ):
                target.assign(source)
    expected = to_numpy(model(x))
    got = to_numpy(new_model(x[:, keep[0]]))
    error = float(np.abs(got - expected).max())
    report = PruneReport(
        kept_inputs=[int(i) for i in keep[0]],
        kept_units=[[int(i) for i in k] for k in keep[1:-1]],
        scores=scores,
        params_before=int(model.count_params()),
        params_after=int(new_model.count_params()),
        max_abs_error=error,
        relative_error=error / max(float(np.abs(expected).max()), 1e-30),
        kept_heads=[[int(i) for i in k] for k in kept_heads],
        head_scores=head_scores,
        notes=notes,
    )
    return new_model, report
