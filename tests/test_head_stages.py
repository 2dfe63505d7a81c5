"""The head as a pipeline of named stages, and the batched multi-head path."""

import keras
import numpy as np
import pytest

from keras_rpn.layers import RPNHead
from keras_rpn.layers import RPNLayer
from keras_rpn.layers.batched_heads import HEAD_STAGES
from keras_rpn.layers.batched_heads import run_heads

X = np.random.default_rng(0).normal(size=(4, 3)).astype("float32")


def test_stages_are_named_in_pipeline_order():
    assert HEAD_STAGES == (
        "input_processing",
        "attribute_interdependence",
        "expansion",
        "instance_interdependence",
        "reconciliation",
        "bias",
        "channel_fusion",
        "remainder",
        "output_processing",
    )
    head = RPNHead(2, expansion="taylor", remainder="linear", activation="relu")
    head.build(X.shape)
    stages = head.stages
    assert tuple(stages) == HEAD_STAGES
    assert stages["expansion"] is head.expansion
    assert stages["reconciliation"] is head.reconciliation
    assert stages["bias"] is head.bias
    assert stages["remainder"] is head.remainder
    assert stages["output_processing"] is keras.activations.relu
    for absent in ("input_processing", "attribute_interdependence", "instance_interdependence"):
        assert stages[absent] is None
    bare = RPNHead(2, use_bias=False)
    bare.build(X.shape)
    assert bare.stages["bias"] is None
    assert bare.stages["remainder"] is None
    assert bare.stages["output_processing"] is None


@pytest.mark.parametrize("argument", ["attribute_interdependence", "instance_interdependence"])
def test_interdependence_slots_refuse_unknown_names_and_accept_none(argument):
    with pytest.raises(ValueError, match="Unknown interdependence: 'softmax'"):
        RPNHead(2, **{argument: "softmax"})
    config = RPNHead(2, **{argument: None}).get_config()
    assert config[argument] is None


def test_configs_without_the_slots_still_load():
    config = RPNHead(2, expansion="taylor").get_config()
    del config["attribute_interdependence"], config["instance_interdependence"]
    head = RPNHead.from_config(config)
    assert head.attribute_interdependence is None and head.instance_interdependence is None
    head.build(X.shape)
    clone = RPNHead.from_config(head.get_config())
    clone.build(X.shape)
    clone.set_weights(head.get_weights())
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(clone(X)), keras.ops.convert_to_numpy(head(X)), rtol=1e-6
    )


def test_heads_of_one_config_share_one_contraction(monkeypatch):
    layer = RPNLayer(
        2,
        expansion="taylor",
        reconciliation="lorr",
        channels=2,
        width=3,
        head_fusion="concatenation",
    )
    calls = []
    cls = type(layer.heads[0].reconciliation)
    original = cls.contract

    def counting(self, expansion, x, kernel, training=None):
        calls.append(tuple(kernel.shape))
        return original(self, expansion, x, kernel, training=training)

    monkeypatch.setattr(cls, "contract", counting)
    y = keras.ops.convert_to_numpy(layer(X))
    assert len(calls) == 1 and calls[0][0] == 3 * 2  # G * C stacked kernel rows
    # Against each head run alone (one contraction each).
    calls.clear()
    alone = [keras.ops.convert_to_numpy(run_heads([h], X)) for h in layer.heads]
    assert len(calls) == 3
    np.testing.assert_allclose(y, np.concatenate(alone, axis=-1), rtol=1e-5, atol=1e-6)
