"""Digits as sequences (scikit-learn's bundled digits, offline): each 8x8 image is 8
tokens (its rows) of 8 features. The Transformer preset beside a Keras
MultiHeadAttention network of the same shape.

* Transformer preset [8, 16], fc_dims [10]: one attention block (bilinear scores of
  rank 3, scaled by 1/sqrt(3), softmax over the tokens; a linear remainder as the
  residual branch), ReLU, dropout 0.25, a per-token RPN layer (ReLU), then the 8 x 16
  token features flattened into a dense RPN layer to the classes;
* Keras: MultiHeadAttention(num_heads=1, key_dim=3, output_shape=16) plus a Dense(16)
  residual branch, ReLU, Dropout(0.25), Dense(16, ReLU) per token, Flatten, Dense(10).

Pixels (0..16) are scaled to [0, 1]; 25% of the 1,797 images are held out, stratified.
Prints each model's parameter count, test accuracy and training time:

    KERAS_BACKEND=jax python examples/digits_transformer.py [--epochs 30]
"""

import argparse

import keras
from rpn2_common import header
from rpn2_common import report
from rpn2_common import train
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import keras_rpn


def keras_attention():
    layers = keras.layers
    tokens = keras.Input((8, 8))
    attended = layers.MultiHeadAttention(num_heads=1, key_dim=3, output_shape=16)(tokens, tokens)
    h = layers.Add()([attended, layers.Dense(16)(tokens)])
    h = layers.Dropout(0.25)(layers.ReLU()(h))
    h = layers.Dense(16, activation="relu")(h)
    return keras.Model(tokens, layers.Dense(10)(layers.Flatten()(h)), name="keras_mha")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    keras.utils.set_random_seed(args.seed)
    digits = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(
        (digits.images / 16.0).astype("float32"),
        digits.target,
        test_size=0.25,
        random_state=args.seed,
        stratify=digits.target,
    )
    header(f"digits: {len(x_train)} train / {len(x_test)} test images as 8 tokens x 8", args.epochs)
    models = [
        keras_rpn.models.Transformer([8, 16], fc_dims=[10], name="rpn_transformer_preset"),
        keras_attention(),
    ]
    rows = []
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    for model in models:
        seconds = train(model, x_train, y_train, 3e-3, args.epochs, 32, loss, ["accuracy"])
        _, accuracy = model.evaluate(x_test, y_test, verbose=0)
        rows.append((model.name, model.count_params(), accuracy, seconds))
        print(f"{model.name}: test accuracy {accuracy:.4f} in {seconds:.1f} s")
    report(rows, "test accuracy")


if __name__ == "__main__":
    main()
