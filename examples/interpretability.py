"""Reading a trained KAN: its learned univariate functions and feature importance.

Data come from a known additive formula of four inputs, of which the last is unused:

    y = sin(pi x0) + x1^2 + 0.5 x2 (+ 0 x3),   x in [-1, 1]^4, 2000 samples, half held out.

A one-layer KAN preset (B-spline t=8 d=3 per input, plus a linear remainder without
activation, so that every edge j -> output is a univariate function
f_j(t) = sum_k W[j, k] B_k(t) + w_j t) is fitted with MSE. keras_rpn.interpret then

* ranks the inputs by importance (mean |f_j(x_j) - mean f_j| over the data),
* checks that the functions add up to the model's output,
* saves one PNG with a panel per input: the learned f_j, the data points, and the
  true component of the formula (shifted to the same mean, since constants move
  freely between the f_j and the bias).

    KERAS_BACKEND=jax python examples/interpretability.py [--output-dir kan_plots] [--epochs 300]
"""

import argparse
import time

import keras
import numpy as np

import keras_rpn
from keras_rpn import interpret

COMPONENTS = [
    lambda t: np.sin(np.pi * t),
    lambda t: t**2,
    lambda t: 0.5 * t,
    lambda t: 0.0 * t,
]


def make_data(rng, n=2000):
    x = rng.uniform(-1, 1, (n, 4))
    y = sum(f(x[:, j]) for j, f in enumerate(COMPONENTS))[:, None]
    x, y = x.astype("float32"), y.astype("float32")
    return (x[: n // 2], y[: n // 2]), (x[n // 2 :], y[n // 2 :])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output-dir", default="kan_plots")
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    keras.utils.set_random_seed(args.seed)
    (x_train, y_train), (x_test, y_test) = make_data(np.random.default_rng(args.seed))
    model = keras_rpn.models.KAN([4, 1], t=8, remainder_activation=None, use_bias=True)
    model.compile(keras.optimizers.Adam(1e-2), loss="mse")
    print(
        f"keras {keras.__version__}, backend {keras.backend.backend()}; KAN 4-1: "
        f"{model.count_params()} parameters"
    )
    start = time.perf_counter()
    model.fit(x_train, y_train, epochs=args.epochs, batch_size=100, verbose=0)
    seconds = time.perf_counter() - start
    mse = model.evaluate(x_test, y_test, verbose=0)
    print(f"test MSE {mse:.3e}, trained in {seconds:.1f} s")

    terms, bias = interpret.contributions(model, x_test)
    gap = np.abs(terms.sum(axis=1) + bias - keras.ops.convert_to_numpy(model(x_test))).max()
    print(f"sum_j f_j(x_j) + b reproduces the model's output to within {gap:.1e}")
    importance = interpret.feature_importance(model, x_train)
    order = np.argsort(-importance)
    print("feature importance: " + ", ".join(f"x{j} {importance[j]:.3f}" for j in order))

    grid = np.linspace(-1, 1, 101)
    _, values, _ = interpret.univariate_functions(model, grid)
    for j, f in enumerate(COMPONENTS):
        learned = values[:, j, 0] - values[:, j, 0].mean()
        true = f(grid) - f(grid).mean()
        print(f"x{j}: max |learned - true| (both centred) = {np.abs(learned - true).max():.3f}")
    paths = interpret.plot_functions(
        model,
        args.output_dir,
        x=x_train,
        reference=lambda j, i, t: COMPONENTS[j](t),
        feature_names=["x0: sin(pi x0)", "x1: x1^2", "x2: 0.5 x2", "x3: unused"],
        output_names=["y"],
        prefix="kan",
    )
    print("saved " + ", ".join(paths))


if __name__ == "__main__":
    main()
