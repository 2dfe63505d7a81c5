"""What fitting a compression costs: `adapt` once on scikit-learn's digits, then apply.

    KERAS_BACKEND=jax python benchmarks/adapt_compressions.py

For each fitted compression: the wall time of `adapt` on the 1797 x 64 digits (one
fit, scikit-learn inside), of one jit-compiled forward pass over all rows after
warm-up (keras.ops), and, for comparison, of tinyBIG's approach: a scikit-learn fit
and transform on every batch of 64 rows of one epoch (what tinyBIG does on each
forward pass).
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402
from sklearn import decomposition  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

from keras_rpn import compressions  # noqa: E402

CASES = [
    ("pca", {"D": 16}),
    ("incremental_pca", {"D": 16, "batch_size": 256}),
    ("random_projection", {"D": 16, "seed": 0}),
    ("variance_threshold", {"D": 16}),
    ("feature_clustering", {"D": 16, "seed": 0}),
    ("isomap", {"D": 16, "n_neighbors": 8}),
    ("lle", {"D": 16, "n_neighbors": 20, "seed": 0}),
]


def main():
    x = (load_digits().data / 16.0).astype("float32")
    print(f"backend {keras.backend.backend()}, digits {x.shape}\n")
    print("| compression | adapt (s) | forward, 1797 rows (ms) |")
    print("|---|---|---|")
    for name, arguments in CASES:
        layer = compressions.get(name, **arguments)
        start = time.perf_counter()
        layer.adapt(x)
        fitted = time.perf_counter() - start
        model = keras.Sequential([keras.Input((64,)), layer])
        model.predict(x, batch_size=len(x), verbose=0)  # compile and warm up
        start = time.perf_counter()
        for _ in range(5):
            model.predict(x, batch_size=len(x), verbose=0)
        applied = (time.perf_counter() - start) / 5 * 1e3
        print(f"| `{name}` | {fitted:.3f} | {applied:.1f} |")
    start = time.perf_counter()
    for i in range(0, len(x) - 63, 64):
        decomposition.IncrementalPCA(n_components=16).partial_fit(x[i : i + 64]).transform(
            x[i : i + 64]
        )
    per_epoch = time.perf_counter() - start
    print(
        f"\ntinyBIG-style IncrementalPCA fit + transform per batch of 64, one epoch: "
        f"{per_epoch:.3f} s (every epoch, and the map changes with each batch)"
    )


if __name__ == "__main__":
    main()
