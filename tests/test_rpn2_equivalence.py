"""RPN 2 heads against the layers and formulas they imitate, with weights mapped.

Grid head == Conv2D; grid compression == MaxPooling2D; chain head == its unrolled
linear recurrence; graph head == numpy GCN propagation; bilinear head ==
single-head MultiHeadAttention; graph-bilinear head == numpy masked attention.
"""

import keras
import numpy as np
import pytest
from keras import ops

from keras_rpn import layers


def numpy(x):
    return np.asarray(ops.convert_to_numpy(x), dtype="float64")


def set_kernel(head, matrix):
    """Sets an identity-reconciled head's `(1, n D)` kernel to the `n x D` matrix."""
    head.feature_head.kernel.assign(np.asarray(matrix, "float32").reshape(1, -1))


@pytest.fixture
def images(rng):
    return rng.normal(size=(2, 7, 6, 3)).astype("float32")


@pytest.mark.parametrize(
    "patch,strides,keras_padding",
    [
        ({"shape": "cuboid", "p_h": 1, "p_w": 1}, 1, "same"),  # 3x3, centred
        ({"shape": "cuboid", "p_h": 1, "p_w": 2}, 2, ((1, 2), (2, 2))),  # 3x5, stride 2
    ],
)
def test_grid_head_is_conv2d(images, patch, strides, keras_padding):
    head = layers.GridHead(4, patch=patch, strides=strides, bias_initializer="random_normal")
    y = numpy(head(images))
    kh, kw = 2 * patch["p_h"] + 1, 2 * patch["p_w"] + 1
    # The head's matrix is (n, C_in k): channel first, then the offset (row-major in h, w).
    w = numpy(head.feature_head.kernel).reshape(4, 3, kh, kw)
    conv = keras.layers.Conv2D(
        4, (kh, kw), strides=strides, padding="same" if keras_padding == "same" else "valid"
    )
    inputs = images
    if keras_padding != "same":
        # tinyBIG's centres start at the top-left cell: pad p before and enough after.
        inputs = numpy(keras.layers.ZeroPadding2D(keras_padding)(images)).astype("float32")
    conv.build(inputs.shape)
    conv.set_weights([w.transpose(2, 3, 1, 0), numpy(head.bias)])
    expected = numpy(conv(inputs))
    assert y.shape == expected.shape == (2, -(-7 // strides), -(-6 // strides), 4)
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)


def test_grid_head_patches_path_matches_numpy(images):
    """A Taylor expansion of every patch (extracted patches, no convolution)."""
    head = layers.GridHead(2, expansion="taylor", use_bias=False)
    assert not head.built
    y = numpy(head(images))
    assert not head.use_conv
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1), (0, 0)))
    w = numpy(head.feature_head.kernel).reshape(2, -1)
    for i, j in [(0, 0), (3, 2), (6, 5)]:
        patch = padded[:, i : i + 3, j : j + 3, :].transpose(0, 3, 1, 2).reshape(2, -1)
        taylor = np.concatenate([patch, np.einsum("bi,bj->bij", patch, patch).reshape(2, -1)], 1)
        np.testing.assert_allclose(y[:, i, j], taylor @ w.T, rtol=1e-4, atol=1e-4)


def test_grid_head_linear_remainder_is_strided_1x1_conv(images):
    head = layers.GridHead(4, strides=2, remainder="linear", use_bias=False)
    head.build(images.shape)
    set_kernel(head, np.zeros((4, 27)))  # only the remainder is left
    y = numpy(head(images))
    w_r = numpy(head.remainder.kernel)
    b_r = 0.0 if getattr(head.remainder, "bias", None) is None else numpy(head.remainder.bias)
    expected = images[:, ::2, ::2, :] @ w_r.reshape(3, 4) + b_r
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("pool,strides", [(2, 2), (3, 1)])
def test_grid_compression_max_is_maxpooling2d(images, pool, strides):
    x = np.abs(images)
    if pool == 2:
        patch = {"shape": "cuboid", "p_h": 0, "p_w": 0, "p_h_prime": 1, "p_w_prime": 1}
    else:
        patch = {"shape": "cuboid", "p_h": 1, "p_w": 1}
    y = numpy(layers.GridCompression("max", patch=patch, strides=strides)(x))
    expected = numpy(keras.layers.MaxPooling2D(pool, strides=strides, padding="same")(x))
    np.testing.assert_allclose(y, expected, rtol=0, atol=0)


def test_chain_head_is_unrolled_linear_recurrence(rng):
    x = rng.normal(size=(3, 6, 4)).astype("float32")
    head = layers.ChainHead(5, bias_initializer="random_normal")
    y = numpy(head(x))
    w, b = numpy(head.feature_head.kernel).reshape(5, 4), numpy(head.bias)
    expected = np.zeros((3, 6, 5))
    for t in range(6):  # h_t = W x_t + W x_{t-1} + b
        previous = x[:, t - 1] @ w.T if t > 0 else 0.0
        expected[:, t] = x[:, t] @ w.T + previous + b
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "kwargs,matrix",
    [
        (
            {"bi_directional": True, "self_scaling": 0.5},
            lambda L: np.eye(L, k=1) + np.eye(L, k=-1) + 0.5 * np.eye(L),
        ),
        ({"num_hops": 2}, lambda L: np.linalg.matrix_power(np.eye(L, k=-1) + np.eye(L), 2)),
        (
            {"num_hops": 2, "accumulative": True, "normalization": True, "self_dependence": False},
            lambda L: np.eye(L, k=-1) + np.eye(L, k=-2),
        ),
    ],
)
def test_chain_head_variants(rng, kwargs, matrix):
    x = rng.normal(size=(2, 7, 3)).astype("float32")
    head = layers.ChainHead(2, use_bias=False, **kwargs)
    y = numpy(head(x))
    w = numpy(head.feature_head.kernel).reshape(2, 3)
    expected = np.einsum("ij,bjf->bif", matrix(7), x @ w.T)
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)


def gcn_reference(a, x, w, b):
    a_hat = a + np.eye(len(a))
    d = a_hat.sum(axis=1) ** -0.5
    return (d[:, None] * a_hat * d[None, :]) @ x @ w.T + b


def random_graph(rng, nodes, edges):
    a = np.zeros((nodes, nodes))
    pairs = rng.choice(nodes * nodes, size=edges, replace=False)
    a[pairs // nodes, pairs % nodes] = 1.0
    np.fill_diagonal(a, 0.0)
    return np.maximum(a, a.T)


@pytest.mark.parametrize("nodes,edges", [(8, 12), (1024, 1024)])  # a dense and a sparse product
def test_graph_head_is_gcn(rng, nodes, edges):
    a = random_graph(rng, nodes, edges)
    x = rng.normal(size=(2, nodes, 3)).astype("float32")
    head = layers.GraphHead(
        4, adjacency=a, normalization_mode="symmetric", bias_initializer="random_normal"
    )
    y = numpy(head(x))
    assert head.interdependence.op.kind == ("dense" if nodes == 8 else "sparse")  # by cost
    w, b = numpy(head.feature_head.kernel).reshape(4, 3), numpy(head.bias)
    np.testing.assert_allclose(y, gcn_reference(a, x, w, b), rtol=1e-5, atol=1e-5)
    # The same graph as a second input, one per sample.
    as_input = layers.GraphHead(4, normalization_mode="symmetric")
    as_input.build([x.shape, (2, nodes, nodes)])
    for target, source in zip(as_input.weights, head.trainable_weights, strict=True):
        target.assign(source)
    graphs = np.stack([a, a]).astype("float32")
    np.testing.assert_allclose(numpy(as_input([x, graphs])), y, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("causal", [False, True])
def test_bilinear_head_is_single_head_attention(rng, causal):
    m, n, r, length = 5, 3, 4, 6
    x = rng.normal(size=(2, length, m)).astype("float32")
    mask = np.ones((2, length), bool)
    mask[1, 4:] = False  # padding tokens of the second sequence
    mha = keras.layers.MultiHeadAttention(num_heads=1, key_dim=r, output_shape=n, use_bias=False)
    expected = numpy(mha(x, x, attention_mask=mask[:, None, :], use_causal_mask=causal))
    wq, wk, wv, wo = (numpy(v) for v in mha.weights)  # (m,1,r) x3, (1,r,n)
    head = layers.BilinearHead(n, rank=r, causal=causal, use_bias=False)
    head.build(x.shape)
    # Scores A[i, j] = x_i W x_j^T with the low-rank W = A B: A = W_k, B = W_q^T.
    head.interdependence.kernel.assign(
        np.concatenate([wk[:, 0, :].ravel(), wq[:, 0, :].T.ravel()])[None]
    )
    set_kernel(head, (wv[:, 0, :] @ wo[0]).T)
    y = numpy(head(x, mask=keras.ops.convert_to_tensor(mask)))
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)


def test_full_bilinear_head_matches_numpy(rng):
    x = rng.normal(size=(2, 4, 3)).astype("float32")
    head = layers.BilinearHead(2, use_bias=False, remainder="linear")
    y = numpy(head(x))
    w_s = numpy(head.interdependence.kernel).reshape(3, 3)
    w = numpy(head.feature_head.kernel).reshape(2, 3)
    scores = np.einsum("bim,mk,bjk->bji", x, w_s, x) / np.sqrt(3)  # x_i W x_j^T
    attention = np.exp(scores - scores.max(-1, keepdims=True))
    attention /= attention.sum(-1, keepdims=True)
    w_r = numpy(head.remainder.kernel)
    b_r = 0.0 if getattr(head.remainder, "bias", None) is None else numpy(head.remainder.bias)
    expected = attention @ (x @ w.T) + x @ w_r.reshape(3, 2) + b_r
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)


def test_graph_bilinear_head_attends_to_neighbours(rng):
    a = random_graph(rng, 6, 5)
    a[5, :] = a[:, 5] = 0.0  # an isolated node: it only sees itself
    x = rng.normal(size=(1, 6, 3)).astype("float32")
    head = layers.GraphBilinearHead(2, adjacency=a, rank=2, use_bias=False)
    y = numpy(head(x))
    kernel = numpy(head.interdependence.kernel)[0]
    k, q = x[0] @ kernel[:6].reshape(3, 2), x[0] @ kernel[6:].reshape(2, 3).T
    scores = q @ k.T / np.sqrt(2)
    support = (a + np.eye(6)) != 0
    scores = np.where(support.T, scores, -np.inf)
    attention = np.exp(scores - scores.max(-1, keepdims=True))
    attention /= attention.sum(-1, keepdims=True)
    expected = attention @ (x[0] @ numpy(head.feature_head.kernel).reshape(2, 3).T)
    np.testing.assert_allclose(y[0], expected, rtol=1e-5, atol=1e-5)
