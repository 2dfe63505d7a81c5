"""Shared benchmark harness: model specs and the one-pair worker.

Run as a script, this file is the *worker*: it times ONE (implementation, config,
backend) pair in a fresh process (so that `ru_maxrss` is that pair's peak RSS) and
prints one JSON line. `run.py` and `sweep.py` start it as a subprocess with
`KERAS_BACKEND` set; it is not meant to be imported under a different backend.

    KERAS_BACKEND=jax python benchmarks/_harness.py --impl keras_rpn --config bspline_kan

Measurement (keras_rpn and every Keras anchor of `keras_anchors.py` alike, and the same
protocol as `tinybig_anchors.py`, so the ratios compare like with like):
`model.compile(Adam(1e-3), sparse CE from logits, jit_compile=...)`, first
`train_on_batch` (compile), `warmup - 1` more, then the median of `steps` timed
`train_on_batch` calls; forward = median `predict_on_batch`; for cheap configs also the
per-step mean of one `model.fit` epoch of 20 batches. Memory: `_memory.MemoryProbe`
around everything the model does, after the framework is imported and warmed up.
"""

import argparse
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from keras_anchors import ANCHORS  # noqa: E402  (numpy only; Keras is imported later)

# --------------------------------------------------------------------------------------
# Configs. Each keras_rpn config is an RPN(dims, ...) model; `anchors` name what it is
# compared with: `keras` = anchors of keras_anchors.py (same backend, same worker),
# `tinybig` = whether tinybig_anchors.py has the config.
# --------------------------------------------------------------------------------------

_LINEAR_SILU = {"class_name": "linear", "config": {"activation": "silu"}}

CONFIGS = {
    "identity_mlp": {
        "doc": "identity expansion + identity reconciliation + bias, ReLU between layers (= MLP)",
        "dims": [784, 64, 10],
        "kwargs": {
            "expansion": "identity",
            "reconciliation": "identity",
            "remainder": "zero",
            "use_bias": True,
            "activation": "relu",
        },
        "anchors": {"keras": ["dense_mlp"], "tinybig": True},
    },
    "bspline_kan": {
        "doc": "B-spline t=5 d=3 + identity reconciliation, no bias, linear remainder with SiLU",
        "dims": [784, 64, 10],
        "kwargs": {
            "expansion": {"class_name": "bspline", "config": {"t": 5, "d": 3}},
            "reconciliation": "identity",
            "remainder": _LINEAR_SILU,
            "use_bias": False,
        },
        "anchors": {"keras": ["efficient_kan", "bspline_kan"], "tinybig": True},
    },
    "taylor2_lorr2": {
        "doc": "Taylor d=2 + low-rank r=2 + bias, zero remainder",
        "dims": [784, 64, 10],
        "kwargs": {
            "expansion": {"class_name": "taylor", "config": {"d": 2}},
            "reconciliation": {"class_name": "lorr", "config": {"r": 2}},
            "remainder": "zero",
            "use_bias": True,
        },
        "anchors": {
            "keras": ["taylor2_lorr2_factored", "taylor2_lorr2"],
            "tinybig": True,
        },
    },
    "taylor2_dual_lphm": {
        "doc": "Taylor d=2 + dual LPHM r=2 (p,q) = (8,784), (2,64) + bias, zero remainder",
        "dims": [784, 64, 10],
        "requires": {"reconciliation": "dual_lphm"},
        "kwargs": {
            "expansion": {"class_name": "taylor", "config": {"d": 2}},
            "remainder": "zero",
            "use_bias": True,
        },
        "layer_configs": [
            {"reconciliation": {"class_name": "dual_lphm", "config": {"p": 8, "q": 784, "r": 2}}},
            {"reconciliation": {"class_name": "dual_lphm", "config": {"p": 2, "q": 64, "r": 2}}},
        ],
        "anchors": {"keras": ["dense_mlp"], "tinybig": True},
    },
    "chebyshev3": {
        "doc": "Chebyshev d=3 + identity reconciliation + bias, zero remainder",
        "dims": [784, 64, 10],
        "kwargs": {
            "expansion": {"class_name": "chebyshev", "config": {"d": 3}},
            "reconciliation": "identity",
            "remainder": "zero",
            "use_bias": True,
        },
        "anchors": {"keras": ["dense_mlp"], "tinybig": True},
    },
    "kan_1000": {
        "doc": "KAN benchmark shape: B-spline KAN 1000 -> 1000 (t=5, d=3, SiLU linear "
        "remainder), batch 100, vs a Dense MLP with the same parameter count",
        "dims": [1000, 1000],
        "batch": 100,
        "kwargs": {
            "expansion": {"class_name": "bspline", "config": {"t": 5, "d": 3}},
            "reconciliation": "identity",
            "remainder": _LINEAR_SILU,
            "use_bias": False,
        },
        "anchors": {"keras": ["dense_eqparams", "efficient_kan_1000"], "tinybig": True},
        "grad_timing": True,
    },
}

# The KAN shape at a GPU-sized batch; not in run.py's default list (gpu.sh asks for it).
CONFIGS["kan_1000_b4096"] = dict(
    CONFIGS["kan_1000"],
    doc="kan_1000 at batch 4096",
    batch=4096,
    tinybig_config="kan_1000",
)
OPTIONAL_CONFIGS = ("kan_1000_b4096",)

SLOW_CONFIGS = {"taylor2_lorr2"}  # anchors whose expanded variants take ~1 s/step


def config_available(name, keras_rpn):
    """None when keras_rpn has what `name` needs, else a note saying what is missing."""
    for family, comp in CONFIGS[name].get("requires", {}).items():
        registry = getattr(keras_rpn, family + "s")
        if comp not in registry.names():
            return f"{family} {comp!r} is not registered in keras_rpn yet"
    return None


def rpn_kwargs(name, heads=1, channels=1, in_dim=None):
    """`(dims, kwargs)` for keras_rpn.models.RPN for config `name` and a sweep point."""
    spec = CONFIGS[name]
    dims = list(spec["dims"])
    if in_dim is not None:
        dims[0] = int(in_dim)
    kwargs = dict(spec["kwargs"])
    activation = kwargs.pop("activation", None)
    if heads != 1:
        kwargs["width"] = int(heads)
    if channels != 1:
        kwargs["channels"] = int(channels)
    if spec.get("layer_configs"):
        kwargs["layer_configs"] = [dict(c) for c in spec["layer_configs"]]
    return dims, activation, kwargs


def count_params(model):
    import numpy as np

    return int(sum(int(np.prod(w.shape)) for w in model.trainable_weights))


def build_model(impl, name, keras, heads=1, channels=1, in_dim=None):
    """The Keras model for (impl, config). impl: keras_rpn or an anchor of keras_anchors."""
    if impl == "keras_rpn":
        import keras_rpn

        missing = config_available(name, keras_rpn)
        if missing:
            raise RuntimeError("SKIP: " + missing)
        dims, activation, kwargs = rpn_kwargs(name, heads, channels, in_dim)
        return keras_rpn.models.RPN(dims, activation=activation, **kwargs)
    from keras_anchors import build_anchor

    dims = list(CONFIGS[name]["dims"])
    if in_dim is not None:
        dims[0] = int(in_dim)
    target = None
    if impl == "dense_eqparams":
        target = count_params(build_model("keras_rpn", name, keras, heads, channels, in_dim))
    return build_anchor(impl, keras, dims, target)


def warm_up(keras, jit_arg):
    """One compiled training step, one prediction and one `fit` of a two-unit model: loads
    the trainer, the optimizer, the compiler and the data adapters (`fit` imports
    TensorFlow's tf.data under every backend when TensorFlow is installed) before the
    memory probe starts."""
    import numpy as np

    inp = keras.Input(shape=(4,))
    model = keras.Model(inp, keras.layers.Dense(2)(inp))
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=jit_arg,
    )
    x = np.ones((2, 4), "float32")
    y = np.zeros((2,), "int32")
    model.train_on_batch(x, y)
    model.predict_on_batch(x)
    model.fit(x, y, batch_size=2, epochs=1, verbose=0)


# --------------------------------------------------------------------------------------
# The worker.
# --------------------------------------------------------------------------------------


def _grad_timer(keras, model, x, y, jit):
    """A callable doing forward + loss + backward (no optimizer update)."""
    backend = keras.backend.backend()
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    if backend == "jax":
        import jax

        tv = [v.value for v in model.trainable_variables]
        ntv = [v.value for v in model.non_trainable_variables]

        def loss_of(tv_, ntv_, x_, y_):
            out, _ = model.stateless_call(tv_, ntv_, x_, training=True)
            return loss_fn(y_, out)

        g = jax.jit(jax.grad(loss_of))

        def run():
            jax.block_until_ready(g(tv, ntv, x, y))

        return run
    if backend == "torch":
        import torch

        xt, yt = torch.as_tensor(x), torch.as_tensor(y)

        dev = model.trainable_variables[0].value.device
        xt, yt = xt.to(dev), yt.to(dev)

        def run():
            for v in model.trainable_variables:
                v.value.grad = None
            loss = loss_fn(yt, model(xt, training=True))
            loss.backward()
            if dev.type == "cuda":
                torch.cuda.synchronize()

        return run
    import tensorflow as tf

    xt, yt = tf.constant(x), tf.constant(y)

    @tf.function(jit_compile=bool(jit))
    def grads():
        with tf.GradientTape() as tape:
            loss = loss_fn(yt, model(xt, training=True))
        return tape.gradient(loss, model.trainable_variables)

    def run():
        out = grads()
        _ = [o.numpy() for o in out[:1]]

    return run


def measure(impl, name, steps, warmup, batch=None, jit="auto", heads=1, channels=1, in_dim=None):
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    t0 = time.perf_counter()
    import keras
    import numpy as np
    from _memory import MemoryProbe

    t_import = time.perf_counter() - t0
    jit_arg = {"auto": "auto", "on": True, "off": False}[jit]
    keras.utils.set_random_seed(0)  # imports TensorFlow when installed: before the probe
    warm_up(keras, jit_arg)
    probe = MemoryProbe().start()
    spec = CONFIGS[name]
    batch = batch or spec.get("batch", 256)
    model = build_model(impl, name, keras, heads, channels, in_dim)
    m = int(in_dim or spec["dims"][0])
    n_classes = int(spec["dims"][-1])
    rng = np.random.default_rng(0)
    x = rng.random((batch, m), dtype=np.float32)
    y = rng.integers(0, n_classes, size=(batch,)).astype("int32")
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=jit_arg,
    )
    s = time.perf_counter()
    first_loss = float(model.train_on_batch(x, y))
    t_first = time.perf_counter() - s
    for _ in range(max(0, warmup - 1)):
        model.train_on_batch(x, y)
    times, cpu, last = [], [], None
    for _ in range(steps):
        s, c = time.perf_counter(), time.process_time()
        last = float(model.train_on_batch(x, y))
        times.append((time.perf_counter() - s) * 1e3)
        cpu.append((time.process_time() - c) * 1e3)
    times_sorted = sorted(times)
    res = {
        "impl": impl,
        "framework": f"keras-{keras.__version__}/{backend}",
        "backend": backend + ("-xla" if backend == "tensorflow" and jit == "on" else ""),
        "config": name,
        "batch": batch,
        "heads": heads,
        "channels": channels,
        "in_dim": m,
        "steps": steps,
        "jit_compile": str(getattr(model, "jit_compile", jit_arg)),
        "params": count_params(model),
        "ms_step_median": round(statistics.median(times), 3),
        "ms_step_p10": round(times_sorted[len(times) // 10], 3),
        "ms_step_p90": round(times_sorted[(len(times) * 9) // 10], 3),
        "cpu_ms_step_median": round(statistics.median(cpu), 3),
        "first_step_s": round(t_first, 2),
        "loss_first_last": [round(first_loss, 4), round(last if last is not None else 0.0, 4)],
        "import_s": round(t_import, 2),
    }
    fwd = []
    for _ in range(max(6, steps // 5) + 1):
        s = time.perf_counter()
        model.predict_on_batch(x)
        fwd.append((time.perf_counter() - s) * 1e3)
    res["ms_fwd_median"] = round(statistics.median(fwd[1:]), 3)
    # memory of what tinyBIG's worker also does (train steps, predictions); the extra
    # timings below (gradient-only, `fit` on 20 tiled batches) are not counted
    res.update(probe.stop())
    if spec.get("grad_timing"):
        run = _grad_timer(keras, model, x, y, jit_arg is True or backend == "jax")
        run()
        g = []
        for _ in range(max(5, steps // 2)):
            s = time.perf_counter()
            run()
            g.append((time.perf_counter() - s) * 1e3)
        res["ms_fwd_bwd_median"] = round(statistics.median(g), 3)
    if res["ms_step_median"] < 100 and steps >= 10:
        reps = 20
        xs, ys = np.tile(x, (reps, 1)), np.tile(y, reps)
        model.fit(xs, ys, batch_size=batch, epochs=1, verbose=0, shuffle=False)
        s = time.perf_counter()
        model.fit(xs, ys, batch_size=batch, epochs=1, verbose=0, shuffle=False)
        res["ms_step_fit_mean"] = round((time.perf_counter() - s) * 1e3 / reps, 3)
    res.update(device_info(backend))
    return res


def device_info(backend):
    """The accelerator used, and its peak memory in MB, where the backend tells."""
    try:
        if backend == "jax":
            import jax

            dev = jax.devices()[0]
            out = {"device": f"{dev.platform}:{getattr(dev, 'device_kind', '')}"}
            stats = dev.memory_stats() if dev.platform == "gpu" else None
            if stats and "peak_bytes_in_use" in stats:
                out["peak_device_mb"] = round(stats["peak_bytes_in_use"] / 2**20, 1)
            return out
        if backend == "torch":
            import torch

            if torch.cuda.is_available():
                return {
                    "device": "cuda:" + torch.cuda.get_device_name(0),
                    "peak_device_mb": round(torch.cuda.max_memory_allocated() / 2**20, 1),
                }
            return {"device": "cpu"}
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        return {"device": "gpu" if gpus else "cpu"}
    except Exception:  # noqa: BLE001 - informative only
        return {}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--impl", default="keras_rpn", choices=("keras_rpn",) + ANCHORS)
    ap.add_argument("--config", required=True, choices=sorted(CONFIGS))
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--batch", type=int, default=None)
    ap.add_argument("--jit", choices=("auto", "on", "off"), default="auto")
    ap.add_argument("--heads", type=int, default=1)
    ap.add_argument("--channels", type=int, default=1)
    ap.add_argument("--in-dim", type=int, default=None)
    ap.add_argument(
        "--rpn-path",
        default=REPO,
        help="directory holding the keras_rpn package to time (default: this repo)",
    )
    args = ap.parse_args()
    sys.path.insert(0, os.path.abspath(args.rpn_path))
    try:
        res = measure(
            args.impl,
            args.config,
            args.steps,
            args.warmup,
            args.batch,
            args.jit,
            args.heads,
            args.channels,
            args.in_dim,
        )
    except Exception as e:  # noqa: BLE001 - reported as a result line
        msg = f"{type(e).__name__}: {str(e)[:400]}"
        res = {"impl": args.impl, "config": args.config, "error": msg}
        if "SKIP: " in msg:
            res = {"impl": args.impl, "config": args.config, "skipped": msg.split("SKIP: ")[1]}
    res["backend"] = res.get("backend") or os.environ.get("KERAS_BACKEND", "tensorflow")
    print(json.dumps(res), flush=True)


if __name__ == "__main__":
    main()
