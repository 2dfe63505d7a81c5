"""The KAN toolset: train -> update grid -> regularise -> prune -> symbolic fit ->
lock + fine-tune -> formula -> plot.

On the three formulas of issue 16 and one Feynman equation (data generated from the
formula, offline):

* `exp(sin(pi x) + y^2)`, `x y`, `sin(x) + cos(y)^2`;
* Feynman I.6.2a: `exp(-theta^2 / 2) / sqrt(2 pi)`.

For each: a `Sequential` of `KANDense` layers trained with a sparsity regularizer
(`FunctionSparsity`) and grid refits (`GridUpdate`), pruned (`keras_rpn.prune`),
every edge matched against the candidate library (`keras_rpn.symbolic.formula`),
then the candidates locked into a trainable model (`keras_rpn.symbolic.lock`: each
edge `c f(a x + b) + d`), fine-tuned (`keras_rpn.symbolic.fine_tune`), and read
back as a simplified sympy formula, scored by R^2 on held-out points. The network is drawn with
`keras_rpn.plotting.plot_network` (written as PNG when `--output-dir` is given).

Candidates can be restricted per layer (`x y`: hidden edges linear, output edges
squares, as one does in pykan with `fix_symbolic`) or per edge (`overrides=`); the
Feynman demo (theta in [-3, 3], outside the default grid) prints the R^2 of the
candidates on its one edge and locks the runner-up too, to show the trade-off
between R^2 and simplicity (`tolerance=` of `fit_function` sets it).

Run: `KERAS_BACKEND=jax python examples/kan_toolset.py [--epochs 150] [--tune-epochs 200]
[--output-dir DIR] [--only NAME]`
(any backend; needs sympy and, for the figures, matplotlib).
"""

import argparse
import os

import keras
import numpy as np

import keras_rpn
from keras_rpn import symbolic
from keras_rpn.layers import KANDense

# name: (input names, target, hidden widths + [1], per-layer candidates to lock (None: all),
#        input range)
DEMOS = {
    "exp(sin(pi x) + y^2)": (
        ["x", "y"],
        lambda v: np.exp(np.sin(np.pi * v[:, 0]) + v[:, 1] ** 2),
        [1, 1],
        None,
        (-1, 1),
    ),
    "x y": (["x", "y"], lambda v: v[:, 0] * v[:, 1], [4, 1], [["x"], ["x^2"]], (-1, 1)),
    "sin(x) + cos(y)^2": (
        ["x", "y"],
        lambda v: np.sin(v[:, 0]) + np.cos(v[:, 1]) ** 2,
        [1],
        None,
        (-1, 1),
    ),
    "Feynman I.6.2a: exp(-theta^2/2)/sqrt(2 pi)": (
        ["theta"],
        lambda v: np.exp(-(v[:, 0] ** 2) / 2) / np.sqrt(2 * np.pi),
        [1],
        None,
        (-3, 3),  # outside the default grid (-1, 1): GridUpdate moves it
    ),
}


def r2_score(pred, truth):
    return 1.0 - np.sum((pred - truth) ** 2) / np.sum((truth - truth.mean()) ** 2)


def lock_and_tune(model, x, y, x_test, y_test, names, candidates=None, epochs=200):
    """Locks the fitted candidates, fine-tunes them; the simplified formula and its R^2."""
    locked = symbolic.lock(model, x, candidates=candidates, y=y)
    symbolic.fine_tune(locked, x, y, epochs=epochs)
    (expr,) = symbolic.export(locked, input_names=names)
    expr = symbolic.simplify(expr, precision=4, drop_below=1e-3)
    r2 = r2_score(symbolic.evaluate([expr], x_test, names)[:, 0], y_test)
    return expr, r2, [layer.functions for layer in locked.layers]


def run(name, names, target, widths, candidates, bounds, epochs, output_dir, tune_epochs=200,
        seed=0):  # fmt: skip
    rng = np.random.default_rng(seed)
    keras.utils.set_random_seed(seed)
    x = rng.uniform(*bounds, (1000, len(names))).astype("float32")
    y = target(x).astype("float32")[:, None]
    x_test = rng.uniform(*bounds, (1000, len(names)))
    y_test = target(x_test)

    # 1. Train a KAN, refitting the grids to the data early on, with sparsity.
    sparsity = keras_rpn.regularizers.FunctionSparsity(l1=1e-4, entropy=1e-4)
    model = keras.Sequential(
        [keras.Input((len(names),))]
        + [KANDense(w, grid_size=8, kernel_regularizer=sparsity) for w in widths]
    )
    model.compile(keras.optimizers.Adam(0.01), "mse")
    model.fit(
        x, y, epochs=epochs, batch_size=100, verbose=0,
        callbacks=[
            keras_rpn.callbacks.GridUpdate(x, every=max(1, epochs // 10), until=epochs // 2)
        ],
    )  # fmt: skip
    y_model = keras.ops.convert_to_numpy(model(x_test.astype("float32")))[:, 0]
    mse = float(np.mean((y_model - y_test) ** 2))
    # 2. Prune the units the regularizer left nearly unused.
    pruned, report = keras_rpn.prune(model, x, threshold=0.05)
    kept = report.kept_inputs
    names = [names[k] for k in kept]
    x, x_test = x[:, kept], x_test[:, kept]
    print(f"\n== {name}")
    print(f"KAN {[len(names)] + widths}: held-out MSE {mse:.2e}; pruned: {report}")
    # 3. A formula: every edge matched against the candidate library.
    exprs, _ = symbolic.formula(pruned, x, input_names=names, candidates=candidates)
    ranked = sorted(symbolic.fit_function.last, key=lambda f: -f.r2)[:4]  # the last edge's
    r2 = r2_score(symbolic.evaluate(exprs, x_test, names)[:, 0], y_test)
    print(f"fitted:    {symbolic.round_floats(exprs[0], 4)}  (held-out R^2 {r2:.6f})")
    # 4. Lock the candidates into a trainable model, fine-tune, read the formula back.
    expr, r2, functions = lock_and_tune(
        pruned, x, y, x_test, y_test, names, candidates, tune_epochs
    )
    print(f"locked {functions}, fine-tuned:")
    print(f"recovered: {expr}  (held-out R^2 {r2:.6f})")
    if len(names) == 1:  # 5. The one edge's trade-off: R^2 against simplicity.
        print("fits to the KAN's edge:", ", ".join(
            f"{f.name} R^2 {f.r2:.6f} (complexity {f.complexity})" for f in ranked
        ))  # fmt: skip
        chosen = functions[0][0][0]
        other = next(f.name for f in ranked if f.name != chosen)
        expr, r2, _ = lock_and_tune(pruned, x, y, x_test, y_test, names, [other], tune_epochs)
        print(f"forced {other}, fine-tuned: {expr}  (held-out R^2 {r2:.6f})")
    # 6. The network, every edge's function on its edge.
    if output_dir:
        fig = keras_rpn.plotting.plot_network(pruned, x, threshold=0.01, input_names=names)
        slug = "".join(c if c.isalnum() else "_" for c in name)[:40]
        fig.savefig(os.path.join(output_dir, f"kan_{slug}.png"), dpi=80)
    return r2


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=150)
    parser.add_argument("--output-dir", default=None)
    parser.add_argument(
        "--tune-epochs", type=int, default=200, help="fine-tuning epochs (first round)"
    )
    parser.add_argument("--only", default="", help="run the demos whose name contains this")
    args = parser.parse_args()
    if args.output_dir:
        os.makedirs(args.output_dir, exist_ok=True)
    print(f"backend: {keras.backend.backend()}")
    only = [name for name in DEMOS if args.only in name]
    for name in only:
        run(name, *DEMOS[name], args.epochs, args.output_dir, args.tune_epochs)


if __name__ == "__main__":
    main()
