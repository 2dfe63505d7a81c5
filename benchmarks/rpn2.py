"""RPN 2 heads beside the Keras layers they imitate: training-step time ratios.

Pairs (same input shapes, same backend, same process, one training step = forward,
loss, backward and Adam update through `train_on_batch`):

* `grid`: `GridHead(32)` (3x3 patch, stride 1) + flatten + `RPNLayer(10)` against
  `Conv2D(32, 3, padding="same")` + flatten + `Dense(10)`, on `(batch, 16, 16, 8)`;
* `bilinear`: `BilinearHead(64, rank=64)` against
  `MultiHeadAttention(num_heads=1, key_dim=64)`, on `(batch, 32, 64)` tokens;
* `chain`: `ChainHead(64)` against `SimpleRNN(64, return_sequences=True)`, on
  `(batch, 32, 64)`.

The machine may be shared: each pair's two models are timed in alternating rounds
(`--rounds` rounds of `--steps` steps each, after `--warmup` steps), and the table gives
the median step time of each and their ratio. Every backend runs in its own subprocess.

    python benchmarks/rpn2.py                        # all three backends
    python benchmarks/rpn2.py --backends jax --steps 20 --rounds 5

Measured 2026-12-01 with the defaults (batch 64, median of 5 interleaved rounds of 10
steps), keras 3.15.1, on a 2-core CPU shared with other jobs (load average 13 to 19:
absolute times are inflated, torch's most; the ratios come from interleaved rounds).
Ratio = keras_rpn / Keras (target <= 1.5), the two step times in ms in brackets:

| pair | TensorFlow | PyTorch (eager) | JAX |
|---|---|---|---|
| GridHead+RPNLayer / Conv2D+Dense | 1.48 (14.3 / 9.6) | 1.36 (1194 / 879) | 1.00 (20.0 / 20.0) |
| BilinearHead / MultiHeadAttention | 0.74 (22.9 / 31.0) | 0.70 (261 / 371) | 1.38 (23.9 / 17.3) |
| ChainHead / SimpleRNN | 0.94 (37.5 / 39.9) | 0.14 (307 / 2275) | 0.56 (2.2 / 4.0) |

The bilinear row was re-measured (same protocol, the bilinear pair alone) after the
low-rank scores were computed as `(x W_q)(x W_k)^T` at width `r`; before, through the
interdependence's `m`-wide `u psi(w)^T`, JAX took 2.12x MultiHeadAttention. tinyBIG's
equivalents are not timed here: its bilinear head crashes, and its grid and chain heads
mix across the batch rows, so they compute something else on these shapes.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
PAIRS = ("grid", "bilinear", "chain")


def build_pair(name):
    """`(keras_rpn model, Keras model, input shape, output shape)` of a pair."""
    import keras

    from keras_rpn import layers

    if name == "grid":
        shape, out = (16, 16, 8), (10,)
        rpn = [layers.GridHead(32), keras.layers.Flatten(), layers.RPNLayer(10)]
        reference = [
            keras.layers.Conv2D(32, 3, padding="same"),
            keras.layers.Flatten(),
            keras.layers.Dense(10),
        ]
        return _model(shape, rpn), _model(shape, reference), shape, out
    shape, out = (32, 64), (32, 64)
    if name == "bilinear":
        tokens = keras.Input(shape)
        attention = keras.layers.MultiHeadAttention(num_heads=1, key_dim=64)(tokens, tokens)
        return (
            _model(shape, [layers.BilinearHead(64, rank=64)]),
            keras.Model(tokens, attention),
            shape,
            out,
        )
    rpn = _model(shape, [layers.ChainHead(64)])
    return rpn, _model(shape, [keras.layers.SimpleRNN(64, return_sequences=True)]), shape, out


def _model(shape, stack):
    import keras

    return keras.Sequential([keras.Input(shape)] + stack)


def time_pair(name, batch, steps, warmup, rounds):
    import keras
    import numpy as np

    rpn, reference, shape, out = build_pair(name)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(batch,) + shape).astype("float32")
    y = rng.normal(size=(batch,) + out).astype("float32")
    models = {"keras_rpn": rpn, "keras": reference}
    for model in models.values():
        model.compile(keras.optimizers.Adam(1e-3), "mse")
        for _ in range(warmup):
            model.train_on_batch(x, y)
    times = {key: [] for key in models}
    for _ in range(rounds):
        for key, model in models.items():
            for _ in range(steps):
                start = time.perf_counter()
                model.train_on_batch(x, y)
                times[key].append(time.perf_counter() - start)
    medians = {key: statistics.median(values) * 1e3 for key, values in times.items()}
    return {
        "pair": name,
        "backend": keras.backend.backend(),
        "keras_rpn_ms": medians["keras_rpn"],
        "keras_ms": medians["keras"],
        "ratio": medians["keras_rpn"] / medians["keras"],
        "params": [rpn.count_params(), reference.count_params()],
    }


def worker(args):
    for name in args.pairs.split(","):
        result = time_pair(name, args.batch, args.steps, args.warmup, args.rounds)
        print("RESULT " + json.dumps(result), flush=True)


LABELS = {
    "grid": ("GridHead + RPNLayer", "Conv2D + Dense"),
    "bilinear": ("BilinearHead (rank 64)", "MultiHeadAttention(num_heads=1)"),
    "chain": ("ChainHead", "SimpleRNN"),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backends", default="tensorflow,torch,jax")
    parser.add_argument("--pairs", default=",".join(PAIRS))
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    results = []
    for backend in args.backends.split(","):
        env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
        env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
        if args.threads:
            for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS"):
                env[var] = str(args.threads)
        command = [sys.executable, os.path.abspath(__file__), "--worker"]
        for key in ("pairs", "batch", "steps", "warmup", "rounds"):
            command += [f"--{key}", str(getattr(args, key))]
        run = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        lines = [line for line in run.stdout.splitlines() if line.startswith("RESULT ")]
        if run.returncode != 0 or not lines:
            print(f"{backend}: failed\n{run.stderr[-2000:]}")
        results += [json.loads(line[len("RESULT ") :]) for line in lines]
    print(
        f"\nbatch {args.batch}; median of {args.rounds} x {args.steps} training steps per model, "
        "interleaved"
    )
    print("| pair | backend | keras_rpn | ms/step | Keras | ms/step | ratio |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        ours, theirs = LABELS[r["pair"]]
        print(
            f"| {r['pair']} | {r['backend']} | {ours} | {r['keras_rpn_ms']:.2f} | {theirs} | "
            f"{r['keras_ms']:.2f} | {r['ratio']:.2f} |"
        )


if __name__ == "__main__":
    main()
