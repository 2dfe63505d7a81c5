"""`from_tinybig`: tinyBIG head, layer and model configs -> keras_rpn models."""

import copy

import keras

from keras_rpn import initializers
from keras_rpn import remainders
from keras_rpn.config.functions import _expansion
from keras_rpn.config.functions import _fusion
from keras_rpn.config.functions import _interdependence
from keras_rpn.config.functions import _reconciliation
from keras_rpn.config.functions import _remainder
from keras_rpn.config.interdependence import _input_shape
from keras_rpn.config.interdependence import _instances
from keras_rpn.config.names import _EXPANSION_KEYS
from keras_rpn.config.names import _INTERDEPENDENCE_KEYS
from keras_rpn.config.names import _OLD_HEAD_KEYS
from keras_rpn.config.names import _RECONCILIATION_KEYS
from keras_rpn.config.names import _REMAINDER_KEYS
from keras_rpn.config.schema import _bool
from keras_rpn.config.schema import _drop
from keras_rpn.config.schema import _int
from keras_rpn.config.schema import _model_config
from keras_rpn.config.schema import _pop_one
from keras_rpn.config.schema import _reject
from keras_rpn.config.schema import _short
from keras_rpn.config.schema import load_config
from keras_rpn.config.steps import _check_widths
from keras_rpn.config.steps import _is_activation
from keras_rpn.config.steps import _pop_processing
from keras_rpn.layers.rpn_head import RPNHead
from keras_rpn.layers.rpn_layer import RPNLayer
from keras_rpn.layers.rpn_layer import allocate
from keras_rpn.models import presets
from keras_rpn.models.rpn import RPN
from keras_rpn.validation import short_repr


def _init_method(params, where, default):
    """tinyBIG's `parameters_init_method`, checked (tinyBIG ignores unknown names)."""
    method = params.pop("parameters_init_method", None)
    if method is None:
        return default
    if method not in initializers.METHODS:
        raise ValueError(
            f"{where}: `parameters_init_method` must be one of {initializers.METHODS}. "
            f"Received: parameters_init_method={method!r}"
        )
    return method


def _tinybig_initializers(head, probe, m, method):
    """Sets tinyBIG's initialisation `method` on a head's kwargs (kernel, bias, remainder).

    The head kernel `(C, l)` and bias as tinyBIG initialises them (`TinyBIG`); a
    remainder's `(m, n)` kernel gets tinyBIG's `(n, m)` fans and its bias the
    remainder's fan-in under `kaiming_uniform`.
    """
    n = probe.units
    head["kernel_initializer"] = _serialize(initializers.TinyBIG(method))
    head["bias_initializer"] = _serialize(initializers.TinyBIG(method))
    if hasattr(probe.remainder, "kernel_initializer"):
        config = head["remainder"].setdefault("config", {})
        config["kernel_initializer"] = _serialize(
            initializers.TinyBIG(method, fan_in=m, fan_out=n, units=n)
        )
        fan_in = m if method == "kaiming_uniform" else None
        config["bias_initializer"] = _serialize(
            initializers.TinyBIG(method, fan_in=fan_in, units=n)
        )


def _serialize(initializer):
    return keras.initializers.serialize(initializer)


def _head(config, m, n, where, init_method="xavier_uniform", instances=None):
    """`(RPNHead kwargs, output processing steps)` for one tinyBIG head config.

    `init_method` is the layer's `parameters_init_method`, which tinyBIG gives every
    head of the layer (a head's own setting is overwritten). `instances`: the size of
    the instance axis of the model's inputs (None: `(batch, m)` inputs).
    """
    if not isinstance(config, dict):
        raise ValueError(f"Expected a head config at {where}. Received: {short_repr(config)}")
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
        if value is not None and _int(value, key, where) != expected:
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
    if channels is not None and _int(channels, "channel_num", where) != 1:
        head["channels"] = _int(channels, "channel_num", where)
    key, spec = _pop_one(
        params, ("channel_fusion_configs", "channel_fusion_function_configs"), where
    )
    if spec is not None:
        head["channel_fusion"] = _fusion(spec, f"{where}.{key}")
    for slot, keys in _INTERDEPENDENCE_KEYS.items():
        key, spec = _pop_one(params, keys, where)
        if spec is not None:
            head[slot] = _interdependence(spec, f"{where}.{key}")
    _drop(params, ("l_attribute_interdependence", "l_instance_interdependence"))
    input_steps = _pop_processing(params, "input_process", where)
    output_steps = _pop_processing(params, "output_process", where)
    _reject(params, where)
    if input_steps:
        remainder = remainders.get(copy.deepcopy(head.get("remainder", "zero")))
        if not remainder.is_zero:
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
    xi_a = probe.attribute_interdependence
    expansion_dim = probe.expansion.output_dim(m if xi_a is None else xi_a.output_dim(m))
    if declared_l is not None:
        actual = probe.reconciliation.num_params(n, expansion_dim)
        if _int(declared_l, "l", where) != actual:
            raise ValueError(
                f"{where}: `l`={declared_l} does not match the reconciliation's parameter "
                f"count l(n={n}, D={expansion_dim}) = {actual}."
            )
    output = _check_widths(
        output_steps, probe.compute_output_shape(_input_shape(m, instances))[-1], where
    )
    _tinybig_initializers(head, probe, m, init_method)
    return head, output


def _layer(config, where, instances=None):
    """`(m, n, n_out, RPNLayer kwargs, postprocessing layers)` for one tinyBIG layer."""
    if not isinstance(config, dict):
        raise ValueError(f"Expected a layer config at {where}. Received: {short_repr(config)}")
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
    _drop(params, ("name", "device"))
    init_method = _init_method(params, where, "xavier_uniform")
    for key in ("m", "n"):
        if params.get(key) is None:
            raise ValueError(f"{where}: layer_parameters needs `{key}`.")
    m, n = _int(params.pop("m"), "m", where), _int(params.pop("n"), "n", where)
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
        head, output = _head(
            head_config, m, n, f"{where}.head_configs[{i}]", init_method, instances
        )
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
    n_out = probe.compute_output_shape(_input_shape(m, instances))[-1]
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
    params = _drop(dict(params), ("name", "device"))
    # tinyBIG's specialised heads default to xavier_normal.
    method = _init_method(params, where, "xavier_normal")
    dims = params.pop("dims", None)
    if dims is None:
        raise ValueError(f"{where} needs `dims` for tinybig.model.{model_class}.")
    kwargs = {k: params.pop(k) for k in keys if k in params}
    kwargs["kernel_initializer"] = initializers.TinyBIG(method)
    kwargs["bias_initializer"] = initializers.TinyBIG(method)
    kwargs["use_bias"] = _bool(params.pop("enable_bias", False), "enable_bias", where)
    if "channel_num" in params:
        kwargs["channels"] = _int(params.pop("channel_num"), "channel_num", where)
    if params.get("width") is not None:
        kwargs["width"] = _int(params.pop("width"), "width", where)
    params.pop("width", None)
    rank = params.pop("r", 3)
    if _bool(params.pop("with_lorr", False), "with_lorr", where):
        kwargs["reconciliation"] = {"class_name": "lorr", "config": {"r": rank}}
    if _bool(params.pop("with_residual", False), "with_residual", where):
        if model_class == "kan":
            raise ValueError(f"{where}: the KAN preset always has its linear remainder.")
        kwargs["remainder"] = "linear"
    _reject(params, where)
    if name is not None:
        kwargs["name"] = name
    return cls(list(dims), **kwargs)


def from_tinybig(config, name=None, instances=None):
    """Builds a Keras model from a tinyBIG-style model configuration.

    Heads with `instance_interdependence_configs` mix an explicit instance axis,
    never the batch axis: the imported model then takes `(batch, N, m)` inputs and
    mixes the `N` instances of each sample (tinyBIG mixes the `b` rows of its batch,
    so its `b` becomes `N`, and one tinyBIG batch of `b` rows is one keras_rpn
    sample). Models without them take `(batch, m)` inputs.

    Args:
        config: a dict, a YAML or JSON string, or the path of a YAML or JSON file.
            It may be a whole tinyBIG configuration (`configurations` with data,
            learner and metric configs, of which only `model_configs` is read), a
            `model_configs` mapping, or `model_parameters` with `layer_configs`.
        name: optional name of the Keras model.
        instances: the instance count `N` of a model with instance interdependence
            functions (default: their `b`, `chain_length` or `nodes`).

    Returns:
        A built `keras_rpn.models.RPN`; a `ProcessedRPN` when heads have output
        processing beyond an activation; a preset for `tinybig.model.mlp`, `kan`,
        `svm`, `naive_bayes` and `pgm` configs.

    Raises:
        ValueError: naming the key or class that cannot be mapped, or dimensions
            that do not chain.
        NotImplementedError: for tinyBIG features keras_rpn does not have (e.g.
            per-head output processing in multi-head layers).
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
    instances = _instances(layer_configs, instances)
    dims, out_width, layers, post = [], None, [], []
    for i, (layer_config, repeat) in enumerate(zip(layer_configs, alloc, strict=True)):
        m, n, n_out, layer, steps = _layer(layer_config, f"layer_configs[{i}]", instances)
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
    if instances is not None:
        kwargs["instances"] = instances
    if any(post):
        return presets.ProcessedRPN(
            dims, layer_configs=layers, postprocessing=[p or None for p in post], **kwargs
        )
    return RPN(dims, layer_configs=layers, **kwargs)
