"""Fitted compressions: adapted once, equal to scikit-learn's maps, saved with the model."""

import keras
import numpy as np
import pytest
from checks import as_model
from checks import assert_fit_step
from checks import assert_save_load
from keras import ops
from sklearn import cluster
from sklearn import decomposition
from sklearn import manifold
from sklearn import random_projection
from sklearn.datasets import load_digits

from keras_rpn import compressions
from keras_rpn.layers import RPNHead
from keras_rpn.models import RPN

# Real data (scikit-learn's digits), jittered so that no two distances tie.
_DIGITS = load_digits().data[:260] / 16.0
DATA = (_DIGITS + np.random.default_rng(0).normal(0, 0.01, _DIGITS.shape)).astype("float32")
TRAIN, TEST = DATA[:200], DATA[200:]


def numpy(x):
    return ops.convert_to_numpy(x)


LINEAR = {
    "pca": lambda: decomposition.PCA(n_components=6, random_state=0),
    "incremental_pca": lambda: decomposition.IncrementalPCA(n_components=6, batch_size=50),
    "random_projection": lambda: random_projection.SparseRandomProjection(6, random_state=0),
}


@pytest.mark.parametrize("name", sorted(LINEAR))
def test_linear_compressions_equal_scikit_learn(name):
    arguments = {"batch_size": 50} if name == "incremental_pca" else {}
    kappa = compressions.get(name, D=6, seed=0, **arguments).adapt(TRAIN)
    reference = LINEAR[name]().fit(TRAIN.astype("float64"))
    for x in (TRAIN, TEST):
        expected = reference.transform(x.astype("float64"))
        np.testing.assert_allclose(numpy(kappa(x)), expected, rtol=1e-4, atol=1e-4)


def test_feature_selection_compressions():
    kappa = compressions.get("incremental_variance_threshold_based_compression", D=5)
    kappa.adapt(TRAIN)
    selected = np.sort(np.argsort(-TRAIN.var(axis=0))[:5])
    np.testing.assert_allclose(numpy(kappa(TEST)), TEST[:, selected])
    clusters = compressions.get("incremental_feature_clustering_based_compression", D=4, seed=0)
    clusters.adapt(TRAIN)
    x = TRAIN.astype("float64")
    distances = np.mean((x[:, :, None] - x[:, None, :]) ** 2, axis=0)  # (64, 64)
    labels = cluster.SpectralClustering(4, affinity="precomputed", random_state=0).fit_predict(
        np.exp(-distances / 2)
    )
    expected = np.stack([TEST[:, labels == c].mean(axis=1) for c in range(4)], axis=1)
    np.testing.assert_allclose(numpy(clusters(TEST)), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["isomap", "lle"])
def test_manifold_compressions_equal_scikit_learn_out_of_sample(name):
    kappa = compressions.get(f"{name}_manifold_compression", D=3, n_neighbors=8, seed=0)
    kappa.adapt(TRAIN)
    if name == "isomap":
        reference = manifold.Isomap(n_neighbors=8, n_components=3)
    else:
        reference = manifold.LocallyLinearEmbedding(n_neighbors=8, n_components=3, random_state=0)
    reference.fit(TRAIN.astype("float64"))
    expected = reference.transform(TEST.astype("float64"))
    scale = np.abs(expected).max()
    np.testing.assert_allclose(numpy(kappa(TEST)), expected, atol=2e-3 * scale)


@pytest.mark.parametrize("name", ["tsne", "mds", "spectral_embedding"])
def test_transductive_manifolds_explain_why_they_cannot_be_layers(name):
    with pytest.raises(ValueError, match="no out-of-sample map.*isomap"):
        compressions.get(f"{name}_manifold_compression", D=2)


def test_unadapted_compression_refuses_to_run():
    kappa = compressions.get("pca", D=3)
    with pytest.raises(RuntimeError, match=r"not adapted.*adapt\(data\)"):
        kappa(TEST)
    with pytest.raises(ValueError, match="Received: D=70"):
        compressions.get("pca", D=70).adapt(TRAIN)
    with pytest.raises(ValueError, match="NaN"):
        compressions.get("pca", D=3).adapt(np.full((4, 64), np.nan))


def test_adapted_pca_in_a_model_trains_saves_and_reloads_under_jit():
    y = keras.utils.to_categorical(load_digits().target[:260], 10)[:200]
    head = RPNHead(10, expansion={"class_name": "pca", "config": {"D": 12}})
    model = as_model(head, 64)
    assert compressions.adapt(model, TRAIN) == [head.expansion]
    before = numpy(head.expansion.state["projection"]).copy()
    assert_fit_step(model, TRAIN, y.astype("float32"), jit_compile=True, loss="mse")
    np.testing.assert_array_equal(numpy(head.expansion.state["projection"]), before)  # fixed
    loaded = assert_save_load(model, TEST)
    assert loaded.layers[-1].expansion.is_adapted


def test_adapt_fits_deep_compressions_on_the_outputs_of_the_layers_before():
    model = RPN([64, 16, 10], expansion={"class_name": "pca", "config": {"D": 8}})
    adapted = compressions.adapt(model, TRAIN)
    assert len(adapted) == 2 and all(c.is_adapted for c in adapted)
    hidden = numpy(model.layers[0](TRAIN))
    np.testing.assert_allclose(numpy(adapted[1].state["mean"]), hidden.mean(axis=0), atol=1e-5)
    assert compressions.adapt(model, TRAIN) == []  # adapted once


def test_manifold_state_is_sized_by_adapt_and_saved():
    head = RPNHead(4, expansion={"class_name": "lle", "config": {"D": 3, "n_neighbors": 8}})
    model = as_model(head, 64)
    compressions.adapt(model, TRAIN)
    assert head.expansion.get_config()["num_samples"] == 200
    assert_save_load(model, TEST, atol=1e-5)
