"""Keras callbacks for RPN models: grid refits and grid monitoring during `fit`."""

import keras

from keras_rpn import grid

__all__ = ["GridMonitor", "GridUpdate"]


def _check_every(every):
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        raise ValueError(f"`every` must be a positive integer. Received: every={every!r}")
    return every


class GridMonitor(keras.callbacks.Callback):
    """Logs the fraction of every grid layer's inputs outside its grid.

    At the end of every epoch, adds `out_of_range/<layer name>` to the logs (so
    to `History` and the progress bar of later epochs): the fraction of the
    entries of that layer's input, on the samples `x`, outside its grid (B-spline
    bases vanish out there; RBFs fade). See `keras_rpn.grid.out_of_range`.

    Args:
        x: model inputs to measure on, `(N, m)`; a sample of the training data.

    Example:
    >>> x = np.linspace(-2.0, 2.0, 40).reshape(20, 2)  # half of it outside [-1, 1]
    >>> model = keras.Sequential([keras.Input((2,)), keras_rpn.layers.KANDense(1, name="kan")])
    >>> model.compile("adam", "mse")
    >>> history = model.fit(x, x[:, :1] ** 2, epochs=2, verbose=0,
    ...                     callbacks=[keras_rpn.callbacks.GridMonitor(x)])
    >>> history.history["out_of_range/kan"]
    [0.5, 0.5]
    """

    def __init__(self, x):
        super().__init__()
        self.x = x

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        for name, fraction in grid.out_of_range(self.model, self.x).items():
            logs[f"out_of_range/{name}"] = fraction


class GridUpdate(keras.callbacks.Callback):
    """Refits the grids of the model's spline/RBF layers to the data during `fit`.

    At the end of every `every`-th epoch, up to epoch `until`, runs
    `keras_rpn.grid.update_grid(model, x)`: every layer's grid moves to the range
    of its inputs on `x` and its coefficients are re-solved so that the learned
    functions keep their values on `x`. Logs `out_of_range/<layer name>`, the
    fraction of inputs that were outside the grid before the refit. The heads must
    be built with `adaptive_grid=True` (as `keras_rpn.layers.KANDense` is).

    Args:
        x: model inputs to fit the grids to, `(N, m)`; a sample of the training data.
        every: refit every this many epochs (default 1).
        until: last epoch (1-based) at which to refit (default: every epoch);
            refitting early in training, as KANs do, lets the functions settle.
        percentile, margin: see `keras_rpn.grid.fit_bounds`.

    Example:
    >>> x = np.linspace(-2.0, 2.0, 40).reshape(20, 2)  # half of it outside [-1, 1]
    >>> model = keras.Sequential([keras.Input((2,)), keras_rpn.layers.KANDense(1, name="kan")])
    >>> model.compile("adam", "mse")
    >>> history = model.fit(x, x[:, :1] ** 2, epochs=3, verbose=0,
    ...                     callbacks=[keras_rpn.callbacks.GridUpdate(x, every=1, until=2)])
    >>> history.history["out_of_range/kan"]  # before each refit: all inside after the first
    [0.5, 0.0]
    """

    def __init__(self, x, every=1, until=None, percentile=0.0, margin=0.05):
        super().__init__()
        self.x = x
        self.every = _check_every(every)
        self.until = None if until is None else _check_every(until)
        self.percentile = percentile
        self.margin = margin

    def on_epoch_end(self, epoch, logs=None):
        done = epoch + 1
        if done % self.every or (self.until is not None and done > self.until):
            return
        fractions = grid.out_of_range(self.model, self.x)
        grid.update_grid(self.model, self.x, percentile=self.percentile, margin=self.margin)
        if logs is not None:
            for name, fraction in fractions.items():
                logs[f"out_of_range/{name}"] = fraction
