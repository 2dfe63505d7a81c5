"""Determinism, and loading of damaged or mismatched `.keras` files."""

import json
import os
import zipfile

import keras
import numpy as np
import pytest

from keras_rpn.models import RPN


def small_model():
    return RPN([4, 5, 3], expansion="bspline", remainder="linear", channels=2, width=2)


def test_seed_gives_identical_weights_and_outputs(rng):
    x = rng.uniform(-1, 1, (3, 4)).astype("float32")
    runs = []
    for _ in range(2):
        keras.utils.set_random_seed(42)
        model = small_model()
        runs.append(
            (
                [keras.ops.convert_to_numpy(w) for w in model.weights],
                keras.ops.convert_to_numpy(model(x)),
            )
        )
    for a, b in zip(runs[0][0], runs[1][0], strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(runs[0][1], runs[1][1])
    keras.utils.set_random_seed(43)
    other = [keras.ops.convert_to_numpy(w) for w in small_model().weights]
    assert not np.array_equal(other[0], runs[0][0][0])


def _edit_config(src, dst, edit):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "config.json":
                config = json.loads(data)
                edit(config)
                data = json.dumps(config).encode()
            zout.writestr(item, data)


def test_weights_that_do_not_match_the_config_are_refused(tmp_path):
    path = str(tmp_path / "model.keras")
    small_model().save(path)

    def widen(config):
        config["config"]["dims"][1] = 6  # hidden width 5 -> 6: weights no longer fit

    edited = str(tmp_path / "edited.keras")
    _edit_config(path, edited, widen)
    with pytest.raises(ValueError, match="shape|expected|mismatch|match"):
        keras.saving.load_model(edited)


def test_fewer_heads_in_the_config_than_in_the_weights_are_refused(tmp_path):
    path = str(tmp_path / "model.keras")
    small_model().save(path)

    def drop_heads(config):
        config["config"]["width"] = 1

    edited = str(tmp_path / "edited.keras")
    _edit_config(path, edited, drop_heads)
    # Issue 11, defect 9: the message says what differs (before: "has no 'num_heads'
    # entry", from Keras' second visit of the layer with an empty store).
    with pytest.raises(
        ValueError, match="with num_heads=1, but the weights file holds weights for num_heads=2"
    ):
        keras.saving.load_model(edited)


def test_truncated_file_is_refused(tmp_path):
    path = str(tmp_path / "model.keras")
    small_model().save(path)
    data = open(path, "rb").read()
    truncated = str(tmp_path / "truncated.keras")
    with open(truncated, "wb") as f:
        f.write(data[: len(data) // 2])
    with pytest.raises((ValueError, zipfile.BadZipFile, OSError)):
        keras.saving.load_model(truncated)
    assert os.path.getsize(truncated) < os.path.getsize(path)


def test_fewer_layers_in_the_config_than_in_the_weights_are_refused(tmp_path):
    path = str(tmp_path / "model.keras")
    RPN([4, 4, 4, 3], expansion="chebyshev").save(path)

    def drop_layer(config):
        config["config"]["dims"] = [4, 4, 4]

    edited = str(tmp_path / "edited.keras")
    _edit_config(path, edited, drop_layer)
    with pytest.raises(ValueError, match="num_layers=2"):
        keras.saving.load_model(edited)
