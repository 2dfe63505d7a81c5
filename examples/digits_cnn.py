"""Digits as 8x8x1 images (scikit-learn's bundled digits, offline): the CNN preset
beside a Keras Conv2D network of the same architecture and parameter count, and the
MLP preset on the flattened pixels.

* CNN preset: two 3x3 grid layers (8 and 16 channels, batch norm, ReLU), a 2x2 max
  pooling, dropout 0.25, a dense RPN layer to the 10 classes (dropout_fc unused);
* Keras CNN: Conv2D(8, 3) - BN - ReLU - Conv2D(16, 3) - BN - ReLU - MaxPooling2D(2) -
  Dropout(0.25) - Flatten - Dense(10): the same shapes, the same parameter count;
* MLP preset 64-64-10 on the flattened pixels.

Pixels (0..16) are scaled to [0, 1]; 25% of the 1,797 images are held out, stratified.
Prints each model's parameter count, test accuracy and training time:

    KERAS_BACKEND=jax python examples/digits_cnn.py [--epochs 20]
"""

import argparse

import keras
from rpn2_common import header
from rpn2_common import report
from rpn2_common import train
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import keras_rpn


def keras_cnn():
    layers = keras.layers
    return keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            layers.Conv2D(8, 3, padding="same"),
            layers.BatchNormalization(),
            layers.ReLU(),
            layers.Conv2D(16, 3, padding="same"),
            layers.BatchNormalization(),
            layers.ReLU(),
            layers.MaxPooling2D(2),
            layers.Dropout(0.25),
            layers.Flatten(),
            layers.Dense(10),
        ],
        name="keras_conv2d_cnn",
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    keras.utils.set_random_seed(args.seed)
    digits = load_digits()
    images = (digits.images / 16.0).astype("float32")[..., None]
    x_train, x_test, y_train, y_test = train_test_split(
        images, digits.target, test_size=0.25, random_state=args.seed, stratify=digits.target
    )
    header(f"digits: {len(x_train)} train / {len(x_test)} test 8x8x1 images", args.epochs)
    models = [
        (keras_rpn.models.CNN([1, 8, 16], fc_dims=[10], name="rpn_cnn_preset"), False),
        (keras_cnn(), False),
        (keras_rpn.models.MLP([64, 64, 10], name="rpn_mlp_preset"), True),
    ]
    rows = []
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    for model, flat in models:
        train_x = x_train.reshape(len(x_train), -1) if flat else x_train
        test_x = x_test.reshape(len(x_test), -1) if flat else x_test
        seconds = train(model, train_x, y_train, 3e-3, args.epochs, 32, loss, ["accuracy"])
        _, accuracy = model.evaluate(test_x, y_test, verbose=0)
        rows.append((model.name, model.count_params(), accuracy, seconds))
        print(f"{model.name}: test accuracy {accuracy:.4f} in {seconds:.1f} s")
    report(rows, "test accuracy")


if __name__ == "__main__":
    main()
