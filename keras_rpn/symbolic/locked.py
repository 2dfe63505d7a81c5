"""Locked symbolic edges: the fitted formulas put back into a trainable model.

`SymbolicDense` computes, for every output `i`,
```
y_i = activation( sum_j c_ij f_ij(a_ij x_j + b_ij) + d_ij )
```
with each edge's `f_ij` a named candidate of the library (`keras_rpn.symbolic.NAMES`,
or `"0"` for a removed edge) and `a, b, c, d` trainable. `lock(model, x)` replaces the
spline/RBF edge functions of a separable model by their fitted candidates
(`auto_symbolic`), ready for `model.fit`; `export` then reads the formula back
from the locked parameters.
"""

import keras
import numpy as np
from keras import ops

from keras_rpn import validation
from keras_rpn.symbolic import library
from keras_rpn.symbolic.fit import activations_of
from keras_rpn.symbolic.fit import auto_symbolic


@keras.saving.register_keras_serializable(package="keras_rpn")
class SymbolicDense(keras.layers.Layer):
    """A dense layer of named symbolic edge functions with trainable affine parameters.

    ```
    y_i = activation( sum_j c_ij f_ij(a_ij x_j + b_ij) + d_ij )
    ```
    as pykan's locked ("fixed symbolic") edges. `a`, `b`, `c`, `d` are weights of
    shape `(units, input_dim)`, initialised to `1, 0, 1, 0` (`lock` sets them to
    the fitted values). Where a candidate is undefined (`sqrt`, `log` of negative
    numbers, `1/x` at 0) the layer clamps its argument.

    Args:
        functions: `units` rows of `input_dim` names, `functions[i][j]` the
            function of edge `j -> i`: one of `keras_rpn.symbolic.NAMES` or `"0"`
            (a removed edge: the constant `d_ij`).
        activation: activation of the output (default none).
        **kwargs: base `Layer` arguments.

    Example:
    >>> layer = keras_rpn.symbolic.SymbolicDense([["sin", "x^2"]])
    >>> tuple(layer(np.zeros((4, 2))).shape)  # c sin(a x_1 + b) + c' (a' x_2 + b')^2 + d + d'
    (4, 1)
    """

    def __init__(self, functions, activation=None, **kwargs):
        super().__init__(**kwargs)
        rows = [list(row) for row in functions] if isinstance(functions, (list, tuple)) else []
        if not rows or not rows[0] or any(len(row) != len(rows[0]) for row in rows):
            raise ValueError(
                "functions must be a non-empty list of equal-length rows of names (one row "
                f"per output, one name per input). Received: functions={functions!r}"
            )
        known = set(library.NAMES) | {"0"}
        for row in rows:
            for name in row:
                if name not in known:
                    raise ValueError(
                        f"Unknown function {name!r} in functions. Known: "
                        f"{', '.join(library.NAMES)}, or '0' for a removed edge."
                    )
        self.functions = rows
        self.units = len(rows)
        self.input_dim = len(rows[0])
        self.activation = validation.activation("activation", activation)
        table = np.array(rows)
        self._masks = [(name, table == name) for name in library.NAMES if np.any(table == name)]

    def build(self, input_shape):
        if input_shape[-1] != self.input_dim:
            raise ValueError(
                f"{self.name} has {self.input_dim} inputs per output in functions; "
                f"received inputs of shape {tuple(input_shape)}."
            )
        shape = (self.units, self.input_dim)
        for name, value in (("a", "ones"), ("b", "zeros"), ("c", "ones"), ("d", "zeros")):
            setattr(self, name, self.add_weight(name=name, shape=shape, initializer=value))

    def call(self, inputs):
        u = ops.expand_dims(inputs, -2) * self.a + self.b  # (..., units, input_dim)
        edges = ops.zeros_like(u)
        for name, mask in self._masks:
            edges = edges + ops.where(mask, library.get(name).ops(u), 0.0)
        return self.activation(ops.sum(edges * self.c + self.d, axis=-1))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def set_edges(self, fits, offset=None):
        """Sets `a, b, c, d` from `fits[i][j]` (`EdgeFit`s); `offset[i]` joins `d_i0`."""
        values = np.array([[[f.a, f.b, f.c, f.d] for f in row] for row in fits], dtype="float64")
        if values.shape[:2] != (self.units, self.input_dim):
            raise ValueError(
                f"{self.name}: expected {self.units} x {self.input_dim} fits. Received "
                f"{values.shape[0]} x {values.shape[1]}."
            )
        if offset is not None:
            values[:, 0, 3] += np.asarray(offset, dtype="float64")
        for k, weight in enumerate((self.a, self.b, self.c, self.d)):
            weight.assign(values[..., k].astype(weight.dtype))

    def fit_linear(self, x, y):
        """Re-solves `c` and `d` by least squares so that the layer maps `x` to `y`.

        Joint over each output's edges (their signs may change); `a`, `b` stay.

        Args:
            x: inputs, `(N, input_dim)`.
            y: targets, `(N, units)`; the activation must be linear.
        """
        if self.activation is not keras.activations.linear:
            raise ValueError(f"{self.name}: fit_linear needs a linear activation.")
        x = np.asarray(x, dtype="float64")
        y = np.asarray(y, dtype="float64").reshape(len(x), -1)
        if x.shape[1:] != (self.input_dim,) or y.shape[1] != self.units:
            raise ValueError(
                f"{self.name}: fit_linear expects x of shape (N, {self.input_dim}) and y of "
                f"shape (N, {self.units}). Received: {x.shape} and {y.shape}"
            )
        a, b, c = (
            np.asarray(ops.convert_to_numpy(w), dtype="float64") for w in (self.a, self.b, self.c)
        )
        d = np.zeros_like(c)
        for i, row in enumerate(self.functions):
            edges = [j for j, name in enumerate(row) if name != "0"]
            columns = [
                ops.convert_to_numpy(
                    library.get(row[j]).ops(ops.convert_to_tensor(a[i, j] * x[:, j] + b[i, j]))
                )
                for j in edges
            ]
            design = np.stack(columns + [np.ones(len(x))], axis=1).astype("float64")
            solution = np.linalg.lstsq(design, y[:, i], rcond=None)[0]
            c[i, edges] = solution[:-1]
            d[i, 0] = solution[-1]
        self.c.assign(c.astype(self.c.dtype))
        self.d.assign(d.astype(self.d.dtype))

    def symbolic_expressions(self, symbols):
        """The outputs as sympy expressions of `symbols`, from the current parameters."""
        from keras_rpn.symbolic.export import import_sympy
        from keras_rpn.symbolic.export import sympy_activation

        sp = import_sympy()
        a, b, c, d = (
            np.asarray(ops.convert_to_numpy(w), dtype="float64")
            for w in (self.a, self.b, self.c, self.d)
        )
        outputs = []
        for i, row in enumerate(self.functions):
            e = 0.0
            for j, name in enumerate(row):
                e += float(d[i, j])
                if name != "0":
                    u = float(a[i, j]) * symbols[j] + float(b[i, j])
                    e += float(c[i, j]) * library.get(name).sympy(sp, u)
            outputs.append(sympy_activation(self.activation, e))
        return outputs

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "functions": [list(row) for row in self.functions],
                "activation": validation.serialize_activation("activation", self.activation),
            }
        )
        return config


def lock(model, x=None, fits=None, candidates=None, tolerance=1e-3, prune_below=1e-3,
         overrides=None, y=None):  # fmt: skip
    """A model whose edge functions are the fitted candidates, locked and trainable.

    Every separable layer of `model` becomes a `SymbolicDense` whose edges are the
    candidates `auto_symbolic` fitted to the learned functions on `x` (or the given
    `fits`), with the fitted `a, b, c, d` as starting values: fine-tune it with
    `model.fit`, then read the formula with `keras_rpn.symbolic.export`.

    Args:
        model: an `RPNLayer`, `RPN` model or `Sequential` of separable layers.
        x: samples of the model input, `(N, m)` (unless `fits` is given).
        fits: the result of `auto_symbolic(model, x, ...)`, to lock as they are.
        candidates, tolerance, prune_below, overrides: see `auto_symbolic`.
        y: optional targets `(N, units)` of `x`: the last layer's `c, d` are then
            re-solved by least squares on them (`SymbolicDense.fit_linear`), so
            that the output edges' signs fit the data rather than the network's
            own functions: a better start for fine-tuning (needs `x` and a
            linear last activation).

    Returns:
        A `keras.Sequential` of `SymbolicDense` layers (not compiled).

    Example:
    >>> x = np.random.default_rng(0).uniform(-1, 1, (128, 2)).astype("float32")
    >>> y = 2 * x[:, :1] - x[:, 1:] + 0.5
    >>> kan = keras.Sequential([keras.Input((2,)), keras_rpn.layers.KANDense(1)])
    >>> locked = keras_rpn.symbolic.lock(kan, x, candidates=["x"], y=y)  # c (a x + b) + d
    >>> [layer.functions for layer in locked.layers]
    [[['x', 'x']]]
    >>> keras_rpn.symbolic.simplify(keras_rpn.symbolic.export(locked)[0], precision=3)
    2.0*x_1 - 1.0*x_2 + 0.5
    """
    if fits is None:
        if x is None:
            raise ValueError("lock needs samples x of the model input, or fits. Received neither.")
        fits = auto_symbolic(model, x, candidates, tolerance, prune_below, overrides)
    layers = []
    for layer, rows, offset in fits:
        nonlinear = [a for a in activations_of(layer) if a is not keras.activations.linear]
        if len(nonlinear) > 1:
            raise ValueError(
                f"{layer.name} applies two activations (head and layer): a SymbolicDense "
                "holds one. Use one of them."
            )
        functions = [[f.name for f in row] for row in rows]
        locked = SymbolicDense(functions, activation=nonlinear[0] if nonlinear else None)
        locked.build((None, len(functions[0])))
        locked.set_edges(rows, offset)
        layers.append(locked)
    model = keras.Sequential([keras.Input((layers[0].input_dim,))] + layers)
    if y is not None:
        if x is None:
            raise ValueError("lock: y needs the samples x it belongs to. Received x=None.")
        layers[-1].fit_linear(_last_layer_inputs(model, x), y)
    return model


def _last_layer_inputs(model, x):
    h = np.asarray(x, dtype="float32")
    for layer in model.layers[:-1]:
        h = ops.convert_to_numpy(layer(h))
    return h


def fine_tune(locked, x, y, epochs=200, learning_rate=0.01, batch_size=100, rounds=3):
    """Fine-tunes a `lock`ed model: Adam rounds of decreasing step, output `c, d` re-solved.

    Round `k` trains `epochs` (then `epochs // 2`) epochs with Adam at
    `learning_rate / 10**k`; after each round the last layer's `c, d` are re-solved by
    least squares on `(x, y)` (`SymbolicDense.fit_linear`, when its activation is
    linear), and the weights of the lowest training MSE seen are kept. Adam at a
    fixed step can end a few tenths of a percent off (or drift away from) a formula
    that the smaller steps and the exact linear solve then reach.

    Args:
        locked: a `keras.Sequential` of `SymbolicDense` layers (from `lock`).
        x, y: training inputs `(N, m)` and targets `(N, units)`.
        epochs: epochs of the first round.
        learning_rate: Adam's step in the first round.
        batch_size: batch size of `fit`.
        rounds: number of rounds (>= 1).

    Returns:
        The training MSE of the weights kept (set on `locked`).

    Example:
    >>> x = np.random.default_rng(0).uniform(-1, 1, (128, 2)).astype("float32")
    >>> y = x[:, :1] ** 2 - 0.5 * x[:, 1:]
    >>> layer = keras_rpn.symbolic.SymbolicDense([["x^2", "x"]])  # c f(a x + b) + d per edge
    >>> locked = keras.Sequential([keras.Input((2,)), layer])  # as `lock` returns
    >>> a, b, c, d = np.ones((1, 2)), np.array([[0.3, 0.0]]), np.ones((1, 2)), np.zeros((1, 2))
    >>> layer.set_weights([a, b, c, d])  # off the solution (b_1 = 0, c = [1, -0.5]): MSE 0.91
    >>> mse = keras_rpn.symbolic.fine_tune(locked, x, y, epochs=20, rounds=2)
    >>> mse < 0.02
    True
    """
    rounds = validation.positive_int("rounds", rounds)
    epochs = validation.positive_int("epochs", epochs)
    x = np.asarray(x, dtype="float32")
    y = np.asarray(y, dtype="float32").reshape(len(x), -1)
    last = locked.layers[-1]

    def training_mse():
        return float(np.mean((ops.convert_to_numpy(locked(x)) - y) ** 2))

    best = (training_mse(), locked.get_weights())
    for k in range(rounds):
        locked.compile(keras.optimizers.Adam(learning_rate / 10**k), "mse")
        locked.fit(x, y, epochs=epochs if k == 0 else max(1, epochs // 2),
                   batch_size=batch_size, verbose=0)  # fmt: skip
        if last.activation is keras.activations.linear:
            last.fit_linear(_last_layer_inputs(locked, x), y)
        mse = training_mse()
        if np.isfinite(mse) and mse < best[0]:
            best = (mse, locked.get_weights())
    locked.set_weights(best[1])
    return best[0]
