"""One tinyBIG function config -> a validated keras_rpn component config."""

import copy

from keras_rpn import expansions
from keras_rpn.config.names import _FAMILIES
from keras_rpn.config.schema import _bool
from keras_rpn.config.schema import _drop
from keras_rpn.config.schema import _function_spec
from keras_rpn.config.schema import _short
from keras_rpn.config.steps import _check_widths
from keras_rpn.config.steps import _is_activation
from keras_rpn.config.steps import _pop_processing
from keras_rpn.config.steps import _process_steps


def _component(family, class_path, params, where):
    """A keras_rpn config dict `{"class_name", "config"}` for one function, validated."""
    module = _FAMILIES[family]
    name = _short(class_path)
    try:
        cls = module.registry.lookup(name)
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
    use_bias = _bool(params.pop("enable_bias", False), "enable_bias", where)
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
        if _bool(params.pop("enable_bias"), "enable_bias", where):
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


_PATCH_CLASSES = {"cuboid": "cuboid_patch", "cylinder": "cylinder_patch", "sphere": "sphere_patch"}


def _interdependence(spec, where):
    """A tinyBIG interdependence function config (any schema) -> a keras_rpn config.

    Grid and patch sub-configs (`grid_configs`, `patch_configs`) are flattened into
    the geometric function's arguments; members of a hybrid, its fusion and the
    parts of a parameterised-RPN interdependence are mapped recursively. `b` and
    `m` (tinyBIG's batch and width) are dropped: keras_rpn reads the sizes from the
    data at build.
    """
    class_path, params = _function_spec(spec, where)
    params = _drop(params, ("name", "device", "require_parameters", "require_data", "b", "m"))
    for prefix in ("preprocess", "postprocess"):
        if _pop_processing(params, prefix, where):
            raise NotImplementedError(
                f"{where}: keras_rpn interdependence functions take no {prefix}; a softmax "
                "over the attention matrix is the bilinear functions' normalization='softmax'."
            )
    grid = params.pop("grid_configs", None)
    if grid is not None:
        _, grid_params = _function_spec(grid, f"{where}.grid_configs")
        for key in ("h", "w", "d"):
            if key in grid_params:
                params[key] = grid_params[key]
        if "universe_num" in grid_params:
            params["channel_num"] = grid_params["universe_num"]
    patch = params.pop("patch_configs", None)
    if patch is not None:
        patch_class, patch_params = _function_spec(patch, f"{where}.patch_configs")
        shape = _short(patch_class)
        if shape not in _PATCH_CLASSES:
            raise ValueError(
                f"{where}.patch_configs: unknown patch class {patch_class!r}; known are "
                f"{', '.join(_PATCH_CLASSES)}."
            )
        params.update(patch_params)
        if _short(class_path) == "geometric_interdependence":
            class_path = _PATCH_CLASSES[shape]
    nested = (
        ("interdependence_functions", "interdependence_function_configs", None),
        ("fusion_function", "fusion_function_configs", _fusion),
        ("data_transformation", "data_transformation_configs", _expansion),
        ("parameter_fabrication", "parameter_fabrication_configs", _reconciliation),
    )
    for target, configs_key, mapper in nested:
        for key in (configs_key, target):
            if key not in params:
                continue
            value, at = params.pop(key), f"{where}.{key}"
            if mapper is None:
                params[target] = [_interdependence(m, f"{at}[{i}]") for i, m in enumerate(value)]
            elif mapper is _reconciliation:
                params[target] = mapper(value, at)[0]
            else:
                params[target] = mapper(value, at)
            break
    return _component("interdependence", class_path, params, where)
