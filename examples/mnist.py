"""MNIST with tinyBIG's compact RPN: Taylor expansion + dual LPHM reconciliation.

The data come from `keras.datasets.mnist` (downloaded once, then cached in
~/.keras/datasets) or from a local `mnist.npz` given with `--data`. Without network
access and without `--data`, the script says so and exits cleanly (status 0).

Models (`--model`):

* `dual_lphm` (default): 784-64-64-10, Taylor d=2 expansion, dual LPHM reconciliation
  with (p, q, r) = (8, 784, 5), (8, 64, 5), (2, 64, 5): tinyBIG's 9,330-parameter
  model, with an affine-free layer norm after the Taylor expansions of layers 2 and 3
  (as in tinyBIG's MNIST example page). The first layer has none, so its 615,440-wide
  expansion is never built: the reconciliation's factors are contracted with the
  input directly;
* `dual_lphm_layernorm`: the same with a layer norm after the first expansion too, as
  tinyBIG's dual-LPHM configuration has (this one builds the 615,440 features of every
  image: slow on a CPU);
* `kan`: the KAN preset, 784-64-10; `mlp`: the MLP preset, 784-512-256-10.

Pixels are normalised with MNIST's mean and standard deviation (0.1307, 0.3081), as in
tinyBIG's example (reported there: accuracy 0.9807 after 20 epochs with the layer norm).

    KERAS_BACKEND=jax python examples/mnist.py [--epochs 3] [--model dual_lphm] [--data mnist.npz]
"""

import argparse
import socket
import sys
import time

import keras
import numpy as np

import keras_rpn


def load(path):
    if path:
        with np.load(path) as f:
            return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])
    socket.setdefaulttimeout(30)
    return keras.datasets.mnist.load_data()


def dual_lphm(first_layer_norm):
    pqr = [(8, 784, 5), (8, 64, 5), (2, 64, 5)]
    layers = []
    for k, (p, q, r) in enumerate(pqr):
        taylor = {"class_name": "taylor", "config": {"d": 2}}
        if k > 0 or first_layer_norm:
            taylor["config"]["postprocessing"] = "layer_norm"
        reconciliation = {"class_name": "dual_lphm", "config": {"p": p, "q": q, "r": r}}
        layers.append({"expansion": taylor, "reconciliation": reconciliation})
    return keras_rpn.models.RPN(
        [784, 64, 64, 10],
        layer_configs=layers,
        use_bias=False,
        name="taylor_dual_lphm",
    )


MODELS = {
    "dual_lphm": lambda: dual_lphm(False),
    "dual_lphm_layernorm": lambda: dual_lphm(True),
    "kan": lambda: keras_rpn.models.KAN([784, 64, 10], name="kan"),
    "mlp": lambda: keras_rpn.models.MLP([784, 512, 256, 10], name="mlp"),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--model", choices=sorted(MODELS), default="dual_lphm")
    parser.add_argument("--data", help="a local mnist.npz (keras.datasets format)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    try:
        (x_train, y_train), (x_test, y_test) = load(args.data)
    except Exception as error:  # no network, no cache: not an error of this example
        print(
            f"MNIST is not available ({type(error).__name__}: {error}).\n"
            "Skipping: run this example with network access (the data are then cached "
            "in ~/.keras/datasets), or pass a local file with --data mnist.npz."
        )
        return 0
    keras.utils.set_random_seed(args.seed)
    prepare = lambda x: ((x.reshape(len(x), -1) / 255.0 - 0.1307) / 0.3081).astype("float32")  # noqa: E731
    x_train, x_test = prepare(x_train), prepare(x_test)
    model = MODELS[args.model]()
    print(
        f"keras {keras.__version__}, backend {keras.backend.backend()}; {model.name}: "
        f"{model.count_params():,} parameters; {len(x_train)} train / {len(x_test)} test"
    )
    steps = -(-len(x_train) // args.batch_size)
    schedule = keras.optimizers.schedules.ExponentialDecay(
        2e-3, decay_steps=steps, decay_rate=0.9, staircase=True
    )
    model.compile(
        optimizer=keras.optimizers.AdamW(schedule, weight_decay=2e-4),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    start = time.perf_counter()
    model.fit(x_train, y_train, epochs=args.epochs, batch_size=args.batch_size, verbose=2)
    seconds = time.perf_counter() - start
    _, accuracy = model.evaluate(x_test, y_test, batch_size=1000, verbose=0)
    print(f"{model.name}: test accuracy {accuracy:.4f}, trained in {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
