"""Handwritten digits (scikit-learn's bundled 8x8 digits, offline): three RPNs side by side.

* KAN preset: B-spline expansion (t=5, d=3) + identity reconciliation + SiLU linear
  remainder, 64-32-10;
* Taylor + dual LPHM: degree-2 Taylor expansion (4,160 features of the 64 pixels), then
  an affine-free layer norm, with a dual LPHM reconciliation (rank 8): tinyBIG's compact
  MNIST design scaled down to 64-32-10 (1,746 parameters);
* MLP preset: identity expansion + identity reconciliation + bias, ReLU, 64-64-10.

Pixels (0..16) are scaled to [-1, 1]; 25% of the 1,797 images are held out, stratified.
Each model trains with AdamW and cross-entropy; the script prints each model's parameter
count, test accuracy and training time. Run with any backend:

    KERAS_BACKEND=jax python examples/digits.py [--epochs 40]
"""

import argparse
import time

import keras
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import keras_rpn


def load_data(seed):
    digits = load_digits()
    x = (digits.data / 8.0 - 1.0).astype("float32")
    return train_test_split(
        x, digits.target, test_size=0.25, random_state=seed, stratify=digits.target
    )


def build_models():
    """`(model, learning rate)` pairs."""
    kan = keras_rpn.models.KAN([64, 32, 10], name="kan")
    # Taylor d=2 on 64 inputs: D = 64 + 64^2 = 4160 = 64 x 65; on 32 inputs D = 1056 = 32 x 33.
    taylor = keras_rpn.models.RPN(
        [64, 32, 10],
        expansion={"class_name": "taylor", "config": {"d": 2, "postprocessing": "layer_norm"}},
        layer_configs=[
            {"reconciliation": {"class_name": "dual_lphm", "config": {"p": 4, "q": 64, "r": 8}}},
            {"reconciliation": {"class_name": "dual_lphm", "config": {"p": 2, "q": 32, "r": 8}}},
        ],
        name="taylor_dual_lphm",
    )
    mlp = keras_rpn.models.MLP([64, 64, 10], name="mlp")
    return [(kan, 3e-3), (taylor, 1e-2), (mlp, 3e-3)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    keras.utils.set_random_seed(args.seed)
    x_train, x_test, y_train, y_test = load_data(args.seed)
    print(
        f"keras {keras.__version__}, backend {keras.backend.backend()}; digits: "
        f"{len(x_train)} train / {len(x_test)} test images, 64 pixels; {args.epochs} epochs"
    )
    rows = []
    for model, learning_rate in build_models():
        model.compile(
            optimizer=keras.optimizers.AdamW(learning_rate, weight_decay=1e-4),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy"],
        )
        start = time.perf_counter()
        model.fit(x_train, y_train, epochs=args.epochs, batch_size=args.batch_size, verbose=0)
        seconds = time.perf_counter() - start
        _, accuracy = model.evaluate(x_test, y_test, verbose=0)
        rows.append((model.name, model.count_params(), accuracy, seconds))
        print(
            f"{model.name}: {model.count_params():,} parameters, test accuracy "
            f"{accuracy:.4f}, trained in {seconds:.1f} s"
        )
    print(f"\n{'model':<20}{'parameters':>12}{'test accuracy':>15}{'train time':>12}")
    for name, params, accuracy, seconds in rows:
        print(f"{name:<20}{params:>12,}{accuracy:>15.4f}{seconds:>10.1f} s")


if __name__ == "__main__":
    main()
