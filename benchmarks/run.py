"""keras_rpn benchmark suite: keras_rpn on each Keras backend against the anchors.

One invocation times, side by side and in the same run, every (backend, config) pair of
keras_rpn and the anchors it competes with:

* tinyBIG 0.2.1 (PyTorch CPU), through `tinybig_anchors.py` run by a tinyBIG Python
  (`--tinybig-python` or `$TINYBIG_PYTHON`);
* the Keras anchors of `keras_anchors.py` on the same backend as the keras_rpn row:
  Keras Dense MLP, keras-efficient-kan 0.1.10, plain keras.ops layers, a Dense MLP with
  keras_rpn's parameter count.

Every pair runs in its own subprocess (`KERAS_BACKEND` set), so memory is per pair: the
whole process's peak RSS and the model's own peak (`_memory.py`).
Results go to a JSONL file (`--out`) and a markdown table is printed.

    python benchmarks/run.py                         # full suite, all backends
    python benchmarks/run.py --quick                 # smoke test (few steps)
    python benchmarks/run.py --backends jax --configs bspline_kan,identity_mlp
    python benchmarks/run.py --repeats 2             # every pair twice, interleaved
    python benchmarks/run.py --table results.jsonl   # re-print tables from a results file
"""

import argparse
import datetime
import importlib.util
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from _harness import CONFIGS  # noqa: E402
from _harness import OPTIONAL_CONFIGS  # noqa: E402
from _harness import SLOW_CONFIGS  # noqa: E402
from keras_anchors import NEEDS_EFFICIENT_KAN  # noqa: E402

BACKENDS = ("tensorflow", "torch", "jax")
ALL_BACKENDS = BACKENDS + ("tensorflow-xla",)
KERAS_ANCHOR_LABEL = {
    "dense_mlp": "Keras Dense MLP",
    "efficient_kan": "keras-efficient-kan",
    "bspline_kan": "keras.ops B-spline KAN",
    "taylor2_lorr2_factored": "keras.ops Taylor+LoRR factorised",
    "taylor2_lorr2": "keras.ops Taylor+LoRR expanded",
    "dense_eqparams": "Dense MLP, equal params",
    "efficient_kan_1000": "keras-efficient-kan",
}

# Targets. Each: (config, anchor impl, kind, bound).
#   ratio_max: keras_rpn ms / anchor ms <= bound on every backend (an anchor
#   "keras_rpn@CONFIG" is keras_rpn's own row of another config, same backend);
#   speedup_min_fastest: tinyBIG ms / (fastest keras_rpn backend ms) >= bound;
#   speedup_min_each: tinyBIG ms / keras_rpn ms >= bound on every backend;
#   mem_max: keras_rpn model peak / tinyBIG model peak (both from `_memory.py`) <= bound
#   on every backend.
TARGETS = [
    ("identity_mlp", "keras:dense_mlp", "ratio_max", 1.15),
    ("bspline_kan", "keras:efficient_kan", "ratio_max", 0.8),
    ("bspline_kan", "tinybig", "speedup_min_each", 4.0),
    ("kan_1000", "keras:efficient_kan_1000", "ratio_max", 1.0),
    ("taylor2_lorr2", "keras:taylor2_lorr2_factored", "ratio_max", 1.1),
    ("taylor2_lorr2", "tinybig", "speedup_min_fastest", 50.0),
    ("taylor2_dual_lphm", "keras_rpn@taylor2_lorr2", "ratio_max", 1.5),
    ("taylor2_dual_lphm", "tinybig", "speedup_min_each", 50.0),
] + [(c, "tinybig", "mem_max", 0.5) for c in CONFIGS]


def backend_env(backend, threads=None):
    env = os.environ.copy()
    env["KERAS_BACKEND"] = "tensorflow" if backend == "tensorflow-xla" else backend
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if threads:
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS"):
            env[var] = str(threads)
        if threads == 1:
            flags = env.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false"
            env["XLA_FLAGS"] = flags.strip()
    return env


# torch is never imported by Keras on the other backends, but some libraries test
# `"torch" in sys.modules`, so it is not blocked there.
OTHER_FRAMEWORKS = {
    "tensorflow": "jax",
    "tensorflow-xla": "jax",
    "torch": "jax,tensorflow",
    "jax": "tensorflow",
}


def keras_python(backend, isolate):
    """The command prefix that runs a Keras script for `backend`; with `isolate`, the
    other backends' frameworks are made unimportable (see `_isolated.py`)."""
    if not isolate:
        return [sys.executable]
    return [sys.executable, os.path.join(HERE, "_isolated.py"), OTHER_FRAMEWORKS[backend]]


def default_tinybig_python():
    """The environment `tests/oracle/make_venv.py` builds by default, when it exists."""
    for sub in (("bin", "python"), ("Scripts", "python.exe")):
        exe = os.path.join(REPO, ".tox", "tinybig-oracle", *sub)
        if os.path.exists(exe):
            return exe
    return None


def last_json_line(text):
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                continue
    return None


def run_cmd(cmd, env, timeout):
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout}s"}
    res = last_json_line(proc.stdout)
    if res is None:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        res = {"error": f"exit {proc.returncode}: " + " | ".join(tail)[:400]}
    res["wall_s"] = round(time.perf_counter() - t0, 1)
    return res


class Suite:
    def __init__(self, args):
        self.args = args
        self.notes = []
        self.results = []
        self.run_id = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        self.out = args.out or os.path.join(HERE, "results", f"run-{self.run_id}.jsonl")
        os.makedirs(os.path.dirname(os.path.abspath(self.out)), exist_ok=True)
        self.have_kan = importlib.util.find_spec("keras_efficient_kan") is not None
        if not self.have_kan:
            self.note(
                "keras-efficient-kan is not installed in this Python: its anchors are "
                "skipped (pip install -e '.[bench]')."
            )
        self.tinybig_python = (
            args.tinybig_python or os.environ.get("TINYBIG_PYTHON") or default_tinybig_python()
        )
        if not self.tinybig_python:
            self.note(
                "no tinyBIG Python given (--tinybig-python / $TINYBIG_PYTHON): "
                "tinyBIG anchors skipped (python tests/oracle/make_venv.py builds one)."
            )
        elif not shutil.which(self.tinybig_python):
            self.note(f"tinyBIG Python {self.tinybig_python!r} not found: tinyBIG anchors skipped.")
            self.tinybig_python = None

    def note(self, text):
        print(f"NOTE: {text}", flush=True)
        self.notes.append(text)

    def record(self, res, **extra):
        res = {**res, **extra, "run_id": self.run_id}
        self.results.append(res)
        with open(self.out, "a") as f:
            f.write(json.dumps(res) + "\n")
        ms = res.get("ms_step_median")
        what = f"{res.get('impl')}/{res.get('config')}/{res.get('backend')}"
        if ms is not None:
            print(
                f"  {what:58s} {ms:10.2f} ms/step  fwd {res.get('ms_fwd_median', '-')} ms"
                f"  rss {res.get('peak_rss_mb', '-')} MB",
                flush=True,
            )
        else:
            print(f"  {what:58s} {res.get('skipped') or res.get('error')}", flush=True)

    def steps_for(self, config, slow=False):
        a = self.args
        if slow:
            return min(a.steps, a.slow_steps), min(a.warmup, 2)
        return a.steps, a.warmup

    def keras_rpn(self, backend, config, rep):
        steps, warmup = self.steps_for(config)
        cmd = keras_python(backend, self.args.isolate)
        cmd += [os.path.join(HERE, "_harness.py"), "--impl", "keras_rpn"]
        cmd += ["--config", config, "--steps", str(steps), "--warmup", str(warmup)]
        cmd += ["--jit", "on" if backend == "tensorflow-xla" else self.args.jit]
        cmd += ["--rpn-path", self.args.rpn_path]
        if self.args.batch and "batch" not in CONFIGS[config]:
            cmd += ["--batch", str(self.args.batch)]
        res = run_cmd(cmd, backend_env(backend, self.args.threads), self.args.timeout)
        self.record(
            res, impl="keras_rpn", config=config, backend=backend, rep=rep, label=self.args.label
        )

    def anchor(self, backend, config, impl, rep):
        if impl in NEEDS_EFFICIENT_KAN and not self.have_kan:
            return
        if impl == "taylor2_lorr2" and not self.args.expanded_anchor:
            return
        steps, warmup = self.steps_for(config, slow=impl == "taylor2_lorr2")
        cmd = keras_python(backend, self.args.isolate)
        cmd += [os.path.join(HERE, "_harness.py"), "--impl", impl]
        cmd += ["--config", config, "--steps", str(steps), "--warmup", str(warmup)]
        cmd += ["--jit", "on" if backend == "tensorflow-xla" else self.args.jit]
        cmd += ["--rpn-path", self.args.rpn_path]
        if self.args.batch and "batch" not in CONFIGS[config]:
            cmd += ["--batch", str(self.args.batch)]
        res = run_cmd(cmd, backend_env(backend, self.args.threads), self.args.timeout)
        self.record(res, impl=f"keras:{impl}", config=config, backend=backend, rep=rep)

    def tinybig(self, config, rep):
        if not self.tinybig_python or not CONFIGS[config]["anchors"].get("tinybig"):
            return
        steps, warmup = self.steps_for(config, slow=config in SLOW_CONFIGS or "taylor" in config)
        tb_config = CONFIGS[config].get("tinybig_config", config)
        cmd = [self.tinybig_python, os.path.join(HERE, "tinybig_anchors.py")]
        cmd += ["--config", tb_config]
        cmd += ["--steps", str(steps), "--warmup", str(warmup)]
        cmd += ["--batch", str(CONFIGS[config].get("batch") or self.args.batch or 256)]
        res = run_cmd(cmd, backend_env("torch", self.args.threads), self.args.timeout)
        self.record(res, impl="tinybig", config=config, backend="torch", rep=rep)

    def run(self):
        a = self.args
        print(f"# keras_rpn benchmark run {self.run_id} -> {self.out}", flush=True)
        print(
            f"# backends={a.backends} configs={a.configs} steps={a.steps} "
            f"warmup={a.warmup} repeats={a.repeats}",
            flush=True,
        )
        self.record_machine()
        for rep in range(a.repeats):
            for config in a.configs:
                anchors = CONFIGS[config]["anchors"]
                print(f"[rep {rep}] {config}: {CONFIGS[config]['doc']}", flush=True)
                if not a.no_tinybig:
                    self.tinybig(config, rep)
                for backend in a.backends:
                    self.keras_rpn(backend, config, rep)
                    if a.no_keras_anchors:
                        continue
                    for impl in anchors.get("keras", []):
                        self.anchor(backend, config, impl, rep)
        print(render_tables(self.results, self.notes), flush=True)
        print(f"results: {self.out}")

    def record_machine(self):
        info = machine_info()
        info.update(impl="machine", config="-", backend="-", args=vars(self.args))
        self.record(info)


def machine_info():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_gb = None
    try:
        with open("/proc/meminfo") as f:
            mem_gb = round(int(f.readline().split()[1]) / 2**20, 1)
    except (OSError, ValueError, IndexError):
        pass
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version

    versions = {}
    for mod in ("keras", "tensorflow", "torch", "jax", "jaxlib", "numpy", "keras_efficient_kan"):
        versions[mod] = None
        for dist in (mod.replace("_", "-"), mod + "-cpu", mod + "-gpu"):
            try:
                versions[mod] = version(dist)
                break
            except PackageNotFoundError:
                continue
    try:
        versions["keras_rpn_git"] = subprocess.run(
            ["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gb": mem_gb,
        "python": platform.python_version(),
        "loadavg": os.getloadavg(),
        "versions": versions,
    }


# --------------------------------------------------------------------------------------
# Tables.
# --------------------------------------------------------------------------------------


def _agg(rows):
    """Aggregate repeats of one pair: min of the medians (least disturbed by other load)
    and the spread max/min of the medians as a noise indicator."""
    ok = [r for r in rows if r.get("ms_step_median") is not None]
    if not ok:
        return None
    ms = [r["ms_step_median"] for r in ok]
    best = min(ok, key=lambda r: r["ms_step_median"])
    out = dict(best)
    out["n_reps"] = len(ok)
    out["spread"] = round(max(ms) / min(ms), 2) if len(ms) > 1 else None
    out["ms_fwd_median"] = min(r.get("ms_fwd_median", float("inf")) for r in ok)
    cpus = [r["cpu_ms_step_median"] for r in ok if r.get("cpu_ms_step_median") is not None]
    out["cpu_ms_step_median"] = min(cpus) if cpus else None
    out["peak_rss_mb"] = statistics.median(r.get("peak_rss_mb", 0) for r in ok)
    models = [r["model_peak_mb"] for r in ok if r.get("model_peak_mb") is not None]
    out["model_peak_mb"] = statistics.median(models) if models else None
    return out


def aggregate(results):
    groups = {}
    for r in results:
        if r.get("impl") in (None, "machine"):
            continue
        groups.setdefault((r["impl"], r["config"], r["backend"]), []).append(r)
    agg = {}
    for key, rows in groups.items():
        a = _agg(rows)
        if a is None:
            bad = rows[-1]
            a = {"skipped": bad.get("skipped"), "error": bad.get("error")}
        agg[key] = a
    return agg


def _fmt(v, nd=2):
    if v is None:
        return "-"
    if isinstance(v, float):
        if v >= 100:
            return f"{v:.0f}"
        if v >= 10:
            return f"{v:.1f}"
        return f"{v:.{nd}f}"
    return str(v)


def render_tables(results, notes=()):
    agg = aggregate(results)
    configs = sorted({k[1] for k in agg}, key=lambda c: list(CONFIGS).index(c))
    backends = [b for b in ALL_BACKENDS if any(k[2] == b for k in agg)]
    lines = []
    # Table 1: raw measurements.
    lines += ["", "### Raw measurements (min over repeats of the per-run median)", ""]
    lines += [
        "| config | impl | backend | ms/step | CPU ms/step | p10-p90 | fit ms/step | fwd ms "
        "| fwd+bwd ms "
        "| peak RSS MB | model peak MB | params | reps (spread) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in configs:
        for (impl, cfg, b), r in sorted(agg.items(), key=lambda kv: (kv[0][2], kv[0][0])):
            if cfg != c:
                continue
            if r.get("ms_step_median") is None:
                why = r.get("skipped") or r.get("error") or "?"
                lines.append(f"| {c} | {impl} | {b} | skipped: {why[:90]} ||||||||||")
                continue
            spread = f"{r['n_reps']}" + (f" ({r['spread']}x)" if r.get("spread") else "")
            lines.append(
                f"| {c} | {impl} | {b} | {_fmt(r['ms_step_median'])} "
                f"| {_fmt(r.get('cpu_ms_step_median'))} "
                f"| {_fmt(r.get('ms_step_p10'))}-{_fmt(r.get('ms_step_p90'))} "
                f"| {_fmt(r.get('ms_step_fit_mean'))} | {_fmt(r.get('ms_fwd_median'))} "
                f"| {_fmt(r.get('ms_fwd_bwd_median'))} | {_fmt(r.get('peak_rss_mb'))} "
                f"| {_fmt(r.get('model_peak_mb'))} | {r.get('params', '-')} | {spread} |"
            )
    # Table 2: keras_rpn against its anchors.
    lines += ["", "### keras_rpn against the anchors", ""]
    lines += [
        "ratio = keras_rpn ms / anchor ms on the same backend (< 1: keras_rpn faster; "
        "in brackets the same ratio of CPU times); "
        "x tinyBIG = tinyBIG ms / keras_rpn ms (speed-up; CPU: the same of CPU times); "
        "model MB = the model's own peak memory (peak RSS above the process's RSS after "
        "imports and framework warm-up); "
        "mem/tB = keras_rpn model MB / tinyBIG model MB.",
        "",
        "| config | backend | keras_rpn ms/step | fwd ms | model MB | vs Keras anchors (ratio) "
        "| x tinyBIG | mem/tB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for c in configs:
        tb = agg.get(("tinybig", c, "torch"))
        tb_ok = tb is not None and tb.get("ms_step_median") is not None
        if tb_ok:
            lines.append(
                f"| {c} | tinyBIG 0.2.1 (torch) | {_fmt(tb['ms_step_median'])} "
                f"| {_fmt(tb.get('ms_fwd_median'))} | {_fmt(tb.get('model_peak_mb'))} | | | |"
            )
        for b in backends:
            r = agg.get(("keras_rpn", c, b))
            if r is None:
                continue
            if r.get("ms_step_median") is None:
                why = r.get("skipped") or r.get("error") or "?"
                lines.append(f"| {c} | {b} | skipped: {why[:100]} | | | | | |")
                continue
            parts = []
            for (impl, cfg, bb), an in agg.items():
                if cfg != c or bb != b or not impl.startswith("keras:"):
                    continue
                if an.get("ms_step_median") is None:
                    continue
                label = KERAS_ANCHOR_LABEL.get(impl[6:], impl[6:])
                ratio = r["ms_step_median"] / an["ms_step_median"]
                cpu = ""
                if r.get("cpu_ms_step_median") and an.get("cpu_ms_step_median"):
                    cpu = f" (CPU {r['cpu_ms_step_median'] / an['cpu_ms_step_median']:.2f})"
                parts.append(f"{label} {_fmt(an['ms_step_median'])} ms: **{ratio:.2f}**{cpu}")
            speed = mem = "-"
            if tb_ok:
                speed = f"{tb['ms_step_median'] / r['ms_step_median']:.1f}x"
                speed += _cpu_speedup(tb, r)
                mem = _mem_ratio(r, tb)
            lines.append(
                f"| {c} | {b} | {_fmt(r['ms_step_median'])} | {_fmt(r.get('ms_fwd_median'))} "
                f"| {_fmt(r.get('model_peak_mb'))} | {'; '.join(parts) or '-'} | {speed} | {mem} |"
            )
    # Table 3: targets.
    lines += ["", "### Targets", "", "| target | measured | verdict |", "|---|---|---|"]
    for config, anchor, kind, bound in TARGETS:
        if config not in configs:
            continue
        lines.append(target_row(agg, backends, config, anchor, kind, bound))
    if notes:
        lines += ["", "Notes:", ""] + [f"* {n}" for n in notes]
    return "\n".join(lines)


def _cpu_speedup(tb, r):
    a, b = tb.get("cpu_ms_step_median"), r.get("cpu_ms_step_median")
    return f" (CPU {a / b:.1f}x)" if a and b else ""


def _mem_ratio(r, tb):
    a, b = r.get("model_peak_mb"), tb.get("model_peak_mb")
    if a is None or not b:
        return "-"
    return f"{a / b:.2f}"


def target_row(agg, backends, config, anchor, kind, bound):
    rows = {b: agg.get(("keras_rpn", config, b)) for b in backends}
    rows = {b: r for b, r in rows.items() if r and r.get("ms_step_median") is not None}
    if kind == "ratio_max":
        impl, _, other = anchor.partition("@")
        name = f"keras_rpn {other}" if other else anchor[6:]
        desc = f"{config} <= {bound}x {name} (same backend)"
        parts, ok = [], True
        for b, r in rows.items():
            an = agg.get((impl, other or config, b))
            if not an or an.get("ms_step_median") is None:
                parts.append(f"{b}: no anchor")
                continue
            ratio = r["ms_step_median"] / an["ms_step_median"]
            met = ratio <= bound
            ok &= met
            how = "met" if met else f"missed by {100 * (ratio / bound - 1):.0f}%"
            parts.append(f"{b} {ratio:.2f}x ({how})")
        have = any("x (" in p for p in parts)
        verdict = ("met" if ok else "missed") if have else "not measured"
        return f"| {desc} | {'; '.join(parts) or '-'} | {verdict} |"
    tb = agg.get(("tinybig", config, "torch"))
    if not tb or tb.get("ms_step_median") is None or not rows:
        return f"| {config}: {kind} {bound} vs tinyBIG | - | not measured |"
    speed = {b: tb["ms_step_median"] / r["ms_step_median"] for b, r in rows.items()}
    if kind == "speedup_min_fastest":
        b = max(speed, key=speed.get)
        sp = speed[b]
        short = f"missed: {sp:.1f}x of {bound}x ({100 * (1 - sp / bound):.0f}% short)"
        how = "met" if sp >= bound else short
        others = ", ".join(f"{bb} {v:.1f}x{_cpu_speedup(tb, rows[bb])}" for bb, v in speed.items())
        return (
            f"| {config} >= {bound}x faster than tinyBIG (fastest backend) "
            f"| {b} {sp:.1f}x (all: {others}) | {how} |"
        )
    if kind == "speedup_min_each":
        parts = [
            f"{b} {v:.1f}x{_cpu_speedup(tb, rows[b])}"
            + ("" if v >= bound else f" ({100 * (1 - v / bound):.0f}% short)")
            for b, v in speed.items()
        ]
        ok = all(v >= bound for v in speed.values())
        return (
            f"| {config} >= {bound}x faster than tinyBIG (every backend) "
            f"| {'; '.join(parts)} | {'met' if ok else 'missed'} |"
        )
    if not tb.get("model_peak_mb"):
        return f"| {config}: model memory vs tinyBIG | - | not measured |"
    desc = f"{config} model peak <= {bound}x tinyBIG's ({_fmt(tb['model_peak_mb'])} MB)"
    parts, ok = [], True
    for b, r in rows.items():
        if r.get("model_peak_mb") is None:
            parts.append(f"{b}: not measured")
            ok = False
            continue
        frac = r["model_peak_mb"] / tb["model_peak_mb"]
        met = frac <= bound
        ok &= met
        parts.append(
            f"{b} {_fmt(r['model_peak_mb'])} MB = {frac:.2f}x"
            + ("" if met else f" (over by {100 * (frac / bound - 1):.0f}%)")
        )
    return f"| {desc} | {'; '.join(parts)} | {'met' if ok else 'missed'} |"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=50, help="timed steps per pair (default 50)")
    ap.add_argument("--warmup", type=int, default=5, help="warm-up steps (default 5)")
    ap.add_argument(
        "--slow-steps",
        type=int,
        default=10,
        help="timed steps for ~1 s/step pairs (tinyBIG and expanded Taylor)",
    )
    ap.add_argument(
        "--batch", type=int, default=None, help="batch size (default 256; kan_1000 always uses 100)"
    )
    ap.add_argument(
        "--backends",
        default=",".join(BACKENDS),
        help=f"comma list of {', '.join(ALL_BACKENDS)} (default: the first three)",
    )
    ap.add_argument(
        "--configs",
        default=",".join(c for c in CONFIGS if c not in OPTIONAL_CONFIGS),
        help=f"comma list of {', '.join(CONFIGS)} (default: all but {OPTIONAL_CONFIGS})",
    )
    ap.add_argument(
        "--quick",
        action="store_true",
        help="smoke test: 5 steps, 2 warm-up, no expanded Taylor anchor",
    )
    ap.add_argument(
        "--repeats",
        type=int,
        default=1,
        help="run every pair this many times, interleaved (tables use the min)",
    )
    ap.add_argument(
        "--jit",
        choices=("auto", "on", "off"),
        default="auto",
        help="compile(jit_compile=): auto = XLA on jax, eager on torch and on TF-CPU",
    )
    ap.add_argument(
        "--threads",
        type=int,
        default=None,
        help="cap intra-op threads (OMP/MKL/TF/XLA) in every subprocess",
    )
    ap.add_argument(
        "--tinybig-python",
        default=None,
        help="Python with tinybig 0.2.1 (default $TINYBIG_PYTHON, else the environment "
        "tests/oracle/make_venv.py builds, .tox/tinybig-oracle)",
    )
    ap.add_argument("--no-tinybig", action="store_true", help="skip the tinyBIG anchors")
    ap.add_argument("--no-keras-anchors", action="store_true", help="skip the Keras anchors")
    ap.add_argument(
        "--no-expanded-anchor",
        dest="expanded_anchor",
        action="store_false",
        help="skip the ~1 s/step expand-then-multiply Taylor anchor",
    )
    ap.add_argument(
        "--rpn-path",
        default=REPO,
        help="directory holding the keras_rpn package to time (default: this repo)",
    )
    ap.add_argument(
        "--rpn-ref",
        default=None,
        help="time keras_rpn as committed at this git ref (exported to a temp dir) "
        "instead of the working tree, e.g. HEAD",
    )
    ap.add_argument(
        "--isolate",
        action="store_true",
        help="make the other backends' frameworks unimportable in each Keras subprocess "
        "(peak RSS as in a single-backend install)",
    )
    ap.add_argument("--label", default=None, help="free-text label stored with keras_rpn rows")
    ap.add_argument("--timeout", type=int, default=900, help="seconds per subprocess")
    ap.add_argument(
        "--out",
        default=None,
        help="results JSONL (appended; default benchmarks/results/run-<time>.jsonl)",
    )
    ap.add_argument(
        "--table",
        nargs="+",
        default=None,
        metavar="JSONL",
        help="only print the tables of existing results files",
    )
    args = ap.parse_args()
    if args.table:
        results = []
        for path in args.table:
            with open(path) as f:
                results += [json.loads(line) for line in f if line.strip()]
        print(render_tables(results))
        return
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    args.configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    for b in args.backends:
        if b not in ALL_BACKENDS:
            ap.error(f"unknown backend {b!r}; choose from {ALL_BACKENDS}")
    for c in args.configs:
        if c not in CONFIGS:
            ap.error(f"unknown config {c!r}; choose from {list(CONFIGS)}")
    if args.quick:
        args.steps, args.warmup, args.slow_steps = 5, 2, 2
        args.expanded_anchor = False
    if args.rpn_ref:
        import tempfile

        from compare import export_ref

        sha = subprocess.run(
            ["git", "-C", REPO, "rev-parse", args.rpn_ref],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        args.rpn_path = export_ref(sha, tempfile.mkdtemp(prefix=f"rpn-{sha[:8]}-"))
        args.label = args.label or f"keras_rpn@{sha[:10]}"
    Suite(args).run()


if __name__ == "__main__":
    main()
