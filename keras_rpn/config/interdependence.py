"""tinyBIG interdependence configs: one function on its own, and a model's instance axis."""

from keras_rpn.config.functions import _interdependence
from keras_rpn.config.names import _INTERDEPENDENCE_KEYS
from keras_rpn.config.schema import _function_spec
from keras_rpn.config.schema import _int
from keras_rpn.config.schema import load_config


def _input_shape(m, instances):
    return (None, m) if instances is None else (None, instances, m)


def _head_configs(layer_config):
    if not isinstance(layer_config, dict):
        return []
    heads = (layer_config.get("layer_parameters") or {}).get("head_configs") or []
    return [heads] if isinstance(heads, dict) else heads


def _instances(layer_configs, instances):
    """The instance axis size `N` of a model whose heads mix instances, else None.

    tinyBIG's instance functions are sized by its batch `b` (`b x b` matrices); the
    imported model takes `(batch, N, m)` inputs with `N` = that `b` (or the
    function's `chain_length` / `nodes`), or the `instances` given to `from_tinybig`.
    """
    sizes, found = set(), False
    for i, layer_config in enumerate(layer_configs):
        for j, head in enumerate(_head_configs(layer_config)):
            params = (head.get("head_parameters") or {}) if isinstance(head, dict) else {}
            for key in _INTERDEPENDENCE_KEYS["instance_interdependence"]:
                if params.get(key) is None:
                    continue
                found = True
                where = f"layer_configs[{i}].head_configs[{j}].{key}"
                _, fparams = _function_spec(params[key], where)
                nodes = fparams.get("nodes")
                size = (
                    fparams.get("b")
                    or fparams.get("chain_length")
                    or (len(nodes) if isinstance(nodes, (list, tuple)) else nodes)
                )
                if size:
                    sizes.add(_int(size, "b", where))
    if not found:
        if instances is not None:
            raise ValueError(
                "`instances` is only for models whose heads have "
                f"`instance_interdependence_configs`. Received: instances={instances!r}"
            )
        return None
    if instances is not None:
        return _int(instances, "instances", "from_tinybig")
    if len(sizes) != 1:
        raise ValueError(
            "The instance interdependence functions give no single instance count "
            f"(their `b`: {sorted(sizes) or 'none'}); pass `instances=` to from_tinybig."
        )
    return sizes.pop()


def interdependence_from_tinybig(config):
    """A keras_rpn interdependence function from a tinyBIG interdependence config.

    Reads the function-level configs of tinyBIG's documentation (e.g. a
    `data_interdependence_function` or `structural_interdependence_function` entry:
    `{function_class | data_interdependence_function_class: "tinybig.interdependence.
    chain_interdependence", ..._parameters: {...}}`), including grid and patch
    sub-configs of geometric functions and the members of hybrid ones.

    Args:
        config: a dict, a YAML or JSON string, or the path of a YAML or JSON file.

    Returns:
        An unbuilt `keras_rpn.interdependence.Interdependence`.

    Example:
    >>> xi = keras_rpn.config.interdependence_from_tinybig({
    ...     "function_class": "tinybig.interdependence.chain_interdependence",
    ...     "function_parameters": {"b": 5, "m": 3, "chain_length": 5}})
    >>> type(xi).__name__
    'ChainInterdependence'
    """
    from keras_rpn import interdependence

    spec = load_config(config)
    if isinstance(spec, dict) and len(spec) == 1:
        ((key, value),) = spec.items()
        if key.endswith("_function") or key.endswith("_configs"):
            spec = value  # {"data_interdependence_function": {...}}
    return interdependence.get(_interdependence(spec, "interdependence config"))
