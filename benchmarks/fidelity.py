"""Training fidelity: tinyBIG 0.2.1 and keras_rpn side by side, from tinyBIG's own configs.

For each configuration and seed, both train on identical data: keras_rpn with the
model imported by `keras_rpn.config.from_tinybig` (so it starts as tinyBIG's does:
`parameters_init_method`) and the learner settings imported by
`keras_rpn.config.learner_arguments`, no hand tuning; tinyBIG in its own environment
(`fidelity_tinybig.py`, one subprocess for all jobs) from the same configuration.
Prints, per configuration, the median and worst test MSE over the seeds (and the
rounded-prediction accuracy for the tabular ones, as tinyBIG reports them) and the
median training time.

Configurations (`tests/data/tinybig/` and tinyBIG's published examples):

* `feynman`: Feynman I.9.18, 9-2-2-1, extended(B-spline t=10 d=4, Taylor d=2) / lorr
  r=1 / SiLU linear remainder (313 parameters), data of `examples/function_fitting.py`;
* `elementary`: E.14 arcsinh(x + y), 2-2-1, extended(B-spline t=5 d=3, Taylor d=2) /
  lorr r=1 / zero; `composite`: C.3 exp(x + y) + ln(x + y), 2-2-2-1, nested(B-spline
  t=10 d=4, Taylor d=2) / lorr r=1 / zero. All three with tinyBIG's function-fitting
  learner: AdamW 3e-3, weight decay 1e-4, ExponentialLR 0.999, batch 100, MSE, 2000
  epochs;
* `iris`: naive Laplace / identity / linear, 4-1, the class label regressed, AdamW
  1e-2, full batch, MSE, 1000 epochs;
* `diabetes` and `banknote`: combinatorial normal (d=2) / identity / linear, AdamW
  5e-4 for 3000 epochs and 1e-2 for 1500 epochs, full batch, MSE. Neither Pima
  diabetes nor the banknote data ships with any offline package: `diabetes` uses
  scikit-learn's diabetes data (10 features) with the target split at its median
  (0/1), and `banknote` the first four features of scikit-learn's breast cancer data
  (binary); tinyBIG's configs with `m` set to those widths.

Tabular features are min-max scaled with the training split (70/30, stratified).
`--epochs` scales every learner's epoch count down (e.g. `--epochs 0.1`) when the full
protocol does not fit the time.

Setup, once, from a clone (builds tinyBIG's environment under `.tox/tinybig-oracle`):

    python tests/oracle/make_venv.py
    KERAS_BACKEND=jax python benchmarks/fidelity.py --seeds 5 [--only feynman elementary]

`--tinybig-python` (default `$TINYBIG_PYTHON`, else `.tox/tinybig-oracle/bin/python`)
names tinyBIG's Python; `--no-tinybig` runs keras_rpn alone.

`--same-init` is the diagnostic: tinyBIG trains first and dumps its initial
parameters and the sample order of every epoch; keras_rpn then starts from those
parameters (mapped as the parity tests map them, `tests/tinybig_layout.py`) and
sees the same batches in the same order, so the two trajectories differ only by
the implementations (optimizer arithmetic, float rounding). It prints the mean
training loss of both at a few epochs, per seed. With `--tinybig-untrained`, tinyBIG
only draws its start and batch orders (seconds instead of minutes): keras_rpn's
results then pair seed by seed with tinyBIG's from a run without `--same-init`
(tinyBIG's training is deterministic given the seed).
"""

import argparse
import copy
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_rpn  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")
sys.path.insert(0, os.path.join(ROOT, "tests"))  # tinybig_layout, for --same-init
CONFIGS = os.path.join(ROOT, "tests", "data", "tinybig")


def _example(name):
    spec = importlib.util.spec_from_file_location(
        f"example_{name}", os.path.join(ROOT, "examples", f"{name}.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def learner(lr, epochs, batch, weight_decay=None, gamma=None):
    """A tinyBIG `learner_configs` / `data_configs` pair."""
    optimizer = {"lr": lr}
    if weight_decay is not None:
        optimizer["weight_decay"] = weight_decay
    params = {
        "n_epochs": epochs,
        "optimizer_configs": {
            "optimizer_class": "torch.optim.AdamW",
            "optimizer_parameters": optimizer,
        },
        "loss_configs": {
            "loss_class": "torch.nn.MSELoss",
            "loss_parameters": {"reduction": "mean"},
        },
    }
    if gamma is not None:
        params["lr_scheduler_configs"] = {
            "lr_scheduler_class": "torch.optim.lr_scheduler.ExponentialLR",
            "lr_scheduler_parameters": {"gamma": gamma},
        }
    return {
        "learner_configs": {
            "learner_class": "tinybig.learner.backward_learner",
            "learner_parameters": params,
        },
        "data_configs": {"data_parameters": {"train_batch_size": batch}},
    }


def elementary_model():
    """tinyBIG's E.14 configuration, written through keras_rpn's exporter."""
    ff = _example("function_fitting")
    model = ff.PROBLEMS["elementary_arcsinh"][2][0][2]()
    model.build((None, 2))
    return model


def model_configs(name):
    """tinyBIG's current-schema `model_configs` of a configuration."""
    if name == "elementary":
        exported = keras_rpn.config.to_tinybig(elementary_model())
    else:
        # Old-schema files (Feynman) go through keras_rpn's import and export, which
        # tinyBIG 0.2.1 reads (tests/test_config.py checks the same outputs).
        exported = keras_rpn.config.to_tinybig(
            keras_rpn.config.from_tinybig(os.path.join(CONFIGS, f"{name}.yaml"))
        )
    return exported["configurations"]["model_configs"]


def with_width(configs, m):
    configs = copy.deepcopy(configs)
    layer = configs["model_parameters"]["layer_configs"][0]["layer_parameters"]
    layer["m"] = m
    for head in layer["head_configs"]:
        head["head_parameters"].pop("l", None)
        head["head_parameters"]["m"] = m
    return configs


def function_data(problem):
    ff = _example("function_fitting")
    formula, ranges, _ = ff.PROBLEMS[problem]
    return lambda rng: ff.make_data(formula, ranges, False, rng)


def tabular_data(loader, columns=None, binarise=False):
    def make(rng):
        from sklearn import datasets
        from sklearn.model_selection import train_test_split

        data = getattr(datasets, loader)()
        x, y = data.data, data.target.astype("float64")
        if columns is not None:
            x = x[:, :columns]
        if binarise:
            y = (y > np.median(y)).astype("float64")
        seed = int(rng.integers(2**31))
        x, xt, y, yt = train_test_split(x, y, test_size=0.3, random_state=seed, stratify=y)
        low, high = x.min(axis=0), x.max(axis=0)
        scale = lambda v: ((v - low) / (high - low + 1e-12)).astype("float32")  # noqa: E731
        return (scale(x), y[:, None].astype("float32")), (scale(xt), yt[:, None].astype("float32"))

    return make


def configurations():
    """`name -> (tinyBIG configuration, data(rng), classification?)`."""
    fitting = learner(3e-3, 2000, 100, weight_decay=1e-4, gamma=0.999)
    out = {}
    for name, problem in (
        ("feynman", "feynman_I.9.18"),
        ("elementary", "elementary_arcsinh"),
        ("composite", "composite_exp_ln"),
    ):
        config = {**fitting, "model_configs": model_configs(name)}
        out[name] = (config, function_data(problem), False)
    out["iris"] = (
        {**learner(1e-2, 1000, 1000), "model_configs": model_configs("iris")},
        tabular_data("load_iris"),
        True,
    )
    diabetes = model_configs("diabetes")
    out["diabetes"] = (
        {**learner(5e-4, 3000, 1000), "model_configs": with_width(diabetes, 10)},
        tabular_data("load_diabetes", binarise=True),
        True,
    )
    out["banknote"] = (
        {**learner(1e-2, 1500, 1000), "model_configs": with_width(diabetes, 4)},
        tabular_data("load_breast_cancer", columns=4),
        True,
    )
    return out


def scale_epochs(config, factor):
    config = copy.deepcopy(config)
    params = config["learner_configs"]["learner_parameters"]
    params["n_epochs"] = max(1, round(params["n_epochs"] * factor))
    return config


class OrderedBatches(keras.utils.PyDataset):
    """The batches of `x, y` in the sample order `orders[e]` of each epoch `e`.

    `callback` tells it the epoch `fit` is in (Keras' own epoch counter, the one the
    learning-rate schedule sees too).
    """

    def __init__(self, x, y, orders, batch_size):
        super().__init__()
        self.x, self.y, self.orders, self.batch_size = x, y, orders, batch_size
        self.steps = -(-len(x) // batch_size)
        self.epoch = 0
        self.callback = keras.callbacks.LambdaCallback(
            on_epoch_begin=lambda epoch, logs: setattr(self, "epoch", epoch)
        )

    def __len__(self):
        return self.steps

    def __getitem__(self, index):
        idx = self.orders[self.epoch][index * self.batch_size : (index + 1) * self.batch_size]
        return self.x[idx], self.y[idx]


def run_keras(config, data, classification, seed, start_from=None):
    """Trains keras_rpn; `start_from=(named_parameters, orders)` sets tinyBIG's initial
    parameters and epoch orders."""
    keras.utils.set_random_seed(seed)
    (x, y), (xt, yt) = data
    model = keras_rpn.config.from_tinybig({"configurations": config})
    compile_kwargs, fit_kwargs = keras_rpn.config.learner_arguments({"configurations": config})
    model.compile(**compile_kwargs)
    if start_from is not None:
        from tinybig_layout import set_model_weights

        state, orders = start_from
        model.build(x.shape)
        set_model_weights(model, state)
        batches = OrderedBatches(x, y, orders, fit_kwargs.pop("batch_size"))
        x, y = batches, None
        fit_kwargs["shuffle"] = False
        fit_kwargs["callbacks"] = [*fit_kwargs.get("callbacks", []), batches.callback]
    start = time.perf_counter()
    history = model.fit(x, y, verbose=0, **fit_kwargs)
    seconds = time.perf_counter() - start
    if start_from is not None and batches.epoch + 1 != fit_kwargs["epochs"]:
        raise RuntimeError(f"{batches.epoch + 1} epochs of batches, not {fit_kwargs['epochs']}")
    pred = keras.ops.convert_to_numpy(model.predict(xt, batch_size=1000, verbose=0))
    accuracy = float(np.mean(np.round(pred) == yt)) if classification else None
    return {
        "test_mse": float(np.mean((pred - yt) ** 2)),
        "test_accuracy": accuracy,
        "seconds": seconds,
        "parameters": model.count_params(),
        "epoch_loss": [float(v) for v in history.history["loss"]],
    }


def run_tinybig(python, jobs):
    with tempfile.TemporaryDirectory() as tmp:
        arrays = {"__jobs__": np.array(json.dumps([j for j, _ in jobs]))}
        for job, ((x, y), (xt, yt)) in jobs:
            for key, value in (("x_train", x), ("y_train", y), ("x_test", xt), ("y_test", yt)):
                arrays[f"{job['id']}:{key}"] = value
        request, response = os.path.join(tmp, "request.npz"), os.path.join(tmp, "response.json")
        np.savez(request, **arrays)
        subprocess.run(
            [python, os.path.join(HERE, "fidelity_tinybig.py"), request, response], check=True
        )
        with open(response) as f:
            answers = json.load(f)
        dumped = os.path.join(tmp, "response.npz")
        if os.path.exists(dumped):
            with np.load(dumped) as arrays:
                for answer in answers.values():
                    if "orders" in answer:
                        answer["start_from"] = (
                            {k.split(":init:")[1]: arrays[k] for k in answer.pop("initial")},
                            arrays[answer.pop("orders")],
                        )
        return answers


def default_tinybig_python():
    env = os.environ.get("TINYBIG_PYTHON")
    if env:
        return env
    return os.path.join(ROOT, ".tox", "tinybig-oracle", "bin", "python")


def print_trajectories(names, results):
    """Mean training loss of both runs at a few epochs, per seed."""
    for name in names:
        pairs = zip(results[(name, "tinyBIG")], results[(name, "keras_rpn")], strict=True)
        for theirs, ours in pairs:
            epochs = len(theirs["epoch_loss"])
            marks = sorted({e for e in (1, 10, 100, 200, 500, 1000, epochs) if e <= epochs})
            cells = "; ".join(
                f"{e}: {theirs['epoch_loss'][e - 1]:.3g} / {ours['epoch_loss'][e - 1]:.3g}"
                for e in marks
            )
            print(
                f"{name} seed {theirs['seed']} train loss tinyBIG / keras_rpn, epoch {cells}; "
                f"test {theirs['test_mse']:.3g} / {ours['test_mse']:.3g}"
            )


def save(path, results, same_init):
    """`{configuration: {run: {seed: result}}}` as JSON, the training curves left out."""
    out = {}
    for (name, run), rows in results.items():
        if same_init and run == "keras_rpn":
            run = "keras_rpn, from tinyBIG's start and batches"
        out.setdefault(name, {})[run] = {
            str(r["seed"]): {k: v for k, v in r.items() if k not in ("epoch_loss", "seed")}
            for r in rows
        }
    with open(path, "w") as f:
        json.dump(out, f, indent=1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1")
    parser.add_argument("--seed-list", type=int, nargs="+", help="these seeds instead")
    parser.add_argument("--only", nargs="+", help="configuration names")
    parser.add_argument("--epochs", type=float, default=1.0, help="factor on every n_epochs")
    parser.add_argument("--tinybig-python", default=default_tinybig_python())
    parser.add_argument("--no-tinybig", action="store_true")
    parser.add_argument(
        "--save", metavar="JSON", help="write every seed's results here (for fidelity_report.py)"
    )
    parser.add_argument(
        "--same-init",
        action="store_true",
        help="keras_rpn starts from tinyBIG's initial parameters and batches",
    )
    parser.add_argument(
        "--tinybig-untrained",
        action="store_true",
        help="with --same-init: tinyBIG draws its start and orders, no training",
    )
    args = parser.parse_args()
    if args.tinybig_untrained and not args.same_init:
        parser.error("--tinybig-untrained goes with --same-init")
    if args.same_init and args.no_tinybig:
        parser.error("--same-init needs tinyBIG")
    configs = configurations()
    names = args.only or list(configs)
    seeds = args.seed_list or list(range(args.seeds))
    print(
        f"keras {keras.__version__}, backend {keras.backend.backend()}, seeds "
        f"{', '.join(map(str, seeds))}, epochs x{args.epochs}"
        + (", keras_rpn from tinyBIG's start and batches" if args.same_init else ""),
        flush=True,
    )
    results, jobs = {}, []
    for name in names:
        config, make_data, classification = configs[name]
        config = scale_epochs(config, args.epochs)
        for seed in seeds:
            job = {
                "id": f"{name}-{seed}",
                "seed": seed,
                "configurations": config,
                "classification": classification,
                "dump": args.same_init,
                "train": not args.tinybig_untrained,
            }
            jobs.append((job, make_data(np.random.default_rng(seed))))
    answers = {}
    if not args.no_tinybig:
        if not os.path.exists(args.tinybig_python):
            sys.exit(f"No tinyBIG Python at {args.tinybig_python}: run tests/oracle/make_venv.py")
        if args.same_init:
            answers = run_tinybig(args.tinybig_python, jobs)
    for job, data in jobs:
        name, seed = job["id"].rsplit("-", 1)[0], job["seed"]
        start_from = answers[job["id"]].pop("start_from") if args.same_init else None
        result = run_keras(job["configurations"], data, job["classification"], seed, start_from)
        result["seed"] = seed
        results.setdefault((name, "keras_rpn"), []).append(result)
        brief = {k: v for k, v in result.items() if k != "epoch_loss"}
        print(f"{name} keras_rpn seed {seed}: {brief}", flush=True)
    if not args.no_tinybig and not args.same_init:
        answers = run_tinybig(args.tinybig_python, jobs)
    for job, _ in jobs:
        if answers and not args.tinybig_untrained:
            results.setdefault((job["id"].rsplit("-", 1)[0], "tinyBIG"), []).append(
                {**answers[job["id"]], "seed": job["seed"]}
            )
    if args.same_init and not args.tinybig_untrained:
        print_trajectories(names, results)
    if args.save:
        save(args.save, results, args.same_init)
    print(
        "\n| configuration | run | parameters | median test MSE | worst test MSE "
        "| median accuracy | worst accuracy | median train time |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name in names:
        for run in ("tinyBIG", "keras_rpn"):
            rows = results.get((name, run))
            if not rows:
                continue
            mse = [r["test_mse"] for r in rows]
            acc = [r["test_accuracy"] for r in rows if r["test_accuracy"] is not None]
            accs = f"{statistics.median(acc):.4f} | {min(acc):.4f}" if acc else "- | -"
            print(
                f"| {name} | {run} | {rows[0]['parameters']} | {statistics.median(mse):.3g} | "
                f"{max(mse):.3g} | {accs} | "
                f"{statistics.median(r['seconds'] for r in rows):.1f} s |"
            )


if __name__ == "__main__":
    main()
