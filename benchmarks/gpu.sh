#!/usr/bin/env bash
# keras_rpn benchmark suite on a CUDA machine WITHOUT network access.
#
# Two steps:
#   1. on any Linux x86_64 machine WITH network, Python 3.11 (same as the GPU box):
#          bash benchmarks/gpu.sh download            # fills benchmarks/wheelhouse/
#      then carry the repository (with benchmarks/wheelhouse/) to the GPU machine;
#   2. on the GPU machine (no network):
#          bash benchmarks/gpu.sh                     # install from the wheelhouse + run
#      or, with environments that already have the packages:
#          JAX_PYTHON=/path/bin/python TORCH_PYTHON=/path/bin/python bash benchmarks/gpu.sh run
#
# What it runs (results in $OUT, default benchmarks/results/gpu-<time>/):
#   * run.py on the jax backend and on the torch backend (each in its own venv: the
#     CUDA wheels of jax and of torch pin different nvidia-* versions), all configs,
#     against the Keras anchors of keras_anchors.py, and the KAN benchmark shape
#     (in 1000 -> out 1000, batch 100 = kan_1000 and batch 4096 = kan_1000_b4096:
#     forward, forward+backward and full step, against a Dense MLP with the same
#     parameter count and keras-efficient-kan);
#   * torch once more with jit_compile=True (torch.compile) for keras_rpn and its
#     anchors alike, which eager-mode numbers do not show;
#   * the scaling sweeps (sweep.py) on both backends;
#   * the tables of all of it in $OUT/tables.md.
# tinyBIG is a CPU-only anchor (its script never moves tensors to a device); it runs
# only if TINYBIG_PYTHON is set.
#
# Wheels the wheelhouse must hold (what `download` fetches, with their dependencies):
#   jax venv:   keras  jax[cuda12]  (jax, jaxlib, jax-cuda12-plugin, jax-cuda12-pjrt and
#               the nvidia-*-cu12 runtime wheels: cublas, cuda-cupti, cuda-nvcc,
#               cuda-runtime, cudnn, cufft, cusolver, cusparse, nccl, nvjitlink)
#   torch venv: keras  torch (the default Linux wheel is the CUDA 12 build, with its
#               nvidia-*-cu12 wheels and triton)
#   both:       keras-efficient-kan==0.1.10  numpy  matplotlib (optional, plots)
#               and keras' own dependencies (absl-py, h5py, ml-dtypes, namex, optree,
#               packaging, rich, markdown-it-py, mdurl, pygments).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(dirname "$HERE")"
WHEELHOUSE="${WHEELHOUSE:-$HERE/wheelhouse}"
PY="${PYTHON:-python3}"
VENVS="${VENVS:-${TMPDIR:-/tmp}/keras_rpn_gpu_venvs}"
OUT="${OUT:-$HERE/results/gpu-$(date +%Y%m%d-%H%M%S)}"
STEPS="${STEPS:-50}"
TORCH_VERSION="${TORCH_VERSION:-}"   # e.g. "==2.5.1" to pin

JAX_REQS=(keras "jax[cuda12]" "keras-efficient-kan==0.1.10" numpy matplotlib)
TORCH_REQS=(keras "torch${TORCH_VERSION}" "keras-efficient-kan==0.1.10" numpy matplotlib)

download() {
    mkdir -p "$WHEELHOUSE"
    "$PY" -m pip download --only-binary=:all: -d "$WHEELHOUSE" "${JAX_REQS[@]}"
    "$PY" -m pip download --only-binary=:all: -d "$WHEELHOUSE" "${TORCH_REQS[@]}"
    echo "wheelhouse ready: $WHEELHOUSE ($(ls "$WHEELHOUSE" | wc -l) files)"
}

make_venv() {  # name reqs...
    local dir="$VENVS/$1"
    shift
    if [ ! -x "$dir/bin/python" ]; then
        "$PY" -m venv "$dir"
    fi
    "$dir/bin/python" -m pip install -q --no-index --find-links "$WHEELHOUSE" "$@"
    echo "$dir/bin/python"
}

install() {
    if [ ! -d "$WHEELHOUSE" ]; then
        echo "no wheelhouse at $WHEELHOUSE: run 'bash benchmarks/gpu.sh download' on a" >&2
        echo "machine with network first, or set JAX_PYTHON / TORCH_PYTHON and use 'run'." >&2
        exit 2
    fi
    JAX_PYTHON="$(make_venv jax "${JAX_REQS[@]}" | tail -1)"
    TORCH_PYTHON="$(make_venv torch "${TORCH_REQS[@]}" | tail -1)"
    export JAX_PYTHON TORCH_PYTHON
}

check_gpu() {  # python backend
    KERAS_BACKEND="$2" "$1" - <<'EOF'
import os, sys
b = os.environ["KERAS_BACKEND"]
if b == "jax":
    import jax
    devs = jax.devices()
    print("jax devices:", devs)
    ok = any(d.platform == "gpu" for d in devs)
else:
    import torch
    ok = torch.cuda.is_available()
    print("torch", torch.__version__, "cuda:", ok, torch.cuda.get_device_name(0) if ok else "")
sys.exit(0 if ok else 3)
EOF
}

run_all() {
    mkdir -p "$OUT"
    : "${JAX_PYTHON:?set JAX_PYTHON or run install first}"
    : "${TORCH_PYTHON:?set TORCH_PYTHON or run install first}"
    check_gpu "$JAX_PYTHON" jax || echo "WARNING: jax sees no GPU; numbers will be CPU ones"
    check_gpu "$TORCH_PYTHON" torch || echo "WARNING: torch sees no GPU; numbers will be CPU ones"
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$OUT/gpu.txt" 2>&1 || true
    local tb=(--no-tinybig)
    if [ -n "${TINYBIG_PYTHON:-}" ]; then tb=(--tinybig-python "$TINYBIG_PYTHON"); fi
    local configs="identity_mlp,bspline_kan,taylor2_lorr2,taylor2_dual_lphm,chebyshev3"
    configs="$configs,kan_1000,kan_1000_b4096"
    local common=(--steps "$STEPS" --configs "$configs")
    "$JAX_PYTHON" "$HERE/run.py" --backends jax "${common[@]}" "${tb[@]}" \
        --out "$OUT/run-jax.jsonl" | tee "$OUT/run-jax.log"
    "$TORCH_PYTHON" "$HERE/run.py" --backends torch "${common[@]}" --no-tinybig \
        --out "$OUT/run-torch.jsonl" | tee "$OUT/run-torch.log"
    "$TORCH_PYTHON" "$HERE/run.py" --backends torch --jit on --steps "$STEPS" --no-tinybig \
        --configs identity_mlp,bspline_kan,kan_1000,kan_1000_b4096 --no-expanded-anchor \
        --label torch.compile --out "$OUT/run-torch-compile.jsonl" | tee "$OUT/run-torch-compile.log"
    "$JAX_PYTHON" "$HERE/sweep.py" --backends jax --configs bspline_kan,taylor2_lorr2 \
        --out "$OUT/sweep-jax.jsonl" --plot "$OUT/sweep-jax.png" | tee "$OUT/sweep-jax.log"
    "$TORCH_PYTHON" "$HERE/sweep.py" --backends torch --configs bspline_kan,taylor2_lorr2 \
        --out "$OUT/sweep-torch.jsonl" --plot "$OUT/sweep-torch.png" | tee "$OUT/sweep-torch.log"
    {
        echo "# keras_rpn on GPU ($(head -2 "$OUT/gpu.txt" | tail -1))"
        echo
        echo "## jax and torch (eager)"
        "$JAX_PYTHON" "$HERE/run.py" --table "$OUT/run-jax.jsonl" "$OUT/run-torch.jsonl"
        echo
        echo "## torch with jit_compile=True (torch.compile), keras_rpn and its anchors"
        "$JAX_PYTHON" "$HERE/run.py" --table "$OUT/run-torch-compile.jsonl"
    } > "$OUT/tables.md"
    echo "tables: $OUT/tables.md"
}

case "${1:-all}" in
    download) download ;;
    install) install ;;
    run) run_all ;;
    all) install; run_all ;;
    *) echo "usage: $0 [download|install|run|all]" >&2; exit 2 ;;
esac
