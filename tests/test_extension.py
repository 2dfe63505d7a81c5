"""A new expansion, reconciliation and fusion, defined here only, work with
`keras_rpn.interpret`, `keras_rpn.distribution.layout_map` and tinyBIG config
import/export: those modules read the components' declared capabilities
(`Expansion.column_layout` / `feature_columns`, `Reconciliation.kernel_layout`,
`Fusion.is_linear` / `model_parallel_axis`, `register(..., tinybig=...)`), never
their classes."""

import keras
import numpy as np
import pytest
from keras import ops

import keras_rpn
from keras_rpn import config
from keras_rpn import distribution
from keras_rpn import expansions
from keras_rpn import fusions
from keras_rpn import interpret
from keras_rpn import reconciliations


class SquareCubeExpansion(expansions.Expansion):
    """`kappa(x) = [x^2 | x^3]`, D = 2m, block-major."""

    column_layout = "block_major"

    def output_dim(self, input_dim):
        return 2 * input_dim

    def expand(self, x):
        return ops.concatenate([x * x, x * x * x], axis=-1)


class DoubledReconciliation(reconciliations.Reconciliation):
    """`psi(w) = 2 reshape(w, (n, D))`: row-major, l = n D."""

    kernel_layout = "row_major"

    def num_params(self, units, input_dim):
        return units * input_dim

    def reconcile(self, kernel):
        return 2.0 * ops.reshape(kernel, (-1, self.units, self.input_dim))


class ScaledSumFusion(fusions.Fusion):
    """`F(y_1..y_K) = s * sum_k y_k`, a learned scale `s` per output (linear)."""

    is_linear = True
    identity_for_one_input = False

    def build(self, input_shape):
        super().build(input_shape)
        self.scale = self.add_weight(name="scale", shape=(self.input_dim,), initializer="ones")

    def fuse(self, stacked):
        return self.scale * ops.sum(stacked, axis=-2)

    def model_parallel_axis(self, variable):
        return 0


@pytest.fixture(scope="module", autouse=True)
def registered():
    """Registers the three classes for this module only."""
    saved = {f: dict(f.registry._classes) for f in (expansions, reconciliations, fusions)}
    custom = dict(keras.saving.get_custom_objects())
    expansions.register("test_square_cube", tinybig="square_cube_expansion")(SquareCubeExpansion)
    reconciliations.register("test_doubled", tinybig="doubled_reconciliation")(
        DoubledReconciliation
    )
    fusions.register("test_scaled_sum", tinybig="scaled_sum_fusion")(ScaledSumFusion)
    yield
    for family, classes in saved.items():
        family.registry._classes.clear()
        family.registry._classes.update(classes)
    keras.saving.get_custom_objects().clear()
    keras.saving.get_custom_objects().update(custom)


X = np.random.default_rng(0).uniform(-1.0, 1.0, size=(5, 3)).astype("float32")
HEAD = {
    "expansion": "test_square_cube",
    "reconciliation": "test_doubled",
    "channels": 2,
    "channel_fusion": "test_scaled_sum",
}


def numpy(x):
    return np.asarray(keras.ops.convert_to_numpy(x), dtype="float64")


def test_interpret_reads_the_new_components():
    head = keras_rpn.layers.RPNHead(4, remainder="linear", **HEAD)
    y = numpy(head(X))
    np.testing.assert_array_equal(
        interpret.feature_columns(head.expansion, 3), [[0, 3], [1, 4], [2, 5]]
    )
    terms, offset = interpret.contributions(head, X)
    np.testing.assert_allclose(terms.sum(axis=1) + offset, y, rtol=1e-4, atol=1e-5)
    # Feature j's term from x_j alone, by the formula.
    w = 2.0 * numpy(head.kernel).reshape(2, 4, 6)
    scale = numpy(head.channel_fusion.scale)
    j = 1
    kappa_j = np.stack([X[:, j] ** 2, X[:, j] ** 3], axis=-1)  # (N, 2)
    expected = scale * np.einsum("sk,cnk->sn", kappa_j, w[:, :, [j, j + 3]])
    expected += X[:, j : j + 1] * numpy(head.remainder.kernel)[j]
    np.testing.assert_allclose(terms[:, j, :], expected, rtol=1e-4, atol=1e-5)


def test_layout_map_reads_the_new_components():
    model = keras_rpn.models.RPN([3, 4], width=2, head_fusion="test_scaled_sum", **HEAD)
    model(X)
    mesh = keras.distribution.DeviceMesh((2, 2), ["batch", "model"], [f"cpu:{i}" for i in range(4)])
    got = distribution.variable_layouts(model, distribution.layout_map(mesh, model=model))
    got = {path.split("/", 1)[1]: axes for path, axes in got.items()}
    assert got["rpn_layer_0/head_0/kernel"] == (None, "model")  # row-major: output rows
    assert got["rpn_layer_0/head_1/channel_fusion/scale"] == ("model",)
    assert got["rpn_layer_0/head_fusion/scale"] == ("model",)


def test_tinybig_config_round_trip_of_the_new_components():
    model = keras_rpn.models.RPN([3, 4], width=2, head_fusion="test_scaled_sum", **HEAD)
    model(X)
    exported = config.to_tinybig(model)
    layer = exported["configurations"]["model_configs"]["model_parameters"]["layer_configs"][0]
    head = layer["layer_parameters"]["head_configs"][0]["head_parameters"]
    assert head["data_transformation_configs"]["function_class"] == (
        "tinybig.expansion.square_cube_expansion"
    )
    assert head["parameter_fabrication_configs"]["function_class"] == (
        "tinybig.reconciliation.doubled_reconciliation"
    )
    assert head["channel_fusion_configs"]["function_class"] == "tinybig.fusion.scaled_sum_fusion"
    assert layer["layer_parameters"]["head_fusion_configs"]["function_class"] == (
        "tinybig.fusion.scaled_sum_fusion"
    )
    assert head["l"] == 4 * 6
    clone = config.from_tinybig(exported)
    clone(X)
    assert isinstance(clone.rpn_layers[0].heads[0].expansion, SquareCubeExpansion)
    assert isinstance(clone.rpn_layers[0].heads[0].reconciliation, DoubledReconciliation)
    assert isinstance(clone.rpn_layers[0].head_fusion, ScaledSumFusion)
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(numpy(clone(X)), numpy(model(X)), rtol=1e-5, atol=1e-6)
