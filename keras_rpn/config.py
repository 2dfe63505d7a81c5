"""Import and export of tinyBIG-style model configurations (YAML or JSON).

`from_tinybig(config)` builds a Keras model from a tinyBIG model configuration;
`to_tinybig(model)` / `to_yaml(model)` write a model's architecture back out in the
same layout, which `from_tinybig` reads again.

The configuration nests as tinyBIG's does:

```
configurations -> model_configs -> {model_class, model_parameters}
  model_parameters -> layer_configs (+ depth, depth_alloc)
    -> {layer_class, layer_parameters: {m, n, width, width_alloc, head_configs, ...}}
      head_configs -> {head_class, head_parameters: {channel_num, ...,
          data_transformation_configs, parameter_fabrication_configs, remainder_configs}}
        each function -> {function_class, function_parameters}
```

Both the current schema (`function_class` / `function_parameters`) and the older ones
(`data_transformation_class` / `data_transformation_parameters`,
`parameter_fabrication_class` / ..., `parameter_reconciliation_class` / ...,
`remainder_class` / ..., `expansion_class` / `expansion_parameters` for composed
expansions, a layer's `fusion_strategy`) are read.

How tinyBIG's settings map onto keras_rpn (see `docs/migration.md`):

* function classes (`tinybig.expansion.taylor_expansion`, ...) resolve through the
  registries, which know tinyBIG's class names; their parameters keep their names;
* a reconciliation's `enable_bias` becomes the head's `use_bias` (tinyBIG's default:
  no bias); a remainder's `enable_bias` becomes its `use_bias`;
* a remainder's `activation_functions` / `activation_function_configs`
  (`torch.nn.functional.silu`, `torch.nn.SiLU`, ...) become its Keras `activation`;
* `channel_num` becomes `channels`; `width` / `width_alloc` and `depth` /
  `depth_alloc` repeat head and layer configs by tinyBIG's rule;
* an expansion's pre/postprocess functions (`torch.nn.LayerNorm`, `'layer_norm'`,
  ...) become its `preprocessing` / `postprocessing` Keras layers. tinyBIG never
  registers process functions as submodules, so a LayerNorm's affine parameters
  stay at 1 and 0 there: it is imported as a LayerNormalization without them, which
  computes the same thing and keeps tinyBIG's parameter counts;
* a head's output processing (`torch.nn.ReLU`, `torch.nn.BatchNorm1d`,
  `torch.nn.Dropout`, ...) becomes the layer's activation and, when there is more
  than one activation, Keras layers after the layer (a `ProcessedRPN`). These
  honour `training=` (tinyBIG's stay in training mode) and their weights train.

Anything that cannot be mapped raises a `ValueError` naming the key or class;
tinyBIG features keras_rpn does not have (data interdependence) raise
`NotImplementedError`. `device`, `name`, `batch_num` and initialisation settings
(`parameters_init_method`) are ignored: Keras places tensors and keras_rpn uses
Keras initializers.

YAML needs the optional dependency pyyaml (`pip install "keras-rpn[config]"`);
dicts and JSON do not.
"""

import copy
import json
import os

import keras

from keras_rpn import expansions
from keras_rpn import fusions
from keras_rpn import reconciliations
from keras_rpn import remainders
from keras_rpn.layers.rpn_head import RPNHead
from keras_rpn.layers.rpn_layer import RPNLayer
from keras_rpn.layers.rpn_layer import allocate
from keras_rpn.models import presets
from keras_rpn.models.rpn import RPN
from keras_rpn.version import __version__

__all__ = ["from_tinybig", "load_config", "to_tinybig", "to_yaml"]

_FAMILIES = {
    "expansion": expansions,
    "reconciliation": reconciliations,
    "remainder": remainders,
    "fusion": fusions,
}


def _yaml():
    try:
        import yaml
    except ImportError:
        raise ImportError(
            "Reading or writing YAML configurations needs pyyaml. Install it with "
            '`pip install "keras-rpn[config]"` (or `pip install pyyaml`), or use a dict '
            "or a JSON string instead."
        ) from None
    return yaml


# --------------------------------------------------------------------------------------
# Loading


def load_config(config):
    """A configuration as a new dict, from a dict, a YAML/JSON string or a file path."""
    if isinstance(config, dict):
        return copy.deepcopy(config)
    if isinstance(config, os.PathLike) or (
        isinstance(config, str) and "\n" not in config and os.path.isfile(config)
    ):
        path = os.fspath(config)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        if path.lower().endswith(".json"):
            return _mapping(json.loads(text), path)
        return _parse_text(text, path)
    if isinstance(config, str):
        return _parse_text(config, "the configuration string")
    raise TypeError(
        "Expected a configuration dict, a YAML or JSON string, or a file path. "
        f"Received: {type(config).__name__}"
    )


def _parse_text(text, where):
    if text.lstrip().startswith("{"):
        try:
            return _mapping(json.loads(text), where)
        except json.JSONDecodeError:
            pass
    if "\n" not in text and ":" not in text:
        raise ValueError(f"No configuration file at {text!r}.")
    return _mapping(_yaml().safe_load(text), where)


def _mapping(value, where):
    if not isinstance(value, dict):
        raise ValueError(f"Expected a mapping in {where}. Received: {type(value).__name__}")
    return value


def _model_config(config):
    """Unwraps `configurations` / `model_configs` down to `{model_class, model_parameters}`."""
    if "configurations" in config:
        config = config["configurations"] or {}
    if "model_configs" in config:
        config = config["model_configs"] or {}
    if "model_class" in config or "model_parameters" in config:
        return config
    if "layer_configs" in config:
        return {"model_class": "tinybig.model.rpn", "model_parameters": config}
    raise ValueError(
        "Could not find a model configuration: expected `configurations` -> "
        "`model_configs` -> `model_class` / `model_parameters` (or `layer_configs`). "
        f"Top-level keys: {sorted(config)}"
    )


# --------------------------------------------------------------------------------------
# Functions


def _short(class_path):
    """`tinybig.expansion.taylor_expansion` -> `taylor_expansion`."""
    if not isinstance(class_path, str) or not class_path.strip():
        raise ValueError(f"Expected a class path string. Received: {class_path!r}")
    return class_path.strip().rsplit(".", 1)[-1]


def _function_spec(spec, where):
    """`(class_path, parameters)` of a function config, in any of tinyBIG's schemas."""
    if isinstance(spec, str):
        return spec, {}
    if not isinstance(spec, dict):
        raise ValueError(f"Expected a function config at {where}. Received: {spec!r}")
    if "function_class" in spec:
        class_key = "function_class"
    else:
        class_keys = [k for k in spec if k.endswith("_class")]
        if len(class_keys) != 1:
            raise ValueError(
                f"Expected one `function_class` (or `<kind>_class`) key at {where}. "
                f"Received keys: {sorted(spec)}"
            )
        class_key = class_keys[0]
    params_key = class_key[: -len("_class")] + "_parameters"
    params = dict(spec.get(params_key) or {})
    # Process functions sometimes sit beside the parameters rather than inside them.
    for key, value in spec.items():
        if key not in (class_key, params_key):
            if key in params:
                raise ValueError(f"{where}: `{key}` is given twice.")
            params[key] = value
    return spec[class_key], params


def _drop(params, keys=("name", "device", "require_parameters")):
    for key in keys:
        params.pop(key, None)
    return params


def _reject(params, where):
    if params:
        raise ValueError(f"Cannot map the key(s) {sorted(params)} at {where}.")


def _component(family, class_path, params, where):
    """A keras_rpn config dict `{"class_name", "config"}` for one function, validated."""
    module = _FAMILIES[family]
    name = _short(class_path)
    try:
        cls = module.base._registry.lookup(name)
    except ValueError:
        raise ValueError(
            f"Cannot map the {family} class {class_path!r} at {where}: keras_rpn has no "
            f"{family} of that name. Known names: {', '.join(module.names())}."
        ) from None
    config = {"class_name": name, "config": params}
    try:
        module.get(copy.deepcopy(config))
    except TypeError as e:
        raise ValueError(
            f"Cannot map the parameters {sorted(params)} of {class_path!r} "
            f"({cls.__name__}) at {where}: {e}"
        ) from None
    except ValueError as e:
        raise ValueError(f"{where} ({class_path}): {e}") from None
    return config


# torch activation names (functional or module, lower case) -> Keras activation names.
_ACTIVATIONS = {
    "relu": "relu",
    "gelu": "gelu",
    "silu": "silu",
    "swish": "silu",
    "sigmoid": "sigmoid",
    "tanh": "tanh",
    "softplus": "softplus",
    "elu": "elu",
    "selu": "selu",
    "celu": "celu",
    "mish": "mish",
    "softsign": "softsign",
    "softmax": "softmax",
    "log_softmax": "log_softmax",
    "logsoftmax": "log_softmax",
    "hardsigmoid": "hard_sigmoid",
    "hardswish": "hard_silu",
    "hardtanh": "hard_tanh",
    "relu6": "relu6",
    "tanhshrink": "tanh_shrink",
    "exp": "exponential",
    "identity": "linear",
}
# Keras activation name -> the torch name written out by `to_tinybig`.
_TORCH_ACTIVATIONS = {
    "relu": "ReLU",
    "gelu": "GELU",
    "silu": "SiLU",
    "sigmoid": "Sigmoid",
    "tanh": "Tanh",
    "softplus": "Softplus",
    "elu": "ELU",
    "selu": "SELU",
    "celu": "CELU",
    "mish": "Mish",
    "softsign": "Softsign",
    "hard_sigmoid": "Hardsigmoid",
    "hard_silu": "Hardswish",
    "hard_tanh": "Hardtanh",
    "relu6": "ReLU6",
    "tanh_shrink": "Tanhshrink",
}


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
        affine = bool(params.pop("elementwise_affine", False))
        eps = float(params.pop("eps", 1e-5))
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
        eps = float(params.pop("eps", 1e-5))
        momentum = params.pop("momentum", 0.1)
        affine = bool(params.pop("affine", True))
        if not params.pop("track_running_stats", True):
            raise ValueError(f"{where}: BatchNorm without running statistics is not supported.")
        _reject(params, where)
        config = {
            "epsilon": eps,
            "momentum": 1.0 - float(momentum),
            "center": affine,
            "scale": affine,
        }
        return _keras_layer("BatchNormalization", config), width
    if key in ("dropout", "dropout1d"):
        rate = float(params.pop("p", 0.5))
        _reject(params, where)
        return _keras_layer("Dropout", {"rate": rate}), None
    if key in ("leakyrelu", "leaky_relu"):
        slope = float(params.pop("negative_slope", 0.01))
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
        if declared is not None and width is not None and int(declared) != int(width):
            raise ValueError(
                f"{where}: a {layer['class_name']} over {declared} features is applied to a "
                f"width of {width}."
            )
    return [layer for layer, _ in steps]


def _is_activation(layer):
    return layer["class_name"] == "Activation"


def _expansion(spec, where, m=None):
    class_path, params = _function_spec(spec, where)
    params = _drop(params)
    pre = _pop_processing(params, "preprocess", where)
    post = _pop_processing(params, "postprocess", where)
    children = None
    for key in (
        "composition_function_configs",
        "composition_functions",
        "expansion_function_configs",
    ):
        value = params.pop(key, None)
        if value is not None:
            if children is not None:
                raise ValueError(f"{where}: give the composed expansions only once.")
            children = [_expansion(child, f"{where}.{key}[{i}]") for i, child in enumerate(value)]
    if children is not None:
        params["composition_functions"] = children
    params["preprocessing"] = [layer for layer, _ in pre] or None
    params["postprocessing"] = [layer for layer, _ in post] or None
    if params["preprocessing"] is None:
        del params["preprocessing"]
    if params["postprocessing"] is None:
        del params["postprocessing"]
    config = _component("expansion", class_path, params, where)
    if m is not None:
        output_dim = expansions.get(copy.deepcopy(config)).output_dim(m)
        _check_widths(pre, m, f"{where} (preprocess)")
        _check_widths(post, output_dim, f"{where} (postprocess)")
    return config


def _reconciliation(spec, where):
    class_path, params = _function_spec(spec, where)
    params = _drop(params)
    use_bias = bool(params.pop("enable_bias", False))
    for prefix in ("preprocess", "postprocess"):
        if _pop_processing(params, prefix, where):
            raise NotImplementedError(f"{where}: keras_rpn reconciliations take no {prefix}.")
    return _component("reconciliation", class_path, params, where), use_bias


def _remainder(spec, where):
    class_path, params = _function_spec(spec, where)
    params = _drop(params, ("name", "device", "require_parameters", "m", "n"))
    steps = []
    for key in ("activation_function_configs", "activation_functions", "activation_function"):
        steps += _process_steps(params.pop(key, None), f"{where}.{key}")
    if len(steps) > 1 or (steps and not _is_activation(steps[0][0])):
        raise NotImplementedError(
            f"{where}: keras_rpn remainders take one activation; received "
            f"{[layer['class_name'] for layer, _ in steps]}."
        )
    if steps and steps[0][0]["config"]["activation"] != "linear":
        params["activation"] = steps[0][0]["config"]["activation"]
    if "enable_bias" in params:
        if params.pop("enable_bias"):
            params["use_bias"] = True
    return _component("remainder", class_path, params, where)


def _fusion(spec, where):
    class_path, params = _function_spec(spec, where)
    params = _drop(params, ("name", "device", "require_parameters", "dims"))
    if "n" in params:
        params["units"] = params.pop("n")
    for prefix in ("preprocess", "postprocess"):
        if _pop_processing(params, prefix, where):
            raise NotImplementedError(f"{where}: keras_rpn fusions take no {prefix}.")
    return _component("fusion", class_path, params, where)


# --------------------------------------------------------------------------------------
# Heads, layers, models

_EXPANSION_KEYS = ("data_transformation_configs", "data_transformation_function_configs")
_RECONCILIATION_KEYS = ("parameter_fabrication_configs", "parameter_reconciliation_configs")
_REMAINDER_KEYS = ("remainder_configs", "remainder_function_configs")
_OLD_HEAD_KEYS = (
    ("data_transformation", _EXPANSION_KEYS[0]),
    ("parameter_fabrication", _RECONCILIATION_KEYS[0]),
    ("parameter_reconciliation", _RECONCILIATION_KEYS[0]),
    ("remainder", _REMAINDER_KEYS[0]),
)


def _pop_one(params, keys, where):
    found = [k for k in keys if params.get(k) is not None]
    if len(found) > 1:
        raise ValueError(f"{where}: give only one of {found}.")
    for key in keys:
        if key not in found:
            params.pop(key, None)
    if not found:
        return None, None
    return found[0], params.pop(found[0])


def _head(config, m, n, where):
    """`(RPNHead kwargs, output processing steps)` for one tinyBIG head config."""
    if not isinstance(config, dict):
        raise ValueError(f"Expected a head config at {where}. Received: {config!r}")
    head_class = config.get("head_class", "tinybig.module.rpn_head")
    if _short(head_class) != "rpn_head":
        raise ValueError(
            f"Cannot map the head class {head_class!r} at {where}: only the generic "
            "tinybig rpn_head is read (for specialised heads use the keras_rpn presets)."
        )
    params = dict(config.get("head_parameters") or {})
    _reject({k: v for k, v in config.items() if k not in ("head_class", "head_parameters")}, where)
    _drop(params, ("name", "device", "parameters_init_method", "batch_num"))
    for key, expected in (("m", m), ("n", n)):
        value = params.pop(key, None)
        if value is not None and int(value) != expected:
            raise ValueError(
                f"{where}: head `{key}`={value} does not match the layer's {key}={expected}."
            )
    declared_l = params.pop("l", None)
    # Old schemas: `<function>_class` / `<function>_parameters` directly in the head.
    for prefix, new_key in _OLD_HEAD_KEYS:
        if f"{prefix}_class" in params:
            params[new_key] = {
                f"{prefix}_class": params.pop(f"{prefix}_class"),
                f"{prefix}_parameters": params.pop(f"{prefix}_parameters", None),
            }
    head = {}
    key, spec = _pop_one(params, _EXPANSION_KEYS, where)
    if spec is None:
        raise ValueError(f"{where} has no data transformation (expansion) config.")
    head["expansion"] = _expansion(spec, f"{where}.{key}", m)
    key, spec = _pop_one(params, _RECONCILIATION_KEYS, where)
    head["use_bias"] = False
    if spec is not None:
        head["reconciliation"], head["use_bias"] = _reconciliation(spec, f"{where}.{key}")
    key, spec = _pop_one(params, _REMAINDER_KEYS, where)
    if spec is not None:
        head["remainder"] = _remainder(spec, f"{where}.{key}")
    channels = params.pop("channel_num", None)
    if channels is not None and int(channels) != 1:
        head["channels"] = int(channels)
    key, spec = _pop_one(
        params, ("channel_fusion_configs", "channel_fusion_function_configs"), where
    )
    if spec is not None:
        head["channel_fusion"] = _fusion(spec, f"{where}.{key}")
    for key in [k for k in params if "interdependence" in k]:
        if params.pop(key) is not None:
            raise NotImplementedError(
                f"{where}.{key}: data interdependence functions (RPN 2) are not "
                "implemented in keras_rpn."
            )
    input_steps = _pop_processing(params, "input_process", where)
    output_steps = _pop_processing(params, "output_process", where)
    _reject(params, where)
    if input_steps:
        remainder = head.get("remainder", {"class_name": "zero"})
        if _short(remainder["class_name"]) not in ("zero", "zero_remainder"):
            raise NotImplementedError(
                f"{where}: input process functions with a non-zero remainder (tinyBIG "
                "feeds the processed input to the remainder too) are not supported."
            )
        config = head["expansion"]["config"]
        config["preprocessing"] = _check_widths(input_steps, m, where) + (
            config.get("preprocessing") or []
        )
    # Checked without building the head (a 784-wide Taylor head has 39M weights).
    probe = RPNHead(n, **copy.deepcopy(head))
    expansion_dim = probe.expansion.output_dim(m)
    if declared_l is not None:
        actual = probe.reconciliation.num_params(n, expansion_dim)
        if int(declared_l) != actual:
            raise ValueError(
                f"{where}: `l`={declared_l} does not match the reconciliation's parameter "
                f"count l(n={n}, D={expansion_dim}) = {actual}."
            )
    output = _check_widths(output_steps, probe.compute_output_shape((None, m))[-1], where)
    return head, output


def _layer(config, where):
    """`(m, n, n_out, RPNLayer kwargs, postprocessing layers)` for one tinyBIG layer."""
    if not isinstance(config, dict):
        raise ValueError(f"Expected a layer config at {where}. Received: {config!r}")
    layer_class = config.get("layer_class", "tinybig.module.rpn_layer")
    if _short(layer_class) != "rpn_layer":
        raise ValueError(
            f"Cannot map the layer class {layer_class!r} at {where}: only the generic "
            "tinybig rpn_layer is read."
        )
    params = dict(config.get("layer_parameters") or {})
    _reject(
        {k: v for k, v in config.items() if k not in ("layer_class", "layer_parameters")}, where
    )
    _drop(params, ("name", "device", "parameters_init_method"))
    for key in ("m", "n"):
        if params.get(key) is None:
            raise ValueError(f"{where}: layer_parameters needs `{key}`.")
    m, n = int(params.pop("m")), int(params.pop("n"))
    if params.pop("heads", None) is not None:
        raise ValueError(f"{where}: `heads` holds objects; give `head_configs` instead.")
    head_configs = params.pop("head_configs", None)
    if isinstance(head_configs, dict):
        head_configs = [head_configs]
    if not head_configs:
        raise ValueError(f"{where}: layer_parameters needs `head_configs`.")
    try:
        alloc = allocate(head_configs, params.pop("width", None), params.pop("width_alloc", None))
    except (TypeError, ValueError) as e:
        raise ValueError(f"{where}: {e}") from None
    layer = {}
    key, spec = _pop_one(params, ("head_fusion_configs", "head_fusion_function_configs"), where)
    strategy = params.pop("fusion_strategy", None)
    if spec is not None:
        layer["head_fusion"] = _fusion(spec, f"{where}.{key}")
    elif strategy is not None:
        strategies = {"average": "mean", "mean": "mean", "sum": "sum", "summation": "sum"}
        if str(strategy).lower() not in strategies:
            raise ValueError(
                f"{where}: cannot map fusion_strategy={strategy!r}; known: {', '.join(strategies)}."
            )
        if strategies[str(strategy).lower()] != "mean":
            layer["head_fusion"] = strategies[str(strategy).lower()]
    # keras_rpn extension (written by `to_tinybig` for multi-head layers): processing
    # after the head fusion.
    layer_steps = _pop_processing(params, "output_process", where)
    _reject(params, where)
    heads, steps = [], []
    for i, head_config in enumerate(head_configs):
        head, output = _head(head_config, m, n, f"{where}.head_configs[{i}]")
        heads.append(head)
        steps.append(output)
    post = []
    if sum(alloc) == 1:
        post = steps[0]
    elif any(steps):
        if not all(len(s) == 1 and _is_activation(s[0]) for s in steps):
            raise NotImplementedError(
                f"{where}: output processing other than one activation on the heads of a "
                f"layer of {sum(alloc)} heads (it runs on each head, before the head "
                "fusion) cannot be expressed with keras_rpn layers."
            )
        for head, s in zip(heads, steps, strict=True):
            head["activation"] = s[0]["config"]["activation"]
    if len(heads) == 1:
        layer.update(heads[0])
        if alloc != [1]:
            layer["width"] = alloc[0]
    else:
        layer["heads"] = heads
        layer["width_alloc"] = alloc
    try:
        probe = RPNLayer(n, **copy.deepcopy(layer))
    except (TypeError, ValueError) as e:
        raise ValueError(f"{where}: {e}") from None
    n_out = probe.compute_output_shape((None, m))[-1]
    post = post + _check_widths(layer_steps, n_out, where)
    if post and _is_activation(post[0]):
        layer["activation"] = post.pop(0)["config"]["activation"]
    return m, n, n_out, layer, post


_PRESET_KEYS = {
    "mlp": (presets.MLP, ()),
    "kan": (presets.KAN, ("grid_range", "t", "d")),
    "svm": (presets.SVM, ("kernel", "base_range", "num_interval", "epsilon")),
    "naive_bayes": (presets.NaiveBayes, ("distribution",)),
    "pgm": (presets.PGM, ("d", "with_replacement")),
}


def _preset(model_class, params, name):
    cls, keys = _PRESET_KEYS[model_class]
    where = "model_parameters"
    params = _drop(dict(params), ("name", "device", "parameters_init_method"))
    dims = params.pop("dims", None)
    if dims is None:
        raise ValueError(f"{where} needs `dims` for tinybig.model.{model_class}.")
    kwargs = {k: params.pop(k) for k in keys if k in params}
    kwargs["use_bias"] = bool(params.pop("enable_bias", False))
    if "channel_num" in params:
        kwargs["channels"] = int(params.pop("channel_num"))
    if params.get("width") is not None:
        kwargs["width"] = int(params.pop("width"))
    params.pop("width", None)
    rank = params.pop("r", 3)
    if params.pop("with_lorr", False):
        kwargs["reconciliation"] = {"class_name": "lorr", "config": {"r": rank}}
    if params.pop("with_residual", False):
        if model_class == "kan":
            raise ValueError(f"{where}: the KAN preset always has its linear remainder.")
        kwargs["remainder"] = "linear"
    _reject(params, where)
    if name is not None:
        kwargs["name"] = name
    return cls(list(dims), **kwargs)


def from_tinybig(config, name=None):
    """Builds a Keras model from a tinyBIG-style model configuration.

    Args:
        config: a dict, a YAML or JSON string, or the path of a YAML or JSON file.
            It may be a whole tinyBIG configuration (`configurations` with data,
            learner and metric configs, of which only `model_configs` is read), a
            `model_configs` mapping, or `model_parameters` with `layer_configs`.
        name: optional name of the Keras model.

    Returns:
        A built `keras_rpn.models.RPN`; a `ProcessedRPN` when heads have output
        processing beyond an activation; a preset for `tinybig.model.mlp`, `kan`,
        `svm`, `naive_bayes` and `pgm` configs.

    Raises:
        ValueError: naming the key or class that cannot be mapped, or dimensions
            that do not chain.
        NotImplementedError: for tinyBIG features keras_rpn does not have (data
            interdependence, per-head output processing in multi-head layers).
        ImportError: for YAML input without pyyaml installed.

    Example:
    >>> model = keras_rpn.config.from_tinybig({"model_configs": {
    ...     "model_class": "tinybig.model.rpn",
    ...     "model_parameters": {"layer_configs": [{
    ...         "layer_class": "tinybig.module.rpn_layer",
    ...         "layer_parameters": {"m": 4, "n": 3, "head_configs": [{
    ...             "head_class": "tinybig.module.rpn_head",
    ...             "head_parameters": {
    ...                 "data_transformation_configs": {
    ...                     "function_class": "tinybig.expansion.taylor_expansion",
    ...                     "function_parameters": {"d": 2}},
    ...                 "parameter_fabrication_configs": {
    ...                     "function_class": "tinybig.reconciliation.identity_reconciliation"},
    ...             }}]}}]}}})
    >>> model.count_params()  # 3 * (4 + 16), no bias
    60
    """
    model_config = _model_config(load_config(config))
    model_class = _short(model_config.get("model_class") or "tinybig.model.rpn")
    params = dict(model_config.get("model_parameters") or {})
    if model_class in _PRESET_KEYS:
        return _preset(model_class, params, name)
    if model_class != "rpn":
        raise ValueError(
            f"Cannot map the model class {model_config.get('model_class')!r}: known are "
            f"tinybig.model.rpn and {', '.join('tinybig.model.' + k for k in _PRESET_KEYS)}."
        )
    _drop(params, ("name", "device", "parameters_init_method"))
    if params.pop("layers", None) is not None:
        raise ValueError("model_parameters: `layers` holds objects; give `layer_configs`.")
    layer_configs = params.pop("layer_configs", None)
    if isinstance(layer_configs, dict):
        layer_configs = [layer_configs]
    if not layer_configs:
        raise ValueError("model_parameters needs `layer_configs`.")
    try:
        alloc = allocate(
            layer_configs, params.pop("depth", None), params.pop("depth_alloc", None), "depth"
        )
    except (TypeError, ValueError) as e:
        raise ValueError(f"model_parameters: {e}") from None
    _reject(params, "model_parameters")
    dims, out_width, layers, post = [], None, [], []
    for i, (layer_config, repeat) in enumerate(zip(layer_configs, alloc, strict=True)):
        m, n, n_out, layer, steps = _layer(layer_config, f"layer_configs[{i}]")
        for _ in range(repeat):
            if out_width is not None and out_width != m:
                raise ValueError(
                    f"layer_configs[{i}] takes m={m} inputs, but the layer before it gives "
                    f"{out_width} outputs."
                )
            if not dims:
                dims.append(m)
            dims.append(n)
            out_width = n_out
            layers.append(copy.deepcopy(layer))
            post.append(copy.deepcopy(steps))
    kwargs = {} if name is None else {"name": name}
    if any(post):
        return presets.ProcessedRPN(
            dims, layer_configs=layers, postprocessing=[p or None for p in post], **kwargs
        )
    return RPN(dims, layer_configs=layers, **kwargs)


# --------------------------------------------------------------------------------------
# Export

_FAMILY_PATHS = {
    "expansion": "tinybig.expansion",
    "reconciliation": "tinybig.reconciliation",
    "remainder": "tinybig.remainder",
    "fusion": "tinybig.fusion",
}
_KERAS_ONLY_KEYS = (
    "name",
    "trainable",
    "dtype",
    "kernel_initializer",
    "bias_initializer",
    "kernel_regularizer",
    "bias_regularizer",
    "kernel_constraint",
    "bias_constraint",
)
# Where tinyBIG's own class name is not the first `*_<family>` name registered.
_PREFERRED_NAMES = {"HaarWaveletExpansion": "harr_wavelet_expansion"}


def _class_path(family, component):
    cls = type(component)
    if cls.__name__ in _PREFERRED_NAMES:
        return f"{_FAMILY_PATHS[family]}.{_PREFERRED_NAMES[cls.__name__]}"
    registry = _FAMILIES[family].base._registry
    suffix = f"_{family}"
    for name, registered in registry._classes.items():
        if registered is cls and name.endswith(suffix):
            return f"{_FAMILY_PATHS[family]}.{name}"
    return f"keras_rpn.{family}s.{cls.__name__}"


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


def _export_expansion(expansion):
    params = expansion.get_config()
    for key in _KERAS_ONLY_KEYS:
        params.pop(key, None)
    pre, post = params.pop("preprocessing", None), params.pop("postprocessing", None)
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


def _export_head(head, m, activation_steps):
    expansion_dim = head.expansion.output_dim(m)
    params = {
        "m": m,
        "n": head.units,
        "l": head.reconciliation.num_params(head.units, expansion_dim),
        "channel_num": head.channels,
        "data_transformation_configs": _export_expansion(head.expansion),
        "parameter_fabrication_configs": _function(
            "reconciliation", head.reconciliation, enable_bias=head.use_bias
        ),
        "remainder_configs": _export_remainder(head.remainder),
    }
    if head.channels > 1 or not _is_default_mean(head.channel_fusion):
        params["channel_fusion_configs"] = _function("fusion", head.channel_fusion)
    steps = []
    if head.activation is not keras.activations.linear:
        steps.append(_export_step(keras.layers.Activation(head.activation)))
    steps += activation_steps
    if steps:
        params["output_process_function_configs"] = steps
    return {"head_class": "tinybig.module.rpn_head", "head_parameters": params}


def _export_layer(layer, m, post):
    after = []
    if layer.activation is not keras.activations.linear:
        after.append(_export_step(keras.layers.Activation(layer.activation)))
    after += [_export_step(step) for step in post]
    single = len(layer.heads) == 1
    head_configs, alloc = [], []
    for head in layer.heads:
        exported = _export_head(head, m, after if single else [])
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
    shape = (None, model.dims[0])
    for layer, post in zip(model.rpn_layers, groups, strict=True):
        layer_configs.append(_export_layer(layer, int(shape[-1]), post))
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
