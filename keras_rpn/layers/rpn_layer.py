"""RPNLayer: several independent RPN heads and a head fusion."""

import keras

from keras_rpn import fusions
from keras_rpn import validation
from keras_rpn.layers.adaptive import GridAdaptation
from keras_rpn.layers.batched_heads import group_heads
from keras_rpn.layers.batched_heads import run_layer_heads
from keras_rpn.layers.rpn_head import RPNHead
from keras_rpn.registry import serialize_component
from keras_rpn.saving import StructureCheck


def allocate(configs, width, width_alloc, what="width"):
    """tinyBIG's rule for repeating configs: returns one repeat count per config.

    * `width_alloc` given: one positive count per config; `width`, if given, must
      equal their sum;
    * otherwise `width` None or equal to the number of configs: one of each;
    * otherwise a single config is repeated `width` times.
    """
    alloc_name = f"{what}_alloc"
    if width is not None:
        width = validation.positive_int(what, width)
    if width_alloc is not None:
        if isinstance(width_alloc, (str, bytes)) or not hasattr(width_alloc, "__len__"):
            raise TypeError(
                f"`{alloc_name}` must be a list of positive integers. "
                f"Received: {alloc_name}={width_alloc!r}"
            )
        alloc = [
            validation.positive_int(f"{alloc_name}[{i}]", a) for i, a in enumerate(width_alloc)
        ]
        if len(alloc) != len(configs):
            raise ValueError(
                f"`{alloc_name}` needs one count per config: {len(configs)} config(s) "
                f"were given. Received: {alloc_name}={list(width_alloc)}"
            )
        if width is not None and width != sum(alloc):
            raise ValueError(
                f"`{what}` must equal sum({alloc_name}) = {sum(alloc)}. "
                f"Received: {what}={width}, {alloc_name}={list(width_alloc)}"
            )
        return alloc
    if width is None or width == len(configs):
        return [1] * len(configs)
    if len(configs) == 1:
        return [width]
    raise ValueError(
        f"Cannot spread {len(configs)} configs over {what}={width}: give "
        f"`{alloc_name}` (one repeat count per config) or one config per unit of {what}."
    )


@keras.saving.register_keras_serializable(package="keras_rpn")
class RPNLayer(validation.CheckedNesting, StructureCheck, GridAdaptation, keras.layers.Layer):
    """A Reconciled Polynomial Network layer: `H` independent heads, fused.

    Formula:
    ```
    y = activation( F_head([ head_h(x) for h < H ]) )
    ```
    Every head maps `m -> units` with its own weights. Heads are described by
    `head_kwargs` (any `RPNHead` argument, shared by all heads), optionally
    overridden per head by `heads`, a list of dicts; `width` / `width_alloc` repeat
    them, as in tinyBIG:

    * `RPNLayer(64, expansion="bspline")`: one B-spline head;
    * `RPNLayer(64, expansion="bspline", width=3)`: three B-spline heads;
    * `RPNLayer(64, heads=[{"expansion": "taylor"}, {"expansion": "bspline"}],
      width_alloc=[2, 1])`: two Taylor heads and one B-spline head.

    Args:
        units: output width of every head, a positive integer.
        heads: optional list of head configs: dicts of `RPNHead` arguments (which
            override `head_kwargs`) or `RPNHead` instances (used as templates: their
            config is copied, not their weights).
        width: number of heads `H` (default: one per config).
        width_alloc: repeat count of each config in `heads`.
        head_fusion: `F_head`, a name from `keras_rpn.fusions.names()`, a `Fusion` or
            a config dict (default `"mean"`; `"concatenation"` gives `H * units`
            outputs).
        activation: activation applied after the head fusion (default none).
        **kwargs: `RPNHead` arguments shared by the heads (`expansion`,
            `reconciliation`, `remainder`, `channels`, `channel_fusion`, `use_bias`,
            initializers, regularizers, constraints), and base layer keyword
            arguments such as `name` and `dtype`.

    Example:
    >>> layer = keras_rpn.layers.RPNLayer(
    ...     8, heads=[{"expansion": "taylor"}, {"expansion": "chebyshev"}],
    ...     head_fusion="concatenation")
    >>> tuple(layer(np.zeros((2, 5))).shape)
    (2, 16)
    """

    def __init__(
        self,
        units,
        heads=None,
        width=None,
        width_alloc=None,
        head_fusion=None,
        activation=None,
        **kwargs,
    ):
        super().__init__(**validation.pop_base_kwargs(kwargs))
        self.units = validation.positive_int("units", units)
        self.head_kwargs = kwargs
        if heads is not None and (isinstance(heads, (str, dict)) or not hasattr(heads, "__len__")):
            raise TypeError(
                f"`heads` must be a list of head configs (dicts or RPNHead instances). "
                f"Received: heads={heads!r}"
            )
        if heads is not None and len(heads) == 0:
            raise ValueError(
                "`heads` must hold at least one head config (or be None for one head "
                f"made of the layer's arguments). Received: heads={heads!r}"
            )
        configs = [self._head_config(h) for h in heads] if heads is not None else [{}]
        self.head_configs = None if heads is None else configs
        self.width = width
        self.width_alloc = None if width_alloc is None else list(width_alloc)
        alloc = allocate(configs, width, width_alloc)
        self.head_fusion = fusions.get(
            "mean" if head_fusion is None else head_fusion,
            name="head_fusion",
            dtype=self.dtype_policy,
        )
        self.activation = validation.activation("activation", activation)
        self.heads = []
        # Index of the config each head was made from: repeats of one config have
        # the same structure, so they can be computed in one batch.
        self._head_config_index = []
        for index, (config, repeat) in enumerate(zip(configs, alloc, strict=True)):
            for _ in range(repeat):
                self.heads.append(self._make_head(config))
                self._head_config_index.append(index)

    def _head_config(self, head):
        if isinstance(head, RPNHead):
            return validation.without_base_config(head.get_config())
        if not isinstance(head, dict):
            raise TypeError(
                f"Each entry of `heads` must be a dict of RPNHead arguments or an "
                f"RPNHead. Received: {head!r}"
            )
        return dict(head)

    def _make_head(self, config):
        config = {**self.head_kwargs, **config}
        units = config.pop("units", self.units)
        if units != self.units:
            raise ValueError(
                f"Every head of an RPNLayer maps to the layer's `units` "
                f"({self.units}). Received a head config with units={units}"
            )
        return RPNHead(
            self.units,
            dtype=self.dtype_policy,
            name=f"head_{len(self.heads)}",
            **config,
        )

    def build(self, input_shape):
        m = validation.input_dim(self, input_shape)
        widths = []
        for head in self.heads:
            if not head.built:
                head.build(input_shape)
            widths.append(head.compute_output_shape(input_shape)[-1])
        if len(set(widths)) > 1:
            raise ValueError(
                f"The heads of an RPNLayer must all give outputs of the same width to "
                f"be fused; their channel fusions give widths {widths}."
            )
        if not self.head_fusion.built:
            self.head_fusion.build((None, len(self.heads), widths[0]))
        # Heads made from one config that can share computation run as one batch.
        self._head_groups = group_heads(self.heads, self._head_config_index)
        # Batched heads are computed without their own `__call__`, so the layer
        # checks the input width itself.
        self.input_spec = keras.layers.InputSpec(min_ndim=2, axes={-1: m})

    def call(self, inputs, training=None):
        y = run_layer_heads(
            self.heads, self._head_groups, self.head_fusion, inputs, training=training
        )
        return self.activation(y)

    def compute_output_shape(self, input_shape):
        n = self.heads[0].compute_output_shape(input_shape)[-1]
        if len(self.heads) > 1 or not self.head_fusion.identity_for_one_input:
            n = self.head_fusion.output_dim(len(self.heads), n)
        return tuple(input_shape[:-1]) + (n,)

    def structure(self):
        return {"num_heads": len(self.heads)}

    def get_config(self):
        serialize = keras.saving.serialize_keras_object
        return {
            **super().get_config(),
            "units": self.units,
            "heads": None if self.head_configs is None else serialize(self.head_configs),
            "width": self.width,
            "width_alloc": self.width_alloc,
            "head_fusion": serialize_component(self.head_fusion),
            "activation": validation.serialize_activation("activation", self.activation),
            **serialize(self.head_kwargs),
        }
