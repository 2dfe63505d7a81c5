"""Continuous function fitting with RPNs, on data generated from four formulas.

* Feynman I.9.18: F = G m1 m2 / ((x2-x1)^2 + (y2-y1)^2 + (z2-z1)^2),
  with G, m1, m2, x2, y2, z2 in [1, 2] and x1, y1, z1 in [3, 4];
* Feynman II.35.18: n = n0 / (exp(mom B / (kb T)) + exp(-mom B / (kb T))),
  with n0, mom, B, kb, T in [1, 3];
* elementary (tinyBIG's E.14): arcsinh(x + y), x, y in (0, 0.5);
* composite (tinyBIG's C.3): exp(x + y) + ln(x + y), x, y in (0, 1).

Samples are drawn uniformly, 2000 per function, half for training (as tinyBIG does);
targets are left on the formula's own scale, so the printed test MSE is too. Models
(kappa / psi / pi, dims), trained with AdamW (lr 3e-3, weight decay 1e-4, learning rate
times 0.999 per epoch), batch 100, MSE, tinyBIG's schedule:

* RPN, tinyBIG's Feynman configuration: extended(B-spline t=10 d=4, Taylor d=2) / lorr
  r=1 / linear + SiLU, 9-2-2-1, no bias, on the raw inputs (as tinyBIG feeds them);
* RPN for II.35.18 (tinyBIG publishes no configuration for it): the same functions,
  5-4-4-1 with biases, on inputs mapped linearly to [-1, 1];
* elementary: extended(B-spline t=5 d=3, Taylor d=2) / lorr r=1 / zero, 2-2-1;
  composite: nested(B-spline t=10 d=4, then Taylor d=2) / lorr r=1 / zero, 2-2-2-1
  (tinyBIG's configurations; the inputs already lie in the B-spline grid [-1, 1]);
* baselines on the Feynman functions, inputs mapped to [-1, 1]: the KAN preset
  (9-5-1 or 5-5-1, t=10, grid [-2, 2]) and the MLP preset (two hidden layers of 32).

Every model trains on `--seeds` data draws and initialisations (seeds `--seed`,
`--seed` + 1, ...; default 5) and the table gives the median and the worst test MSE
over them, so one lucky or unlucky seed does not decide a row. The default of 500
epochs keeps the run to a few minutes on two CPU cores; `--epochs 2000` is tinyBIG's
schedule, `--seeds 1` a quick look.

    KERAS_BACKEND=jax python examples/function_fitting.py \
        [--epochs 500] [--seeds 5] [--only feynman_I.9.18]
"""

import argparse
import statistics
import time

import keras
import numpy as np

import keras_rpn


def feynman_i_9_18(v):
    g, m1, m2, x1, y1, z1, x2, y2, z2 = v.T
    return g * m1 * m2 / ((x2 - x1) ** 2 + (y2 - y1) ** 2 + (z2 - z1) ** 2)


def feynman_ii_35_18(v):
    n0, mom, b, kb, t = v.T
    a = mom * b / (kb * t)
    return n0 / (np.exp(a) + np.exp(-a))


def elementary(v):
    return np.arcsinh(v[:, 0] + v[:, 1])


def composite(v):
    s = v[:, 0] + v[:, 1]
    return np.exp(s) + np.log(s)


def bspline_taylor(t, d, nested=False):
    children = [
        {"class_name": "bspline", "config": {"t": t, "d": d}},
        {"class_name": "taylor", "config": {"d": 2}},
    ]
    kind = "nested" if nested else "extended"
    return {"class_name": kind, "config": {"composition_functions": children}}


LORR_1 = {"class_name": "lorr", "config": {"r": 1}}
SILU_LINEAR = {"class_name": "linear", "config": {"activation": "silu"}}


def feynman_rpn(m, hidden, use_bias, **kwargs):
    return keras_rpn.models.RPN(
        [m, hidden, hidden, 1],
        expansion=bspline_taylor(10, 4),
        reconciliation=LORR_1,
        remainder=SILU_LINEAR,
        use_bias=use_bias,
        **kwargs,
    )


def baselines(m):
    return [
        ("KAN", True, lambda **kw: keras_rpn.models.KAN([m, 5, 1], t=10, grid_range=(-2, 2), **kw)),
        ("MLP", True, lambda **kw: keras_rpn.models.MLP([m, 32, 32, 1], **kw)),
    ]


# name: (formula, per-input (low, high), [(model, scale inputs to [-1, 1]?, factory)]);
# factories take RPNHead keyword arguments (benchmarks/initialisation.py passes
# `kernel_initializer`).
PROBLEMS = {
    "feynman_I.9.18": (
        feynman_i_9_18,
        [(1, 2)] * 3 + [(3, 4)] * 3 + [(1, 2)] * 3,
        [("RPN", False, lambda **kw: feynman_rpn(9, 2, use_bias=False, **kw))] + baselines(9),
    ),
    "feynman_II.35.18": (
        feynman_ii_35_18,
        [(1, 3)] * 5,
        [("RPN", True, lambda **kw: feynman_rpn(5, 4, use_bias=True, **kw))] + baselines(5),
    ),
    "elementary_arcsinh": (
        elementary,
        [(0, 0.5)] * 2,
        [
            (
                "RPN",
                False,
                lambda **kw: keras_rpn.models.RPN(
                    [2, 2, 1],
                    expansion=bspline_taylor(5, 3),
                    reconciliation=LORR_1,
                    use_bias=False,
                    **kw,
                ),
            )
        ],
    ),
    "composite_exp_ln": (
        composite,
        [(0, 1)] * 2,
        [
            (
                "RPN",
                False,
                lambda **kw: keras_rpn.models.RPN(
                    [2, 2, 2, 1],
                    expansion=bspline_taylor(10, 4, nested=True),
                    reconciliation=LORR_1,
                    use_bias=False,
                    **kw,
                ),
            )
        ],
    ),
}


def make_data(formula, ranges, scale, rng, n=2000):
    """`(x_train, y_train), (x_test, y_test)`: uniform samples, split in half."""
    low, high = np.array(ranges, dtype="float64").T
    v = rng.uniform(low, high, (n, len(ranges)))
    y = formula(v)[:, None]
    x = 2.0 * (v - low) / (high - low) - 1.0 if scale else v
    half = n // 2
    x, y = x.astype("float32"), y.astype("float32")
    return (x[:half], y[:half]), (x[half:], y[half:])


def fit_once(formula, ranges, scale, build, epochs, seed):
    """`(parameters, test MSE, training seconds)` of one model on the draw of `seed`."""
    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    (x_train, y_train), (x_test, y_test) = make_data(formula, ranges, scale, rng)
    model = build()
    steps = -(-len(x_train) // 100)
    schedule = keras.optimizers.schedules.ExponentialDecay(
        3e-3, decay_steps=steps, decay_rate=0.999, staircase=True
    )
    model.compile(keras.optimizers.AdamW(schedule, weight_decay=1e-4), loss="mse")
    start = time.perf_counter()
    model.fit(x_train, y_train, epochs=epochs, batch_size=100, verbose=0)
    seconds = time.perf_counter() - start
    mse = model.evaluate(x_test, y_test, batch_size=1000, verbose=0)
    return model.count_params(), mse, seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0, help="the first seed")
    parser.add_argument("--seeds", type=int, default=5, help="how many seeds")
    parser.add_argument("--only", choices=sorted(PROBLEMS), help="fit one function only")
    args = parser.parse_args()
    if args.seeds < 1:
        parser.error(f"--seeds must be at least 1, got {args.seeds}")
    seeds = range(args.seed, args.seed + args.seeds)
    print(
        f"keras {keras.__version__}, backend {keras.backend.backend()}; {args.epochs} "
        f"epochs, seeds {seeds.start}..{seeds.stop - 1}"
    )
    rows = []
    for name, (formula, ranges, candidates) in PROBLEMS.items():
        if args.only and name != args.only:
            continue
        for label, scale, build in candidates:
            errors, times = [], []
            for seed in seeds:
                params, mse, seconds = fit_once(formula, ranges, scale, build, args.epochs, seed)
                errors.append(mse)
                times.append(seconds)
                print(
                    f"{name} {label} seed {seed}: {params} parameters, test MSE {mse:.3e} "
                    f"({seconds:.1f} s)",
                    flush=True,
                )
            rows.append(
                (
                    name,
                    label,
                    params,
                    statistics.median(errors),
                    max(errors),
                    statistics.median(times),
                )
            )
    print(
        f"\n{'function':<20}{'model':>6}{'parameters':>12}{'median MSE':>12}"
        f"{'worst MSE':>12}{'train time':>12}"
    )
    for name, label, params, median, worst, seconds in rows:
        print(f"{name:<20}{label:>6}{params:>12}{median:>12.3e}{worst:>12.3e}{seconds:>10.1f} s")


if __name__ == "__main__":
    main()
