"""tinyBIG process functions (torch activations, norms, dropout) <-> Keras layers."""

import copy

import keras

from keras_rpn.config.names import _ACTIVATIONS
from keras_rpn.config.names import _TORCH_ACTIVATIONS
from keras_rpn.config.schema import _bool
from keras_rpn.config.schema import _drop
from keras_rpn.config.schema import _float
from keras_rpn.config.schema import _function_spec
from keras_rpn.config.schema import _int
from keras_rpn.config.schema import _reject
from keras_rpn.config.schema import _short


def _keras_layer(class_name, config):
    return {"module": "keras.layers", "class_name": class_name, "config": config}


def _process_step(spec, where):
    """`(Keras layer config, declared width or None)` for one tinyBIG process function."""
    class_path, params = _function_spec(spec, where)
    _drop(params, ("name", "device", "inplace"))
    if class_path.startswith("keras."):
        layer = _keras_layer(_short(class_path), params)
        keras.layers.deserialize(copy.deepcopy(layer))
        return layer, None
    key = _short(class_path).lower()
    if key in ("layernorm", "layer_norm"):
        width = params.pop("normalized_shape", None)
        affine = _bool(params.pop("elementwise_affine", False), "elementwise_affine", where)
        eps = _float(params.pop("eps", 1e-5), "eps", where)
        params.pop("bias", None)
        _reject(params, where)
        # tinyBIG's process functions are not submodules: torch.nn.LayerNorm's affine
        # parameters are never trained, so the layer computes an affine-free norm.
        del affine
        config = {"epsilon": eps, "center": False, "scale": False}
        if isinstance(width, (list, tuple)):
            width = width[-1] if len(width) == 1 else None
        return _keras_layer("LayerNormalization", config), width
    if key in ("batchnorm1d", "batch_norm", "batchnorm"):
        width = params.pop("num_features", None)
        eps = _float(params.pop("eps", 1e-5), "eps", where)
        momentum = params.pop("momentum", 0.1)
        affine = _bool(params.pop("affine", True), "affine", where)
        if not _bool(params.pop("track_running_stats", True), "track_running_stats", where):
            raise ValueError(f"{where}: BatchNorm without running statistics is not supported.")
        _reject(params, where)
        config = {
            "epsilon": eps,
            "momentum": 1.0 - _float(momentum, "momentum", where),
            "center": affine,
            "scale": affine,
        }
        return _keras_layer("BatchNormalization", config), width
    if key in ("dropout", "dropout1d"):
        rate = _float(params.pop("p", 0.5), "p", where)
        _reject(params, where)
        return _keras_layer("Dropout", {"rate": rate}), None
    if key in ("leakyrelu", "leaky_relu"):
        slope = _float(params.pop("negative_slope", 0.01), "negative_slope", where)
        _reject(params, where)
        return _keras_layer("LeakyReLU", {"negative_slope": slope}), None
    if key in ("softmax", "logsoftmax", "log_softmax"):
        if params.pop("dim", -1) not in (-1, 1, None):
            raise ValueError(f"{where}: only a softmax over the features is supported.")
    _reject(params, where)
    if key not in _ACTIVATIONS:
        raise ValueError(
            f"Cannot map the process function {class_path!r} at {where}. Known: LayerNorm, "
            f"BatchNorm1d, Dropout, LeakyReLU, layer_norm and the activations "
            f"{', '.join(sorted(_ACTIVATIONS))}."
        )
    return _keras_layer("Activation", {"activation": _ACTIVATIONS[key]}), None


def _process_steps(value, where):
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        value = [value]
    return [_process_step(spec, f"{where}[{i}]") for i, spec in enumerate(value)]


def _pop_processing(params, prefix, where):
    steps = []
    for suffix in ("_function_configs", "_functions", "_function"):
        key = prefix + suffix
        if key in params:
            steps += _process_steps(params.pop(key), f"{where}.{key}")
    return steps


def _check_widths(steps, width, where):
    for layer, declared in steps:
        if declared is not None and width is not None and _int(declared, "width", where) != width:
            raise ValueError(
                f"{where}: a {layer['class_name']} over {declared} features is applied to a "
                f"width of {width}."
            )
    return [layer for layer, _ in steps]


def _is_activation(layer):
    return layer["class_name"] == "Activation"


def _export_step(layer):
    """A tinyBIG process-function config for one Keras layer."""
    config = layer.get_config()
    if isinstance(layer, keras.layers.Activation):
        name = keras.activations.serialize(layer.activation)
        name = name if isinstance(name, str) else name.get("config", name)
        if name in _TORCH_ACTIVATIONS:
            return {"function_class": f"torch.nn.{_TORCH_ACTIVATIONS[name]}"}
        if name in ("softmax", "log_softmax"):
            torch_name = "Softmax" if name == "softmax" else "LogSoftmax"
            return {"function_class": f"torch.nn.{torch_name}", "function_parameters": {"dim": -1}}
    if isinstance(layer, keras.layers.Dropout) and not config.get("noise_shape"):
        return {"function_class": "torch.nn.Dropout", "function_parameters": {"p": layer.rate}}
    if (
        isinstance(layer, keras.layers.LayerNormalization)
        and not layer.center
        and not layer.scale
        and not getattr(layer, "rms_scaling", False)
        and config["axis"] in (-1, [-1])
    ):
        return {
            "function_class": "torch.nn.functional.layer_norm",
            "function_parameters": {"eps": layer.epsilon},
        }
    if (
        isinstance(layer, keras.layers.BatchNormalization)
        and layer.center == layer.scale
        and config["axis"] in (-1, [-1])
        and _non_default(layer, config).keys() <= {"momentum", "epsilon", "center", "scale"}
    ):
        return {
            "function_class": "torch.nn.BatchNorm1d",
            "function_parameters": {
                "num_features": None
                if not layer.built
                else int(layer.gamma.shape[0])
                if layer.scale
                else int(layer.moving_mean.shape[0]),
                "eps": layer.epsilon,
                "momentum": round(1.0 - layer.momentum, 10),
                "affine": layer.center,
            },
        }
    return {
        "function_class": f"keras.layers.{type(layer).__name__}",
        "function_parameters": _non_default(layer, config),
    }


def _non_default(layer, config):
    """The entries of a Keras layer's config that differ from a default instance's."""
    config = {k: v for k, v in config.items() if k not in ("name", "trainable", "dtype")}
    try:
        default = type(layer)().get_config()
    except TypeError:  # the layer has required arguments
        return config
    return {k: v for k, v in config.items() if k not in default or default[k] != v}
