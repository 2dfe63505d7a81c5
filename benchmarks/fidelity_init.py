"""Do keras_rpn's imported models start where tinyBIG's start? A check over many seeds.

For each configuration of `fidelity.py` and seeds 0..N-1, tinyBIG (in its own
environment) draws its initial parameters, and keras_rpn imports the same
configuration with `keras_rpn.config.from_tinybig` (tinyBIG's
`parameters_init_method`). The two libraries draw from their own random generators,
so no seed gives both the same numbers; what must agree is the distribution. Prints,
per configuration:

* every trainable tensor's pooled values over the seeds in both libraries (standard
  deviation, largest magnitude, mean) and the two-sample Kolmogorov-Smirnov p-value
  of "one distribution" (tinyBIG's tensors mapped onto keras_rpn's weights as the
  paired run `fidelity.py --same-init` maps them, `tests/tinybig_layout.py`);
* the untrained models' test MSE over the seeds in both libraries, with its KS p-value.

    python benchmarks/fidelity_init.py --seeds 100 [--only elementary iris]

Needs scipy, and tinyBIG's environment (see `fidelity.py`).
"""

import argparse
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_rpn  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fidelity  # noqa: E402


def draws(name, seeds, python):
    """Per seed: tinyBIG's initial tensors and untrained test MSE, and keras_rpn's."""
    config, make_data, classification = fidelity.configurations()[name]
    config = fidelity.scale_epochs(config, 0.0)  # one epoch of batch orders, no training
    jobs = [
        (
            {
                "id": f"{name}-{seed}",
                "seed": seed,
                "configurations": config,
                "classification": classification,
                "dump": True,
                "train": False,
            },
            make_data(np.random.default_rng(seed)),
        )
        for seed in seeds
    ]
    answers = fidelity.run_tinybig(python, jobs)
    from tinybig_layout import set_model_weights  # on the path that fidelity.py sets

    theirs, ours, names = [], [], None
    for job, (_, (x_test, y_test)) in jobs:
        answer = answers[job["id"]]
        keras.utils.set_random_seed(job["seed"])
        model = keras_rpn.config.from_tinybig({"configurations": config})
        prediction = keras.ops.convert_to_numpy(model(x_test))
        ours.append((_trainable(model), float(np.mean((prediction - y_test) ** 2))))
        # tinyBIG's start in keras_rpn's layout, as the paired run (--same-init) sets it.
        mirror = keras_rpn.config.from_tinybig({"configurations": config})
        mirror.build(x_test.shape)
        set_model_weights(mirror, answer["start_from"][0])
        theirs.append((_trainable(mirror), answer["test_mse"]))
        names = names or [w.path.split("/", 1)[1] for w in model.trainable_weights]
    return names, theirs, ours


def _trainable(model):
    return [keras.ops.convert_to_numpy(w) for w in model.trainable_weights]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=100, help="seeds 0..N-1")
    parser.add_argument("--only", nargs="+", help="configuration names")
    parser.add_argument("--tinybig-python", default=fidelity.default_tinybig_python())
    args = parser.parse_args()
    from scipy import stats

    for name in args.only or list(fidelity.configurations()):
        names, theirs, ours = draws(name, range(args.seeds), args.tinybig_python)
        print(f"{name} ({args.seeds} seeds)")
        for k, tensor in enumerate(names):
            a = np.concatenate([np.ravel(t[0][k]) for t in theirs])
            b = np.concatenate([np.ravel(o[0][k]) for o in ours])
            p = stats.ks_2samp(a, b).pvalue
            print(
                f"  {tensor}: {a.size // args.seeds} values; std {a.std():.4f} / {b.std():.4f}, "
                f"max |.| {np.abs(a).max():.4f} / {np.abs(b).max():.4f}, "
                f"mean {a.mean():+.4f} / {b.mean():+.4f} (tinyBIG / keras_rpn), KS p {p:.2f}"
            )
        a, b = [t[1] for t in theirs], [o[1] for o in ours]
        print(
            f"  untrained test MSE, median: {np.median(a):.4g} / {np.median(b):.4g}, "
            f"KS p {stats.ks_2samp(a, b).pvalue:.2f}"
        )


if __name__ == "__main__":
    main()
