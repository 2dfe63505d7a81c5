"""Argument checks shared by all keras_rpn classes (Keras-style messages)."""

import math
import numbers


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
