"""FunctionSparsity: L1 and entropy of per-edge function magnitudes."""

import keras
import numpy as np
import pytest
from checks import assert_save_load
from keras import ops
from reference import bspline
from reference import lorr

from keras_rpn.layers import KANDense
from keras_rpn.layers import RPNLayer
from keras_rpn.regularizers import FunctionSparsity


def numpy(x):
    return np.asarray(ops.convert_to_numpy(x), dtype="float64")


def expected_loss(magnitude, l1, entropy):
    p = magnitude / magnitude.sum()
    return l1 * magnitude.sum() - entropy * np.sum(p * np.log(p + 1e-12))


def test_kan_dense_loss_matches_numpy(rng):
    layer = KANDense(3, grid_size=4, kernel_regularizer=FunctionSparsity(l1=0.1, entropy=0.5))
    x = rng.uniform(-1, 1, (4, 5)).astype("float32")
    layer(x)
    coef = numpy(layer.head.kernel).reshape(3, 5, 7)  # (n, m, t + d), feature-major
    magnitude = np.abs(coef).mean(-1)
    (loss,) = layer.losses
    assert float(numpy(loss)) == pytest.approx(expected_loss(magnitude, 0.1, 0.5), rel=1e-5)
    model = keras.Sequential([keras.Input((5,)), layer])
    loaded = assert_save_load(model, x)
    assert loaded.layers[0].get_config()["kernel_regularizer"]["config"] == {
        "l1": 0.1,
        "entropy": 0.5,
        "magnitude": "weights",
    }
    assert float(numpy(loaded.layers[0].losses[0])) == pytest.approx(float(numpy(loss)), rel=1e-6)


def test_data_magnitudes_on_the_training_batch_match_numpy(rng):
    sparsity = FunctionSparsity(l1=0.1, entropy=0.5, magnitude="data")
    layer = KANDense(3, grid_size=4, kernel_regularizer=sparsity)
    x = rng.uniform(-1, 1, (6, 5)).astype("float32")
    layer(x)
    assert layer.losses == []  # no weight penalty, and nothing at inference
    layer(x, training=True)
    (loss,) = layer.losses
    coef = numpy(layer.head.kernel).reshape(3, 5, 7)  # (n, m, t + d)
    bases = bspline(x, t=4, d=3).reshape(6, 5, 7)
    phi = np.einsum("sjk,ijk->sij", bases, coef)  # f_ij(x_sj)
    magnitude = np.abs(phi).mean(0)  # the KAN paper's |phi_ij| on the batch
    assert float(numpy(loss)) == pytest.approx(expected_loss(magnitude, 0.1, 0.5), rel=1e-4)
    assert layer.get_config()["kernel_regularizer"]["config"]["magnitude"] == "data"
    model = keras.Sequential([keras.Input((5,)), layer])
    loaded = assert_save_load(model, x).layers[0]
    loaded(x, training=True)
    assert float(numpy(loaded.losses[0])) == pytest.approx(float(numpy(loss)), rel=1e-6)
    # In training: the batch's penalty adds to the loss (a zero step keeps the weights).
    model.compile(keras.optimizers.SGD(0.0), "mse")
    mse = np.mean(numpy(model(x)) ** 2)
    total = model.train_on_batch(x, np.zeros((6, 3)))
    assert float(total) == pytest.approx(mse + float(numpy(loss)), rel=1e-4)
    with pytest.raises(ValueError, match="magnitude='l2'"):
        FunctionSparsity(magnitude="l2")


def test_any_reconciliation_and_block_major_layout(rng):
    layer = RPNLayer(
        2,
        expansion={"class_name": "fourier", "config": {"N": 2}},  # block-major columns
        reconciliation={"class_name": "lorr", "config": {"r": 1}},
        width=2,
        kernel_regularizer=FunctionSparsity(l1=1.0),
    )
    x = rng.uniform(-1, 1, (4, 3)).astype("float32")
    layer(x)
    total = 0.0
    for head in layer.heads:
        w = lorr(numpy(head.kernel)[0], 2, 12, 1)  # (n, D), D = 2 N m = 12
        blocks = w.reshape(2, 4, 3)  # (n, k, m): column k m + j
        total += np.abs(blocks).mean(1).sum()
    assert sum(float(numpy(v)) for v in layer.losses) == pytest.approx(total, rel=1e-5)


def test_training_with_l1_shrinks_the_functions(rng):
    x = rng.uniform(-1, 1, (64, 4)).astype("float32")
    y = np.sin(2 * x[:, :1])  # only the first input matters
    sizes = []
    for l1 in (0.0, 0.05):
        keras.utils.set_random_seed(0)
        layer = KANDense(1, base_activation=None, kernel_regularizer=FunctionSparsity(l1=l1))
        model = keras.Sequential([keras.Input((4,)), layer])
        model.compile(keras.optimizers.Adam(0.05), "mse")
        model.fit(x, y, epochs=30, batch_size=64, verbose=0)
        sizes.append(np.abs(numpy(layer.head.kernel).reshape(4, 8)).mean(1))
    assert sizes[1][1:].sum() < 0.5 * sizes[0][1:].sum()  # the unused edges shrink most


def test_bad_arguments():
    with pytest.raises(ValueError, match="l1=-1.0"):
        FunctionSparsity(l1=-1.0)
    with pytest.raises(ValueError, match="kernel_regularizer"):
        FunctionSparsity()(np.zeros((1, 4), "float32"))
