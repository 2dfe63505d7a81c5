"""RPNLayer: independent heads, allocation, head fusion, serialisation."""

import keras
import numpy as np
import pytest
from checks import as_model
from checks import assert_config_roundtrip
from checks import assert_fit_step
from checks import assert_save_load
from keras import ops

from keras_rpn.layers import RPNHead
from keras_rpn.layers import RPNLayer


def test_heads_are_independent(rng):
    layer = RPNLayer(3, expansion="chebyshev", width=3)
    x = rng.uniform(-1, 1, (4, 5)).astype("float32")
    y = ops.convert_to_numpy(layer(x))
    assert len(layer.heads) == 3
    kernels = [ops.convert_to_numpy(h.kernel) for h in layer.heads]
    assert len({id(h) for h in layer.heads}) == 3
    assert len({id(h.expansion) for h in layer.heads}) == 3
    assert not np.allclose(kernels[0], kernels[1])
    assert len(layer.trainable_weights) == 6  # kernel and bias per head
    head_outputs = [ops.convert_to_numpy(h(x)) for h in layer.heads]
    np.testing.assert_allclose(y, np.mean(head_outputs, axis=0), rtol=1e-5, atol=1e-6)


def test_mixed_heads_with_width_alloc(rng):
    layer = RPNLayer(
        4,
        heads=[{"expansion": "taylor", "reconciliation": "lorr"}, {"expansion": "bspline"}],
        width_alloc=[2, 1],
        head_fusion="concatenation",
        remainder="linear",
    )
    x = rng.uniform(-1, 1, (2, 3)).astype("float32")
    y = ops.convert_to_numpy(layer(x))
    assert y.shape == (2, 12)
    assert [type(h.expansion).__name__ for h in layer.heads] == [
        "TaylorExpansion",
        "TaylorExpansion",
        "BSplineExpansion",
    ]
    assert all(type(h.remainder).__name__ == "LinearRemainder" for h in layer.heads)
    expected = np.concatenate([ops.convert_to_numpy(h(x)) for h in layer.heads], axis=-1)
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-6)
    assert layer.compute_output_shape((None, 3)) == (None, 12)


def test_head_instances_are_templates():
    template = RPNHead(2, expansion="bspline", channels=2)
    layer = RPNLayer(2, heads=[template], width=2)
    layer.build((None, 3))
    assert [h.channels for h in layer.heads] == [2, 2]
    assert all(h is not template for h in layer.heads)


@pytest.mark.parametrize(
    "fusion,units_out", [("mean", 3), ("sum", 3), ("max", 3), ("parameterized_concatenation", 3)]
)
def test_head_fusions(fusion, units_out, rng):
    layer = RPNLayer(3, width=2, head_fusion=fusion, activation="relu")
    x = rng.uniform(-1, 1, (4, 5)).astype("float32")
    y = ops.convert_to_numpy(layer(x))
    assert y.shape == (4, units_out)
    assert np.all(y >= 0)


def test_layer_config_save_and_fit(rng):
    layer = RPNLayer(
        3,
        heads=[{"expansion": "taylor"}, {"expansion": "chebyshev", "channels": 2}],
        head_fusion="parameterized_weighted_summation",
        reconciliation="lorr",
        kernel_regularizer="l2",
    )
    clone = assert_config_roundtrip(layer)
    assert [h.channels for h in clone.heads] == [1, 2]
    x = rng.uniform(-1, 1, (8, 4)).astype("float32")
    model = as_model(layer, 4)
    assert_fit_step(model, x, rng.uniform(-1, 1, (8, 3)).astype("float32"))
    assert len(model.losses) == 2  # one kernel regularizer per head
    assert_save_load(model, x)


def test_layers_in_sequential_functional_and_subclassed_models(rng):
    x = rng.uniform(-1, 1, (8, 6)).astype("float32")
    y = rng.integers(0, 3, 8)
    sequential = keras.Sequential(
        [keras.Input((6,)), RPNLayer(5, expansion="bspline", activation="relu"), RPNLayer(3)]
    )

    class Subclassed(keras.Model):
        def __init__(self):
            super().__init__()
            self.hidden = RPNLayer(5, expansion="chebyshev")
            self.out = RPNHead(3)

        def call(self, inputs):
            return self.out(self.hidden(inputs))

    inputs = keras.Input((6,))
    functional = keras.Model(inputs, RPNHead(3, expansion="taylor")(RPNLayer(4)(inputs)))
    for model in (sequential, functional, Subclassed()):
        assert_fit_step(model, x, y, loss=keras.losses.SparseCategoricalCrossentropy(True))
    assert_save_load(sequential, x)
    assert_save_load(functional, x)


@pytest.mark.parametrize(
    "head_kwargs",
    [
        {"expansion": "bspline", "channels": 2, "remainder": "linear"},  # batched heads
        {"reconciliation": "masking"},  # per-head masks: heads computed one by one
        {"expansion": "chebyshev", "activity_regularizer": "l2"},  # needs Layer.__call__
    ],
)
def test_batched_and_separate_head_paths_agree(head_kwargs, rng):
    layer = RPNLayer(3, width=3, head_fusion="concatenation", **head_kwargs)
    x = rng.uniform(-1, 1, (4, 5)).astype("float32")
    y = ops.convert_to_numpy(layer(x))
    expected = np.concatenate([ops.convert_to_numpy(h(x)) for h in layer.heads], axis=-1)
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-6)
    shared = all(h.can_share_computation() for h in layer.heads)
    assert len(layer._head_groups) == (1 if shared else 3)


def test_head_fusion_sees_the_width_of_channel_fused_heads(rng):
    layer = RPNLayer(
        3,
        channels=2,
        channel_fusion="concatenation",
        width=2,
        head_fusion="parameterized_concatenation",
    )
    y = ops.convert_to_numpy(layer(rng.uniform(-1, 1, (4, 5)).astype("float32")))
    assert y.shape == (4, 6)  # each head gives 2 x 3; the fusion keeps that width
    assert tuple(layer.head_fusion.kernel.shape) == (12, 6)


def test_heads_of_different_widths_are_refused():
    layer = RPNLayer(3, heads=[{}, {"channels": 2, "channel_fusion": "concatenation"}])
    with pytest.raises(ValueError, match=r"same width.*\[3, 6\]"):
        layer.build((None, 4))
