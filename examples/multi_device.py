"""Train a keras_rpn model on several devices with each backend's own engine.

Runs offline on a CPU: the devices are simulated on the host, the data is
scikit-learn's bundled `load_digits` (8 x 8 images, 10 classes).

    KERAS_BACKEND=jax python examples/multi_device.py                # DataParallel, 4 devices
    KERAS_BACKEND=jax python examples/multi_device.py --mode model   # ModelParallel, 2 x 2 mesh
    KERAS_BACKEND=tensorflow python examples/multi_device.py         # MirroredStrategy, 2 devices
    KERAS_BACKEND=torch python examples/multi_device.py              # DDP, 2 gloo processes

`--compare` also trains the same model from the same weights on one device and
reports the largest difference between the two loss curves. The last line printed is
`RESULT {json}`. On real accelerators, drop the simulation (`XLA_FLAGS`, logical
devices) and use the devices the backend lists; see docs/distribution.md.
"""

import argparse
import json
import os
import tempfile

BATCH = 64  # global batch, split across the devices
LEARNING_RATE = 0.01


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=None, help="4 (JAX) or 2 (TF, torch)")
    parser.add_argument("--mode", choices=["data", "model"], default="data", help="JAX only")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--compare", action="store_true", help="also train on one device")
    return parser.parse_args()


def load_data():
    """Digits scaled to [0, 1]; 1280 training and 512 test samples (whole batches)."""
    import numpy as np
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(x))
    x = (x[order] / 16.0).astype("float32")
    y = y[order].astype("int32")
    return (x[:1280], y[:1280]), (x[1280:1792], y[1280:1792])


def build_model():
    """A KAN-like RPN: B-spline expansion, identity reconciliation, SiLU remainder."""
    import keras_rpn

    return keras_rpn.models.RPN(
        [64, 32, 10],
        expansion="bspline",
        remainder={"class_name": "linear", "config": {"activation": "silu"}},
    )


def fit_keras(model, train, test, epochs):
    """`model.fit` inside whatever distribution is active; returns losses, accuracy."""
    import keras
    import numpy as np

    model.compile(
        optimizer=keras.optimizers.Adam(LEARNING_RATE),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    history = model.fit(*train, batch_size=BATCH, epochs=epochs, shuffle=False, verbose=0)
    logits = model.predict(test[0], batch_size=BATCH, verbose=0)
    accuracy = float(np.mean(np.argmax(logits, axis=-1) == test[1]))
    return history.history["loss"], accuracy


def run_jax(args, train, test):
    flags = os.environ.get("XLA_FLAGS", "")
    os.environ["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count={args.devices}"
    import keras

    import keras_rpn

    keras.utils.set_random_seed(0)
    reference = build_model()  # one device; also the source of the initial weights
    devices = keras.distribution.list_devices()
    if args.mode == "data":
        distribution = keras.distribution.DataParallel(devices=devices)
    else:
        mesh = keras.distribution.DeviceMesh(
            (len(devices) // 2, 2), ["batch", "model"], devices=devices
        )
        distribution = keras.distribution.ModelParallel(
            layout_map=keras_rpn.distribution.layout_map(mesh), batch_dim_name="batch"
        )
    with distribution.scope():  # variables are laid out when they are created
        model = build_model()
        model.set_weights(reference.get_weights())
        losses, accuracy = fit_keras(model, train, test, args.epochs)
        kernel = model.rpn_layers[0].heads[0].kernel
        print(f"first head kernel {tuple(kernel.shape)}: {kernel.value.sharding}")
    reference_losses = fit_keras(reference, train, test, args.epochs)[0] if args.compare else None
    return len(devices), losses, reference_losses, accuracy


def run_tensorflow(args, train, test):
    import tensorflow as tf

    # Simulated devices: must happen before anything initialises TensorFlow.
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * args.devices
    )
    import keras

    keras.utils.set_random_seed(0)
    reference = build_model()
    strategy = tf.distribute.MirroredStrategy([f"/cpu:{i}" for i in range(args.devices)])
    with strategy.scope():  # model, optimizer and compile inside the scope
        model = build_model()
        model.set_weights(reference.get_weights())
        losses, accuracy = fit_keras(model, train, test, args.epochs)
    reference_losses = fit_keras(reference, train, test, args.epochs)[0] if args.compare else None
    return strategy.num_replicas_in_sync, losses, reference_losses, accuracy


def torch_train(module, train, epochs, rank=0, world=1):
    """A plain torch loop; each process takes its slice of every global batch."""
    import torch

    optimizer = torch.optim.Adam(module.parameters(), lr=LEARNING_RATE)
    x, y = torch.as_tensor(train[0]), torch.as_tensor(train[1], dtype=torch.long)
    local = BATCH // world
    losses = []
    for _ in range(epochs):
        batch_losses = []
        for start in range(0, len(x), BATCH):
            rows = slice(start + rank * local, start + (rank + 1) * local)
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(module(x[rows]), y[rows])
            loss.backward()  # DDP averages the gradients of all processes here
            optimizer.step()
            batch_losses.append(loss.detach())
        losses.append(torch.stack(batch_losses))
    return torch.stack(losses)  # (epochs, steps): this process's losses


def torch_accuracy(model, test):
    import numpy as np
    import torch

    with torch.no_grad():
        logits = model(torch.as_tensor(test[0])).numpy()
    return float(np.mean(np.argmax(logits, axis=-1) == test[1]))


def torch_worker(rank, world, folder, epochs):
    import numpy as np
    import torch
    import torch.distributed as dist

    torch.set_num_threads(1)
    dist.init_process_group(
        "gloo", init_method=f"file://{folder}/rendezvous", rank=rank, world_size=world
    )
    train, test = load_data()
    model = build_model()  # a Keras model on the torch backend is a torch.nn.Module
    saved = np.load(f"{folder}/initial.npz")
    model.set_weights([saved[f"w{i}"] for i in range(len(saved.files))])
    ddp = torch.nn.parallel.DistributedDataParallel(model)
    losses = torch_train(ddp, train, epochs, rank, world)
    dist.all_reduce(losses)  # equal slices: the global batch loss is the mean
    if rank == 0:
        mean = (losses / world).mean(dim=1).numpy()
        np.savez(f"{folder}/result.npz", losses=mean, accuracy=torch_accuracy(model, test))
    dist.destroy_process_group()


def run_torch(args, train, test):
    import keras
    import numpy as np
    import torch

    keras.utils.set_random_seed(0)
    reference = build_model()
    with tempfile.TemporaryDirectory() as folder:
        weights = {f"w{i}": w for i, w in enumerate(reference.get_weights())}
        np.savez(f"{folder}/initial.npz", **weights)
        torch.multiprocessing.spawn(
            torch_worker, args=(args.devices, folder, args.epochs), nprocs=args.devices
        )
        result = np.load(f"{folder}/result.npz")
        losses, accuracy = result["losses"].tolist(), float(result["accuracy"])
    reference_losses = None
    if args.compare:
        reference_losses = torch_train(reference, train, args.epochs).mean(dim=1).tolist()
    return args.devices, losses, reference_losses, accuracy


def configured_backend():
    """The backend Keras will use: `KERAS_BACKEND`, else keras.json, else TensorFlow.

    Read without importing Keras: the JAX runner must set `XLA_FLAGS` first.
    """
    if os.environ.get("KERAS_BACKEND"):
        return os.environ["KERAS_BACKEND"]
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    try:
        with open(os.path.join(home, "keras.json")) as f:
            return json.load(f).get("backend", "tensorflow")
    except (OSError, ValueError):
        return "tensorflow"


def main():
    args = parse_args()
    backend = configured_backend()
    os.environ["KERAS_BACKEND"] = backend  # the same for the worker processes
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if args.devices is None:
        args.devices = 4 if backend == "jax" else 2
    if args.devices % 2 or BATCH % args.devices:
        raise SystemExit(f"--devices must be even and divide the batch ({BATCH}).")
    train, test = load_data()
    runner = {"jax": run_jax, "tensorflow": run_tensorflow, "torch": run_torch}[backend]
    devices, losses, reference_losses, accuracy = runner(args, train, test)
    for epoch, loss in enumerate(losses):
        line = f"epoch {epoch + 1}: loss {loss:.4f}"
        if reference_losses is not None:
            line += f" (one device: {reference_losses[epoch]:.4f})"
        print(line)
    print(f"test accuracy on {devices} devices: {accuracy:.3f}")
    result = {
        "backend": backend,
        "devices": devices,
        "mode": args.mode if backend == "jax" else "data",
        "losses": [float(v) for v in losses],
        "test_accuracy": accuracy,
    }
    if reference_losses is not None:
        result["reference_losses"] = [float(v) for v in reference_losses]
        result["max_loss_diff"] = max(
            abs(a - b) for a, b in zip(result["losses"], result["reference_losses"], strict=True)
        )
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
