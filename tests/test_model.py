"""RPN model: stacking, parameter counts, fit, save/load."""

import keras
import numpy as np
import pytest
from checks import BACKEND
from checks import assert_config_roundtrip
from checks import assert_fit_step
from checks import assert_save_load
from keras import ops

from keras_rpn.models import RPN


def reconciliation_params(model):
    return sum(
        int(np.prod(head.kernel.shape)) for layer in model.rpn_layers for head in layer.heads
    )


def test_mnist_taylor_identity_parameter_count():
    """tinyBIG's documented MNIST model: 784-64-64-10, Taylor d=2, identity psi."""
    model = RPN([784, 64, 64, 10], expansion="taylor", use_bias=False)
    assert reconciliation_params(model) == 39_696_000
    assert model.count_params() == 39_696_000


def test_issue_example_trains_saves_and_loads(rng):
    x = rng.uniform(-1, 1, (32, 64)).astype("float32")
    y = rng.integers(0, 10, 32)
    model = RPN([64, 32, 10], expansion="bspline", reconciliation="identity", remainder="linear")
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    loaded = assert_save_load(model, x)
    assert isinstance(loaded, RPN)
    assert loaded.dims == [64, 32, 10]


def test_layer_configs_activations_and_shapes(rng):
    model = RPN(
        [5, 4, 3],
        activation="relu",
        output_activation="softmax",
        layer_configs=[{"expansion": "taylor", "width": 2}, {"expansion": "chebyshev"}],
    )
    assert [len(layer.heads) for layer in model.rpn_layers] == [2, 1]
    y = ops.convert_to_numpy(model(rng.uniform(-1, 1, (3, 5)).astype("float32")))
    np.testing.assert_allclose(y.sum(axis=-1), 1.0, rtol=1e-5)
    assert model.compute_output_shape((None, 5)) == (None, 3)
    clone = assert_config_roundtrip(model)
    assert clone.count_params() == model.count_params()


@pytest.mark.parametrize("jit_compile", [False, True])
def test_fit_with_and_without_jit(jit_compile, rng):
    if jit_compile and BACKEND == "torch":
        pytest.skip(
            "jit_compile=True on torch is torch.compile, which Keras marks "
            "experimental; XLA jit is covered on TF and JAX"
        )
    model = RPN([4, 6, 2], expansion="taylor", reconciliation="lorr", channels=2, width=2)
    x = rng.uniform(-1, 1, (16, 4)).astype("float32")
    assert_fit_step(
        model, x, rng.uniform(-1, 1, (16, 2)).astype("float32"), jit_compile=jit_compile
    )


def test_mixed_bfloat16_model(rng):
    keras.config.set_dtype_policy("mixed_bfloat16")
    model = RPN([4, 6, 2], expansion="chebyshev", remainder="linear")
    x = rng.uniform(-1, 1, (8, 4)).astype("float32")
    assert_fit_step(model, x, rng.uniform(-1, 1, (8, 2)).astype("float32"))
    assert keras.backend.standardize_dtype(model(x).dtype) == "bfloat16"
