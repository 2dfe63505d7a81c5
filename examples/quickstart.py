"""Quickstart: two RPNs on scikit-learn's bundled handwritten digits (offline).

* an RPN-KAN: B-spline expansion + identity reconciliation + SiLU linear remainder;
* a Taylor RPN: degree-2 Taylor expansion + low-rank reconciliation (rank 4), whose
  4,160-wide expansion is never built (the low-rank factor is contracted directly).

Each is trained with `model.fit`, evaluated on a held-out split, saved to a
`.keras` file and reloaded. It runs on the backend Keras is configured with
(`KERAS_BACKEND`, else `~/.keras/keras.json`), e.g.:

    KERAS_BACKEND=jax python examples/quickstart.py [--epochs 30]   # or tensorflow / torch
"""

import argparse
import os
import tempfile
import time

import keras
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import keras_rpn


def load_data():
    digits = load_digits()
    x = (digits.data / 8.0 - 1.0).astype("float32")  # pixels 0..16 -> [-1, 1]
    return train_test_split(
        x, digits.target, test_size=0.25, random_state=0, stratify=digits.target
    )


def build_models():
    silu_linear = {"class_name": "linear", "config": {"activation": "silu"}}
    kan = keras_rpn.models.RPN(
        [64, 32, 10],
        expansion="bspline",
        reconciliation="identity",
        remainder=silu_linear,
        name="rpn_kan",
    )
    taylor = keras_rpn.models.RPN(
        [64, 32, 10],
        expansion="taylor",
        reconciliation={"class_name": "lorr", "config": {"r": 4}},
        remainder="linear",
        name="rpn_taylor_lorr",
    )
    return kan, taylor


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    keras.utils.set_random_seed(args.seed)
    x_train, x_test, y_train, y_test = load_data()
    print(
        f"keras {keras.__version__}, backend {keras.backend.backend()}; "
        f"digits: {len(x_train)} train / {len(x_test)} test samples, 64 features"
    )
    results = {}
    for model in build_models():
        print(f"\n{model.name}: {model.count_params():,} parameters")
        model.compile(
            optimizer=keras.optimizers.AdamW(3e-3, weight_decay=1e-4),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy"],
        )
        start = time.perf_counter()
        model.fit(
            x_train,
            y_train,
            epochs=args.epochs,
            batch_size=64,
            validation_split=0.1,
            verbose="auto",
        )
        seconds = time.perf_counter() - start
        _, accuracy = model.evaluate(x_test, y_test, verbose=0)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, f"{model.name}.keras")
            model.save(path)
            reloaded = keras.saving.load_model(path)  # no custom_objects needed
        same = np.allclose(
            model.predict(x_test, verbose=0), reloaded.predict(x_test, verbose=0), atol=1e-5
        )
        results[model.name] = (accuracy, seconds, same)
        print(
            f"{model.name}: test accuracy {accuracy:.4f} ({seconds:.1f} s); "
            f"reloaded model gives identical predictions: {same}"
        )
    print("\nmodel               test accuracy   train time")
    for name, (accuracy, seconds, _) in results.items():
        print(f"{name:<20}{accuracy:>13.4f}{seconds:>11.1f} s")
    if not all(same for _, _, same in results.values()):
        raise SystemExit("a reloaded model disagreed with the original")


if __name__ == "__main__":
    main()
