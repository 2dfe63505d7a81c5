"""RPN 2 heads and layers: Keras' run_layer_test, .keras round trips, independent
heads, masks, parameter counts and bad input."""

import keras
import numpy as np
import pytest
from checks import BACKEND
from checks import assert_save_load
from keras import ops
from keras.src.testing import TestCase

from keras_rpn import layers

EDGES = [[0, 1], [1, 2], [2, 3], [3, 0], [1, 3]]
SEQUENCE = (2, 5, 3)
IMAGE = (2, 6, 5, 2)
GRAPH = (1, 4, 3)

# (class, constructor arguments, input shape(s), trainable weights per head)
CASES = [
    (layers.GridHead, {"units": 4, "strides": 2, "remainder": "linear"}, IMAGE, 3),
    (layers.GridLayer, {"units": 4, "width": 2, "channels": 2}, IMAGE, 4),
    (layers.GridCompression, {"metric": "mean", "strides": 2}, IMAGE, 0),
    (layers.ChainHead, {"units": 4, "bi_directional": True}, SEQUENCE, 2),
    (layers.ChainLayer, {"units": 4, "width": 2, "num_hops": 2}, SEQUENCE, 4),
    (layers.BilinearHead, {"units": 4, "rank": 2, "causal": True}, SEQUENCE, 3),
    (layers.BilinearLayer, {"units": 4, "width": 2, "expansion": "taylor"}, SEQUENCE, 6),
    (layers.GraphHead, {"units": 4, "edges": EDGES}, GRAPH, 2),
    (layers.GraphLayer, {"units": 4, "width": 2, "edges": EDGES, "pagerank_c": 0.15}, GRAPH, 4),
    (layers.GraphHead, {"units": 4}, [GRAPH, (1, 4, 4)], 2),
    (layers.GraphBilinearHead, {"units": 4, "edges": EDGES, "rank": 2}, GRAPH, 3),
    (layers.GraphBilinearLayer, {"units": 4, "width": 2}, [GRAPH, (1, 4, 4)], 6),
]


def inputs_for(shape, rng):
    if isinstance(shape, list):
        x = rng.normal(size=shape[0]).astype("float32")
        a = (rng.uniform(size=shape[1]) < 0.5).astype("float32")
        return [x, a]
    return rng.normal(size=shape).astype("float32")


def case_id(case):
    return f"{case[0].__name__}-{'input_graph' if isinstance(case[2], list) else 'constant'}"


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_run_layer_test_and_save_load(case, rng):
    cls, kwargs, shape, trainable = case
    graph_input = isinstance(shape, list)
    TestCase("run_layer_test").run_layer_test(
        cls,
        init_kwargs=kwargs,
        input_shape=[tuple(s) for s in shape] if isinstance(shape, list) else shape,
        expected_num_trainable_weights=trainable,
        expected_num_losses=0,
        supports_masking=cls in (layers.ChainHead, layers.ChainLayer, layers.BilinearHead)
        or cls is layers.BilinearLayer,
        # Keras' training check feeds list inputs through a generator that tf.data
        # refuses (`output_signature` of a list); the graph-input presets train on
        # every backend in test_rpn2_models.
        run_training_check=not (graph_input and BACKEND == "tensorflow"),
    )
    data = inputs_for(shape, rng)
    if graph_input:
        ins = [keras.Input(shape[0][1:]), keras.Input(shape[1][1:])]
    else:
        ins = keras.Input(shape[1:])
    model = keras.Model(ins, cls(**kwargs)(ins))
    assert_save_load(model, data, atol=1e-5)


def test_heads_of_a_layer_are_independent(rng):
    x = rng.normal(size=SEQUENCE).astype("float32")
    layer = layers.ChainLayer(3, width=3, head_fusion="concatenation")
    y = ops.convert_to_numpy(layer(x))
    kernels = [ops.convert_to_numpy(h.feature_head.kernel) for h in layer.heads]
    assert not np.allclose(kernels[0], kernels[1])
    expected = np.concatenate([ops.convert_to_numpy(h(x)) for h in layer.heads], axis=-1)
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-6)
    assert y.shape == (2, 5, 9)


def test_parameter_counts():
    # Grid: n x (C_in k) kernel + n bias; a sphere of radius 1 has 7 cells.
    head = layers.GridHead(4, patch={"shape": "sphere", "p_r": 1})
    head.build(IMAGE)
    assert head.count_params() == 4 * 2 * 7 + 4
    # Low-rank bilinear: r (m + m) score parameters + n m value weights + n bias.
    head = layers.BilinearHead(4, rank=2)
    head.build(SEQUENCE)
    assert head.count_params() == 2 * (3 + 3) + 4 * 3 + 4
    # Full bilinear matrix: l = m^2 (tinyBIG's).
    head = layers.BilinearHead(4)
    head.build(SEQUENCE)
    assert len(head.trainable_weights) == 3 and head.interdependence.kernel.shape == (1, 9)


def test_padding_mask_hides_tokens(rng):
    x = rng.normal(size=SEQUENCE).astype("float32")
    model = keras.Sequential(
        [keras.Input((5, 3)), keras.layers.Masking(0.0), layers.BilinearHead(4, rank=2)]
    )
    y = ops.convert_to_numpy(model(x))
    changed = x.copy()
    changed[:, 3:] = 0.0  # masked tokens: their value must not reach the others
    y_masked = ops.convert_to_numpy(model(changed))
    x_alt = changed.copy()
    x_alt[:, 4] = 0.0
    np.testing.assert_allclose(ops.convert_to_numpy(model(x_alt))[:, :3], y_masked[:, :3])
    assert not np.allclose(y[:, :3], y_masked[:, :3])


@pytest.mark.parametrize(
    "build,message",
    [
        (lambda: layers.GraphHead(2, adjacency=np.ones((3, 4))), "square"),
        (lambda: layers.GraphHead(2, edges=[[0, 5]], num_nodes=3), "outside"),
        (lambda: layers.GraphHead(2, adjacency=np.full((2, 2), np.nan)), "NaN"),
        (lambda: layers.GraphHead(2, normalization_mode="rows"), "normalization_mode"),
        (lambda: layers.ChainHead(2, num_hops=0), "num_hops"),
        (lambda: layers.GridHead(2, patch={"p_h": 1}), "patch"),
        (lambda: layers.GridHead(2, patch={"shape": "cuboid", "p_h": -1}), "p_h"),
        (lambda: layers.GridHead(2, strides=(1, 2, 3, 4)), "strides"),
        (lambda: layers.GridCompression("median"), "metric"),
        (lambda: layers.BilinearHead(2, rank=0), "rank"),
    ],
)
def test_bad_arguments(build, message):
    with pytest.raises(ValueError, match=message):
        build()


@pytest.mark.parametrize(
    "layer,shape,message",
    [
        (layers.GridHead(2), (2, 6, 2), "images"),
        (layers.ChainHead(2), (2, 3), "instance axis"),
        (layers.GraphHead(2, edges=EDGES), (1, 5, 3), "4 nodes"),
        (layers.GraphHead(2), (1, 4, 3), "second input"),
    ],
)
def test_bad_input_shapes(layer, shape, message):
    with pytest.raises(ValueError, match=message):
        layer.build(shape)
