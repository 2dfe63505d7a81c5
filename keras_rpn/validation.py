"""Argument checks shared by all keras_rpn classes (Keras-style messages)."""

import math
import numbers

#: Keyword arguments of `keras.layers.Layer` that keras_rpn layers pass on to it.
BASE_LAYER_KWARGS = ("name", "dtype", "trainable", "autocast")
#: The same for keras_rpn models (which forward the rest to their layers).
BASE_MODEL_KWARGS = ("name", "dtype", "trainable")


def pop_base_kwargs(kwargs, keys=BASE_LAYER_KWARGS):
    """Removes the base layer keyword arguments `keys` from `kwargs`; returns them."""
    return {k: kwargs.pop(k) for k in keys if k in kwargs}


def without_base_config(config, *extra):
    """`config` without its base keys (`name`, `dtype`, `trainable`) nor `extra`."""
    drop = BASE_MODEL_KWARGS + extra
    return {k: v for k, v in config.items() if k not in drop}


def positive_int(name, value, allow_none=False):
    """Returns `value` if it is a positive integer (bools are refused)."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(
            f"Received an invalid value for `{name}`, expected a positive integer. "
            f"Received: {name}={value!r}"
        )
    return int(value)


def non_negative_int(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(
            f"Received an invalid value for `{name}`, expected a non-negative integer. "
            f"Received: {name}={value!r}"
        )
    return int(value)


def finite_float(name, value, positive=False):
    """Returns `float(value)` if it is a finite real number (and > 0 if `positive`)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"Expected a real number for `{name}`. Received: {name}={value!r}")
    value = float(value)
    if not math.isfinite(value) or (positive and value <= 0):
        kind = "a finite positive number" if positive else "a finite number"
        raise ValueError(
            f"Received an invalid value for `{name}`, expected {kind}. Received: {name}={value!r}"
        )
    return value


def float_range(name, value):
    """Returns `(low, high)` floats with low < high."""
    try:
        low, high = value
    except (TypeError, ValueError):
        raise ValueError(
            f"Expected `{name}` to be a pair (low, high). Received: {name}={value!r}"
        ) from None
    low, high = finite_float(f"{name}[0]", low), finite_float(f"{name}[1]", high)
    if not low < high:
        raise ValueError(
            f"Expected `{name}` = (low, high) with low < high. Received: {name}={value!r}"
        )
    return (low, high)


def input_dim(layer, input_shape):
    """The last axis of `input_shape`, checked to be known and of rank >= 2."""
    input_shape = tuple(input_shape)
    if len(input_shape) < 2:
        raise ValueError(
            f"{layer.__class__.__name__} expects inputs of rank >= 2 (batch, ..., "
            f"features). Received: input_shape={input_shape}"
        )
    if input_shape[-1] is None:
        raise ValueError(
            f"The last axis of the input to {layer.__class__.__name__} must be known "
            f"when it is built. Received: input_shape={input_shape}"
        )
    return int(input_shape[-1])


# The most elements one tensor may hold: 2**31 - 1, the int32 index limit of many
# backend kernels (and 8 GiB of float32). Sizes are computed in Python at build, so a
# head too large for any backend is refused before the backend is asked to allocate.
MAX_TENSOR_SIZE = 2**31 - 1


def tensor_size(layer, what, size, hint, **received):
    """Checks that a tensor of `size` elements can be allocated; returns `size`.

    Args:
        layer: the layer being built (named in the message).
        what: what the tensor is, e.g. `"the expansion width D(m)"`.
        size: its number of elements, a Python int (exact, never overflowing).
        hint: how to shrink it.
        **received: the arguments responsible and their values.
    """
    if size > MAX_TENSOR_SIZE:
        values = ", ".join(f"{k}={v!r}" for k, v in received.items())
        raise ValueError(
            f"{layer.__class__.__name__} '{layer.name}': {what} is {size:,} elements, more "
            f"than one tensor can hold on any backend ({MAX_TENSOR_SIZE:,}). {hint} "
            f"Received: {values}"
        )
    return size


def probability(name, value):
    """Returns `float(value)` if it lies in `(0, 1]`."""
    value = finite_float(name, value)
    if not 0.0 < value <= 1.0:
        raise ValueError(
            f"Received an invalid value for `{name}`, expected a probability in (0, 1]. "
            f"Received: {name}={value!r}"
        )
    return value


def divides(name, value, target_name, target):
    """Checks that the positive integer `value` divides `target`; returns `value`."""
    if target % value != 0:
        raise ValueError(f"`{name}` must divide {target_name} = {target}. Received: {name}={value}")
    return value


def at_most(name, value, bound_name, bound):
    """Checks `value <= bound`; returns `value`."""
    if value > bound:
        raise ValueError(
            f"`{name}` must be at most {bound_name} = {bound}. Received: {name}={value}"
        )
    return value


def float_list(name, value):
    """Returns `value` as a non-empty list of finite floats."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or len(value) == 0:
        raise ValueError(
            f"Expected `{name}` to be a non-empty list of numbers. Received: {name}={value!r}"
        )
    return [finite_float(f"{name}[{i}]", v) for i, v in enumerate(value)]


def bounded_float(name, value, low=None, high=None, low_inclusive=False, high_inclusive=False):
    """Returns `float(value)` if it is a finite real number within the given bounds.

    `low`/`high` are open bounds unless `low_inclusive`/`high_inclusive` is set.
    """
    value = finite_float(name, value)
    too_low = low is not None and (value < low if low_inclusive else value <= low)
    too_high = high is not None and (value > high if high_inclusive else value >= high)
    if too_low or too_high:
        parts = []
        if low is not None:
            parts.append(f"{'>=' if low_inclusive else '>'} {low}")
        if high is not None:
            parts.append(f"{'<=' if high_inclusive else '<'} {high}")
        raise ValueError(
            f"Received an invalid value for `{name}`, expected a finite number "
            f"{' and '.join(parts)}. Received: {name}={value!r}"
        )
    return value


def boolean(name, value):
    """Returns `value` if it is a bool (numbers and strings are refused)."""
    if not isinstance(value, bool):
        raise TypeError(f"Expected a boolean for `{name}`. Received: {name}={value!r}")
    return value


def activation(name, identifier):
    """`keras.activations.get(identifier)`, warning when it could not be saved.

    A lambda or a local function works for training but cannot be written to a
    `.keras` file; the warning says how to make it savable.
    """
    import warnings

    from keras import activations

    fn = activations.get(identifier)
    if _unsavable(fn):
        warnings.warn(
            f"`{name}`={identifier!r} is a lambda or local function: the model will "
            f"train, but it cannot be saved. Use a Keras activation name (e.g. "
            f"'silu') or a named function decorated with "
            f"@keras.saving.register_keras_serializable().",
            stacklevel=3,
        )
    return fn


def serialize_activation(name, fn):
    """`keras.activations.serialize(fn)`, refusing lambdas and local functions."""
    from keras import activations

    if _unsavable(fn):
        raise ValueError(
            f"Cannot serialise `{name}`={fn!r}: lambdas and local functions cannot be "
            f"saved. Use a Keras activation name or a named function decorated with "
            f"@keras.saving.register_keras_serializable()."
        )
    return activations.serialize(fn)


def _unsavable(fn):
    qualname = getattr(fn, "__qualname__", "")
    return "<lambda>" in qualname or "<locals>" in qualname


#: Deepest nesting of lists and dicts accepted in an argument (a composite of
#: composites is a few levels deep; Python's recursion limit is about 1000).
MAX_NESTING = 64


def nesting(name, value, limit=MAX_NESTING):
    """Refuses `value` if its lists and dicts nest deeper than `limit`; returns it.

    Walked with an explicit stack: a recursive walk (or `repr`) of a value nested
    thousands of levels deep would itself raise `RecursionError`.
    """
    stack = [(value, 0, ())]
    while stack:
        item, depth, path = stack.pop()
        if depth > limit:
            where = "".join(f"[{k!r}]" for k in path)
            raise ValueError(
                f"`{name}` is nested more than {limit} levels deep (lists and dicts) "
                f"under {name}{where}. Received: {name}={short_repr(value)}"
            )
        if isinstance(item, dict):
            items = item.items()
        elif isinstance(item, (list, tuple)):
            items = enumerate(item)
        else:
            continue
        for key, child in items:
            stack.append((child, depth + 1, path if len(path) >= 3 else path + (key,)))
    return value


def short_repr(value, limit=200):
    """`repr(value)` cut to `limit` characters, safe on deeply nested values."""
    try:
        text = repr(value)
    except RecursionError:
        text = f"<{type(value).__name__} nested too deeply to print>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


class CheckedNesting:
    """Mixin refusing deeply nested constructor arguments before Keras sees them.

    Keras' `Layer.__new__` flattens the constructor arguments (to record the
    config) before `__init__` runs, and raises `RecursionError` on a config nested
    thousands of levels deep; this check runs first and names the argument.
    """

    def __new__(cls, *args, **kwargs):
        for i, arg in enumerate(args):
            nesting(f"args[{i}]", arg)
        for key, arg in kwargs.items():
            nesting(key, arg)
        return super().__new__(cls, *args, **kwargs)
