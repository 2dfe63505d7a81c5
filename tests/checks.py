"""Shared checks for keras_rpn layers, in the spirit of Keras' `run_layer_test`.

Each helper asserts real values: configs survive JSON round trips, reloaded models
give the same outputs, a fit step changes the weights and leaves them finite.
"""

import json
import os
import tempfile

import keras
import numpy as np

BACKEND = keras.backend.backend()


def to_json(config):
    """Canonical JSON of a config (tuples become lists, keys sorted)."""
    return json.dumps(config, sort_keys=True, default=repr)


def assert_config_roundtrip(obj):
    """get_config -> from_config -> get_config is stable, also through JSON."""
    config = obj.get_config()
    clone = obj.__class__.from_config(json.loads(to_json(config)))
    assert to_json(clone.get_config()) == to_json(config)
    serialized = keras.saving.serialize_keras_object(obj)
    revived = keras.saving.deserialize_keras_object(json.loads(to_json(serialized)))
    assert type(revived) is type(obj)
    assert to_json(revived.get_config()) == to_json(config)
    return clone


def as_model(layer, input_dim):
    """Wraps a layer in a functional model taking `(batch, input_dim)` inputs."""
    inputs = keras.Input((input_dim,))
    return keras.Model(inputs, layer(inputs))


def assert_save_load(model, x, atol=1e-6):
    """`.keras` save then load without custom_objects gives identical outputs."""
    expected = keras.ops.convert_to_numpy(model(x))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.keras")
        model.save(path)
        loaded = keras.saving.load_model(path)
    got = keras.ops.convert_to_numpy(loaded(x))
    np.testing.assert_allclose(got, expected, atol=atol, rtol=1e-6)
    for w, v in zip(model.weights, loaded.weights, strict=True):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(w), keras.ops.convert_to_numpy(v))
    return loaded


def assert_fit_step(model, x, y, jit_compile="auto", loss="mse"):
    """One `fit` step runs, changes the trainable weights, and keeps them finite."""
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss=loss, jit_compile=jit_compile)
    if not model.built:
        model(x[:1])
    before = [keras.ops.convert_to_numpy(w).copy() for w in model.trainable_weights]
    history = model.fit(x, y, epochs=1, batch_size=len(x), verbose=0)
    assert np.isfinite(history.history["loss"][0])
    after = [keras.ops.convert_to_numpy(w) for w in model.trainable_weights]
    assert all(np.all(np.isfinite(a)) for a in after)
    assert any(not np.allclose(b, a) for b, a in zip(before, after, strict=True))


def gradients(fn, x):
    """d sum(fn(x)) / dx as numpy, on the current backend."""
    if BACKEND == "tensorflow":
        import tensorflow as tf

        xt = tf.convert_to_tensor(x)
        with tf.GradientTape() as tape:
            tape.watch(xt)
            y = tf.reduce_sum(fn(xt))
        return tape.gradient(y, xt).numpy()
    if BACKEND == "jax":
        import jax

        return np.asarray(jax.grad(lambda t: fn(t).sum())(keras.ops.convert_to_tensor(x)))
    import torch

    xt = torch.tensor(x, requires_grad=True)
    fn(xt).sum().backward()
    return xt.grad.numpy()


def weight_gradients(layer, x):
    """Gradients of sum(layer(x)) w.r.t. the layer's trainable weights, as numpy."""
    if BACKEND == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            y = tf.reduce_sum(layer(x))
        return [g.numpy() for g in tape.gradient(y, layer.trainable_weights)]
    if BACKEND == "jax":
        import jax

        trainable = [v.value for v in layer.trainable_variables]
        fixed = [v.value for v in layer.non_trainable_variables]

        def loss(tv):
            y, _ = layer.stateless_call(tv, fixed, x)
            return y.sum()

        return [np.asarray(g) for g in jax.grad(loss)(trainable)]
    import torch

    y = layer(torch.tensor(x)).sum()
    params = [w.value for w in layer.trainable_weights]
    return [g.numpy() for g in torch.autograd.grad(y, params)]
