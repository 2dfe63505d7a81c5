"""Run a Python script with some top-level packages made unimportable.

    python benchmarks/_isolated.py jax,tensorflow SCRIPT [ARGS...]

Simulates an environment where only one Keras backend is installed: with TensorFlow,
JAX and PyTorch in one venv, Keras 3 imports JAX at `import keras` (its Orbax
checkpoint callback) and TensorFlow on the first `serialize_keras_object` or `fit`,
whatever the backend, which adds hundreds of MB to the peak RSS of a torch-backend
process. `run.py --isolate` uses this for every Keras subprocess.
"""

import runpy
import sys

if __name__ == "__main__":
    for name in sys.argv[1].split(","):
        if name:
            sys.modules[name] = None  # `import name` now raises ImportError
    script = sys.argv[2]
    sys.argv = sys.argv[2:]
    runpy.run_path(script, run_name="__main__")
