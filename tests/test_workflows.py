"""Standard Keras workflows with keras_rpn layers, as a Keras user writes them."""

import os

import keras
import numpy as np
import pytest
from checks import BACKEND
from keras import ops

from keras_rpn.layers import RPNLayer
from keras_rpn.models import RPN

M, N = 4, 3
LAYER = {"expansion": "chebyshev", "reconciliation": "lorr", "width": 2, "remainder": "linear"}


def numpy(x):
    return ops.convert_to_numpy(x)


@pytest.fixture
def data(rng):
    x = rng.uniform(-1, 1, (32, M)).astype("float32")
    y = (x @ rng.uniform(-1, 1, (M, N))).astype("float32")
    return x, y


def sequential():
    return keras.Sequential([keras.Input((M,)), RPNLayer(5, **LAYER), RPNLayer(N)])


def functional():
    inputs = keras.Input((M,))
    hidden = RPNLayer(5, **LAYER)(inputs)
    return keras.Model(inputs, RPNLayer(N)(hidden))


class Subclassed(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.first = RPNLayer(5, **LAYER)
        self.second = RPNLayer(N)

    def call(self, x):
        return self.second(self.first(x))


def test_sequential_functional_and_subclassed_agree(data):
    """The same weights give the same outputs in the three model-building styles."""
    x, _ = data
    reference = sequential()
    subclassed = Subclassed()
    subclassed(x[:1])  # a subclassed model is built by calling it
    models = [reference, functional(), subclassed, RPN([M, 5, N], layer_configs=[LAYER, {}])]
    expected = numpy(reference(x))
    weights = reference.get_weights()
    for model in models[1:]:
        assert [w.shape for w in model.get_weights()] == [w.shape for w in weights]
        model.set_weights(weights)
        np.testing.assert_allclose(numpy(model(x)), expected, rtol=1e-6, atol=1e-6)


def test_build_then_summary():
    model = keras.Sequential([RPNLayer(5, **LAYER), RPNLayer(N)])
    model.build((None, M))
    lines = []
    model.summary(print_fn=lambda line, **_: lines.append(line))
    # Two lorr heads on a Chebyshev expansion (d = 2, D = 2 m = 8, r = 2): 2 (5 + 8)
    # each, a bias and a linear remainder (no bias) of M x 5; then one identity head
    # 5 -> 3 with a bias.
    expected = 2 * (2 * (5 + 8) + 5 + M * 5) + (5 * N + N)
    assert model.count_params() == expected
    assert f"{expected:,}" in "\n".join(lines)


def test_fit_with_callbacks(data, tmp_path):
    x, y = data
    model = functional()
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    path = str(tmp_path / "best.keras")
    # min_delta larger than any change: only the first epoch counts as an improvement
    # (on an infinite best), so the learning rate halves after the second epoch and
    # training stops there.
    callbacks = [
        keras.callbacks.ModelCheckpoint(path, monitor="val_loss", save_best_only=True),
        keras.callbacks.EarlyStopping(monitor="loss", patience=1, min_delta=1e6),
        keras.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0, min_delta=1e6),
    ]
    history = model.fit(
        x, y, validation_split=0.25, epochs=5, batch_size=8, callbacks=callbacks, verbose=0
    )
    assert len(history.history["loss"]) == 2
    assert float(numpy(model.optimizer.learning_rate)) == pytest.approx(0.01 * 0.5)
    best = keras.saving.load_model(path)
    assert best.count_params() == model.count_params()
    val_x, val_y = x[24:], y[24:]
    best_loss = float(np.mean((numpy(best(val_x)) - val_y) ** 2))
    assert best_loss == pytest.approx(min(history.history["val_loss"]), rel=1e-4)


def test_clone_model_and_weights_h5(data, tmp_path):
    x, _ = data
    model = functional()
    clone = keras.models.clone_model(model)
    assert clone.to_json() != "" and clone.count_params() == model.count_params()
    assert not np.allclose(numpy(clone(x)), numpy(model(x)))  # fresh weights
    path = str(tmp_path / "model.weights.h5")
    model.save_weights(path)
    clone.load_weights(path)
    np.testing.assert_allclose(numpy(clone(x)), numpy(model(x)), rtol=1e-6, atol=1e-6)


def test_time_distributed_equals_per_step(rng):
    x = rng.uniform(-1, 1, (2, 5, M)).astype("float32")
    layer = RPNLayer(N, **LAYER)
    wrapped = keras.layers.TimeDistributed(layer)
    y = numpy(wrapped(x))
    assert y.shape == (2, 5, N)
    for t in range(5):
        np.testing.assert_allclose(y[:, t], numpy(layer(x[:, t])), rtol=1e-5, atol=1e-6)


def test_freezing(data):
    x, y = data
    model = functional()
    first, second = model.layers[1], model.layers[2]
    first.heads[0].trainable = False
    frozen_head = len(first.heads[0].weights)
    assert len(model.trainable_weights) == len(model.weights) - frozen_head
    first.trainable = False
    assert len(model.trainable_weights) == len(second.weights)
    before = [numpy(w).copy() for w in model.weights]
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    model.fit(x, y, epochs=1, batch_size=32, verbose=0)
    after = [numpy(w) for w in model.weights]
    changed = [not np.array_equal(b, a) for b, a in zip(before, after, strict=True)]
    assert changed == [False] * len(first.weights) + [True] * len(second.weights)


@pytest.mark.skipif(
    BACKEND != "tensorflow",
    reason="SavedModel export needs TensorFlow, which only the tensorflow test "
    "environment installs (jax and torch export would go through it too)",
)
def test_tf_saved_model_export(data, tmp_path):
    import tensorflow as tf

    x, _ = data
    model = functional()
    path = str(tmp_path / "exported")
    model.export(path, format="tf_saved_model")
    assert os.path.isdir(path)
    reloaded = tf.saved_model.load(path)
    np.testing.assert_allclose(
        reloaded.serve(tf.constant(x)).numpy(), numpy(model(x)), rtol=1e-5, atol=1e-6
    )
