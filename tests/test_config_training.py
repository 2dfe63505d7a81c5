"""tinyBIG configs: initialisation (`parameters_init_method`) and learner settings
(`learner_configs`) import as Keras objects."""

import copy
import math
import os
import subprocess

import keras
import numpy as np
import pytest

from keras_rpn.config import from_tinybig
from keras_rpn.config import learner_arguments
from keras_rpn.config import load_config
from keras_rpn.config import to_tinybig
from keras_rpn.initializers import TinyBIG

DATA = os.path.join(os.path.dirname(__file__), "data", "tinybig")


def numpy(x):
    return np.asarray(keras.ops.convert_to_numpy(x), dtype="float64")


def heads(model):
    return [layer.heads[0] for layer in model.rpn_layers]


def with_method(name, method):
    config = load_config(os.path.join(DATA, f"{name}.yaml"))
    layers = config["configurations"]["model_configs"]["model_parameters"]["layer_configs"]
    for layer in layers:
        layer["layer_parameters"]["parameters_init_method"] = method
    return config


def test_feynman_imports_tinybig_xavier_uniform_by_default():
    model = from_tinybig(os.path.join(DATA, "feynman.yaml"))
    for head, (m, num_params) in zip(heads(model), [(9, 218), (2, 36), (2, 35)], strict=True):
        assert isinstance(head.kernel_initializer, TinyBIG)
        assert head.kernel_initializer.method == "xavier_uniform"
        kernel = numpy(head.kernel)
        assert kernel.shape == (1, num_params)
        bound = math.sqrt(6 / (1 + num_params))  # xavier on the flat (C, l) kernel
        assert 0.85 * bound < np.abs(kernel).max() <= bound
        remainder = numpy(head.remainder.kernel)  # keras (m, n), tinyBIG (n, m): same fans
        assert np.abs(remainder).max() <= math.sqrt(6 / (m + head.units))


@pytest.mark.parametrize("method", ["kaiming_uniform", "fanout_std_uniform", "xavier_normal"])
def test_parameters_init_method_maps_to_tinybig_formulas(method):
    config = with_method("diabetes", method)
    model = from_tinybig(config)
    head = heads(model)[0]
    kernel, remainder = numpy(head.kernel), numpy(head.remainder.kernel)
    num_params, m, n = kernel.shape[1], remainder.shape[0], head.units
    if method == "kaiming_uniform":
        assert 0.9 / math.sqrt(num_params) < np.abs(kernel).max() <= 1 / math.sqrt(num_params)
        assert np.abs(remainder).max() <= 1 / math.sqrt(m)
    elif method == "fanout_std_uniform":
        assert np.abs(kernel).max() <= 1 / math.sqrt(n)
        assert np.abs(remainder).max() <= 1 / math.sqrt(n)
    else:
        assert abs(kernel.std() / math.sqrt(2 / (1 + num_params)) - 1) < 0.25
    exported = to_tinybig(model)["configurations"]["model_configs"]["model_parameters"]
    assert exported["layer_configs"][0]["layer_parameters"]["parameters_init_method"] == method
    again = heads(from_tinybig(to_tinybig(model)))[0]
    assert again.kernel_initializer.method == method


def test_unknown_init_method_is_refused():
    with pytest.raises(ValueError, match=r"parameters_init_method.*Received: .*'he_normal'"):
        from_tinybig(with_method("iris", "he_normal"))


def test_imported_model_config_and_save_roundtrip(tmp_path):
    model = from_tinybig(os.path.join(DATA, "composite.yaml"))
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    x = np.full((2, 2), 0.3, "float32")
    np.testing.assert_allclose(numpy(loaded(x)), numpy(model(x)), rtol=1e-6)
    assert heads(loaded)[0].kernel_initializer.method == "xavier_uniform"


LEARNER = {
    "configurations": {
        "data_configs": {"data_parameters": {"train_batch_size": 100, "test_batch_size": 100}},
        "learner_configs": {
            "learner_class": "tinybig.learner.backward_learner",
            "learner_parameters": {
                "name": "learner",
                "n_epochs": 2000,
                "optimizer_configs": {
                    "optimizer_class": "torch.optim.AdamW",
                    "optimizer_parameters": {"lr": 3.0e-3, "weight_decay": 1.0e-4},
                },
                "lr_scheduler_configs": {
                    "lr_scheduler_class": "torch.optim.lr_scheduler.ExponentialLR",
                    "lr_scheduler_parameters": {"gamma": 0.999},
                },
                "loss_configs": {
                    "loss_class": "torch.nn.MSELoss",
                    "loss_parameters": {"reduction": "mean"},
                },
            },
        },
    }
}


def test_learner_arguments_values():
    compile_kwargs, fit_kwargs = learner_arguments(LEARNER)
    optimizer = compile_kwargs["optimizer"]
    assert isinstance(optimizer, keras.optimizers.AdamW)
    assert math.isclose(float(optimizer.learning_rate), 3e-3, rel_tol=1e-6)
    assert math.isclose(optimizer.weight_decay, 1e-4) and optimizer.epsilon == 1e-8
    assert isinstance(compile_kwargs["loss"], keras.losses.MeanSquaredError)
    assert fit_kwargs["epochs"] == 2000 and fit_kwargs["batch_size"] == 100
    (callback,) = fit_kwargs["callbacks"]
    # torch's ExponentialLR: lr0 * gamma ** epoch, stepped once per epoch.
    assert math.isclose(callback.schedule(10, 0.5), 3e-3 * 0.999**10, rel_tol=1e-6)


def test_learner_arguments_train_with_the_schedule():
    config = copy.deepcopy(LEARNER)
    params = config["configurations"]["learner_configs"]["learner_parameters"]
    params["n_epochs"] = 3
    params["lr_scheduler_configs"]["lr_scheduler_parameters"]["gamma"] = 0.5
    params["loss_configs"] = {"loss_class": "torch.nn.CrossEntropyLoss"}
    params["optimizer_configs"] = {
        "optimizer_class": "torch.optim.Adam",
        "optimizer_parameters": {"lr": 0.1, "betas": [0.8, 0.9]},
    }
    compile_kwargs, fit_kwargs = learner_arguments(config)
    assert compile_kwargs["optimizer"].beta_1 == 0.8
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(**compile_kwargs)
    x, y = np.ones((8, 3), "float32"), np.array([0, 1] * 4)
    history = model.fit(x, y, verbose=0, **fit_kwargs)
    np.testing.assert_allclose(history.history["learning_rate"], [0.1, 0.05, 0.025], rtol=1e-6)


@pytest.mark.parametrize(
    "key, value, error, message",
    [
        ("optimizer_configs", {"optimizer_class": "torch.optim.LBFGS"}, ValueError, "LBFGS"),
        (
            "optimizer_configs",
            {"optimizer_class": "torch.optim.Adam", "optimizer_parameters": {"weight_decay": 0.1}},
            NotImplementedError,
            "weight_decay=0.1",
        ),
        ("loss_configs", {"loss_class": "torch.nn.NLLLoss"}, ValueError, "NLLLoss"),
        (
            "lr_scheduler_configs",
            {
                "lr_scheduler_class": "torch.optim.lr_scheduler.ExponentialLR",
                "lr_scheduler_parameters": {"gamma": "fast"},
            },
            TypeError,
            "gamma='fast'",
        ),
        ("n_epochs", 2.5, ValueError, "n_epochs=2.5"),
        ("epochs", 3, ValueError, r"\['epochs'\]"),
    ],
)
def test_learner_arguments_refuse_what_they_cannot_map(key, value, error, message):
    config = copy.deepcopy(LEARNER)
    config["configurations"]["learner_configs"]["learner_parameters"][key] = value
    with pytest.raises(error, match=message):
        learner_arguments(config)
    with pytest.raises(ValueError, match="no `learner_configs`"):
        learner_arguments({"configurations": {}})


TINYBIG_INIT_SCRIPT = r"""
import contextlib, json, sys
sys.path.insert(0, sys.argv[1])
from tinybig_oracle import load_tinybig
with contextlib.redirect_stdout(sys.stderr):
    load_tinybig()
    import torch, yaml
    from tinybig.config.base_config import config
out = {}
for path in sys.argv[2:]:
    spec = yaml.safe_load(open(path))["configurations"]["model_configs"]
    torch.manual_seed(0)
    with contextlib.redirect_stdout(sys.stderr):
        model = config.instantiation_from_configs(
            spec, class_name="model_class", parameter_name="model_parameters")
    out[path] = {n: [list(p.shape), float(p.abs().max())] for n, p in model.named_parameters()}
print(json.dumps(out))
"""


def test_imported_initialisation_matches_tinybig_bounds(tmp_path):
    """tinyBIG 0.2.1 initialises the same configs within the same bounds."""
    python = os.environ.get("TINYBIG_PYTHON")
    if not python or os.environ.get("KERAS_RPN_SKIP_PARITY"):
        pytest.skip("no tinyBIG oracle venv (tests/oracle/make_venv.py builds it)")
    files = {}
    for name, method in (("composite", "kaiming_uniform"), ("diabetes", "fanout_std_uniform")):
        config = with_method(name, method)
        files[name] = str(tmp_path / f"{name}.yaml")
        import yaml

        with open(files[name], "w") as f:
            yaml.safe_dump(config, f)
    oracle = os.path.join(os.path.dirname(__file__), "oracle")
    result = subprocess.run(
        [python, "-c", TINYBIG_INIT_SCRIPT, oracle, *files.values()],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
    import json

    tinybig = json.loads(result.stdout.strip().splitlines()[-1])
    for name, file in files.items():
        head = heads(from_tinybig(file))[0]
        ours = {"w": numpy(head.kernel)}
        if not head.remainder.is_zero:
            ours["w_remainder"] = numpy(head.remainder.kernel).T
        for key, value in ours.items():
            (shape, their_max) = next(v for k, v in tinybig[file].items() if k.endswith(key))
            assert list(value.shape) == shape, (name, key)
            if value.size >= 30:  # tens to hundreds of draws: both maxima near the bound
                assert 0.8 < np.abs(value).max() / their_max < 1.25, (name, key)
            else:  # diabetes' 8 remainder weights, fanout_std_uniform with n = 1: U(+-1)
                assert max(np.abs(value).max(), their_max) <= 1.0, (name, key)
