"""The Keras anchors keras_rpn is timed against (built by `_harness.py`, same protocol).

Written for these benchmarks with `keras.ops` (no library code copied):

* `dense_mlp`: `Dense(64, relu) -> Dense(10)`;
* `taylor2_lorr2`: one RPN head per layer, Taylor order-2 expansion materialised
  (`D = m + m^2`), low-rank weights `W = A B` (n x D) materialised, + bias, zero
  remainder: the computation tinyBIG 0.2.1 does;
* `taylor2_lorr2_factored`: the same function without the D-wide tensor: `B = [B1 | B2]`
  with `B2` viewed as `(r, m, m)`, `<kappa(x), W_k> = A_k . (B1 x + x^T B2_r x)`: the
  hand-written factorised layer;
* `bspline_kan`: B-spline expansion (t=5, d=3, grid [-1, 1], Cox-de Boor recursion) +
  identity reconciliation + `silu(x) W_rem` remainder;
* `efficient_kan`: keras-efficient-kan's `KANLinear(64) -> KANLinear(10)` (PyPI package
  `keras-efficient-kan`), grid 5, order 3, SiLU, no layer norm;
* `dense_eqparams`: `Dense(h, relu) -> Dense(n)` with `h` chosen so that the parameter
  count equals keras_rpn's model of the same config;
* `efficient_kan_1000`: keras-efficient-kan at the config's shape (the 1000 -> 1000 KAN).
"""

import numpy as np

EFFICIENT_KAN_KWARGS = {
    "grid_size": 5,
    "spline_order": 3,
    "base_activation": "silu",
    "use_layernorm": False,
}


def make_layers(keras):
    ops = keras.ops

    class TaylorLoRR(keras.layers.Layer):
        """Order-2 Taylor expansion + rank-r low-rank reconciliation + bias."""

        def __init__(self, units, rank=2, factored=False, **kw):
            super().__init__(**kw)
            self.units, self.rank, self.factored = units, rank, factored

        def build(self, input_shape):
            m = int(input_shape[-1])
            self.m = m
            D = m + m * m
            # tinyBIG-like scale: Xavier uniform over the flat (1, l) parameter vector
            lim = (6.0 / (1 + self.rank * (self.units + D))) ** 0.5
            init = keras.initializers.RandomUniform(-lim, lim)
            self.A = self.add_weight(shape=(self.units, self.rank), initializer=init, name="A")
            self.B = self.add_weight(shape=(self.rank, D), initializer=init, name="B")
            self.bias = self.add_weight(shape=(self.units,), initializer="zeros", name="bias")

        def call(self, x):
            m, r = self.m, self.rank
            if not self.factored:
                x2 = ops.reshape(ops.expand_dims(x, 2) * ops.expand_dims(x, 1), (-1, m * m))
                kx = ops.concatenate([x, x2], axis=1)  # (b, D)
                W = ops.matmul(self.A, self.B)  # (n, D)
                return ops.matmul(kx, ops.transpose(W)) + self.bias
            B1 = self.B[:, :m]  # (r, m)
            B2 = ops.reshape(self.B[:, m:], (r, m, m))  # (r, m, m)
            lin = ops.matmul(x, ops.transpose(B1))  # (b, r)
            t = ops.einsum("bi,rij->brj", x, B2)  # (b, r, m)
            quad = ops.sum(t * ops.expand_dims(x, 1), axis=-1)  # (b, r)
            return ops.matmul(lin + quad, ops.transpose(self.A)) + self.bias

    class BSplineKAN(keras.layers.Layer):
        """B-spline expansion (recursion) + identity reconciliation + SiLU remainder."""

        def __init__(self, units, t=5, d=3, grid_range=(-1.0, 1.0), **kw):
            super().__init__(**kw)
            self.units, self.t, self.d, self.grid_range = units, t, d, grid_range

        def build(self, input_shape):
            m = int(input_shape[-1])
            self.m = m
            h = (self.grid_range[1] - self.grid_range[0]) / self.t
            g = np.arange(-self.d, self.t + self.d + 1) * h + self.grid_range[0]
            g = np.tile(g.astype("float32"), (m, 1))
            self.grid = self.add_weight(
                shape=g.shape,
                trainable=False,
                name="grid",
                initializer=keras.initializers.Constant(g),
            )
            self.W = self.add_weight(
                shape=(m * (self.t + self.d), self.units), initializer="glorot_uniform", name="W"
            )
            self.W_rem = self.add_weight(
                shape=(m, self.units), initializer="glorot_uniform", name="W_rem"
            )

        def call(self, x):
            g = self.grid
            xe = ops.expand_dims(x, -1)
            bases = ops.cast(ops.logical_and(xe >= g[:, :-1], xe < g[:, 1:]), x.dtype)
            for k in range(1, self.d + 1):
                left = (xe - g[:, : -(k + 1)]) / (g[:, k:-1] - g[:, : -(k + 1)]) * bases[:, :, :-1]
                right = (g[:, k + 1 :] - xe) / (g[:, k + 1 :] - g[:, 1:-k]) * bases[:, :, 1:]
                bases = left + right
            kx = ops.reshape(bases, (-1, self.m * (self.t + self.d)))
            return ops.matmul(kx, self.W) + ops.matmul(ops.silu(x), self.W_rem)

    return TaylorLoRR, BSplineKAN


ANCHORS = (
    "dense_mlp",
    "taylor2_lorr2",
    "taylor2_lorr2_factored",
    "bspline_kan",
    "efficient_kan",
    "dense_eqparams",
    "efficient_kan_1000",
)
NEEDS_EFFICIENT_KAN = ("efficient_kan", "efficient_kan_1000")


def build_anchor(impl, keras, dims, target_params=None):
    """The Keras model of anchor `impl` for layer widths `dims` ([m, ..., n])."""
    inp = keras.Input(shape=(dims[0],))
    x = inp
    if impl == "dense_mlp":
        x = keras.layers.Dense(dims[1], activation="relu")(x)
        out = keras.layers.Dense(dims[-1])(x)
    elif impl in ("taylor2_lorr2", "taylor2_lorr2_factored"):
        TaylorLoRR, _ = make_layers(keras)
        for units in dims[1:]:
            x = TaylorLoRR(units, factored=impl.endswith("factored"))(x)
        out = x
    elif impl == "bspline_kan":
        _, BSplineKAN = make_layers(keras)
        for units in dims[1:]:
            x = BSplineKAN(units)(x)
        out = x
    elif impl in NEEDS_EFFICIENT_KAN:
        from keras_efficient_kan import KANLinear

        for units in dims[1:]:
            x = KANLinear(units, **EFFICIENT_KAN_KWARGS)(x)
        out = x
    elif impl == "dense_eqparams":
        m, n = dims[0], dims[-1]
        # Dense(h) -> Dense(n): m*h + h + h*n + n parameters.
        hidden = max(1, round((target_params - n) / (m + n + 1)))
        out = keras.layers.Dense(n)(keras.layers.Dense(hidden, activation="relu")(x))
    else:
        raise ValueError(f"unknown anchor {impl!r}; choose from {ANCHORS}")
    return keras.Model(inp, out)
