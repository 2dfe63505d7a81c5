"""Creates the tinyBIG virtual environment that runs the parity oracle, once.

    python tests/oracle/make_venv.py [--venv PATH] [--python EXE] [--force]

The environment goes to `--venv`, else `$TINYBIG_VENV`, else `.tox/tinybig-oracle` under
the repository root. The script is idempotent: when the environment is complete (its
marker file records the same requirements) it only prints the path. Parallel runs (tox
environments started together) wait on a file lock next to the environment, so only one
of them builds it.

What it installs (tinyBIG 0.2.1 pins torch 2.2.2, numpy 1.26 and friends, none of which
install on current Pythons, so tinybig goes in without its dependencies):

1. `python -m venv`;
2. `pip install torch==2.13.0` (a local CPU wheel is used where `PIP_FIND_LINKS` or the
   pip configuration points at one; otherwise PyPI's wheel);
3. `pip install --no-deps tinybig==0.2.1`;
4. `pip install numpy scipy scikit-learn pyyaml tqdm`;
5. a check that the oracle imports tinybig (`tinybig_oracle.py --version`).

On success the last line on stdout is the environment's python executable (export it as
`TINYBIG_PYTHON`); everything else goes to stderr. Exit status 1 on failure.
"""

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent
ORACLE = HERE / "tinybig_oracle.py"
DEFAULT_VENV = REPO_ROOT / ".tox" / "tinybig-oracle"
MARKER_NAME = ".keras_rpn_tinybig_oracle.json"

# (pip arguments) for each install step, in order. The marker records them: changing a
# step rebuilds the environment.
INSTALL_STEPS = (
    ("torch==2.13.0",),
    ("--no-deps", "tinybig==0.2.1"),
    ("numpy", "scipy", "scikit-learn", "pyyaml", "tqdm"),
)


def log(message):
    print(f"[make_venv] {message}", file=sys.stderr, flush=True)


def venv_python(venv):
    if os.name == "nt":
        return venv / "Scripts" / "python.exe"
    return venv / "bin" / "python"


@contextlib.contextmanager
def file_lock(path, timeout=3600.0):
    """An exclusive lock on `path` held by this process (flock; O_EXCL where absent)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # no flock (Windows): an exclusive-create lock file
        fcntl = None
    if fcntl is not None:
        with open(path, "a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                log(f"waiting for the lock {path} (another build is running)")
                fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return
    deadline = time.monotonic() + timeout
    while True:
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            break
        except FileExistsError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"could not take the lock {path} in {timeout:.0f} s") from None
            time.sleep(1.0)
    try:
        yield
    finally:
        os.close(fd)
        os.unlink(path)


def expected_marker():
    return {"install_steps": [list(step) for step in INSTALL_STEPS]}


def is_ready(venv):
    marker = venv / MARKER_NAME
    if not marker.is_file() or not venv_python(venv).exists():
        return False
    try:
        recorded = json.loads(marker.read_text())
    except (OSError, ValueError):
        return False
    return recorded.get("install_steps") == expected_marker()["install_steps"]


def run(command):
    log("$ " + " ".join(str(c) for c in command))
    # pip's output goes to stderr: stdout is reserved for the python path.
    subprocess.run([str(c) for c in command], check=True, stdout=sys.stderr)


def build(venv, base_python):
    if venv.exists() and any(venv.iterdir()):
        if not (venv / "pyvenv.cfg").exists():
            raise RuntimeError(
                f"{venv} exists, is not empty and is not a virtual environment; "
                "refusing to overwrite it (choose another --venv / TINYBIG_VENV)"
            )
        log(f"removing the incomplete environment {venv}")
        shutil.rmtree(venv)
    run([base_python, "-m", "venv", venv])
    python = venv_python(venv)
    pip = [python, "-m", "pip", "install", "--disable-pip-version-check"]
    for step in INSTALL_STEPS:
        run(pip + list(step))
    result = subprocess.run(
        [str(python), str(ORACLE), "--version"],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    versions = json.loads(result.stdout.strip().splitlines()[-1])
    log(f"oracle imports: {versions}")
    marker = {**expected_marker(), "versions": versions}
    (venv / MARKER_NAME).write_text(json.dumps(marker, indent=1) + "\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--venv",
        type=Path,
        default=Path(os.environ.get("TINYBIG_VENV") or DEFAULT_VENV),
        help="where to create the environment (default: $TINYBIG_VENV or %(default)s)",
    )
    parser.add_argument(
        "--python",
        default=sys.executable,
        help="interpreter the environment is based on (default: this one)",
    )
    parser.add_argument("--force", action="store_true", help="rebuild even if complete")
    args = parser.parse_args(argv)
    venv = args.venv.expanduser().absolute()
    try:
        with file_lock(venv.parent / (venv.name + ".lock")):
            if args.force or not is_ready(venv):
                log(f"building the tinyBIG oracle environment in {venv}")
                build(venv, args.python)
            else:
                log(f"{venv} is ready")
    except (OSError, RuntimeError, subprocess.CalledProcessError, ValueError) as error:
        log(f"FAILED: {error}")
        return 1
    print(venv_python(venv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
