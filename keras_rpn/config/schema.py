"""Reading configurations: files, YAML/JSON text and tinyBIG's config layout."""

import copy
import json
import os


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

