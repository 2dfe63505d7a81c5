"""KAN-style figures of separable RPN models (needs matplotlib: `keras-rpn[plot]`).

* `plot_network(model, x)`: the whole network, every edge's learned function
  drawn on the edge, its opacity by the edge's importance on the data `x`;
  edges below `threshold` (the ones `keras_rpn.prune` would drop) are left out.
* `plot_layer(layer, x)`: one panel per edge `j -> i` of one layer.

Both return a matplotlib `Figure`; saving it (`fig.savefig(path)`) is the
caller's choice. `shared_y=True` draws every curve on one y-scale, so that flat
functions look flat. A layer whose remainder does not split per feature (the
default `keras_rpn.models.KAN`'s base branch `silu(x W_r)`) is drawn with the
expansion part of its functions (the splines); its edges' importance includes
the base branch's linearised share (see `keras_rpn.pruning.edge_scores`).
"""

import numpy as np

from keras_rpn import interpret
from keras_rpn.pruning import additive_remainder
from keras_rpn.pruning import edge_scores

__all__ = ["plot_layer", "plot_network"]


def _figure(size):
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(
            'keras_rpn.plotting needs matplotlib. Install it with `pip install "keras-rpn[plot]"` '
            "(or `pip install matplotlib`)."
        ) from None
    fig = Figure(figsize=size)
    FigureCanvasAgg(fig)
    return fig


def _curves(layer, h):
    """`(t, values)`: every edge function on a sorted grid over its input's range.

    A remainder that does not split per feature (the default KAN's `silu(x W_r)`)
    is left out of the curves: they are then the expansion part.
    """
    lows, highs = h.min(axis=0), h.max(axis=0)
    t = np.linspace(lows, highs, 100)
    additive = additive_remainder(layer, h)
    values, _ = interpret.contributions(layer, t.astype("float32"), include_remainder=additive)
    return t, values


def _one_layer(model):
    if len(model.rpn_layers) != 1:
        raise ValueError(
            f"{model.name} has {len(model.rpn_layers)} layers: pass one of them "
            "(model.rpn_layers[k]) with its own inputs, or use plot_network."
        )
    return model.rpn_layers[0]


def plot_layer(layer, x, shared_y=False, input_names=None, output_names=None):
    """One panel per edge `j -> i` of a separable layer, over the range of `x`.

    Args:
        layer: an `RPNHead`, `RPNLayer` or `KANDense` (or a one-layer `RPN`).
        x: the layer's inputs, `(N, m)`.
        shared_y: one y-scale for all panels (default `False`).
        input_names, output_names: optional labels.

    Returns:
        A matplotlib `Figure` with `n` rows and `m` columns of panels.
    """
    x = np.asarray(x, dtype="float32")
    if hasattr(layer, "rpn_layers"):
        layer = _one_layer(layer)
    t, values = _curves(layer, x)
    m, n = values.shape[1], values.shape[2]
    input_names = input_names or [f"x{j}" for j in range(m)]
    output_names = output_names or [f"y{i}" for i in range(n)]
    fig = _figure((2.2 * m, 1.8 * n))
    centred = values - values.mean(axis=0, keepdims=True)
    limit = np.abs(centred).max() * 1.1 or 1.0
    axes = fig.subplots(n, m, squeeze=False)
    for i in range(n):
        for j in range(m):
            ax = axes[i, j]
            ax.plot(t[:, j], centred[:, j, i], color="black")
            if shared_y:
                ax.set_ylim(-limit, limit)
            ax.set_title(f"{input_names[j]} -> {output_names[i]}", fontsize=8)
            ax.tick_params(labelsize=6)
    fig.tight_layout()
    return fig


def plot_network(model, x, threshold=0.0, shared_y=False, input_names=None, output_names=None):
    """A KAN-style diagram: nodes in rows, each edge's function drawn on the edge.

    Args:
        model: an `RPN` model (e.g. `KAN`), a `Sequential` of `RPNLayer` /
            `KANDense` layers, or one separable layer.
        x: samples of the model input, `(N, m)`: they set every function's range
            and every edge's importance.
        threshold: edges whose score, relative to their layer's largest, is below
            this are not drawn (default 0: all).
        shared_y: one y-scale for all edge curves (default `False`: each its own).
        input_names, output_names: optional labels of the first and last nodes.

    Returns:
        A matplotlib `Figure`.
    """
    layers, inputs, scores = edge_scores(model, x)
    widths = [inputs[0].shape[1]] + [s.shape[0] for s in scores]
    depth = len(layers)
    fig = _figure((max(4.0, 1.4 * max(widths)), 2.4 * depth + 0.6))

    def position(level, k):
        count = widths[level]
        return (k + 0.5) / count, 0.06 + 0.88 * level / depth

    canvas = fig.add_axes([0, 0, 1, 1])
    canvas.set_xlim(0, 1)
    canvas.set_ylim(0, 1)
    canvas.axis("off")
    for level, count in enumerate(widths):
        for k in range(count):
            px, py = position(level, k)
            canvas.plot(px, py, "o", color="black", markersize=5)
            names = input_names if level == 0 else output_names if level == depth else None
            if names is not None:
                canvas.text(px, py + (-0.04 if level == 0 else 0.025), str(names[k]), ha="center")
    curves = [_curves(layer, h) for layer, h in zip(layers, inputs, strict=True)]
    limit = max(np.abs(v - v.mean(0, keepdims=True)).max() for _, v in curves) or 1.0
    for level, ((t, values), score) in enumerate(zip(curves, scores, strict=True)):
        relative = score / max(score.max(), 1e-30)
        n, m = relative.shape
        size = min(0.7 / max(m * n, 1), 0.09)
        for i in range(n):
            for j in range(m):
                alpha = float(relative[i, j])
                if alpha < threshold or alpha <= 0:
                    continue
                (x0, y0), (x1, y1) = position(level, j), position(level + 1, i)
                canvas.plot([x0, x1], [y0, y1], color="black", alpha=alpha, linewidth=0.8)
                cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
                inset = fig.add_axes([cx - size / 2, cy - size / 2, size, size])
                curve = values[:, j, i] - values[:, j, i].mean()
                inset.plot(t[:, j], curve, color="tab:purple", alpha=max(alpha, 0.15))
                if shared_y:
                    inset.set_ylim(-limit, limit)
                inset.set_xticks([])
                inset.set_yticks([])
                for spine in inset.spines.values():
                    spine.set_alpha(max(alpha, 0.15))
    return fig
