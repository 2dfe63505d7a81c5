"""A/B timing of keras_rpn variants (e.g. a proposal patch applied to a copy).

Each variant is a directory holding a `keras_rpn` package. Every (variant, backend,
config) pair runs in its own subprocess, and the variants are interleaved repeat by
repeat, so slow drifts of the machine's load hit all of them alike. Reports the min
over repeats of the per-run median wall ms/step, the median CPU ms/step (process time,
less sensitive to other processes on a shared machine) and each variant's ratio to the
first one.

    python benchmarks/compare.py --variant before=main~3 --variant after=main \\
        --backends jax,torch --configs bspline_kan --repeats 3

A variant is NAME=PATH (a directory holding `keras_rpn/`) or NAME=REF (a git ref, exported
with `git archive`).

    # a proposal patch against a git ref, in one go:
    python benchmarks/compare.py --patch benchmarks/proposals/01-bspline-closed-form.patch
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from run import backend_env  # noqa: E402
from run import run_cmd  # noqa: E402


def export_ref(ref, dest):
    """`git archive REF keras_rpn` into dest; returns dest."""
    os.makedirs(dest, exist_ok=True)
    archive = subprocess.run(
        ["git", "-C", REPO, "archive", ref, "keras_rpn"], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", dest], input=archive, check=True)
    return dest


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variant", action="append", default=[], metavar="NAME=PATH")
    ap.add_argument(
        "--patch",
        action="append",
        default=[],
        help="proposal patch: adds variants 'base' (--ref) and the patched copy",
    )
    ap.add_argument("--ref", default="HEAD", help="git ref that --patch applies to")
    ap.add_argument("--backends", default="tensorflow,torch,jax")
    ap.add_argument("--configs", default="identity_mlp,bspline_kan")
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--heads", type=int, default=1)
    ap.add_argument("--channels", type=int, default=1)
    ap.add_argument("--out", default=None, help="append result JSON lines here")
    args = ap.parse_args()
    variants = []
    for v in args.variant:
        name, where = v.split("=", 1)
        if not os.path.isdir(where):
            where = export_ref(where, tempfile.mkdtemp(prefix=f"rpn-{name}-"))
        variants.append((name, where))
    if args.patch:
        tmp = tempfile.mkdtemp(prefix="rpn-compare-")
        variants.insert(0, ("base", export_ref(args.ref, os.path.join(tmp, "base"))))
        for patch in args.patch:
            name = os.path.splitext(os.path.basename(patch))[0]
            dest = export_ref(args.ref, os.path.join(tmp, name))
            proc = subprocess.run(["patch", "-p1", "-s", "-i", os.path.abspath(patch)], cwd=dest)
            if proc.returncode:
                raise SystemExit(f"{patch} does not apply to {args.ref}")
            variants.append((name, dest))
    if not variants:
        ap.error("give --variant NAME=PATH (two or more) or --patch FILE")
    backends = args.backends.split(",")
    configs = args.configs.split(",")
    rows = {}
    for rep in range(args.repeats):
        for config in configs:
            for backend in backends:
                for name, path in variants:
                    cmd = [sys.executable, os.path.join(HERE, "_harness.py"), "--config", config]
                    cmd += ["--steps", str(args.steps), "--warmup", str(args.warmup)]
                    cmd += ["--jit", "on" if backend == "tensorflow-xla" else "auto"]
                    cmd += ["--rpn-path", path, "--heads", str(args.heads)]
                    cmd += ["--channels", str(args.channels)]
                    res = run_cmd(cmd, backend_env(backend, args.threads), 900)
                    res.update(variant=name, backend=backend, rep=rep)
                    if args.out:
                        with open(args.out, "a") as f:
                            f.write(json.dumps(res) + "\n")
                    rows.setdefault((config, backend, name), []).append(res)
                    msg = res.get("ms_step_median", res.get("error") or res.get("skipped"))
                    print(
                        f"  rep {rep} {config:14s} {backend:14s} {name:28s} {msg}",
                        f"cpu {res.get('cpu_ms_step_median')}",
                        flush=True,
                    )
    print()
    print(
        "| config | backend | variant | ms/step (min of medians) | CPU ms/step (median) "
        "| fwd ms | ratio to first (wall / CPU) |"
    )
    print("|---|---|---|---|---|---|---|")
    for config in configs:
        for backend in backends:
            first = None
            for name, _ in variants:
                ok = [r for r in rows.get((config, backend, name), []) if "ms_step_median" in r]
                if not ok:
                    print(f"| {config} | {backend} | {name} | failed | | | |")
                    continue
                wall = min(r["ms_step_median"] for r in ok)
                cpu = statistics.median(r["cpu_ms_step_median"] for r in ok)
                fwd = min(r["ms_fwd_median"] for r in ok)
                if first is None:
                    first = (wall, cpu)
                ratio = f"{wall / first[0]:.2f} / {cpu / first[1]:.2f}"
                print(
                    f"| {config} | {backend} | {name} | {wall:.2f} | {cpu:.2f} | {fwd:.2f} "
                    f"| {ratio} |"
                )


if __name__ == "__main__":
    main()
