"""RPNHead: formula, channels, bias, shapes, serialisation, training, precision."""

import keras
import numpy as np
import pytest
import reference as ref
from checks import BACKEND
from checks import as_model
from checks import assert_config_roundtrip
from checks import assert_fit_step
from checks import assert_save_load
from checks import gradients
from checks import weight_gradients
from keras import ops

from keras_rpn.initializers import GlorotPsi
from keras_rpn.layers import RPNHead


def numpy_weights(head):
    return {"kernel": ops.convert_to_numpy(head.kernel), "bias": ops.convert_to_numpy(head.bias)}


@pytest.mark.parametrize("expansion", ["identity", "taylor", "bspline", "chebyshev"])
@pytest.mark.parametrize("channels,fusion", [(1, "mean"), (3, "mean"), (2, "sum"), (3, "max")])
def test_head_matches_numpy(expansion, channels, fusion, rng):
    x = rng.uniform(-1, 1, (5, 4)).astype("float32")
    head = RPNHead(
        3,
        expansion=expansion,
        channels=channels,
        channel_fusion=fusion,
        bias_initializer="random_normal",
    )
    y = ops.convert_to_numpy(head(x))
    w = numpy_weights(head)
    expected = ref.head(x, w["kernel"], 3, expansion, bias=w["bias"], fusion=fusion)
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)


def test_lorr_linear_remainder_activation(rng):
    x = rng.uniform(-1, 1, (6, 4)).astype("float32")
    head = RPNHead(
        5,
        expansion="taylor",
        reconciliation={"class_name": "lorr", "config": {"r": 2}},
        remainder={"class_name": "linear", "config": {"activation": "silu"}},
        channels=2,
        activation="tanh",
    )
    y = ops.convert_to_numpy(head(x))
    w = numpy_weights(head)
    remainder = ref.silu(x @ ops.convert_to_numpy(head.remainder.kernel))
    expected = ref.head(
        x,
        w["kernel"],
        5,
        "taylor",
        lambda v: ref.lorr(v, 5, 20, 2),
        bias=w["bias"],
        remainder=remainder,
        activation=np.tanh,
    )
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)


def test_bias_added_once_per_channel_before_fusion(rng):
    x = rng.uniform(-1, 1, (2, 3)).astype("float32")
    head = RPNHead(
        4, channels=3, channel_fusion="sum", kernel_initializer="zeros", bias_initializer="ones"
    )
    np.testing.assert_allclose(ops.convert_to_numpy(head(x)), np.full((2, 4), 3.0))


def test_identity_remainder_is_residual(rng):
    x = rng.uniform(-1, 1, (2, 4)).astype("float32")
    head = RPNHead(4, remainder="identity", kernel_initializer="zeros", use_bias=False)
    np.testing.assert_allclose(ops.convert_to_numpy(head(x)), x, atol=1e-7)


@pytest.mark.parametrize(
    "expansion,reconciliation,m,n,channels,expected",
    [
        ("identity", "identity", 7, 3, 1, 21 + 3),
        ("taylor", "identity", 4, 3, 2, 2 * 3 * 20 + 3),
        ("bspline", "identity", 4, 3, 1, 3 * 4 * 8 + 3),
        ("chebyshev", "lorr", 4, 3, 1, 2 * (3 + 8) + 3),
    ],
)
def test_parameter_counts(expansion, reconciliation, m, n, channels, expected):
    head = RPNHead(n, expansion=expansion, reconciliation=reconciliation, channels=channels)
    head.build((None, m))
    assert head.count_params() == expected
    assert tuple(head.kernel.shape) == (channels, (expected - n) // channels)


def test_any_rank_acts_on_last_axis(rng):
    x = rng.uniform(-1, 1, (2, 3, 5, 4)).astype("float32")
    head = RPNHead(6, expansion="chebyshev", channels=2)
    y = ops.convert_to_numpy(head(x))
    assert y.shape == (2, 3, 5, 6)
    flat = ops.convert_to_numpy(head(x.reshape(-1, 4)))
    np.testing.assert_allclose(y.reshape(-1, 6), flat, rtol=1e-6, atol=1e-6)
    assert head.compute_output_shape((None, 3, 5, 4)) == (None, 3, 5, 6)


def test_concatenating_channel_fusion_widens_output(rng):
    head = RPNHead(3, channels=4, channel_fusion="concatenation")
    x = rng.uniform(-1, 1, (2, 5)).astype("float32")
    assert ops.convert_to_numpy(head(x)).shape == (2, 12)
    assert head.compute_output_shape((None, 5)) == (None, 12)


def test_default_initializer_is_tinybig_xavier_on_the_flat_kernel():
    head = RPNHead(64, expansion="taylor", reconciliation="lorr", channels=2)
    head.build((None, 30))
    kernel = ops.convert_to_numpy(head.kernel)
    bound = (6.0 / (2 + 2 * (64 + 930))) ** 0.5  # U(+-sqrt(6 / (C + l))), l = r (n + D)
    assert kernel.shape == (2, 1988)
    assert 0.99 * bound < abs(kernel).max() <= bound
    assert abs(kernel.var() / (bound**2 / 3) - 1) < 0.1


def test_glorot_psi_initializer_gives_glorot_scale():
    head = RPNHead(64, expansion="taylor", reconciliation="lorr", kernel_initializer=GlorotPsi())
    head.build((None, 30))
    W = ops.convert_to_numpy(head.reconciliation.reconcile(head.kernel))
    target = 2.0 / (64 + 930)
    assert 0.5 * target < W.var() < 2.0 * target


def test_config_roundtrip_and_symbolic_call():
    head = RPNHead(
        4,
        expansion={"class_name": "bspline", "config": {"t": 4, "d": 2}},
        reconciliation="lorr",
        remainder="linear",
        channels=2,
        kernel_regularizer="l2",
        activation="relu",
        name="h",
    )
    clone = assert_config_roundtrip(head)
    assert clone.expansion.t == 4 and clone.reconciliation.r == 2
    out = clone(keras.Input((5,)))
    assert tuple(out.shape) == (None, 4)


def test_save_load_and_fit(rng):
    x = rng.uniform(-1, 1, (8, 5)).astype("float32")
    y = rng.uniform(-1, 1, (8, 3)).astype("float32")
    model = as_model(RPNHead(3, expansion="bspline", remainder="linear", channels=2), 5)
    assert_fit_step(model, x, y)
    assert_save_load(model, x)


@pytest.mark.parametrize("expansion", ["taylor", "bspline", "chebyshev"])
def test_gradients_are_finite(expansion, rng):
    x = rng.uniform(-10, 10, (4, 3)).astype("float32")
    head = RPNHead(2, expansion=expansion, reconciliation="lorr", remainder="linear")
    head.build((None, 3))
    assert np.all(np.isfinite(gradients(head, x)))
    assert all(np.all(np.isfinite(g)) for g in weight_gradients(head, x))


def test_jit_compiled_fit(rng):
    """`jit_compile=True` is XLA on TF and JAX; on torch it means torch.compile, which
    Keras itself treats as experimental, so the torch pass runs eagerly instead."""
    x = rng.uniform(-1, 1, (8, 4)).astype("float32")
    y = rng.uniform(-1, 1, (8, 2)).astype("float32")
    model = as_model(RPNHead(2, expansion="taylor", reconciliation="lorr", channels=2), 4)
    assert_fit_step(model, x, y, jit_compile=BACKEND != "torch")


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision(policy, rng):
    x = rng.uniform(-1, 1, (4, 5)).astype("float32")
    reference = RPNHead(3, expansion="taylor", remainder="linear", channels=2)
    expected = ops.convert_to_numpy(reference(x))
    head = RPNHead(3, expansion="taylor", remainder="linear", channels=2, dtype=policy)
    head.build((None, 5))
    head.set_weights(reference.get_weights())
    y = head(x)
    assert keras.backend.standardize_dtype(y.dtype) == policy.split("_")[1]
    assert all(keras.backend.standardize_dtype(w.dtype) == "float32" for w in head.weights)
    assert head.expansion.compute_dtype == policy.split("_")[1]
    y = ops.convert_to_numpy(ops.cast(y, "float32"))
    assert np.all(np.isfinite(y))
    np.testing.assert_allclose(y, expected, rtol=0.05, atol=0.05)


def test_wrong_input_width_after_build_is_refused(rng):
    head = RPNHead(3)
    head(rng.uniform(size=(2, 4)).astype("float32"))
    with pytest.raises(ValueError, match="axis -1"):
        head(rng.uniform(size=(2, 5)).astype("float32"))
