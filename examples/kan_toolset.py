"""The KAN toolset: train -> update grid -> regularise -> prune -> symbolic formula -> plot.

On three formulas of the KAN paper and one Feynman equation (data generated from
the formula, offline):

* `sin(pi x) + cos(y)^2`, `x y`, `exp(sin(pi x) + y^2)`;
* Feynman I.6.2a: `exp(-theta^2 / 2) / sqrt(2 pi)`.

For each: a `Sequential` of `KANDense` layers trained with a sparsity regularizer
(`FunctionSparsity`) and grid refits (`GridUpdate`), pruned (`keras_rpn.prune`),
turned into a formula (`keras_rpn.symbolic.formula`, scored by R^2 on held-out
points) and drawn (`keras_rpn.plotting.plot_network`, written as PNG when
`--output-dir` is given).

Run: `KERAS_BACKEND=jax python examples/kan_toolset.py [--epochs 300] [--output-dir DIR]`
(any backend; needs sympy and, for the figures, matplotlib).
"""

import argparse
import os

import keras
import numpy as np

import keras_rpn
from keras_rpn import symbolic
from keras_rpn.layers import KANDense

DEMOS = {
    "sin(pi x) + cos(y)^2": (
        ["x", "y"],
        lambda v: np.sin(np.pi * v[:, 0]) + np.cos(v[:, 1]) ** 2,
        [1],
    ),
    "x y": (["x", "y"], lambda v: v[:, 0] * v[:, 1], [2, 1]),
    "exp(sin(pi x) + y^2)": (
        ["x", "y"],
        lambda v: np.exp(np.sin(np.pi * v[:, 0]) + v[:, 1] ** 2),
        [1, 1],
    ),
    "Feynman I.6.2a: exp(-theta^2/2)/sqrt(2 pi)": (
        ["theta"],
        lambda v: np.exp(-(v[:, 0] ** 2) / 2) / np.sqrt(2 * np.pi),
        [1],
    ),
}


def r2_score(pred, truth):
    return 1.0 - np.sum((pred - truth) ** 2) / np.sum((truth - truth.mean()) ** 2)


def run(name, names, target, widths, epochs, output_dir, seed=0):
    rng = np.random.default_rng(seed)
    keras.utils.set_random_seed(seed)
    x = rng.uniform(-1, 1, (1000, len(names))).astype("float32")
    y = target(x).astype("float32")[:, None]
    x_test = rng.uniform(-1, 1, (1000, len(names)))
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
    # 3. A formula: every edge matched against the candidate library.
    exprs, _ = symbolic.formula(pruned, x[:, report.kept_inputs], input_names=names)
    pred = symbolic.evaluate(exprs, x_test[:, report.kept_inputs], names)[:, 0]
    r2 = r2_score(pred, y_test)
    print(f"\n== {name}")
    print(f"KAN {[len(names)] + widths}: held-out MSE {mse:.2e}; pruned: {report}")
    print(f"recovered: {symbolic.round_floats(exprs[0], 4)}")
    print(f"held-out R^2 of the formula: {r2:.6f}")
    # 4. The network, every edge's function on its edge.
    if output_dir:
        fig = keras_rpn.plotting.plot_network(pruned, x, threshold=0.01, input_names=names)
        slug = "".join(c if c.isalnum() else "_" for c in name)[:40]
        fig.savefig(os.path.join(output_dir, f"kan_{slug}.png"), dpi=80)
    return r2


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--output-dir", default=None)
    args = parser.parse_args()
    if args.output_dir:
        os.makedirs(args.output_dir, exist_ok=True)
    print(f"backend: {keras.backend.backend()}")
    for name, (names, target, widths) in DEMOS.items():
        run(name, names, target, widths, args.epochs, args.output_dir)


if __name__ == "__main__":
    main()
