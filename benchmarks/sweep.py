"""Scaling sweeps of one keras_rpn config on one backend (or all).

Sweeps, one variable at a time from the config's base point (batch 256, 1 head,
1 channel, input width 784):

* batch      64 -> 4096
* heads      1 -> 8 (RPNLayer width: independent heads, mean fusion)
* channels   1 -> 8 (RPNHead channels, mean fusion)
* hxc        heads = channels = 1, 2, 4 (the product 1 -> 16)
* in_dim     input width 64 -> 1024

Every point runs in its own subprocess (benchmarks/_harness.py). Prints a markdown
table and, when matplotlib is importable, writes a PNG of ms/step against the swept
variable. For heads, channels and hxc it reports whether the cost grows at most
linearly in heads x channels: cost(v) / cost(1) <= v (with --tolerance slack).

    python benchmarks/sweep.py                                  # jax, bspline_kan
    python benchmarks/sweep.py --backends all --configs bspline_kan,taylor2_lorr2
    python benchmarks/sweep.py --quick --sweeps heads,channels   # smoke test
"""

import argparse
import json
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from _harness import CONFIGS  # noqa: E402
from run import BACKENDS  # noqa: E402
from run import backend_env  # noqa: E402
from run import run_cmd  # noqa: E402

SWEEPS = {
    "batch": [64, 128, 256, 512, 1024, 2048, 4096],
    "heads": [1, 2, 4, 8],
    "channels": [1, 2, 4, 8],
    "hxc": [1, 2, 4],
    "in_dim": [64, 128, 256, 512, 1024],
}
QUICK = {
    "batch": [64, 512, 4096],
    "heads": [1, 2, 8],
    "channels": [1, 2, 8],
    "hxc": [1, 2],
    "in_dim": [64, 1024],
}
LINEAR_IN_HC = ("heads", "channels", "hxc")


def point_args(sweep, value):
    if sweep == "batch":
        return ["--batch", str(value)]
    if sweep == "heads":
        return ["--heads", str(value)]
    if sweep == "channels":
        return ["--channels", str(value)]
    if sweep == "hxc":
        return ["--heads", str(value), "--channels", str(value)]
    if sweep == "in_dim":
        return ["--in-dim", str(value)]
    raise ValueError(sweep)


def hc_units(sweep, value):
    """heads x channels at a sweep point."""
    return value * value if sweep == "hxc" else value


def run_sweeps(args, backend, config):
    values = QUICK if args.quick else SWEEPS
    rows = []
    for sweep in args.sweeps:
        for value in values[sweep]:
            reps = []
            for _ in range(args.repeats):
                cmd = [sys.executable, os.path.join(HERE, "_harness.py"), "--config", config]
                cmd += ["--steps", str(args.steps), "--warmup", str(args.warmup)]
                cmd += ["--jit", "on" if backend == "tensorflow-xla" else "auto"]
                cmd += ["--rpn-path", args.rpn_path] + point_args(sweep, value)
                res = run_cmd(cmd, backend_env(backend, args.threads), args.timeout)
                res.update(sweep=sweep, value=value, backend=backend, config=config)
                if args.out:
                    with open(args.out, "a") as f:
                        f.write(json.dumps(res) + "\n")
                reps.append(res)
            ok = [r for r in reps if "ms_step_median" in r]
            if not ok:
                row = dict(reps[-1])
            else:
                row = dict(min(ok, key=lambda r: r["ms_step_median"]))
                row["cpu_ms_step_median"] = statistics.median(r["cpu_ms_step_median"] for r in ok)
            rows.append(row)
            msg = row.get("ms_step_median", row.get("error") or row.get("skipped"))
            print(f"  {backend:12s} {config:14s} {sweep:8s} {value:5d}  {msg} ms/step", flush=True)
    return rows


def linearity(rows, sweep, tolerance, key="ms_step_median"):
    pts = [(r["value"], r[key]) for r in rows if r["sweep"] == sweep and key in r]
    if not pts or pts[0][0] != 1:
        return None
    base = pts[0][1]
    worst = max(
        ((v, ms / base / hc_units(sweep, v)) for v, ms in pts[1:]), key=lambda t: t[1], default=None
    )
    return base, worst, [(v, ms / base) for v, ms in pts]


def render(rows, sweeps, tolerance):
    lines = [
        "| backend | config | sweep | value | ms/step | CPU ms/step | fwd ms | ms/step per 1k "
        "samples | peak RSS MB | params |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "ms_step_median" not in r:
            why = (r.get("error") or r.get("skipped") or "?")[:80]
            lines.append(
                f"| {r['backend']} | {r['config']} | {r['sweep']} | {r['value']} | {why} ||||||"
            )
            continue
        per_k = r["ms_step_median"] / r["batch"] * 1000
        lines.append(
            f"| {r['backend']} | {r['config']} | {r['sweep']} | {r['value']} "
            f"| {r['ms_step_median']:.2f} | {r.get('cpu_ms_step_median', 0):.2f} "
            f"| {r.get('ms_fwd_median', 0):.2f} | {per_k:.2f} | {r.get('peak_rss_mb')} "
            f"| {r.get('params')} |"
        )
    verdicts = []
    groups = sorted({(r["backend"], r["config"]) for r in rows})
    for backend, config in groups:
        sub = [r for r in rows if r["backend"] == backend and r["config"] == config]
        for sweep in sweeps:
            if sweep not in LINEAR_IN_HC:
                continue
            for key, what in (("ms_step_median", "wall"), ("cpu_ms_step_median", "CPU")):
                lin = linearity(sub, sweep, tolerance, key)
                if lin is None or lin[1] is None:
                    continue
                _base, (v_worst, per_unit), curve = lin
                ok = per_unit <= 1.0 + tolerance
                curve_s = ", ".join(f"{v}: {c:.2f}x" for v, c in curve)
                verdicts.append(
                    f"* {backend} {config} {sweep} ({what}): cost relative to 1 = {curve_s}; "
                    f"worst cost per unit of heads x channels {per_unit:.2f}x at {v_worst} -> "
                    + ("**at most linear**" if ok else f"**super-linear** ({per_unit:.2f}x > 1)")
                )
    return "\n".join(lines), "\n".join(verdicts)


def plot(rows, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no plot written")
        return None
    sweeps = [s for s in SWEEPS if any(r["sweep"] == s for r in rows)]
    fig, axes = plt.subplots(1, len(sweeps), figsize=(4.2 * len(sweeps), 3.6), squeeze=False)
    for ax, sweep in zip(axes[0], sweeps, strict=True):
        for backend, config in sorted({(r["backend"], r["config"]) for r in rows}):
            pts = [
                (r["value"], r["ms_step_median"])
                for r in rows
                if r["sweep"] == sweep
                and r["backend"] == backend
                and r["config"] == config
                and "ms_step_median" in r
            ]
            if not pts:
                continue
            xs, ys = zip(*pts, strict=True)
            xs = [hc_units(sweep, v) for v in xs]
            (line,) = ax.plot(xs, ys, "o-", label=f"{config} / {backend}")
            if sweep in LINEAR_IN_HC:
                ax.plot(
                    xs,
                    [ys[0] * v / xs[0] for v in xs],
                    ":",
                    color=line.get_color(),
                    alpha=0.6,
                )
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("heads x channels (heads = channels)" if sweep == "hxc" else sweep)
        ax.set_ylabel("ms / training step")
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].legend(fontsize=7)
    fig.suptitle("keras_rpn scaling (dotted: linear in heads x channels)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"plot: {path}")
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backends", default="jax", help="comma list, or 'all' (default jax)")
    ap.add_argument(
        "--configs",
        default="bspline_kan",
        help=f"comma list of {', '.join(CONFIGS)} (default bspline_kan)",
    )
    ap.add_argument(
        "--sweeps",
        default=",".join(SWEEPS),
        help=f"comma list of {', '.join(SWEEPS)} (default all)",
    )
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=1, help="runs per point (min is kept)")
    ap.add_argument("--quick", action="store_true", help="fewer points and 5 steps")
    ap.add_argument(
        "--tolerance",
        type=float,
        default=0.10,
        help="slack on 'at most linear' (default 10%%, timing noise)",
    )
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--rpn-path", default=REPO)
    ap.add_argument("--timeout", type=int, default=900)
    ap.add_argument("--out", default=None, help="results JSONL (default under results/)")
    ap.add_argument("--plot", default=None, help="PNG path (default under results/)")
    ap.add_argument(
        "--table",
        nargs="+",
        default=None,
        metavar="JSONL",
        help="only re-render table and plot from results files",
    )
    args = ap.parse_args()
    args.sweeps = [s for s in args.sweeps.split(",") if s]
    for s in args.sweeps:
        if s not in SWEEPS:
            ap.error(f"unknown sweep {s!r}")
    backends = list(BACKENDS) if args.backends == "all" else args.backends.split(",")
    configs = args.configs.split(",")
    results_dir = os.path.join(HERE, "results")
    os.makedirs(results_dir, exist_ok=True)
    tag = f"{'-'.join(backends)}-{'-'.join(configs)}"
    if args.table:
        rows = []
        for path in args.table:
            with open(path) as f:
                rows += [json.loads(line) for line in f if line.strip()]
        # keep the fastest repeat of each point
        best = {}
        for r in rows:
            k = (r.get("backend"), r.get("config"), r.get("sweep"), r.get("value"))
            if k not in best or r.get("ms_step_median", 1e99) < best[k].get("ms_step_median", 1e99):
                best[k] = r
        rows = list(best.values())
        rows.sort(
            key=lambda r: (r["backend"], r["config"], list(SWEEPS).index(r["sweep"]), r["value"])
        )
    else:
        if args.quick:
            args.steps, args.warmup = 5, 2
        args.out = args.out or os.path.join(results_dir, f"sweep-{tag}.jsonl")
        rows = []
        for backend in backends:
            for config in configs:
                rows += run_sweeps(args, backend, config)
    table, verdicts = render(rows, args.sweeps, args.tolerance)
    print()
    print(table)
    print()
    print(verdicts)
    plot(rows, args.plot or os.path.join(results_dir, f"sweep-{tag}.png"))


if __name__ == "__main__":
    main()
