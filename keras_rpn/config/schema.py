"""Reading configurations: files, YAML/JSON text and tinyBIG's config layout."""

import copy
import json
import numbers
import os

from keras_rpn.validation import short_repr


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

#: Most YAML nodes a configuration may expand to, aliases counted at their expanded
#: size (tinyBIG's configs have a few hundred). Caps "billion laughs" alias bombs.
MAX_YAML_NODES = 100_000

_CONFIG_SUFFIXES = (".yaml", ".yml", ".json")


def load_config(config):
    """A configuration as a new dict, from a dict, a YAML/JSON string or a file path.

    Raises:
        ValueError: for a missing file, malformed YAML or JSON (with the file, line
            and column), a YAML document that expands to more than
            `MAX_YAML_NODES` nodes, or a document that is not a mapping.
    """
    if isinstance(config, dict):
        return copy.deepcopy(config)
    if isinstance(config, os.PathLike) or (
        isinstance(config, str)
        and "\n" not in config
        and (os.path.isfile(config) or config.strip().lower().endswith(_CONFIG_SUFFIXES))
    ):
        path = os.fspath(config)
        if not os.path.isfile(path):
            raise ValueError(f"No configuration file at {short_repr(path)}.")
        with open(path, encoding="utf-8") as f:
            text = f.read()
        if path.lower().endswith(".json"):
            return _mapping(_json(text, path), path)
        return _parse_text(text, path)
    if isinstance(config, str):
        return _parse_text(config, "the configuration string")
    raise TypeError(
        "Expected a configuration dict, a YAML or JSON string, or a file path. "
        f"Received: {type(config).__name__}"
    )


def _json(text, where):
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(
            f"Malformed JSON in {where}, line {e.lineno}, column {e.colno}: {e.msg}."
        ) from None
    except RecursionError:
        raise ValueError(f"The JSON in {where} is nested too deeply.") from None


def _parse_text(text, where):
    if text.lstrip().startswith("{"):
        try:
            return _mapping(json.loads(text), where)
        except (json.JSONDecodeError, RecursionError):
            pass
    if "\n" not in text and ":" not in text:
        raise ValueError(f"No configuration file at {short_repr(text)}.")
    return _mapping(_load_yaml(text, where), where)


def _load_yaml(text, where):
    """`yaml.safe_load(text)` with alias expansion capped and errors as ValueError."""
    yaml = _yaml()

    class Loader(yaml.SafeLoader):
        """Counts composed nodes, an alias counting as the size of its anchor's tree."""

        def __init__(self, stream):
            super().__init__(stream)
            self._node_count = 0
            self._node_sizes = {}

        def compose_node(self, parent, index):
            if self.check_event(yaml.AliasEvent):
                mark = self.peek_event().start_mark
                node = super().compose_node(parent, index)
                size = self._node_sizes.get(id(node))
                if size is None:
                    raise ValueError(
                        f"Recursive YAML alias in {where}, line {mark.line + 1}, column "
                        f"{mark.column + 1}: a configuration cannot contain itself."
                    )
                self._count(size, mark)
                return node
            mark = self.peek_event().start_mark
            before = self._count(1, mark)
            node = super().compose_node(parent, index)
            self._node_sizes[id(node)] = self._node_count - before
            return node

        def _count(self, size, mark):
            before = self._node_count
            self._node_count += size
            if self._node_count > MAX_YAML_NODES:
                raise ValueError(
                    f"The YAML in {where} expands to more than {MAX_YAML_NODES:,} nodes "
                    f"(aliases counted at their expanded size), at line {mark.line + 1}, "
                    f"column {mark.column + 1}: refused (a YAML alias bomb?)."
                )
            return before

    loader = Loader(text)
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        at = "" if mark is None else f", line {mark.line + 1}, column {mark.column + 1}"
        problem = e.problem or e.context or "malformed YAML"
        raise ValueError(f"Malformed YAML in {where}{at}: {problem}.") from None
    except yaml.YAMLError as e:
        raise ValueError(f"Malformed YAML in {where}: {short_repr(str(e))}") from None
    except RecursionError:
        raise ValueError(f"The YAML in {where} is nested too deeply.") from None
    finally:
        loader.dispose()


def _mapping(value, where):
    if not isinstance(value, dict):
        raise ValueError(
            f"Expected a mapping (key: value pairs) in {where}. Received: "
            f"{type(value).__name__} {short_repr(value, 80)}"
        )
    return value


def _int(value, key, where):
    """`value` as an int if it is an integer (`4`, `4.0`), else a ValueError naming `key`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(
            f"{where}: `{key}` must be an integer. Received: {key}={short_repr(value)}"
        )
    if isinstance(value, numbers.Integral):
        return int(value)
    if not float(value).is_integer():
        raise ValueError(
            f"{where}: `{key}` must be an integer, not a fraction. Received: {key}={value!r}"
        )
    return int(value)


def _float(value, key, where):
    """`value` as a float if it is a finite number, else a ValueError naming `key`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or value != value:
        raise ValueError(f"{where}: `{key}` must be a number. Received: {key}={short_repr(value)}")
    return float(value)


def _bool(value, key, where):
    """`value` if it is a boolean (YAML `true`/`false`), else a ValueError naming `key`.

    Strings are refused: `bool("false")` is True.
    """
    if not isinstance(value, bool):
        raise ValueError(
            f"{where}: `{key}` must be a boolean (true or false, unquoted). Received: "
            f"{key}={short_repr(value)}"
        )
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
        raise ValueError(f"Expected a function config at {where}. Received: {short_repr(spec)}")
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
