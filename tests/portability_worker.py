"""Worker for test_portability: run as `KERAS_BACKEND=... python portability_worker.py`.

save DIR   builds the reference model, saves DIR/<backend>.keras and its outputs
load DIR   loads every DIR/*.keras and writes the outputs it gives on this backend
"""

import json
import os
import sys

import keras
import numpy as np

import keras_rpn

BACKEND = keras.backend.backend()


def inputs():
    return np.random.default_rng(7).uniform(-1, 1, (16, 6)).astype("float32")


def build_model():
    keras.utils.set_random_seed(int(sys.argv[3]) if len(sys.argv) > 3 else 0)
    return keras_rpn.models.RPN(
        [6, 5, 4, 3],
        layer_configs=[
            {"expansion": "bspline", "remainder": "linear", "channels": 2, "width": 2},
            {
                "heads": [
                    {"expansion": "taylor", "reconciliation": "lorr"},
                    {"expansion": "chebyshev"},
                    {"expansion": {"class_name": "pca", "config": {"D": 3}}},  # adapted
                ],
                "head_fusion": "parameterized_concatenation",
            },
            {"expansion": "chebyshev", "reconciliation": "lorr", "activation": "softmax"},
        ],
        activation="tanh",
    )


def main():
    mode, directory = sys.argv[1], sys.argv[2]
    x = inputs()
    if mode == "save":
        model = build_model()
        keras_rpn.compressions.adapt(model, x)
        model.save(os.path.join(directory, f"{BACKEND}.keras"))
        np.save(os.path.join(directory, f"{BACKEND}.npy"), keras.ops.convert_to_numpy(model(x)))
        return
    results = {}
    for name in sorted(os.listdir(directory)):
        if name.endswith(".keras"):
            model = keras.saving.load_model(os.path.join(directory, name))
            expected = np.load(os.path.join(directory, name.replace(".keras", ".npy")))
            got = keras.ops.convert_to_numpy(model(x))
            results[name[: -len(".keras")]] = float(np.max(np.abs(got - expected)))
    print(json.dumps(results))


if __name__ == "__main__":
    main()
