"""Composite expansions: composition (nested) and concatenation (extended)."""

import keras
import numpy as np
from keras import ops

from keras_rpn.expansions.base import Expansion
from keras_rpn.expansions.base import get
from keras_rpn.expansions.base import register
from keras_rpn.registry import serialize_component


def _child(spec, dtype_policy):
    """An `Expansion` from a name, an instance or a config dict, in `dtype_policy`."""
    try:
        child = get(spec)
    except ValueError:
        # A Keras-registered Expansion subclass unknown to the short-name registry.
        if not (isinstance(spec, dict) and "registered_name" in spec):
            raise
        child = keras.saving.deserialize_keras_object(spec)
        if not isinstance(child, Expansion):
            raise TypeError(
                "Expected every entry of `composition_functions` to be an Expansion. "
                f"Received: {type(child).__name__} from {spec!r}"
            ) from None
    if child.dtype_policy.name != dtype_policy.name:
        child = get(child, dtype=dtype_policy)
    return child


class CompositeExpansion(Expansion):
    """Base of expansions made of other expansions (`composition_functions`).

    The children are kept as one flat list of sublayers, built by the parent, and
    serialised in `get_config`. Each child accepts the same identifiers as
    `keras_rpn.expansions.get` (a short name, an `Expansion` instance or a config
    dict); children in another dtype policy are cloned into the parent's.

    Args:
        composition_functions: non-empty list of expansions.
        **kwargs: `preprocessing`, `postprocessing` (see `Expansion`) and base layer
            keyword arguments, such as `name` and `dtype`.
    """

    def __init__(self, composition_functions=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(composition_functions, (list, tuple)) or not composition_functions:
            raise ValueError(
                "Expected `composition_functions` to be a non-empty list of expansions "
                "(names, Expansion instances or config dicts). "
                f"Received: composition_functions={composition_functions!r}"
            )
        self.composition_functions = [
            _child(spec, self.dtype_policy) for spec in composition_functions
        ]

    @property
    def input_range(self):
        """The first child's `input_range` that is not `None`."""
        ranges = (child.input_range for child in self.composition_functions)
        return next((r for r in ranges if r is not None), None)

    def get_config(self):
        return {
            **super().get_config(),
            "composition_functions": [serialize_component(c) for c in self.composition_functions],
        }


@register("nested", "nested_expansion")
class NestedExpansion(CompositeExpansion):
    """Nested expansion: the composition of several expansions.

    Formula:
    ```
    kappa(x) = kappa_k( ... kappa_2(kappa_1(x)) ... )
    D(m) = D_k( ... D_2(D_1(m)) ... )
    ```
    `project` materialises the inner expansions and lets the outermost one project
    (so a Taylor outermost expansion keeps its factorised product).

    Args:
        composition_functions: non-empty list of expansions, innermost first
            (names, `Expansion` instances or config dicts).
        **kwargs: `preprocessing`, `postprocessing` (see `Expansion`) and base layer
            keyword arguments, such as `name` and `dtype`.

    Example:
    >>> kappa = keras_rpn.expansions.NestedExpansion(["bspline", "taylor"])
    >>> tuple(kappa(np.zeros((2, 3))).shape)  # D = 24 + 24^2
    (2, 600)
    """

    def output_dim(self, input_dim):
        for child in self.composition_functions:
            input_dim = child.output_dim(input_dim)
        return input_dim

    def build(self, input_shape):
        shape = tuple(input_shape)
        for child in self.composition_functions:
            if not child.built:
                child.build(shape)
            shape = tuple(child.compute_output_shape(shape))
        super().build(input_shape)

    def expand(self, x, training=None):
        for child in self.composition_functions:
            x = child(x, training=training)
        return x

    structured_projection = True

    def structured_project(self, x, basis, training=None):
        for child in self.composition_functions[:-1]:
            x = child(x, training=training)
        return self.composition_functions[-1].project(x, basis, training=training)


@register("extended", "extended_expansion")
class ExtendedExpansion(CompositeExpansion):
    """Extended expansion: the concatenation of several expansions of the same input.

    Formula:
    ```
    kappa(x) = [kappa_1(x) | kappa_2(x) | ... | kappa_k(x)]
    D(m) = D_1(m) + ... + D_k(m)
    ```
    `project` splits the basis into the matching column blocks and lets every child
    project its own block, so structured children (Taylor) stay factorised.

    Args:
        composition_functions: non-empty list of expansions (names, `Expansion`
            instances or config dicts).
        **kwargs: `preprocessing`, `postprocessing` (see `Expansion`) and base layer
            keyword arguments, such as `name` and `dtype`.

    Example:
    >>> kappa = keras_rpn.expansions.ExtendedExpansion(["bspline", "taylor"])
    >>> tuple(kappa(np.zeros((2, 3))).shape)  # D = 24 + 12
    (2, 36)
    """

    def output_dim(self, input_dim):
        return sum(child.output_dim(input_dim) for child in self.composition_functions)

    def build(self, input_shape):
        for child in self.composition_functions:
            if not child.built:
                child.build(tuple(input_shape))
        super().build(input_shape)

    @property
    def column_mixing_layers(self):
        own = super().column_mixing_layers
        return own + [layer for c in self.composition_functions for layer in c.column_mixing_layers]

    def feature_columns(self, input_dim):
        """The children's per-feature columns, side by side (offset by their widths)."""
        if self.column_mixing_layers:
            return None
        blocks, offset = [], 0
        for child in self.composition_functions:
            columns = child.feature_columns(input_dim)
            if columns is None:
                return None
            blocks.append(columns + offset)
            offset += child.output_dim(input_dim)
        return np.concatenate(blocks, axis=1)

    def expand(self, x, training=None):
        parts = [child(x, training=training) for child in self.composition_functions]
        return parts[0] if len(parts) == 1 else ops.concatenate(parts, axis=-1)

    structured_projection = True

    def structured_project(self, x, basis, training=None):
        m = x.shape[-1]
        out, offset = None, 0
        for child in self.composition_functions:
            width = child.output_dim(m)
            part = child.project(x, basis[:, offset : offset + width], training=training)
            offset += width
            out = part if out is None else out + part
        return out
