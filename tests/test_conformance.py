"""Keras conformance: Keras' own `run_layer_test`, building from a shape, dtypes.

`keras.src.testing.TestCase.run_layer_test` is the harness Keras runs on its own
layers: config round trips (also through JSON), `dir()` equality of revived
objects, build from a shape, symbolic and eager calls, the expected weight counts,
a `fit` step and (on TF and JAX) a mixed-precision call.
"""

import keras
import numpy as np
import pytest
from keras.src.testing import TestCase

from keras_rpn import expansions
from keras_rpn import fusions
from keras_rpn import models
from keras_rpn import remainders
from keras_rpn.layers import RPNHead
from keras_rpn.layers import RPNLayer

LORR = {"class_name": "lorr", "config": {"r": 2}}

# (id, class, init kwargs, input shape, expected output shape, trainable weights,
#  non-trainable weights): one case per public layer class and per function family.
LAYERS = [
    ("head identity", RPNHead, {"units": 3}, (2, 5), (2, 3), 2, 0),
    (
        "head bspline lorr linear, 2 channels",
        RPNHead,
        {
            "units": 3,
            "expansion": "bspline",
            "reconciliation": LORR,
            "remainder": "linear",
            "channels": 2,
        },
        (2, 5),
        (2, 3),
        3,
        0,
    ),
    (
        "head taylor hm, rank-3 input",
        RPNHead,
        {"units": 4, "expansion": "taylor", "reconciliation": "hm"},
        (2, 3, 4),
        (2, 3, 4),
        2,
        0,
    ),
    (
        "head gaussian_rbf hypernet, concatenated channels",
        RPNHead,
        {
            "units": 2,
            "expansion": "gaussian_rbf",
            "reconciliation": "hypernet",
            "channels": 2,
            "channel_fusion": "concatenation",
        },
        (2, 3),
        (2, 4),
        2,
        4,
    ),
    (
        "layer batched heads",
        RPNLayer,
        {"units": 3, "expansion": "taylor", "width": 2, "reconciliation": LORR},
        (2, 4),
        (2, 3),
        4,
        0,
    ),
    (
        "layer mixed heads, concatenated",
        RPNLayer,
        {
            "units": 2,
            "heads": [{"expansion": "taylor"}, {"expansion": "trigonometric"}],
            "head_fusion": "concatenation",
        },
        (2, 4),
        (2, 4),
        4,
        0,
    ),
    ("expansion taylor", expansions.TaylorExpansion, {"d": 2}, (2, 3), (2, 12), 0, 0),
    (
        "remainder linear",
        remainders.LinearRemainder,
        {"units": 3, "activation": "silu"},
        (2, 5),
        (2, 3),
        1,
        0,
    ),
    (
        "fusion weighted_sum",
        fusions.ParameterizedWeightedSumFusion,
        {},
        (2, 3, 4),
        (2, 4),
        1,
        0,
    ),
    ("model KAN", models.KAN, {"dims": [5, 3]}, (2, 5), (2, 3), 2, 0),
]


def _harness():
    case = TestCase()
    case.setUp()
    return case


@pytest.mark.parametrize(
    "cls,kwargs,input_shape,output_shape,trainable,non_trainable",
    [c[1:] for c in LAYERS],
    ids=[c[0] for c in LAYERS],
)
def test_keras_run_layer_test(cls, kwargs, input_shape, output_shape, trainable, non_trainable):
    _harness().run_layer_test(
        cls,
        init_kwargs=kwargs,
        input_shape=input_shape,
        expected_output_shape=output_shape,
        expected_num_trainable_weights=trainable,
        expected_num_non_trainable_weights=non_trainable,
        expected_num_losses=0,
        supports_masking=False,
    )


MODEL_CLASSES = [
    (models.RPN, {"expansion": "taylor", "reconciliation": "hm", "width": 2}),
    (models.ProcessedRPN, {"postprocessing": [["batch_norm", "relu"], None]}),
    (models.MLP, {}),
    (models.KAN, {}),
    (models.SVM, {}),
    (models.NaiveBayes, {}),
    (models.PGM, {}),
]


@pytest.mark.parametrize("cls,kwargs", MODEL_CLASSES, ids=[c[0].__name__ for c in MODEL_CLASSES])
def test_model_builds_from_a_shape_then_summarises(cls, kwargs):
    """Issue 11, defect 1: `model.build((None, m))`, the usual way to a `summary()`."""
    model = cls([4, 6, 2], **kwargs)
    count = model.count_params()
    model.build((None, 4))
    model.build((None, 4))
    assert model.built and model.count_params() == count
    lines = []
    model.summary(print_fn=lambda line, **_: lines.append(line))
    assert f"{count:,}" in "\n".join(lines)
    assert model(np.zeros((3, 4), "float32")).shape == (3, 2)


def test_layers_build_from_a_shape_twice():
    layer = RPNLayer(3, expansion="taylor", width=2)
    layer.build((None, 4))
    weights = [w.path for w in layer.weights]
    layer.build((None, 4))
    assert [w.path for w in layer.weights] == weights


def _one_name_per_expansion_class():
    """One registered name per expansion class (composites need arguments: skipped)."""
    names = {}
    for name in expansions.names():
        try:
            cls = expansions.get(name).__class__
        except ValueError:
            continue
        names.setdefault(cls, name)
    return sorted(names.values())


@pytest.mark.parametrize("dtype", ["int32", "bool"])
def test_integer_inputs_are_cast_like_dense(dtype):
    """Issue 11, defect 3: integer inputs give the outputs of the same float inputs.

    Before, 37 of 45 expansions failed on TensorFlow and 9 on JAX with backend
    errors. One RPN layer holds one head per expansion class.
    """
    heads = [{"expansion": n} for n in _one_name_per_expansion_class()]
    heads.append(
        {
            "expansion": {
                "class_name": "extended",
                "config": {"composition_functions": ["taylor", "trigonometric"]},
            }
        }
    )
    layer = RPNLayer(2, heads=heads, head_fusion="concatenation", remainder="linear")
    x = np.array([[1, 0, 2], [0, 1, 1]], dtype=dtype)
    y_int = keras.ops.convert_to_numpy(layer(x))
    y_float = keras.ops.convert_to_numpy(layer(x.astype("float32")))
    assert y_int.dtype == np.float32 and y_int.shape == (2, 2 * len(heads))
    np.testing.assert_allclose(y_int, y_float, rtol=1e-6, atol=1e-6)
    head = RPNHead(3, expansion="bspline")
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(head(x)),
        keras.ops.convert_to_numpy(head(x.astype("float32"))),
        rtol=1e-6,
    )
