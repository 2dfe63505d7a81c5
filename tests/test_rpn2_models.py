"""RPN 2 presets (CNN, ResNet, RNN, RegressionRNN, GCN, GAT, Transformer): structure,
parameter counts, training, inference mode and .keras round trips."""

import numpy as np
import pytest
from checks import BACKEND
from checks import assert_config_roundtrip
from checks import assert_fit_step
from checks import assert_save_load
from keras import ops

from keras_rpn import layers
from keras_rpn import models

EDGES = [[0, 1], [1, 2], [2, 3], [3, 4], [4, 0], [0, 2]]


def graph_inputs(rng):
    a = np.zeros((5, 5), "float32")
    for i, j in EDGES:
        a[i, j] = 1.0
    x = rng.normal(size=(3, 5, 3)).astype("float32")
    return [x, np.stack([a] * 3)]


PRESETS = {
    "CNN": (lambda: models.CNN([1, 2, 3], fc_dims=[4, 2]), (4, 4, 4, 1), 2),
    "ResNet": (lambda: models.ResNet([1, 2, 2], fc_dims=[2], dropout_fc=0.0), (4, 4, 4, 1), 2),
    "RNN": (lambda: models.RNN([3, 4, 2], bi_directional=True), (4, 5, 3), 2),
    "RegressionRNN": (lambda: models.RegressionRNN([1, 4, 1]), (4, 5, 1), 1),
    "Transformer": (lambda: models.Transformer([3, 4], fc_dims=[2], num_heads=2), (4, 5, 3), 2),
    "GCN": (lambda: models.GCN([3, 4, 2], edges=EDGES, dropout=0.5), (1, 5, 3), 2),
    "GAT": (lambda: models.GAT([3, 4, 2], width=2), "graph_input", 2),
}


@pytest.mark.parametrize("name", list(PRESETS))
def test_preset_trains_and_reloads(name, rng):
    make, shape, outputs = PRESETS[name]
    model = make()
    x = graph_inputs(rng) if shape == "graph_input" else rng.normal(size=shape).astype("float32")
    batch = len(x[0]) if isinstance(x, list) else len(x)
    out_shape = ops.shape(model(x))
    y = rng.normal(size=out_shape).astype("float32")
    assert out_shape[-1] == outputs
    # Inference is deterministic (dropout off, batch norm on its moving statistics).
    np.testing.assert_array_equal(
        ops.convert_to_numpy(model(x, training=False)), ops.convert_to_numpy(model(x))
    )
    assert_fit_step(model, x, y)
    assert_config_roundtrip(model)
    assert_save_load(model, x, atol=1e-5)
    assert batch == out_shape[0]


def test_cnn_structure_and_parameter_count():
    model = models.CNN([1, 3, 4], fc_dims=[5], width=2)
    model(np.zeros((1, 8, 8, 1), "float32"))
    kinds = [type(layer).__name__ for layer in model.stack]
    assert kinds == [
        "GridLayer",
        "BatchNormalization",
        "Activation",
        "GridLayer",
        "BatchNormalization",
        "Activation",
        "GridCompression",
        "Dropout",
        "Flatten",
        "RPNLayer",
    ]
    grid = 2 * ((3 * 1 * 9 + 3) + (4 * 3 * 9 + 4))  # two independent heads per layer
    batch_norm = 4 * 3 + 4 * 4  # gamma, beta, moving mean and variance
    fc = 4 * 4 * 4 * 5 + 5  # 4x4x4 pooled features
    assert model.count_params() == grid + batch_norm + fc


@pytest.mark.skipif(
    BACKEND == "torch",
    reason="jit_compile=True is torch.compile on torch: minutes of compilation on CPU for "
    "one step; the other preset tests fit eagerly there",
)
def test_cnn_jit_fit(rng):
    model = models.CNN([1, 2], fc_dims=[3], pooling_layer_gaps=1)
    x = rng.normal(size=(4, 4, 4, 1)).astype("float32")
    assert_fit_step(model, x, rng.normal(size=(4, 3)).astype("float32"), jit_compile=True)


def test_rnn_readouts(rng):
    x = rng.normal(size=(2, 5, 3)).astype("float32")
    rnn = models.RNN([3, 4, 2])
    regression = models.RegressionRNN([3, 4, 2])
    rnn(x), regression(x)
    assert rnn.stack[-1].heads[0].kernel.shape == (1, 4 * 2)  # the mean of the tokens
    assert regression.stack[-1].heads[0].kernel.shape == (1, 5 * 4 * 2)  # all tokens


def test_gcn_given_graph_equals_graph_input(rng):
    x, a = graph_inputs(rng)
    constant = models.GCN([3, 4, 2], edges=EDGES)
    as_input = models.GCN([3, 4, 2])
    y = constant(x)
    as_input([x, a])
    for target, source in zip(as_input.trainable_weights, constant.trainable_weights, strict=True):
        target.assign(source)
    np.testing.assert_allclose(
        ops.convert_to_numpy(as_input([x, a])), ops.convert_to_numpy(y), rtol=1e-5, atol=1e-5
    )


def test_preset_arguments_are_checked():
    with pytest.raises(ValueError, match="channel_nums"):
        models.CNN([1], fc_dims=[2])
    with pytest.raises(ValueError, match="dims"):
        models.RNN([3, 2])
    with pytest.raises(ValueError, match="pooling"):
        models.Transformer([3, 4], fc_dims=[2], pooling="max")
    assert isinstance(models.GAT([3, 2], edges=EDGES).stack[0], layers.GraphBilinearLayer)
