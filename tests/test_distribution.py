"""Multi-device training through Keras' own engines (`keras_rpn.distribution`).

* layout decisions of `keras_rpn.distribution.layout_map`: every backend (no device
  needed, a `DeviceMesh` is only names);
* JAX: `keras.distribution.DataParallel` and `ModelParallel` on 4 simulated host
  devices (`XLA_FLAGS=--xla_force_host_platform_device_count=4`, which must be set
  before jax is imported: the scenario runs in a subprocess);
* TensorFlow: `tf.distribute.MirroredStrategy` on 2 logical CPU devices (subprocess,
  configured before TF initialises);
* PyTorch: `DistributedDataParallel` with 2 gloo processes.

Each multi-device scenario trains N steps and compares losses and weights with the
same training on one device; it runs in its own backend's pytest pass only.
"""

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest

import keras_rpn
from keras_rpn import distribution as rpn_distribution

BACKEND = keras.backend.backend()
ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "multi_device.py"


def only(backend):
    return pytest.mark.skipif(BACKEND != backend, reason=f"runs in the {backend} pass")


def run_python(source, cwd, backend, env=None, args=(), timeout=240):
    """Runs `source` (code or a script path) in a fresh interpreter; returns stdout."""
    if isinstance(source, Path):
        command = [sys.executable, str(source), *args]
    else:
        script = Path(cwd) / "scenario.py"
        script.write_text(textwrap.dedent(source))
        command = [sys.executable, str(script), *args]
    full_env = {
        **os.environ,
        "KERAS_BACKEND": backend,
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        **(env or {}),
    }
    proc = subprocess.run(
        command, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout
    )
    assert proc.returncode == 0, f"{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
    return proc.stdout


def result_of(stdout):
    lines = [line for line in stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, stdout[-3000:]
    return json.loads(lines[-1][len("RESULT ") :])


# Layout decisions do not depend on values: zero initializers spare JAX one XLA
# compilation of a random initializer per weight shape.
ZEROS = {"kernel_initializer": "zeros"}
LINEAR = {"class_name": "linear", "config": ZEROS}


def fusion(name):
    return {"class_name": name, "config": ZEROS} if name.startswith("parameterized") else name


def mesh(model=2, batch=2):
    devices = [f"cpu:{i}" for i in range(model * batch)]
    return keras.distribution.DeviceMesh((batch, model), ["batch", "model"], devices)


def without_counters(path):
    """`path` without auto-numbered component counters (`linear_remainder_3`)."""
    return re.sub(r"(remainder|fusion|reconciliation)_\d+/", r"\1/", path)


def layouts_by_suffix(model, layouts):
    """`{path without the model's own name and counters: axes}`."""
    return {
        without_counters(path.split("/", 1)[1]): axes
        for path, axes in rpn_distribution.variable_layouts(model, layouts).items()
    }


# --------------------------------------------------------------------------------------
# Layout decisions (every backend).


def test_generic_rules_split_default_names():
    model = keras_rpn.models.RPN(
        [8, 6, 4],
        remainder=LINEAR,
        width=2,
        head_fusion=fusion("parameterized_concatenation"),
        **ZEROS,
    )
    got = layouts_by_suffix(model, rpn_distribution.layout_map(mesh()))
    assert got == {
        "rpn_layer_0/head_fusion/kernel": (None, None),
        "rpn_layer_0/head_0/kernel": (None, "model"),
        "rpn_layer_0/head_0/bias": ("model",),
        "rpn_layer_0/head_0/remainder/kernel": (None, "model"),
        "rpn_layer_0/head_1/kernel": (None, "model"),
        "rpn_layer_0/head_1/bias": ("model",),
        "rpn_layer_0/head_1/remainder/kernel": (None, "model"),
        "rpn_layer_1/head_fusion/kernel": (None, None),
        "rpn_layer_1/head_0/kernel": (None, "model"),
        "rpn_layer_1/head_0/bias": ("model",),
        "rpn_layer_1/head_0/remainder/kernel": (None, "model"),
        "rpn_layer_1/head_1/kernel": (None, "model"),
        "rpn_layer_1/head_1/bias": ("model",),
        "rpn_layer_1/head_1/remainder/kernel": (None, "model"),
    }


def test_generic_rules_in_a_functional_model():
    inputs = keras.Input((8,))
    x = keras_rpn.layers.RPNLayer(
        6, width=2, head_fusion=fusion("parameterized_weighted_summation"), **ZEROS
    )(inputs)
    x = keras.layers.Dense(6, name="dense", **ZEROS)(x)
    x = keras_rpn.layers.RPNHead(4, remainder=LINEAR, **ZEROS)(x)
    x = keras_rpn.layers.RPNHead(4, name="custom", **ZEROS)(x)
    model = keras.Model(inputs, x)
    got = rpn_distribution.variable_layouts(model, rpn_distribution.layout_map(mesh()))
    assert got == {
        "rpn_layer/head_fusion/kernel": (None,),
        "rpn_layer/head_0/kernel": (None, "model"),
        "rpn_layer/head_0/bias": ("model",),
        "rpn_layer/head_1/kernel": (None, "model"),
        "rpn_layer/head_1/bias": ("model",),
        "dense/kernel": (None, None),
        "dense/bias": (None,),
        "rpn_head/kernel": (None, "model"),
        "rpn_head/bias": ("model",),
        "rpn_head/remainder/kernel": (None, "model"),
        # Custom names are not keras_rpn's defaults: replicated (use `model=`).
        "custom/kernel": (None, None),
        "custom/bias": (None,),
    }


def test_model_rules_follow_shapes_and_reconciliations():
    model = keras_rpn.models.RPN(
        [8, 6, 5],
        remainder=LINEAR,
        heads=[{"reconciliation": "lorr"}, {"channels": 2}],
        layer_configs=[{}, {"head_fusion": fusion("parameterized_concatenation")}],
        **ZEROS,
    )
    got = layouts_by_suffix(model, rpn_distribution.layout_map(mesh(), model=model))
    assert got == {
        # n = 6: identity kernels split by output rows, lorr replicated.
        "rpn_layer_0/head_0/kernel": (None, None),
        "rpn_layer_0/head_0/bias": ("model",),
        "rpn_layer_0/head_0/remainder/kernel": (None, "model"),
        "rpn_layer_0/head_1/kernel": (None, "model"),
        "rpn_layer_0/head_1/bias": ("model",),
        "rpn_layer_0/head_1/remainder/kernel": (None, "model"),
        # n = 5 does not divide: identity kernel with 2 channels split by channel,
        # outputs replicated.
        "rpn_layer_1/head_fusion/kernel": (None, None),
        "rpn_layer_1/head_0/kernel": (None, None),
        "rpn_layer_1/head_0/bias": (None,),
        "rpn_layer_1/head_0/remainder/kernel": (None, None),
        "rpn_layer_1/head_1/kernel": ("model", None),
        "rpn_layer_1/head_1/bias": (None,),
        "rpn_layer_1/head_1/remainder/kernel": (None, None),
    }
    # A single device on the model axis: everything divides.
    one = rpn_distribution.layout_map(mesh(model=1, batch=4), model=model)
    kernel = next(v.path for v in model.weights if v.path.endswith("layer_1/head_1/kernel"))
    assert rpn_distribution.variable_layouts(model, one)[kernel] == (None, "model")


def test_model_rules_structured_reconciliations():
    wanted = ["masking", "hm", "dual_lphm"]
    missing = [name for name in wanted if name not in keras_rpn.reconciliations.names()]
    if missing:
        pytest.skip(f"reconciliations not registered yet: {missing}")
    heads = [{"reconciliation": name} for name in wanted]
    model = keras_rpn.models.RPN([8, 6], heads=heads, head_fusion="concatenation", **ZEROS)
    got = layouts_by_suffix(model, rpn_distribution.layout_map(mesh(), model=model))
    # Masking is identity times a constant (n, D) mask: both split by output rows.
    assert got["rpn_layer_0/head_0/kernel"] == (None, "model")
    assert got["rpn_layer_0/head_0/reconciliation/mask"] == ("model", None)
    # Kronecker kernels replicated; the outputs (bias) still split.
    for head in ("head_1", "head_2"):
        assert got[f"rpn_layer_0/{head}/kernel"] == (None, None)
        assert got[f"rpn_layer_0/{head}/bias"] == ("model",)


def test_model_rules_match_a_rebuilt_instance():
    kwargs = {"remainder": LINEAR, "heads": [{"reconciliation": "lorr"}, {"channels": 2}], **ZEROS}
    template = keras_rpn.models.RPN([8, 6, 5], **kwargs)
    layouts = rpn_distribution.layout_map(mesh(), model=template)
    rebuilt = keras_rpn.models.RPN([8, 6, 5], **kwargs)  # rpn_1, linear_remainder_4, ...
    cloned = keras_rpn.models.RPN.from_config(template.get_config())
    assert rebuilt.name != template.name
    expected = list(rpn_distribution.variable_layouts(template, layouts).values())
    for other in (rebuilt, cloned):
        assert list(rpn_distribution.variable_layouts(other, layouts).values()) == expected
    assert expected.count((None, None)) + expected.count((None,)) < len(expected)


def test_model_rules_with_same_structure_names():
    # Two top-level RPN layers whose names differ only by their counter: their
    # entries fall back to exact paths instead of clashing.
    inputs = keras.Input((8,))
    x = keras_rpn.layers.RPNLayer(6, name="block", **ZEROS)(inputs)
    x = keras_rpn.layers.RPNLayer(5, name="block_1", **ZEROS)(x)
    model = keras.Model(inputs, x)
    got = rpn_distribution.variable_layouts(model, rpn_distribution.layout_map(mesh(), model=model))
    assert got == {
        "block/head_0/kernel": (None, "model"),
        "block/head_0/bias": ("model",),
        "block_1/head_0/kernel": (None, None),
        "block_1/head_0/bias": (None,),
    }


def test_layout_map_arguments():
    with pytest.raises(ValueError, match="model_axis"):
        rpn_distribution.layout_map(mesh(), model_axis="tensor")
    head = keras_rpn.layers.RPNHead(4)
    with pytest.raises(ValueError, match="built"):
        rpn_distribution.layout_map(mesh(), model=head)
    assert isinstance(rpn_distribution.layout_map(mesh()), keras.distribution.LayoutMap)


# --------------------------------------------------------------------------------------
# JAX: DataParallel and ModelParallel on 4 simulated devices.

JAX_SCENARIO = """
import json
import os

os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=4"
import sys

import keras
import numpy as np

before = set(sys.modules)
import keras_rpn

imported = sorted(m for m in set(sys.modules) - before if m.split(".")[0] == "tensorflow")

rng = np.random.default_rng(0)
x = rng.normal(size=(64, 8)).astype("float32")
y = rng.normal(size=(64, 5)).astype("float32")
devices = keras.distribution.list_devices()
mesh = keras.distribution.DeviceMesh((2, 2), ["batch", "model"], devices)


def fit(model):
    model.compile(keras.optimizers.SGD(0.01, momentum=0.9), "mse")
    out = y[:, : model.dims[-1]]
    return model.fit(x, out, batch_size=16, epochs=2, shuffle=False, verbose=0).history["loss"]


def scenario(make, distribution, reference):
    keras.distribution.set_distribution(distribution)
    try:
        model = make()
        model.set_weights(reference["initial"])
        losses = fit(model)
        shardings = {
            v.path: {
                "spec": [a if a is None else str(a) for a in v.value.sharding.spec],
                "devices": len(v.value.sharding.device_set),
                "shape": list(v.shape),
                "local": list(v.value.addressable_shards[0].data.shape),
            }
            for v in model.weights + model.optimizer.variables
            if len(v.shape)
        }
        weights = model.get_weights()
    finally:
        keras.distribution.set_distribution(None)
    return {
        "losses": losses,
        "reference": reference["losses"],
        "max_weight_diff": max(
            float(np.abs(a - b).max()) for a, b in zip(weights, reference["weights"])
        ),
        "shardings": shardings,
    }


def single_device(model):
    initial = model.get_weights()
    return {"initial": initial, "losses": fit(model), "weights": model.get_weights()}


keras.utils.set_random_seed(0)
results = {"devices": [str(d) for d in devices], "imported": imported}
# The distributed copies get zero initializers (their values are overwritten by the
# reference's): it spares one XLA compilation of a random initializer per weight.
Z = {"kernel_initializer": "zeros"}
plain = dict(remainder="linear", width=2, head_fusion="parameterized_concatenation")
plain_zeros = dict(
    remainder={"class_name": "linear", "config": Z},
    width=2,
    head_fusion={"class_name": "parameterized_concatenation", "config": Z},
    **Z,
)
reference = single_device(keras_rpn.models.RPN([8, 6, 4], **plain))
results["data"] = scenario(
    lambda: keras_rpn.models.RPN([8, 6, 4], **plain_zeros),
    keras.distribution.DataParallel(devices=devices),
    reference,
)
results["model_generic"] = scenario(
    lambda: keras_rpn.models.RPN([8, 6, 4], **plain_zeros),
    keras.distribution.ModelParallel(
        layout_map=keras_rpn.distribution.layout_map(mesh), batch_dim_name="batch"
    ),
    reference,
)
# A template built outside the distribution gives the shape-aware layout map; the
# distributed model is built again (other auto-numbered names) inside it.
mixed = dict(remainder="linear", heads=[{"reconciliation": "lorr"}, {"channels": 2}])
template = keras_rpn.models.RPN([8, 6, 5], **mixed)
layouts = keras_rpn.distribution.layout_map(mesh, model=template)
mixed_zeros = {**mixed, "remainder": {"class_name": "linear", "config": Z}, **Z}
results["model_aware"] = scenario(
    lambda: keras_rpn.models.RPN([8, 6, 5], **mixed_zeros),
    keras.distribution.ModelParallel(layout_map=layouts, batch_dim_name="batch"),
    single_device(template),
)
print("RESULT", json.dumps(results))
"""


@pytest.fixture(scope="module")
def jax_results(tmp_path_factory):
    return result_of(run_python(JAX_SCENARIO, tmp_path_factory.mktemp("jax"), "jax"))


def _assert_same_training(result):
    np.testing.assert_allclose(result["losses"], result["reference"], rtol=1e-5, atol=1e-6)
    assert result["max_weight_diff"] < 1e-5
    assert result["losses"][-1] < result["losses"][0]


def _spec(result, suffix):
    """The entry whose path ends with `suffix`, auto-numbered `_<i>` counters aside."""
    pattern = re.compile(r"(?:.*/)?" + re.sub(r"(remainder|fusion)/", r"\1(?:_\\d+)?/", suffix))
    (entry,) = [v for k, v in result["shardings"].items() if pattern.fullmatch(k)]
    return entry


@only("jax")
def test_jax_data_parallel(jax_results):
    assert len(jax_results["devices"]) == 4
    assert jax_results["imported"] == []  # importing keras_rpn pulls in no tensorflow
    result = jax_results["data"]
    _assert_same_training(result)
    for entry in result["shardings"].values():  # replicated on all 4 devices
        assert entry["devices"] == 4
        assert all(a is None for a in entry["spec"])
        assert entry["local"] == entry["shape"]


@only("jax")
def test_jax_model_parallel_generic_layouts(jax_results):
    result = jax_results["model_generic"]
    _assert_same_training(result)
    kernel = _spec(result, "rpn_layer_0/head_0/kernel")
    assert kernel == {"spec": [None, "model"], "devices": 4, "shape": [1, 48], "local": [1, 24]}
    assert _spec(result, "rpn_layer_1/head_1/bias")["local"] == [2]
    assert _spec(result, "rpn_layer_1/head_1/remainder/kernel")["local"] == [6, 2]
    fusion = _spec(result, "rpn_layer_0/head_fusion/kernel")  # replicated by name rules
    assert fusion["spec"] == [None, None] and fusion["local"] == [12, 6]
    # Optimizer slots follow their variables.
    momentum = [v for k, v in result["shardings"].items() if "head_0_kernel" in k]
    assert momentum and all(m["spec"] == [None, "model"] for m in momentum)


@only("jax")
def test_jax_model_parallel_model_aware_layouts(jax_results):
    result = jax_results["model_aware"]
    _assert_same_training(result)
    expected = {
        "rpn_layer_0/head_0/kernel": ([None, None], [1, 28]),  # lorr: replicated
        "rpn_layer_0/head_1/kernel": ([None, "model"], [2, 24]),  # identity, n = 6
        "rpn_layer_0/head_1/bias": (["model"], [3]),
        "rpn_layer_1/head_1/kernel": (["model", None], [1, 30]),  # n = 5: by channel
        "rpn_layer_1/head_1/bias": ([None], [5]),
    }
    for suffix, (spec, local) in expected.items():
        entry = _spec(result, suffix)
        assert (entry["spec"], entry["local"]) == (spec, local), suffix


# --------------------------------------------------------------------------------------
# TensorFlow: MirroredStrategy on 2 logical CPU devices.

TF_SCENARIO = """
import json
import sys

import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import keras
import numpy as np

before = set(sys.modules)
import keras_rpn

imported = sorted(m for m in set(sys.modules) - before if m.split(".")[0] == "jax")
rng = np.random.default_rng(0)
x = rng.normal(size=(64, 8)).astype("float32")
y = rng.normal(size=(64, 4)).astype("float32")
kwargs = dict(remainder="linear", width=2, head_fusion="parameterized_concatenation")


def compiled(model):
    model.compile(keras.optimizers.SGD(0.01, momentum=0.9), "mse")
    return model


def fit(model):
    return model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0).history["loss"]


keras.utils.set_random_seed(0)
reference = keras_rpn.models.RPN([8, 6, 4], **kwargs)
initial = reference.get_weights()
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
with strategy.scope():  # model, optimizer and compile inside the scope
    model = compiled(keras_rpn.models.RPN([8, 6, 4], **kwargs))
    model.set_weights(initial)
losses = fit(model)
replicas = [
    sorted(v.device for v in strategy.experimental_local_results(w.value)) for w in model.weights
]
reference_losses = fit(compiled(reference))
print("RESULT", json.dumps({
    "imported": imported,
    "replicas_in_sync": strategy.num_replicas_in_sync,
    "replicas": replicas,
    "losses": losses,
    "reference": reference_losses,
    "max_weight_diff": max(
        float(np.abs(a - b).max()) for a, b in zip(model.get_weights(), reference.get_weights())
    ),
}))
"""


@only("tensorflow")
def test_tensorflow_mirrored_strategy(tmp_path):
    result = result_of(run_python(TF_SCENARIO, tmp_path, "tensorflow"))
    assert result["imported"] == []  # importing keras_rpn pulls in no jax
    assert result["replicas_in_sync"] == 2
    for devices in result["replicas"]:  # every weight mirrored on both devices
        assert len(devices) == 2 and devices[0].endswith("CPU:0") and devices[1].endswith("CPU:1")
    _assert_same_training(result)


# --------------------------------------------------------------------------------------
# PyTorch: DistributedDataParallel, 2 gloo processes; single-device reference here.

TORCH_WORKER = """
import sys

import keras
import numpy as np
import torch
import torch.distributed as dist

before = set(sys.modules)
import keras_rpn

imported = [m for m in set(sys.modules) - before if m.split(".")[0] in ("jax", "tensorflow")]
rank, world, folder = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
torch.set_num_threads(1)
dist.init_process_group(
    "gloo", init_method=f"file://{folder}/rendezvous", rank=rank, world_size=world
)
data = np.load(f"{folder}/data.npz")
model = keras_rpn.models.RPN([8, 6, 4], remainder="linear", width=2)
model.set_weights([data[f"w{i}"] for i in range(len(model.weights))])
ddp = torch.nn.parallel.DistributedDataParallel(model)  # a Keras model is a torch Module
optimizer = torch.optim.SGD(ddp.parameters(), lr=0.05, momentum=0.9)
local = len(data["x"]) // world
x = torch.as_tensor(data["x"][rank * local : (rank + 1) * local])
y = torch.as_tensor(data["y"][rank * local : (rank + 1) * local])
losses = []
for _ in range(int(data["steps"])):
    optimizer.zero_grad()
    loss = torch.nn.functional.mse_loss(ddp(x), y)
    loss.backward()  # gradients averaged over the processes
    optimizer.step()
    losses.append(loss.detach())
losses = torch.stack(losses)
dist.all_reduce(losses)  # equal halves: the full-batch loss is the mean
weights = [v.value.detach().numpy() for v in model.weights]
gathered = [None] * world
dist.all_gather_object(gathered, weights)
if rank == 0:
    np.savez(f"{folder}/out.npz", losses=(losses / world).numpy(), imported=len(imported),
             rank_diff=max(np.abs(a - b).max() for a, b in zip(*gathered)),
             **{f"w{i}": w for i, w in enumerate(weights)})
dist.destroy_process_group()
"""


def _torch_train(model, x, y, steps):
    import torch

    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(torch.as_tensor(x)), torch.as_tensor(y))
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    return losses


@only("torch")
def test_torch_distributed_data_parallel(tmp_path):
    steps, world = 6, 2
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 8)).astype("float32")
    y = rng.normal(size=(64, 4)).astype("float32")
    reference = keras_rpn.models.RPN([8, 6, 4], remainder="linear", width=2)
    initial = {f"w{i}": w for i, w in enumerate(reference.get_weights())}
    np.savez(tmp_path / "data.npz", x=x, y=y, steps=steps, **initial)
    script = tmp_path / "worker.py"
    script.write_text(textwrap.dedent(TORCH_WORKER))
    env = {
        **os.environ,
        "KERAS_BACKEND": "torch",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    workers = [
        subprocess.Popen(
            [sys.executable, str(script), str(rank), str(world), str(tmp_path)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for rank in range(world)
    ]
    try:
        outputs = [w.communicate(timeout=240)[0] for w in workers]
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
    for w, output in zip(workers, outputs, strict=True):
        assert w.returncode == 0, output[-5000:]
    out = np.load(tmp_path / "out.npz")
    reference_losses = _torch_train(reference, x, y, steps)
    assert int(out["imported"]) == 0  # importing keras_rpn pulls in no jax / tensorflow
    assert float(out["rank_diff"]) == 0.0  # DDP keeps the processes' weights identical
    _assert_same_training(
        {
            "losses": out["losses"].tolist(),
            "reference": reference_losses,
            "max_weight_diff": max(
                float(np.abs(out[f"w{i}"] - w).max()) for i, w in enumerate(reference.get_weights())
            ),
        }
    )


# --------------------------------------------------------------------------------------
# The example script runs offline on simulated devices.


EXAMPLES_EVERYWHERE = os.environ.get("KERAS_RPN_TEST_EXAMPLES") == "1"


@pytest.mark.skipif(
    BACKEND != "jax" and not EXAMPLES_EVERYWHERE,
    reason="runs in the jax pass (its 2-process torch / TF variants cost ~30 s; "
    "set KERAS_RPN_TEST_EXAMPLES=1 to run them)",
)
def test_example_runs(tmp_path):
    args = ["--epochs", "1", "--compare"] + (["--mode", "model"] if BACKEND == "jax" else [])
    result = result_of(run_python(EXAMPLE, tmp_path, BACKEND, args=args))
    assert result["backend"] == BACKEND
    assert result["devices"] == (4 if BACKEND == "jax" else 2)
    assert result["max_loss_diff"] < 1e-4
    assert result["test_accuracy"] > 0.5  # 10 classes: chance is 0.1
