"""Initializers: a Keras initializer gives psi(w) the scale it gives a Dense kernel
(D, n), for every reconciliation; TinyBIG reproduces tinyBIG's flat initialisation."""

import math

import keras
import numpy as np
import pytest
from checks import as_model
from checks import assert_config_roundtrip
from checks import assert_save_load
from keras import ops

from keras_rpn.initializers import TinyBIG
from keras_rpn.initializers import dense_variance
from keras_rpn.layers import RPNHead


def numpy_of(tensor):
    return ops.convert_to_numpy(tensor)


def psi_variance(head, x):
    head(x)
    return numpy_of(head.reconciliation.reconcile(head.kernel)).var()


# B-spline head 64 -> 32 (D = 64 * 8 = 512), as in the defect report: Dense (512, 32)
# gets variance 2 / (512 + 32) from glorot_uniform and 2 / 512 from he_normal.
X64 = np.zeros((1, 64), "float32")
N, D = 32, 512
DENSE = {"glorot_uniform": 2.0 / (D + N), "he_normal": 2.0 / D}
RECONCILIATIONS = [
    ("identity", {}, 0.1),
    ("masking", {"p": 0.5}, 0.1),
    ("duplicated_padding", {}, 0.1),
    ("lorr", {"r": 4}, 0.2),
    ("hm", {}, 0.2),
]


@pytest.mark.parametrize("init", sorted(DENSE))
@pytest.mark.parametrize("case", RECONCILIATIONS, ids=lambda c: c[0])
def test_keras_initializer_gives_psi_the_dense_variance(case, init):
    name, config, tolerance = case
    head = RPNHead(
        N,
        expansion="bspline",
        reconciliation={"class_name": name, "config": config},
        kernel_initializer=init,
    )
    got = psi_variance(head, X64)
    assert abs(got / DENSE[init] - 1.0) < tolerance, (got, DENSE[init])


@pytest.mark.parametrize("name", ["lphm", "dual_lphm", "random_matrix_adaption"])
def test_keras_initializer_dense_variance_on_few_parameters(name):
    """Products of 3-4 parameters, or few parameters: average the variance over draws."""
    draws = [
        psi_variance(
            RPNHead(
                N,
                expansion="bspline",
                reconciliation={"class_name": name, "config": {"r": 2}},
                kernel_initializer=keras.initializers.HeNormal(seed=seed),
            ),
            X64,
        )
        for seed in range(5)
    ]
    assert abs(np.mean(draws) / DENSE["he_normal"] - 1.0) < 0.35, draws


def test_before_the_fix_the_flat_kernel_was_mis_scaled():
    """What the flat draw alone gives (identity: glorot fans 1 and n D): 30x too small."""
    flat = dense_variance(keras.initializers.GlorotUniform(), (1, N * D))
    assert math.isclose(flat, 2.0 / (1 + N * D))
    head = RPNHead(N, expansion="bspline", kernel_initializer="glorot_uniform")
    assert psi_variance(head, X64) > 20 * flat


def test_dense_variance_formulas():
    shape = (512, 32)
    cases = [
        (keras.initializers.GlorotNormal(), 2.0 / 544),
        (keras.initializers.HeUniform(), 2.0 / 512),
        (keras.initializers.LecunNormal(), 1.0 / 512),
        (keras.initializers.RandomNormal(stddev=0.1), 0.01),
        (keras.initializers.RandomUniform(-0.3, 0.3), 0.36 / 12),
        (keras.initializers.TruncatedNormal(stddev=1.0), 0.7737413),
        (keras.initializers.Orthogonal(gain=2.0), 4.0 / 512),
        (keras.initializers.Zeros(), None),
    ]
    for init, expected in cases:
        got = dense_variance(init, shape)
        if expected is None:
            assert got is None
            continue
        assert math.isclose(got, expected, rel_tol=1e-6), (init, got)
        if not isinstance(init, keras.initializers.TruncatedNormal):
            draw = numpy_of(init(shape)).var()
            assert abs(draw / expected - 1.0) < 0.1, (init, draw)


def test_scaleless_and_hypernet_initializers_apply_unchanged():
    head = RPNHead(3, reconciliation="lorr", kernel_initializer="ones")
    head.build((None, 4))
    np.testing.assert_array_equal(numpy_of(head.kernel), np.ones((1, 14)))
    head = RPNHead(
        3,
        reconciliation={"class_name": "hypernet", "config": {"l": 8}},
        kernel_initializer=keras.initializers.RandomUniform(0.25, 0.25),
    )
    head.build((None, 4))
    np.testing.assert_allclose(numpy_of(head.kernel), np.full((1, 8), 0.25))


# tinyBIG's formulas on its (fan_out, fan_in) layout.
@pytest.mark.parametrize(
    "method, shape, kwargs, bound, std",
    [
        ("xavier_uniform", (1, 218), {}, math.sqrt(6 / 219), None),
        ("xavier_uniform", (60,), {}, math.sqrt(6 / 61), None),  # a bias: (1, n) view
        ("kaiming_uniform", (2, 300), {}, 1 / math.sqrt(300), None),
        ("kaiming_uniform", (4, 90), {"fan_in": 4}, 1 / math.sqrt(4), None),
        ("fanout_std_uniform", (3, 500), {"units": 25}, 1 / 5, None),
        ("xavier_normal", (2, 4000), {}, None, math.sqrt(2 / 4002)),
    ],
)
def test_tinybig_initializer_formulas(method, shape, kwargs, bound, std):
    w = numpy_of(TinyBIG(method, seed=3, **kwargs)(shape))
    assert w.shape == shape
    if bound is not None:
        assert np.abs(w).max() <= bound * (1 + 1e-6)
        assert np.abs(w).max() > 0.7 * bound
    else:
        assert abs(w.std() / std - 1.0) < 0.05


def test_tinybig_initializer_in_a_head_is_flat_and_uses_head_fans():
    # lorr r=1 on a B-spline(t=10, d=4) 9 -> 2 head: D = 126, l = 128.
    expansion = {"class_name": "bspline", "config": {"t": 10, "d": 4}}
    head = RPNHead(
        2,
        expansion=expansion,
        reconciliation={"class_name": "lorr", "config": {"r": 1}},
        kernel_initializer=TinyBIG("xavier_uniform", seed=7),
        bias_initializer=TinyBIG("kaiming_uniform", seed=8),
    )
    head.build((None, 9))
    expected = numpy_of(TinyBIG("xavier_uniform", seed=7)((1, 128)))
    np.testing.assert_array_equal(numpy_of(head.kernel), expected)
    bias = numpy_of(head.bias)
    assert np.abs(bias).max() <= 1 / math.sqrt(128) and np.abs(bias).max() > 0
    head = RPNHead(
        4,
        expansion="bspline",
        channels=3,
        kernel_initializer=TinyBIG("fanout_std_uniform", seed=1),
        bias_initializer=TinyBIG("fanout_std_uniform", seed=2),
    )
    head.build((None, 50))
    kernel, bias = numpy_of(head.kernel), numpy_of(head.bias)
    assert 0.45 < np.abs(kernel).max() <= 0.5  # 1 / sqrt(n), n = 4, not 1 / sqrt(C)
    assert 0 < np.abs(bias).max() <= 0.5


def test_tinybig_initializer_refuses_bad_arguments():
    with pytest.raises(ValueError, match="`method` must be one of .* Received: method='he'"):
        TinyBIG("he")
    with pytest.raises(ValueError, match="fan_in"):
        TinyBIG(fan_in=0)
    with pytest.raises(ValueError, match=r"Received: shape=\(2, 3, 4\)"):
        TinyBIG()((2, 3, 4))


def test_tinybig_initializer_config_and_save_load(rng):
    init = TinyBIG("kaiming_uniform", fan_in=5, seed=2)
    revived = keras.initializers.deserialize(keras.initializers.serialize(init))
    assert isinstance(revived, TinyBIG) and revived.get_config() == init.get_config()
    head = RPNHead(
        3,
        expansion="bspline",
        reconciliation="lorr",
        kernel_initializer=TinyBIG("xavier_normal"),
        bias_initializer=TinyBIG("xavier_uniform"),
    )
    clone = assert_config_roundtrip(head)
    assert clone.kernel_initializer.method == "xavier_normal"
    x = rng.uniform(-1, 1, (4, 5)).astype("float32")
    assert_save_load(as_model(head, 5), x)


def test_default_is_flat_xavier_for_lorr_and_glorot_psi_otherwise():
    head = RPNHead(N, expansion="bspline", reconciliation="lorr")
    head(X64)
    num_params = 2 * (N + D)
    assert (
        0.99 * math.sqrt(6 / (1 + num_params))
        < np.abs(numpy_of(head.kernel)).max()
        <= math.sqrt(6 / (1 + num_params))
    )
    identity = psi_variance(RPNHead(N, expansion="bspline"), X64)
    assert abs(identity / DENSE["glorot_uniform"] - 1) < 0.1
