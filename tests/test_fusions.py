"""Fusions: formulas, channel and head fusion, parameter counts, serialisation, training."""

import keras
import numpy as np
import pytest
from checks import BACKEND
from checks import as_model
from checks import assert_config_roundtrip
from checks import assert_save_load
from checks import gradients
from keras import ops

from keras_rpn import fusions
from keras_rpn.layers import RPNHead
from keras_rpn.layers import RPNLayer


def numpy_of(tensor):
    return ops.convert_to_numpy(tensor)


def concat(s):
    return s.reshape(s.shape[0], -1)


def reconciled(s, fusion):
    W = numpy_of(fusion.reconciliation.reconcile(fusion.kernel))[0]
    return concat(s) @ W.T


def weights_of(K):
    return {"weights": [0.5 * (k + 1) * (-1) ** k for k in range(K)]}


# name, config given the number of inputs K, numpy F over stacked (batch, K, n) given
# the built fusion, l(K, n) (parameters of the fusion).
CASES = [
    ("mean", None, lambda s, f: s.mean(axis=1), 0),
    ("sum", None, lambda s, f: s.sum(axis=1), 0),
    ("max", None, lambda s, f: s.max(axis=1), 0),
    ("min", None, lambda s, f: s.min(axis=1), 0),
    ("prod", None, lambda s, f: s.prod(axis=1), 0),
    ("median", None, lambda s, f: np.sort(s, axis=1)[:, (s.shape[1] - 1) // 2], 0),
    ("l1_norm", None, lambda s, f: np.abs(s).sum(axis=1), 0),
    ("l2_norm", None, lambda s, f: np.sqrt((s**2).sum(axis=1)), 0),
    (
        "weighted_summation",
        weights_of,
        lambda s, f: np.einsum("bkn,k->bn", s, np.array(f.fixed_weights)),
        0,
    ),
    (
        "parameterized_weighted_summation",
        lambda K: {"kernel_initializer": "random_normal"},
        lambda s, f: np.einsum("bkn,k->bn", s, numpy_of(f.kernel)),
        lambda K, n: K,
    ),
    ("concatenation", None, lambda s, f: concat(s), 0),
    (
        "parameterized_concatenation",
        lambda K: {"units": 5},
        lambda s, f: concat(s) @ numpy_of(f.kernel),
        lambda K, n: 5 * K * n,
    ),
    (
        "lowrank_parameterized_concatenation",
        lambda K: {"r": 2, "units": 5},
        reconciled,
        lambda K, n: 2 * (5 + K * n),
    ),
    (
        "hm_parameterized_concatenation",
        lambda K: {"units": 6, "p": 2, "q": 4},
        reconciled,
        lambda K, n: 2 * 4 + 3 * (K * n // 4),
    ),
    (
        "lphm_parameterized_concatenation",
        lambda K: {"p": 2, "q": 4, "r": 1},
        reconciled,
        lambda K, n: 2 * 4 + 1 * (n // 2 + K * n // 4),
    ),
    (
        "dual_lphm_parameterized_concatenation",
        lambda K: {"p": 2, "q": 4, "r": 2},
        reconciled,
        lambda K, n: 2 * (2 + 4 + n // 2 + K * n // 4),
    ),
    (
        "random_matrix_adaption_parameterized_concatenation",
        lambda K: {"r": 3},
        reconciled,
        lambda K, n: n + 3,
    ),
]


def make(case, K, **overrides):
    name, config_of = case[:2]
    config = {**(config_of(K) if config_of else {}), **overrides}
    return fusions.get({"class_name": name, "config": config})


@pytest.mark.parametrize("case", CASES, ids=lambda c: c[0])
def test_fuse_matches_numpy_and_counts_parameters(case, rng):
    """K = 4 here (even: the lower median); the fusion-role tests below use K = 3."""
    K, n = 4, 4
    stacked = rng.normal(size=(5, K, n)).astype("float32")
    fusion = make(case, K)
    y = numpy_of(fusion(stacked))
    expected = case[2](stacked, fusion)
    assert y.shape == expected.shape == (5, fusion.output_dim(K, n))
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)
    num_params = case[3](K, n) if callable(case[3]) else case[3]
    assert sum(int(np.prod(w.shape)) for w in fusion.trainable_weights) == num_params
    if num_params:
        assert not fusion.identity_for_one_input


def test_median_is_the_lower_median():
    stacked = np.array([[[4.0], [1.0], [3.0], [2.0]]], dtype="float32")
    assert numpy_of(fusions.get("median")(stacked))[0, 0] == 2.0


@pytest.mark.parametrize("role", ["channel_fusion", "head_fusion"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: c[0])
def test_as_channel_and_head_fusion(case, role, rng):
    x = rng.uniform(-1, 1, (4, 5)).astype("float32")
    K = 3
    if role == "channel_fusion":
        head = RPNHead(
            4, channels=K, channel_fusion=make(case, K), bias_initializer="random_normal"
        )
        y = numpy_of(head(x))
        W = numpy_of(head.kernel).reshape(K, 4, 5)
        parts = np.stack([x @ W[c].T + numpy_of(head.bias) for c in range(K)], axis=1)
        fusion = head.channel_fusion
    else:
        layer = RPNLayer(4, width=K, head_fusion=make(case, K), expansion="chebyshev")
        y = numpy_of(layer(x))
        parts = np.stack([numpy_of(h(x)) for h in layer.heads], axis=1)
        fusion = layer.head_fusion
    np.testing.assert_allclose(y, case[2](parts, fusion), rtol=1e-5, atol=1e-5)


def test_fixed_weights_must_match_the_inputs():
    fusion = fusions.get({"class_name": "weighted_summation", "config": {"weights": [1.0, 2.0]}})
    with pytest.raises(ValueError, match=r"one weight per fused input \(3\)"):
        fusion.build((None, 3, 4))
    with pytest.raises(ValueError, match="weights"):
        fusions.get({"class_name": "weighted_summation", "config": {"weights": []}})


def test_fusions_that_are_not_the_identity_act_on_one_input(rng):
    x = rng.uniform(-1, 1, (2, 3)).astype("float32")
    for name, config, expected in [
        ("weighted_summation", {"weights": [2.0]}, lambda y: 2 * y),
        ("l1_norm", {}, np.abs),
        ("l2_norm", {}, np.abs),
    ]:
        head = RPNHead(3, channel_fusion={"class_name": name, "config": config})
        plain = RPNHead(3)
        plain.build((None, 3))
        head.build((None, 3))
        head.set_weights(plain.get_weights())
        np.testing.assert_allclose(
            numpy_of(head(x)), expected(numpy_of(plain(x))), rtol=1e-6, atol=1e-7
        )


def test_l2_norm_gradient_is_finite_at_zero():
    stacked = np.zeros((2, 3, 4), dtype="float32")
    grad = gradients(fusions.get("l2_norm"), stacked)
    assert np.all(np.isfinite(grad))


@pytest.mark.parametrize("case", CASES, ids=lambda c: c[0])
def test_config_roundtrip(case):
    assert_config_roundtrip(make(case, 3))


def test_save_load_of_parameterised_fusions(rng):
    layer = RPNLayer(
        4,
        width=2,
        channels=3,
        channel_fusion={"class_name": "dual_lphm_parameterized_concatenation", "config": {"r": 1}},
        head_fusion={
            "class_name": "random_matrix_adaption_parameterized_concatenation",
            "config": {"units": 5},
        },
    )
    model = as_model(layer, 3)
    x = rng.uniform(-1, 1, (4, 3)).astype("float32")
    keras.utils.set_random_seed(99)
    loaded = assert_save_load(model, x)
    frozen = loaded.layers[-1].head_fusion.reconciliation.non_trainable_weights
    assert [w.name for w in frozen] == ["random_a", "random_b"]
    assert not any(w.trainable for w in frozen)


def test_jit_compiled_fit_through_every_fusion(rng):
    """Each width-keeping fusion fuses the channels and the heads of one layer; all
    layers are trained in one compiled step. `jit_compile=True` is XLA on JAX and
    TensorFlow; on torch it means `torch.compile`, which Keras treats as experimental
    (not a gate), so the torch pass runs eagerly."""
    inputs = keras.Input((3,))
    layers = []
    for case in CASES:
        channel_fusion = make(case, 2)
        if channel_fusion.output_dim(2, 4) != 4:  # heads must keep the layer's width
            channel_fusion = "mean"
        layers.append(
            RPNLayer(
                4,
                width=2,
                channels=2,
                channel_fusion=channel_fusion,
                head_fusion=make(case, 2),
            )
        )
    outputs = keras.layers.Concatenate()([layer(inputs) for layer in layers])
    model = keras.Model(inputs, outputs)
    x = rng.uniform(-1, 1, (8, 3)).astype("float32")
    y = rng.uniform(-1, 1, (8, outputs.shape[-1])).astype("float32")
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse", jit_compile=BACKEND != "torch")
    before = [numpy_of(w).copy() for w in model.trainable_weights]
    history = model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    after = [numpy_of(w) for w in model.trainable_weights]
    assert all(np.all(np.isfinite(a)) for a in after)
    fusion_kernels = [
        (w.path, b, a)
        for w, b, a in zip(model.trainable_weights, before, after, strict=True)
        if "fusion" in w.path
    ]
    assert len(fusion_kernels) == 7 + 2 * 4  # 7 as head fusion, 4 on both heads' channels
    for path, b, a in fusion_kernels:
        assert not np.array_equal(b, a), path
