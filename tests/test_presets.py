"""Preset models (MLP, KAN, SVM, NaiveBayes, PGM, ProcessedRPN): values, saving, training."""

import math

import keras
import numpy as np
import pytest
from checks import assert_config_roundtrip
from checks import assert_fit_step
from checks import assert_save_load

from keras_rpn.models import KAN
from keras_rpn.models import MLP
from keras_rpn.models import PGM
from keras_rpn.models import RPN
from keras_rpn.models import SVM
from keras_rpn.models import NaiveBayes
from keras_rpn.models import ProcessedRPN


def numpy(x):
    return np.asarray(keras.ops.convert_to_numpy(x), dtype="float64")


def head_weights(model, layer=0):
    """`(W, b)` of the single-channel identity-reconciled head of a layer: `y = k W^T + b`."""
    head = model.rpn_layers[layer].heads[0]
    n = head.units
    w = numpy(head.kernel).reshape(n, -1)
    b = np.zeros(n) if head.bias is None else numpy(head.bias)
    return w, b


@pytest.fixture
def x(rng):
    return rng.uniform(-1, 1, (6, 4)).astype("float32")


def test_mlp_is_dense_relu_stack(x):
    model = MLP([4, 5, 3], bias_initializer="random_normal")
    assert model.count_params() == 4 * 5 + 5 + 5 * 3 + 3
    (w1, b1), (w2, b2) = head_weights(model, 0), head_weights(model, 1)
    expected = np.maximum(x @ w1.T + b1, 0.0) @ w2.T + b2
    np.testing.assert_allclose(numpy(model(x)), expected, rtol=1e-5, atol=1e-5)
    # Hidden layers: ReLU only, no dropout or softmax; no processing layers at all.
    assert model.postprocessing_layers == []
    assert model.rpn_layers[0].activation is keras.activations.relu
    assert model.rpn_layers[1].activation is keras.activations.linear


def test_mlp_output_activation_and_bias_flag(x):
    model = MLP([4, 3], output_activation="softmax", use_bias=False)
    assert model.count_params() == 12
    np.testing.assert_allclose(numpy(model(x)).sum(-1), 1.0, rtol=1e-5)


def test_mlp_low_rank_reconciliation():
    model = MLP([10, 6, 2], reconciliation={"class_name": "lorr", "config": {"r": 2}})
    # l = r (n + D) per layer, plus the biases.
    assert model.count_params() == 2 * (6 + 10) + 6 + 2 * (2 + 6) + 2


def bspline_numpy(x, low, high, t, d):
    """Cox-de Boor on the uniform grid, feature-major, independent of keras_rpn."""
    h = (high - low) / t
    knots = low + h * np.arange(-d, t + d + 1)
    xe = x[..., None]
    bases = ((xe >= knots[:-1]) & (xe < knots[1:])).astype("float64")
    for k in range(1, d + 1):
        left = (xe - knots[: -(k + 1)]) / (k * h) * bases[..., :-1]
        right = (knots[k + 1 :] - xe) / (k * h) * bases[..., 1:]
        bases = left + right
    return bases.reshape(x.shape[0], -1)


def silu(z):
    return z / (1.0 + np.exp(-z))


def test_kan_matches_numpy(x):
    model = KAN([4, 3, 2], t=4, d=2)
    # Per layer: spline coefficients m (t + d) n and the remainder's m n; no bias.
    assert model.count_params() == (4 * 6 * 3 + 4 * 3) + (3 * 6 * 2 + 3 * 2)
    h = x.astype("float64")
    for k, layer in enumerate(model.rpn_layers):
        head = layer.heads[0]
        assert head.bias is None
        w, _ = head_weights(model, k)
        w_r = numpy(head.remainder.kernel)
        h = bspline_numpy(h, -1.0, 1.0, 4, 2) @ w.T + silu(h @ w_r)
    np.testing.assert_allclose(numpy(model(x)), h, rtol=1e-4, atol=1e-5)


def test_kan_without_remainder_activation_is_linear_remainder(x):
    model = KAN([4, 2], remainder_activation=None, grid_range=(-2, 2), t=3)
    head = model.rpn_layers[0].heads[0]
    assert head.remainder.activation is keras.activations.linear
    assert head.expansion.grid_range == (-2.0, 2.0)
    w, _ = head_weights(model)
    expected = bspline_numpy(x.astype("float64"), -2.0, 2.0, 3, 3) @ w.T + x @ numpy(
        head.remainder.kernel
    )
    np.testing.assert_allclose(numpy(model(x)), expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    "kernel, phi",
    [
        ("gaussian_rbf", lambda r: np.exp(-(r**2))),
        ("inverse_quadratic_rbf", lambda r: 1.0 / (1.0 + r**2)),
    ],
)
def test_svm_rbf_kernels_match_numpy(kernel, phi, x):
    model = SVM([4, 3], kernel=kernel, num_interval=5, epsilon=2.0, base_range=(-1, 2))
    assert model.count_params() == 4 * 5 * 3 + 3
    centres = np.linspace(-1, 2, 5)
    features = phi((x[:, :, None].astype("float64") - centres) * 2.0).reshape(len(x), -1)
    w, b = head_weights(model)
    np.testing.assert_allclose(numpy(model(x)), features @ w.T + b, rtol=1e-5, atol=1e-6)


def test_svm_linear_kernel_and_bad_kernel(x):
    model = SVM([4, 1])
    w, b = head_weights(model)
    np.testing.assert_allclose(numpy(model(x)), x @ w.T + b, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="Unknown SVM kernel 'poly'"):
        SVM([4, 1], kernel="poly")


@pytest.mark.parametrize(
    "distribution, log_pdf",
    [
        ("normal", lambda v: -0.5 * v**2 - 0.5 * math.log(2 * math.pi)),
        ("laplace", lambda v: -np.abs(v) - math.log(2.0)),
        ("cauchy", lambda v: -np.log1p(v**2) - math.log(math.pi)),
        # positive support: evaluated at 0.99 sigmoid(x) + 0.001, Exp(rate 0.5)
        (
            "exponential",
            lambda v: math.log(0.5) - 0.5 * (0.99 / (1 + np.exp(-v)) + 0.001),
        ),
    ],
)
def test_naive_bayes_matches_numpy(distribution, log_pdf, x):
    model = NaiveBayes([4, 3], distribution=distribution)
    assert model.count_params() == 4 * 3 + 3
    w, b = head_weights(model)
    expected = log_pdf(x.astype("float64")) @ w.T + b
    np.testing.assert_allclose(numpy(model(x)), expected, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="Unknown distribution 'beta'"):
        NaiveBayes([4, 3], distribution="beta")


def test_pgm_matches_numpy(x):
    model = PGM([4, 2])
    assert model.count_params() == (4 + 6) * 2 + 2
    v = x.astype("float64")
    singles = [-0.5 * v[:, i] ** 2 - 0.5 * math.log(2 * math.pi) for i in range(4)]
    pairs = [
        -0.5 * (v[:, i] ** 2 + v[:, j] ** 2) - math.log(2 * math.pi)
        for i in range(4)
        for j in range(i + 1, 4)
    ]
    features = np.stack(singles + pairs, axis=1)
    w, b = head_weights(model)
    np.testing.assert_allclose(numpy(model(x)), features @ w.T + b, rtol=1e-5, atol=1e-5)
    assert PGM([5, 1], d=3).count_params() == 5 + 10 + 10 + 1


def test_presets_refuse_the_functions_they_fix():
    with pytest.raises(TypeError, match="KAN sets `expansion` itself"):
        KAN([4, 2], expansion="taylor")
    with pytest.raises(TypeError, match="KAN sets `remainder` itself"):
        KAN([4, 2], remainder="zero")
    with pytest.raises(TypeError, match="ProcessedRPN"):
        MLP([4, 2], postprocessing=[None])
    # The others accept a remainder.
    assert SVM([4, 2], remainder="linear").count_params() == 4 * 2 + 2 + 4 * 2


PRESETS = [
    lambda: MLP([4, 6, 3], batch_norm=True, dropout=0.25, output_activation="softmax"),
    lambda: KAN([4, 3, 2], t=3, width=2),
    lambda: SVM([4, 3], kernel="inverse_quadratic_rbf", num_interval=4),
    lambda: NaiveBayes([4, 3], distribution="gamma", channels=2),
    lambda: PGM([4, 2], d=2),
    lambda: ProcessedRPN(
        [4, 5, 2], expansion="chebyshev", postprocessing=[["batch_norm", "relu"], "layer_norm"]
    ),
]


@pytest.mark.parametrize("make", PRESETS, ids=["mlp", "kan", "svm", "nb", "pgm", "processed"])
def test_presets_save_load_and_config_roundtrip(make, x):
    model = make()
    loaded = assert_save_load(model, x)
    assert type(loaded) is type(model)
    assert loaded.get_config() == model.get_config()
    clone = assert_config_roundtrip(model)
    assert clone.count_params() == model.count_params()


def test_batch_norm_and_dropout_honour_training(rng):
    x = rng.uniform(-1, 1, (16, 4)).astype("float32")
    model = MLP([4, 8, 2], batch_norm=True, dropout=0.5)
    steps = model.postprocessing_groups()
    assert [type(s).__name__ for s in steps[0]] == ["BatchNormalization", "Activation", "Dropout"]
    assert steps[1] == []
    # Inference: deterministic and per-sample (moving statistics, no dropout).
    a, b = numpy(model(x, training=False)), numpy(model(x, training=False))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(numpy(model(x[:3], training=False)), a[:3], rtol=1e-5, atol=1e-6)
    # Training: batch statistics and dropout change the outputs.
    assert not np.allclose(numpy(model(x, training=True)), a)
    bn = steps[0][0]
    before = numpy(bn.moving_mean).copy()
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    assert_fit_step(model, x, rng.integers(0, 2, 16), loss=loss)
    assert not np.allclose(numpy(bn.moving_mean), before)


def test_processed_rpn_errors():
    with pytest.raises(ValueError, match="one entry per RPN layer"):
        ProcessedRPN([4, 3, 2], postprocessing=[None])
    with pytest.raises(ValueError, match="processing step"):
        ProcessedRPN([4, 3], postprocessing=["not_a_layer"])
    with pytest.raises(ValueError, match="keep the width"):
        ProcessedRPN([4, 3], postprocessing=[keras.layers.Dense(5)])


def test_preset_is_an_rpn_and_trains(rng):
    x = rng.uniform(-1, 1, (32, 4)).astype("float32")
    model = KAN([4, 3, 2])
    assert isinstance(model, RPN)
    assert_fit_step(model, x, rng.uniform(-1, 1, (32, 2)).astype("float32"))
