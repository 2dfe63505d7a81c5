"""Which default initialisation of the head kernel: measured over seeds, on two jobs.

Candidates (the head kernel only; everything else as in the examples):

* `glorot_psi`: `psi(w)` gets the Glorot variance `2 / (n + D)` (each reconciliation
  solves for the scale of `w`), the default before this measurement;
* `tinybig_xavier`: tinyBIG's xavier_uniform on the flat `(C, l)` kernel,
  `U(+-sqrt(6 / (C + l)))` (`keras_rpn.initializers.TinyBIG("xavier_uniform")`);
* `default`: whatever the installed keras_rpn uses by default (`kernel_initializer=None`).

Jobs:

* `fitting`: the four functions of `examples/function_fitting.py` (Feynman I.9.18 with
  tinyBIG's configuration, II.35.18, tinyBIG's elementary E.14 and composite C.3), on
  that script's data draws, with tinyBIG's learner settings (AdamW 3e-3, weight decay
  1e-4, learning rate x0.999 per epoch, batch 100, MSE); metric: test MSE (lower is
  better);
* `classification`: digits (`examples/digits.py`'s split) with the KAN preset, Taylor
  (d=2, layer norm) + LoRR (r=4) and the MLP preset, AdamW, batch 64; iris, wine and
  breast cancer (70/30 stratified, standardised) with a B-spline/identity RPN
  `[m, 16, classes]`; metric: test accuracy (higher is better).

For every (job, model, candidate) it prints the median and the worst seed.

    KERAS_BACKEND=jax python benchmarks/initialisation.py --job fitting --epochs 2000 --seeds 5
    KERAS_BACKEND=jax python benchmarks/initialisation.py --job classification --seeds 5
"""

import argparse
import importlib.util
import os
import statistics
import time

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_rpn  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
CANDIDATES = {
    "default": lambda: None,
    "glorot_psi": lambda: keras_rpn.initializers.GlorotPsi(),
    "tinybig_xavier": lambda: keras_rpn.initializers.TinyBIG("xavier_uniform"),
}


def example(name):
    """Imports `examples/<name>.py` (the data and models are the examples' own)."""
    path = os.path.join(HERE, "..", "examples", f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"example_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fitting_runs(epochs, seeds, candidates, only=None):
    ff = example("function_fitting")
    for problem, (formula, ranges, models) in ff.PROBLEMS.items():
        label, scale, build = models[0]  # the RPN of each problem
        if only and only not in problem:
            continue
        for candidate in candidates:
            for seed in seeds:
                keras.utils.set_random_seed(seed)
                rng = np.random.default_rng(seed)
                (x, y), (xt, yt) = ff.make_data(formula, ranges, scale, rng)
                model = build(kernel_initializer=CANDIDATES[candidate]())
                schedule = keras.optimizers.schedules.ExponentialDecay(
                    3e-3, decay_steps=-(-len(x) // 100), decay_rate=0.999, staircase=True
                )
                model.compile(
                    keras.optimizers.AdamW(schedule, weight_decay=1e-4),
                    loss="mse",
                    steps_per_execution=10,  # one epoch per call: less dispatch
                )
                start = time.perf_counter()
                model.fit(x, y, epochs=epochs, batch_size=100, verbose=0)
                seconds = time.perf_counter() - start
                mse = model.evaluate(xt, yt, batch_size=1000, verbose=0)
                yield problem, candidate, seed, mse, seconds


def tabular_data(name, seed):
    from sklearn import datasets
    from sklearn.model_selection import train_test_split

    data = getattr(datasets, f"load_{name}")()
    x_train, x_test, y_train, y_test = train_test_split(
        data.data, data.target, test_size=0.3, random_state=seed, stratify=data.target
    )
    mean, std = x_train.mean(axis=0), x_train.std(axis=0) + 1e-8
    return (
        ((x_train - mean) / std).astype("float32"),
        ((x_test - mean) / std).astype("float32"),
        y_train,
        y_test,
    )


def classification_models(kernel_initializer):
    """`name -> (data name, model factory, learning rate, epochs, batch size)`."""
    init = {"kernel_initializer": kernel_initializer}
    taylor = {"class_name": "taylor", "config": {"d": 2, "postprocessing": "layer_norm"}}
    lorr = {"class_name": "lorr", "config": {"r": 4}}
    return {
        "digits KAN": ("digits", lambda: keras_rpn.models.KAN([64, 32, 10], **init), 3e-3),
        "digits Taylor+LoRR": (
            "digits",
            lambda: keras_rpn.models.RPN(
                [64, 32, 10], expansion=taylor, reconciliation=lorr, **init
            ),
            1e-2,
        ),
        "digits MLP": ("digits", lambda: keras_rpn.models.MLP([64, 64, 10], **init), 3e-3),
        **{
            f"{name} B-spline": (
                name,
                lambda m=m, k=k: keras_rpn.models.RPN(
                    [m, 16, k], expansion="bspline", use_bias=True, **init
                ),
                1e-2,
            )
            for name, m, k in (("iris", 4, 3), ("wine", 13, 3), ("breast_cancer", 30, 2))
        },
    }


def classification_runs(epochs, seeds, candidates, only=None):
    digits = example("digits")
    for candidate in candidates:
        models = classification_models(CANDIDATES[candidate]())
        for label, (data, build, learning_rate) in models.items():
            if only and only not in label:
                continue
            for seed in seeds:
                keras.utils.set_random_seed(seed)
                if data == "digits":
                    x, xt, y, yt = digits.load_data(seed)
                else:
                    x, xt, y, yt = tabular_data(data, seed)
                model = build()
                model.compile(
                    keras.optimizers.AdamW(learning_rate, weight_decay=1e-4),
                    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                    metrics=["accuracy"],
                    steps_per_execution=8,  # less dispatch, the same steps
                )
                start = time.perf_counter()
                model.fit(x, y, epochs=epochs, batch_size=64, verbose=0)
                seconds = time.perf_counter() - start
                _, accuracy = model.evaluate(xt, yt, verbose=0)
                yield label, candidate, seed, accuracy, seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--job", choices=("fitting", "classification"), default="fitting")
    parser.add_argument("--epochs", type=int, help="default: 2000 (fitting), 40 (classification)")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument(
        "--candidates",
        nargs="+",
        choices=sorted(CANDIDATES),
        default=["glorot_psi", "tinybig_xavier"],
    )
    parser.add_argument("--only", help="run the problems/models whose name contains this")
    args = parser.parse_args()
    fitting = args.job == "fitting"
    epochs = args.epochs or (2000 if fitting else 40)
    runs = (fitting_runs if fitting else classification_runs)(
        epochs, range(args.seeds), args.candidates, args.only
    )
    print(
        f"keras {keras.__version__}, backend {keras.backend.backend()}; {args.job}, "
        f"{epochs} epochs, seeds 0..{args.seeds - 1}"
    )
    results = {}
    for name, candidate, seed, value, seconds in runs:
        results.setdefault((name, candidate), []).append(value)
        print(f"{name:<22}{candidate:<16}seed {seed}: {value:.4g} ({seconds:.1f} s)", flush=True)
    metric = "test MSE" if fitting else "test accuracy"
    worst = max if fitting else min
    print(f"\n| {'task':<22} | {'initialisation':<15} | median {metric} | worst seed |")
    print("|---|---|---|---|")
    for (name, candidate), values in results.items():
        print(
            f"| {name:<22} | {candidate:<15} | {statistics.median(values):.3g} | "
            f"{worst(values):.3g} |"
        )


if __name__ == "__main__":
    main()
