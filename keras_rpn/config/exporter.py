"""`to_tinybig` / `to_yaml`: keras_rpn models -> tinyBIG-style configurations."""

import keras

from keras_rpn import fusions
from keras_rpn.config.names import _KERAS_ONLY_KEYS
from keras_rpn.config.names import _TORCH_ACTIVATIONS
from keras_rpn.config.names import _class_path
from keras_rpn.config.schema import _yaml
from keras_rpn.config.steps import _export_step
from keras_rpn.initializers import TinyBIG
from keras_rpn.models import presets
from keras_rpn.models.rpn import RPN
from keras_rpn.version import __version__


def _plain(value):
    """Config values as YAML/JSON-friendly Python (tuples become lists)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return value.item()
    return value


def _function(family, component, **extra):
    params = component.get_config()
    for key in _KERAS_ONLY_KEYS:
        params.pop(key, None)
    if family == "fusion" and "units" in params:
        params["n"] = params.pop("units")
    params.update(extra)
    return {"function_class": _class_path(family, component), "function_parameters": params}


def _export_expansion(expansion):
    params = expansion.get_config()
    for key in _KERAS_ONLY_KEYS:
        params.pop(key, None)
    pre, post = params.pop("preprocessing", None), params.pop("postprocessing", None)
    if params.get("adaptive_grid") is False:  # keras_rpn's default, tinyBIG's only grid
        del params["adaptive_grid"]
    if "composition_functions" in params:
        params["composition_function_configs"] = [
            _export_expansion(child) for child in expansion.composition_functions
        ]
        del params["composition_functions"]
    if pre:
        params["preprocess_function_configs"] = [_export_step(s) for s in expansion.preprocessing]
    if post:
        params["postprocess_function_configs"] = [_export_step(s) for s in expansion.postprocessing]
    return {"function_class": _class_path("expansion", expansion), "function_parameters": params}


def _export_remainder(remainder):
    params = remainder.get_config()
    for key in (*_KERAS_ONLY_KEYS, "units"):
        params.pop(key, None)
    if params.get("input_activation") in (None, "linear"):  # keras_rpn's default
        params.pop("input_activation", None)
    activation = params.pop("activation", None)
    if activation not in (None, "linear"):
        if activation in _TORCH_ACTIVATIONS:
            params["activation_function_configs"] = {
                "function_class": f"torch.nn.{_TORCH_ACTIVATIONS[activation]}"
            }
        else:
            params["activation_functions"] = f"keras.activations.{activation}"
    if "use_bias" in params:
        params["enable_bias"] = params.pop("use_bias")
    params["require_parameters"] = bool(remainder.weights)
    return {"function_class": _class_path("remainder", remainder), "function_parameters": params}


def _is_default_mean(fusion):
    return type(fusion) is type(fusions.get("mean"))


def _export_head(head, m, activation_steps, instances=None):
    if head.attribute_interdependence is None:
        num_params = head.reconciliation.num_params(head.units, head.expansion.output_dim(m))
    else:  # m' comes from xi_a, which the built head knows
        num_params = 0 if head.kernel is None else int(head.kernel.shape[-1])
    params = {
        "m": m,
        "n": head.units,
        "l": num_params,
        "channel_num": head.channels,
        "data_transformation_configs": _export_expansion(head.expansion),
        "parameter_fabrication_configs": _function(
            "reconciliation", head.reconciliation, enable_bias=head.use_bias
        ),
        "remainder_configs": _export_remainder(head.remainder),
    }
    if head.channels > 1 or not _is_default_mean(head.channel_fusion):
        params["channel_fusion_configs"] = _function("fusion", head.channel_fusion)
    if head.attribute_interdependence is not None:
        params["attribute_interdependence_configs"] = _function(
            "interdependence", head.attribute_interdependence
        )
    if head.instance_interdependence is not None:  # tinyBIG's b: the instances
        params["instance_interdependence_configs"] = _function(
            "interdependence",
            head.instance_interdependence,
            **({"b": instances} if instances else {}),
        )
    steps = []
    if head.activation is not keras.activations.linear:
        steps.append(_export_step(keras.layers.Activation(head.activation)))
    steps += activation_steps
    if steps:
        params["output_process_function_configs"] = steps
    return {"head_class": "tinybig.module.rpn_head", "head_parameters": params}


def _export_layer(layer, m, post, instances=None):
    after = []
    if layer.activation is not keras.activations.linear:
        after.append(_export_step(keras.layers.Activation(layer.activation)))
    after += [_export_step(step) for step in post]
    single = len(layer.heads) == 1
    head_configs, alloc = [], []
    for head in layer.heads:
        exported = _export_head(head, m, after if single else [], instances)
        if head_configs and exported == head_configs[-1]:
            alloc[-1] += 1
        else:
            head_configs.append(exported)
            alloc.append(1)
    params = {
        "m": m,
        "n": layer.units,
        "width": len(layer.heads),
        "width_alloc": alloc,
        "head_configs": head_configs,
    }
    methods = {
        head.kernel_initializer.method if isinstance(head.kernel_initializer, TinyBIG) else None
        for head in layer.heads
    }
    # Heads initialised as tinyBIG's, other than by its default (xavier_uniform).
    if len(methods) == 1 and not methods & {None, "xavier_uniform"}:
        params["parameters_init_method"] = methods.pop()
    if len(layer.heads) > 1 or not _is_default_mean(layer.head_fusion):
        params["head_fusion_configs"] = _function("fusion", layer.head_fusion)
    if not single and after:
        # keras_rpn extension: processing after the head fusion (tinyBIG layers have none).
        params["output_process_function_configs"] = after
    return {"layer_class": "tinybig.module.rpn_layer", "layer_parameters": params}


def to_tinybig(model):
    """A tinyBIG-style configuration dict of a model's architecture.

    The result has tinyBIG's layout (`configurations -> model_configs ->
    model_parameters -> layer_configs -> ... -> head_configs`), with tinyBIG's
    class names for every function keras_rpn shares with tinyBIG (other functions
    are written as `keras_rpn.<family>s.<Class>`), explicit `enable_bias`, `m`, `n`,
    `l` and `channel_num`, and the activations and processing layers as
    `output_process_function_configs` (torch names where they are exact, Keras layer
    configs otherwise). Weights, initializers, regularizers and constraints are not
    part of it. `from_tinybig` reads it back to the same architecture.

    Args:
        model: a `keras_rpn.models.RPN` (including presets and `ProcessedRPN`).

    Returns:
        A dict of plain Python values.
    """
    if not isinstance(model, RPN):
        raise TypeError(
            f"to_tinybig expects a keras_rpn.models.RPN. Received: {type(model).__name__}"
        )
    groups = (
        model.postprocessing_groups()
        if isinstance(model, presets.ProcessedRPN)
        else [[] for _ in model.rpn_layers]
    )
    layer_configs = []
    shape = model.input_shape_of()
    for layer, post in zip(model.rpn_layers, groups, strict=True):
        instances = None if len(shape) == 2 else shape[-2]
        layer_configs.append(_export_layer(layer, int(shape[-1]), post, instances))
        shape = layer.compute_output_shape(shape)
    return _plain(
        {
            "configurations": {
                "model_configs": {
                    "model_class": "tinybig.model.rpn",
                    "model_parameters": {
                        "name": model.name,
                        "depth": len(layer_configs),
                        "depth_alloc": [1] * len(layer_configs),
                        "layer_configs": layer_configs,
                    },
                }
            }
        }
    )


def to_yaml(model, path=None):
    """The model's architecture as tinyBIG-style YAML (see `to_tinybig`).

    Args:
        model: a `keras_rpn.models.RPN` (including presets and `ProcessedRPN`).
        path: optional file to write the YAML to.

    Returns:
        The YAML text.
    """
    yaml = _yaml()
    header = (
        f"# tinyBIG-style model configuration written by keras_rpn {__version__}.\n"
        "# Read it back with keras_rpn.config.from_tinybig(path).\n"
    )

    class Dumper(yaml.SafeDumper):
        pass

    def represent_list(dumper, data):
        # Short lists of numbers and strings on one line: `width_alloc: [2, 1]`.
        flow = all(isinstance(v, (int, float, str, bool)) or v is None for v in data)
        return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)

    Dumper.add_representer(list, represent_list)
    text = header + yaml.dump(
        to_tinybig(model), Dumper=Dumper, sort_keys=False, default_flow_style=False, width=100
    )
    if path is not None:
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    return text
