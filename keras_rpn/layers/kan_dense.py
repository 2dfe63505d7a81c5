"""KANDense: a Kolmogorov-Arnold layer with the interface of `keras.layers.Dense`."""

import keras
from keras import constraints
from keras import initializers
from keras import regularizers

from keras_rpn import validation
from keras_rpn.layers.rpn_layer import RPNLayer

_BASES = ("separable", "tinybig")


@keras.saving.register_keras_serializable(package="keras_rpn")
class KANDense(RPNLayer):
    """A Kolmogorov-Arnold layer, usable wherever `keras.layers.Dense` is.

    Formula (for inputs `x` of width `m`, the KAN paper's layer):
    ```
    y_i = activation( sum_j [ sum_k c_ijk B_k(x_j) + w_ij b(x_j) ] + bias_i )
    ```
    `B_k` are the `grid_size + spline_order` B-splines of every input (on a grid
    over `grid_range`, refittable to the data: `update_grid`), `c` the spline
    coefficients, `b` the `base_activation` and `w` the base weights. Every edge
    `j -> i` carries one univariate function `phi_ij(t) = sum_k c_ijk B_k(t) +
    w_ij b(t)`, which is what `keras_rpn.interpret`, the regularizers, pruning,
    symbolic fitting and plots read. With `base="tinybig"` the base branch is
    tinyBIG's `b(x W)` (SiLU after the linear map), which does not split per edge.

    An `RPNLayer` with one B-spline head: the spline part is the expansion with
    the identity reconciliation, the base branch the linear remainder.

    Args:
        units: output width `n`, a positive integer.
        grid_size: number of grid intervals (default 5).
        spline_order: B-spline degree (default 3).
        grid_range: `(low, high)` of the initial grid (default `(-1, 1)`).
        base_activation: `b`, an element-wise activation (default `"silu"`); `None`
            drops the base branch.
        base: `"separable"` (default, `w_ij b(x_j)`) or `"tinybig"` (`b(x W)`).
        adaptive_grid: whether every input has its own grid, saved with the layer
            and refitted by `update_grid` (default `True`).
        activation: activation of the output (default none).
        use_bias: whether to add `bias` (default `True`, as `Dense`).
        kernel_initializer: initializer of the spline coefficients (default: the
            Glorot-scaled uniform of `RPNHead`).
        base_initializer: initializer of the base weights `w` (default
            `"glorot_uniform"`).
        bias_initializer: initializer of `bias` (default `"zeros"`).
        kernel_regularizer: regularizer of the spline coefficients, for example
            `keras_rpn.regularizers.FunctionL1` on the per-edge functions.
        bias_regularizer, activity_regularizer, kernel_constraint,
        bias_constraint: as in `Dense`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Input shape: `(batch, ..., m)`. Output shape: `(batch, ..., units)`.

    Example:
    >>> from keras_rpn.layers import KANDense
    >>> model = keras.Sequential([keras.Input((4,)), KANDense(8), KANDense(1)])
    >>> model.count_params()  # 4*8*8 + 4*8 + 8 + 2*4 (grid), then 8*8 + 8 + 1 + 2*8
    393
    """

    def __init__(
        self,
        units,
        grid_size=5,
        spline_order=3,
        grid_range=(-1.0, 1.0),
        base_activation="silu",
        base="separable",
        adaptive_grid=True,
        activation=None,
        use_bias=True,
        kernel_initializer=None,
        base_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        self.grid_size = validation.positive_int("grid_size", grid_size)
        self.spline_order = validation.non_negative_int("spline_order", spline_order)
        self.grid_range = validation.float_range("grid_range", grid_range)
        self.base_activation = (
            None
            if base_activation is None
            else validation.activation("base_activation", base_activation)
        )
        if base not in _BASES:
            raise ValueError(f"`base` must be one of {_BASES}. Received: base={base!r}")
        self.base = base
        self.adaptive_grid = validation.boolean("adaptive_grid", adaptive_grid)
        self.base_initializer = initializers.get(base_initializer)
        expansion = {
            "class_name": "bspline",
            "config": {
                "grid_range": list(self.grid_range),
                "t": self.grid_size,
                "d": self.spline_order,
                "adaptive_grid": self.adaptive_grid,
            },
        }
        super().__init__(
            units,
            expansion=expansion,
            reconciliation="identity",
            remainder=self._remainder_config(),
            # On the head, so that an activity regularizer sees the activated output.
            heads=[{"activation": activation}],
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer,
            bias_regularizer=bias_regularizer,
            activity_regularizer=activity_regularizer,
            kernel_constraint=kernel_constraint,
            bias_constraint=bias_constraint,
            **kwargs,
        )

    def _remainder_config(self):
        if self.base_activation is None:
            return "zero"
        name = validation.serialize_activation("base_activation", self.base_activation)
        key = "input_activation" if self.base == "separable" else "activation"
        config = {key: name, "kernel_initializer": initializers.serialize(self.base_initializer)}
        return {"class_name": "linear", "config": config}

    grid_size_argument = "grid_size"

    @property
    def head(self):
        """The layer's one `RPNHead`."""
        return self.heads[0]

    def get_config(self):
        head = self.head
        config = keras.layers.Layer.get_config(self)
        config.update(
            {
                "units": self.units,
                "grid_size": self.grid_size,
                "spline_order": self.spline_order,
                "grid_range": list(self.grid_range),
                "base_activation": None
                if self.base_activation is None
                else validation.serialize_activation("base_activation", self.base_activation),
                "base": self.base,
                "adaptive_grid": self.adaptive_grid,
                "activation": validation.serialize_activation("activation", head.activation),
                "use_bias": head.use_bias,
                "kernel_initializer": None
                if head.kernel_initializer is None
                else initializers.serialize(head.kernel_initializer),
                "base_initializer": initializers.serialize(self.base_initializer),
                "bias_initializer": initializers.serialize(head.bias_initializer),
                "kernel_regularizer": regularizers.serialize(head.kernel_regularizer),
                "bias_regularizer": regularizers.serialize(head.bias_regularizer),
                "activity_regularizer": regularizers.serialize(head.activity_regularizer),
                "kernel_constraint": constraints.serialize(head.kernel_constraint),
                "bias_constraint": constraints.serialize(head.bias_constraint),
            }
        )
        return config
