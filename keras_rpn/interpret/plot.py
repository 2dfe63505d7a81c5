"""`plot_functions`: the learned functions of a separable head as PNG files."""

import os

import numpy as np

from keras_rpn.interpret.functions import _input_width
from keras_rpn.interpret.functions import _resolve
from keras_rpn.interpret.functions import contributions
from keras_rpn.interpret.functions import univariate_functions


def _matplotlib_figure():
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(
            "plot_functions needs matplotlib. Install it with "
            '`pip install "keras-rpn[plot]"` (or `pip install matplotlib`).'
        ) from None
    return Figure, FigureCanvasAgg


def plot_functions(
    head,
    output_dir,
    grid=None,
    x=None,
    features=None,
    outputs=None,
    feature_names=None,
    output_names=None,
    reference=None,
    include_remainder=True,
    prefix="functions",
    dpi=100,
):
    """Saves the learned functions `f_ij` as PNG files, one per output.

    Each file has one panel per input feature `j`, the curve `f_ij` over the grid
    and, when `x` is given, the data points `f_ij(x_j)` and the feature's importance
    in the title.

    Args:
        head: an `RPNHead`, an `RPNLayer` with a linear head fusion, or a one-layer
            `RPN`.
        output_dir: folder to write to (created if needed).
        grid: as in `univariate_functions`; default: the range of `x` per feature
            when given, else the expansion's range.
        x: optional data `(N, m)` to scatter and to rank the features.
        features: optional indices of the features to draw (default: all, at most
            the 16 most important when `x` is given).
        outputs: optional indices of the outputs to draw (default: all).
        feature_names, output_names: optional labels.
        reference: optional callable `reference(j, i, t)` giving a known curve to
            draw beside `f_ij` (for functions learned from a formula); it is shifted
            to the same mean over the grid, since constants move between the
            functions and the bias.
        include_remainder: see `contributions`.
        prefix: file name prefix (files are `<prefix>_output<i>.png`).
        dpi: resolution.

    Returns:
        The list of written paths.
    """
    Figure, FigureCanvasAgg = _matplotlib_figure()
    obj = _resolve(head)
    m = _input_width(obj)
    if grid is None and x is not None:
        x_arr = np.asarray(x, dtype="float64")
        lows, highs = x_arr.min(axis=0), x_arr.max(axis=0)
        grid = np.linspace(lows, highs, 200)
    grid, values, _ = univariate_functions(obj, grid, include_remainder=include_remainder)
    importance = None
    points = None
    if x is not None:
        x = np.asarray(x, dtype="float64")
        points, _ = contributions(obj, x, include_remainder=include_remainder)
        importance = np.abs(points - points.mean(0, keepdims=True)).mean(0)  # (m, n)
    if features is None:
        features = list(range(m))
        if importance is not None and m > 16:
            features = list(np.argsort(-importance.sum(-1))[:16])
    n = values.shape[-1]
    outputs = list(range(n)) if outputs is None else list(outputs)
    feature_names = feature_names or [f"x{j}" for j in range(m)]
    output_names = output_names or [f"y{i}" for i in range(n)]
    os.makedirs(output_dir, exist_ok=True)
    cols = min(4, len(features))
    rows = -(-len(features) // cols)
    paths = []
    for i in outputs:
        fig = Figure(figsize=(3.2 * cols, 2.6 * rows))
        FigureCanvasAgg(fig)
        for panel, j in enumerate(features):
            ax = fig.add_subplot(rows, cols, panel + 1)
            if points is not None:
                ax.scatter(x[:, j], points[:, j, i], s=4, alpha=0.3, color="tab:gray")
            ax.plot(grid[:, j], values[:, j, i], color="tab:blue", label="learned")
            if reference is not None:
                ref = np.asarray(reference(j, i, grid[:, j]), dtype="float64")
                ref = ref - ref.mean() + values[:, j, i].mean()
                ax.plot(grid[:, j], ref, "--", color="tab:orange", label="reference")
            title = f"{feature_names[j]} -> {output_names[i]}"
            if importance is not None:
                title += f"  (imp. {importance[j, i]:.3g})"
            ax.set_title(title, fontsize=9)
            ax.tick_params(labelsize=7)
            if panel == 0 and reference is not None:
                ax.legend(fontsize=7)
        fig.tight_layout()
        path = os.path.join(output_dir, f"{prefix}_output{i}.png")
        fig.savefig(path, dpi=dpi)
        paths.append(path)
    return paths
