"""A model saved under each backend loads under each other backend (a 3 x 3 matrix)."""

import importlib.util
import json
import os
import subprocess
import sys

import pytest

BACKENDS = ["tensorflow", "torch", "jax"]
WORKER = os.path.join(os.path.dirname(__file__), "portability_worker.py")
MISSING = [b for b in BACKENDS if importlib.util.find_spec(b) is None]

pytestmark = pytest.mark.skipif(
    bool(MISSING),
    reason=f"needs all three backends in one environment (missing: {MISSING}); it runs "
    "in tox's `portability` environment, not in the single-backend ones",
)


def run(backend, *args):
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(
        [sys.executable, WORKER, *args], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_save_under_each_backend_load_under_each_backend(tmp_path):
    for backend in BACKENDS:
        run(backend, "save", str(tmp_path))
    matrix = {}
    for backend in BACKENDS:
        matrix[backend] = json.loads(run(backend, "load", str(tmp_path)).strip().splitlines()[-1])
    print("max |difference| (rows: loaded under, columns: saved under)")
    for loader, row in matrix.items():
        print(loader, row)
        assert sorted(row) == sorted(BACKENDS)
        for saver, diff in row.items():
            assert diff < 1e-5, f"saved under {saver}, loaded under {loader}: {diff}"
