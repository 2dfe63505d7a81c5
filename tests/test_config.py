"""tinyBIG configuration import (`from_tinybig`) and export (`to_tinybig`, `to_yaml`).

The YAML files in tests/data/tinybig describe tinyBIG's documented examples (written for
these tests from the behaviour reference): their parameter counts are the ones tinyBIG's
docs give. No forward pass is run on the 784-wide Taylor models.
"""

import copy
import json
import math
import os
import sys

import keras
import numpy as np
import pytest

from keras_rpn import expansions
from keras_rpn import models
from keras_rpn import reconciliations
from keras_rpn import remainders
from keras_rpn.config import from_tinybig
from keras_rpn.config import load_config
from keras_rpn.config import to_tinybig
from keras_rpn.config import to_yaml
from keras_rpn.models import RPN
from keras_rpn.models import ProcessedRPN

DATA = os.path.join(os.path.dirname(__file__), "data", "tinybig")


def path(name):
    return os.path.join(DATA, f"{name}.yaml")


def numpy(x):
    return np.asarray(keras.ops.convert_to_numpy(x), dtype="float64")


def kernel_params(model):
    """The heads' reconciliation parameters (tinyBIG's `w`), as its docs count them."""
    return [
        sum(int(np.prod(h.kernel.shape)) for h in layer.heads if h.kernel is not None)
        for layer in model.rpn_layers
    ]


def heads(model):
    return [layer.heads[0] for layer in model.rpn_layers]


def test_mnist_taylor_identity_parameter_count():
    model = from_tinybig(path("mnist_taylor_identity"))
    assert type(model) is RPN
    assert model.dims == [784, 64, 64, 10]
    assert kernel_params(model) == [39_388_160, 266_240, 41_600]
    assert sum(kernel_params(model)) == 39_696_000
    assert model.count_params() == 39_696_000  # no biases, affine-free LayerNorms
    for head in heads(model):
        assert isinstance(head.expansion, expansions.TaylorExpansion) and head.expansion.d == 2
        assert isinstance(head.reconciliation, reconciliations.IdentityReconciliation)
        assert head.remainder.is_zero and head.bias is None and head.channels == 1
        (norm,) = head.expansion.postprocessing
        assert isinstance(norm, keras.layers.LayerNormalization)
        assert (norm.center, norm.scale, norm.epsilon) == (False, False, 1e-5)


def test_mnist_dual_lphm_parameter_count_old_schema():
    model = from_tinybig(path("mnist_dual_lphm"))
    assert model.dims == [784, 64, 64, 10]
    assert kernel_params(model) == [7925, 725, 680]
    assert model.count_params() == 9330
    pqr = [(h.reconciliation.p, h.reconciliation.q, h.reconciliation.r) for h in heads(model)]
    assert pqr == [(8, 784, 5), (8, 64, 5), (2, 64, 5)]
    assert all(
        isinstance(h.reconciliation, reconciliations.DualLPHMReconciliation) for h in heads(model)
    )
    # The LayerNorm given beside the parameters (layer 1) and inside them (layers 2, 3).
    assert all(len(h.expansion.postprocessing) == 1 for h in heads(model))


FEYNMAN_EXPANSION = {
    "class_name": "extended",
    "config": {
        "composition_functions": [
            {"class_name": "bspline", "config": {"t": 10, "d": 4}},
            {"class_name": "taylor", "config": {"d": 2}},
        ]
    },
}


def test_feynman_extended_lorr_silu(rng):
    model = from_tinybig(path("feynman"))
    assert model.dims == [9, 2, 2, 1]
    # D(m) = m (10 + 4) + m + m^2; lorr r=1: l = n + D; linear remainder: m n.
    expected = 0
    for m, n in [(9, 2), (2, 2), (2, 1)]:
        expected += (n + m * 14 + m + m * m) + m * n
    assert model.count_params() == expected == 313
    for head in heads(model):
        assert head.reconciliation.r == 1 and head.bias is None
        assert isinstance(head.remainder, remainders.LinearRemainder)
        assert head.remainder.activation is keras.activations.silu
        assert head.remainder.bias is None
        bspline, taylor = head.expansion.composition_functions
        assert (bspline.t, bspline.d, taylor.d) == (10, 4, 2)
    reference = RPN(
        [9, 2, 2, 1],
        expansion=FEYNMAN_EXPANSION,
        reconciliation={"class_name": "lorr", "config": {"r": 1}},
        remainder={"class_name": "linear", "config": {"activation": "silu"}},
        use_bias=False,
    )
    reference.set_weights(model.get_weights())
    x = rng.uniform(-1, 1, (5, 9)).astype("float32")
    np.testing.assert_allclose(numpy(model(x)), numpy(reference(x)), rtol=1e-5, atol=1e-6)


def test_iris_naive_laplace_matches_numpy(rng):
    model = from_tinybig(path("iris"))
    assert model.dims == [4, 1] and model.count_params() == 8
    head = heads(model)[0]
    assert head.remainder.activation is keras.activations.linear  # torch.nn.Identity
    x = rng.uniform(-2, 2, (6, 4)).astype("float32")
    w = numpy(head.kernel).reshape(1, 4)
    expected = (-np.abs(x) - math.log(2.0)) @ w.T + x @ numpy(head.remainder.kernel)
    np.testing.assert_allclose(numpy(model(x)), expected, rtol=1e-5, atol=1e-5)


def combinatorial_normal_numpy(x, d=2):
    import itertools

    cols = []
    for r in range(1, d + 1):
        for subset in itertools.combinations(range(x.shape[1]), r):
            v = x[:, list(subset)]
            cols.append(-0.5 * (v**2).sum(1) - 0.5 * r * math.log(2 * math.pi))
    return np.stack(cols, axis=1)


@pytest.mark.parametrize("m, expected", [(8, 36 + 8), (4, 10 + 4)], ids=["diabetes", "banknote"])
def test_combinatorial_normal_examples(m, expected, rng):
    config = load_config(path("diabetes"))
    layer = config["configurations"]["model_configs"]["model_parameters"]["layer_configs"][0]
    layer["layer_parameters"]["m"] = m  # banknote: the same model on 4 features
    model = from_tinybig(config)
    assert model.count_params() == expected
    head = heads(model)[0]
    x = rng.uniform(-1, 1, (5, m)).astype("float32")
    features = combinatorial_normal_numpy(x.astype("float64"))
    w = numpy(head.kernel).reshape(1, -1)
    out = features @ w.T + x @ numpy(head.remainder.kernel)
    np.testing.assert_allclose(numpy(model(x)), out, rtol=1e-5, atol=1e-5)


def test_composite_nested_depth_alloc(rng):
    model = from_tinybig(path("composite"))
    assert model.dims == [2, 2, 2, 1]
    # nested bspline(t=10, d=4) -> taylor(d=2): D = 28 + 28^2 = 812; lorr r=1: l = n + D.
    assert kernel_params(model) == [814, 814, 813]
    assert model.count_params() == 2441
    reference = RPN(
        [2, 2, 2, 1],
        expansion={"class_name": "nested", "config": FEYNMAN_EXPANSION["config"]},
        reconciliation={"class_name": "lorr", "config": {"r": 1}},
        use_bias=False,
    )
    reference.set_weights(model.get_weights())
    x = rng.uniform(0, 1, (4, 2)).astype("float32")
    np.testing.assert_allclose(numpy(model(x)), numpy(reference(x)), rtol=1e-5, atol=1e-6)


def small_config(**head_parameters):
    head = {
        "data_transformation_configs": {
            "function_class": "tinybig.expansion.chebyshev_expansion",
            "function_parameters": {"d": 3},
        },
        "parameter_fabrication_configs": {
            "function_class": "tinybig.reconciliation.identity_reconciliation",
            "function_parameters": {"enable_bias": True},
        },
        **head_parameters,
    }
    return {
        "model_configs": {
            "model_class": "tinybig.model.rpn",
            "model_parameters": {
                "layer_configs": [
                    {
                        "layer_class": "tinybig.module.rpn_layer",
                        "layer_parameters": {
                            "m": 5,
                            "n": 3,
                            "head_configs": [
                                {"head_class": "tinybig.module.rpn_head", "head_parameters": head}
                            ],
                        },
                    }
                ]
            },
        }
    }


def test_inputs_dict_json_string_json_file_and_model_parameters(tmp_path):
    config = small_config()
    expected = 3 * 15 + 3  # chebyshev d=3 on 5 inputs, identity, bias
    assert from_tinybig(config).count_params() == expected
    assert from_tinybig(json.dumps(config)).count_params() == expected
    json_path = tmp_path / "model.json"
    json_path.write_text(json.dumps(config))
    assert from_tinybig(json_path).count_params() == expected
    assert from_tinybig(str(json_path)).count_params() == expected
    params = config["model_configs"]["model_parameters"]
    assert from_tinybig(params, name="bare").name == "bare"
    assert config == small_config()  # the caller's dict is not modified


def test_bias_channels_activation_and_head_fusion(rng):
    config = small_config(
        channel_num=2,
        channel_fusion_configs={"function_class": "tinybig.fusion.sum_fusion"},
        remainder_configs={
            "function_class": "tinybig.remainder.linear_remainder",
            "function_parameters": {
                "enable_bias": True,
                "activation_function_configs": {"function_class": "torch.nn.SiLU"},
            },
        },
    )
    layer = config["model_configs"]["model_parameters"]["layer_configs"][0]["layer_parameters"]
    layer["width"] = 3
    layer["head_fusion_configs"] = {
        "function_class": "tinybig.fusion.concatenation_fusion",
        "function_parameters": {"dims": [3, 3, 3]},
    }
    model = from_tinybig(config)
    (rpn_layer,) = model.rpn_layers
    assert len(rpn_layer.heads) == 3
    assert model.compute_output_shape((None, 5)) == (None, 9)
    head = rpn_layer.heads[0]
    assert head.channels == 2 and head.bias is not None
    assert type(head.channel_fusion).__name__ == "SumFusion"
    assert head.remainder.activation is keras.activations.silu and head.remainder.bias is not None
    # 3 heads x (2 channels x 45 + bias 3 + remainder 15 + 3)
    assert model.count_params() == 3 * (2 * 45 + 3 + 15 + 3)


def test_output_processing_becomes_keras_layers(rng):
    config = small_config(
        output_process_function_configs=[
            {"function_class": "torch.nn.GELU"},
            {
                "function_class": "torch.nn.BatchNorm1d",
                "function_parameters": {"num_features": 3, "momentum": 0.2, "device": "mps"},
            },
            {"function_class": "torch.nn.Dropout", "function_parameters": {"p": 0.3}},
        ]
    )
    model = from_tinybig(config)
    assert isinstance(model, ProcessedRPN)
    assert model.rpn_layers[0].activation is keras.activations.gelu
    norm, dropout = model.postprocessing_layers
    assert isinstance(norm, keras.layers.BatchNormalization)
    assert norm.momentum == pytest.approx(0.8) and norm.epsilon == pytest.approx(1e-5)
    assert isinstance(dropout, keras.layers.Dropout) and dropout.rate == 0.3
    x = rng.uniform(-1, 1, (4, 5)).astype("float32")
    np.testing.assert_array_equal(numpy(model(x, training=False)), numpy(model(x)))


def test_tinybig_preset_models():
    kan = from_tinybig(
        {
            "model_configs": {
                "model_class": "tinybig.model.kan",
                "model_parameters": {"dims": [4, 3, 2], "t": 4},
            }
        }
    )
    assert isinstance(kan, models.KAN) and kan.t == 4 and kan.use_bias is False
    assert kan.count_params() == (4 * 7 * 3 + 12) + (3 * 7 * 2 + 6)
    svm = from_tinybig(
        {
            "model_configs": {
                "model_class": "tinybig.model.svm",
                "model_parameters": {"dims": [4, 2], "kernel": "gaussian_rbf", "enable_bias": True},
            }
        }
    )
    assert isinstance(svm, models.SVM) and svm.count_params() == 4 * 10 * 2 + 2


@pytest.mark.parametrize(
    "mutate, error, match",
    [
        (
            lambda h: h["data_transformation_configs"].update(
                function_class="tinybig.expansion.foo_expansion"
            ),
            ValueError,
            "tinybig.expansion.foo_expansion",
        ),
        (
            lambda h: h["data_transformation_configs"]["function_parameters"].update(degree=3),
            ValueError,
            "degree",
        ),
        (lambda h: h.update(mystery_key=1), ValueError, "mystery_key"),
        (lambda h: h.update(l=7), ValueError, "`l`=7 does not match"),
        (lambda h: h.update(n=4), ValueError, "head `n`=4"),
        (
            lambda h: h.update(
                attribute_interdependence_configs={"function_class": "tinybig.interdependence.x"}
            ),
            ValueError,
            "no interdependence of that name",
        ),
        (
            lambda h: h["data_transformation_configs"]["function_parameters"].update(
                postprocess_function_configs=[
                    {
                        "function_class": "torch.nn.LayerNorm",
                        "function_parameters": {"normalized_shape": 7},
                    }
                ]
            ),
            ValueError,
            "over 7 features",
        ),
        (
            lambda h: h.update(
                output_process_function_configs=[{"function_class": "torch.nn.Frobnicate"}]
            ),
            ValueError,
            "torch.nn.Frobnicate",
        ),
        (
            lambda h: (
                h["remainder_configs"].update(function_class="tinybig.remainder.linear_remainder")
                or h["remainder_configs"].update(
                    function_parameters={
                        "activation_functions": [
                            "torch.nn.functional.relu",
                            "torch.nn.functional.tanh",
                        ]
                    }
                )
            ),
            NotImplementedError,
            "one activation",
        ),
    ],
    ids=[
        "class",
        "param",
        "head_key",
        "l",
        "n",
        "interdependence",
        "norm_width",
        "process",
        "acts",
    ],
)
def test_errors_name_what_cannot_be_mapped(mutate, error, match):
    config = small_config(remainder_configs={"function_class": "tinybig.remainder.zero_remainder"})
    head = config["model_configs"]["model_parameters"]["layer_configs"][0]["layer_parameters"][
        "head_configs"
    ][0]["head_parameters"]
    mutate(head)
    with pytest.raises(error, match=match):
        from_tinybig(config)


def test_dimension_chain_and_multi_head_processing_errors():
    config = load_config(path("composite"))
    params = config["configurations"]["model_configs"]["model_parameters"]
    params["layer_configs"][1]["layer_parameters"]["m"] = 3
    with pytest.raises(ValueError, match="takes m=3 inputs, but the layer before it gives 2"):
        from_tinybig(config)
    config = small_config(
        output_process_function_configs=[{"function_class": "torch.nn.BatchNorm1d"}]
    )
    config["model_configs"]["model_parameters"]["layer_configs"][0]["layer_parameters"]["width"] = 2
    with pytest.raises(NotImplementedError, match="2 heads"):
        from_tinybig(config)
    with pytest.raises(ValueError, match="model class"):
        from_tinybig(
            {"model_configs": {"model_class": "tinybig.model.cnn", "model_parameters": {}}}
        )


def test_yaml_needs_pyyaml_with_a_clear_message(monkeypatch):
    monkeypatch.setitem(sys.modules, "yaml", None)
    with pytest.raises(ImportError, match=r"keras-rpn\[config\]"):
        from_tinybig(path("iris"))
    # dicts and JSON still work without it
    assert from_tinybig(json.dumps(small_config())).count_params() == 48


def roundtrip(model, x):
    text = to_yaml(model)
    clone = from_tinybig(text)
    assert clone.count_params() == model.count_params()
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(
        numpy(clone(x, training=False)), numpy(model(x, training=False)), rtol=1e-5, atol=1e-6
    )
    strip = lambda c: json.dumps(  # noqa: E731
        {**c["configurations"]["model_configs"]["model_parameters"], "name": None}, sort_keys=True
    )
    assert strip(to_tinybig(clone)) == strip(to_tinybig(model))
    return text, clone


def test_export_roundtrip_of_a_mixed_model(rng, tmp_path):
    model = RPN(
        [5, 4, 3],
        layer_configs=[
            {
                "heads": [{"expansion": "chebyshev"}, {"expansion": "bspline", "channels": 2}],
                "width_alloc": [2, 1],
                "head_fusion": "concatenation",
                "activation": "relu",
                "remainder": "linear",
            },
            {
                "expansion": {"class_name": "taylor", "config": {"postprocessing": "layer_norm"}},
                "reconciliation": {"class_name": "dual_lphm", "config": {"p": 3, "q": 12, "r": 1}},
                "use_bias": False,
            },
        ],
    )
    x = rng.uniform(-1, 1, (4, 5)).astype("float32")
    text, clone = roundtrip(model, x)
    assert "tinybig.expansion.chebyshev_expansion" in text
    assert "tinybig.reconciliation.dual_lphm_reconciliation" in text
    assert "torch.nn.functional.layer_norm" in text
    exported = to_tinybig(model)["configurations"]["model_configs"]["model_parameters"]
    first = exported["layer_configs"][0]["layer_parameters"]
    assert first["width"] == 3 and first["width_alloc"] == [2, 1]
    assert first["head_configs"][1]["head_parameters"]["channel_num"] == 2
    # the activation after a multi-head fusion is a keras_rpn extension key of the layer
    assert first["output_process_function_configs"] == [{"function_class": "torch.nn.ReLU"}]
    second = exported["layer_configs"][1]["layer_parameters"]["head_configs"][0]["head_parameters"]
    assert second["l"] == 1 * (3 + 12 + 1 + (12 + 144) // 12)
    assert second["parameter_fabrication_configs"]["function_parameters"]["enable_bias"] is False
    # to_yaml writes a file from_tinybig reads back
    file = tmp_path / "model.yaml"
    to_yaml(model, file)
    assert from_tinybig(str(file)).count_params() == model.count_params()


@pytest.mark.parametrize(
    "make",
    [
        lambda: models.MLP([5, 6, 3], batch_norm=True, dropout=0.2, output_activation="softmax"),
        lambda: models.KAN([5, 3, 2], t=3),
        lambda: models.NaiveBayes([5, 2], distribution="cauchy"),
        lambda: from_tinybig(path("feynman")),
    ],
    ids=["mlp", "kan", "nb", "feynman"],
)
def test_export_roundtrip_of_presets(make, rng):
    model = make()
    m = model.dims[0]
    x = rng.uniform(-1, 1, (4, m)).astype("float32")
    roundtrip(model, x)


def test_exported_feynman_matches_the_input_config():
    model = from_tinybig(path("feynman"))
    exported = to_tinybig(model)
    again = from_tinybig(copy.deepcopy(exported))
    assert again.count_params() == 313
    head = exported["configurations"]["model_configs"]["model_parameters"]["layer_configs"][0][
        "layer_parameters"
    ]["head_configs"][0]["head_parameters"]
    assert head["remainder_configs"] == {
        "function_class": "tinybig.remainder.linear_remainder",
        "function_parameters": {
            "activation_function_configs": {"function_class": "torch.nn.SiLU"},
            "enable_bias": False,
            "require_parameters": True,
        },
    }
    children = head["data_transformation_configs"]["function_parameters"][
        "composition_function_configs"
    ]
    assert [c["function_class"] for c in children] == [
        "tinybig.expansion.bspline_expansion",
        "tinybig.expansion.taylor_expansion",
    ]


TINYBIG_SCRIPT = r"""
import contextlib, sys
sys.path.insert(0, sys.argv[1])
from tinybig_oracle import load_tinybig
with contextlib.redirect_stdout(sys.stderr):
    load_tinybig()
    import numpy as np, torch, yaml
    from tinybig.config.base_config import config
data = dict(np.load(sys.argv[2], allow_pickle=True).item())
results = {}
for name, item in data.items():
    spec = yaml.safe_load(open(item["path"]))["configurations"]["model_configs"]
    with contextlib.redirect_stdout(sys.stderr):
        model = config.instantiation_from_configs(
            spec, class_name="model_class", parameter_name="model_parameters"
        )
        with torch.no_grad():
            for layer, weights in zip(model.layers, item["weights"]):
                for key, value in weights.items():
                    getattr(layer.heads[0], key).copy_(torch.tensor(value))
            y = model(torch.tensor(item["x"])).numpy()
    results[name] = (sum(p.numel() for p in model.parameters()), y)
np.save(sys.argv[3], results, allow_pickle=True)
"""


def tinybig_python():
    if os.environ.get("KERAS_RPN_SKIP_PARITY"):
        return None
    candidates = [
        os.environ.get("TINYBIG_PYTHON"),
        os.path.join(os.path.dirname(DATA), "..", "..", ".tox", "tinybig-oracle", "bin", "python"),
    ]
    return next((c for c in candidates if c and os.path.exists(c)), None)


def test_imported_configs_match_tinybig(tmp_path, rng):
    """tinyBIG 0.2.1 itself builds the configs: same parameter counts, same outputs."""
    import subprocess

    python = tinybig_python()
    if python is None:
        pytest.skip("no tinyBIG oracle venv (tests/oracle/make_venv.py builds it)")
    request = {}
    keras_outputs = {}
    # The Feynman file uses the older schema, which tinyBIG 0.2.1 no longer reads: it
    # gets our export of it instead (which checks `to_yaml` against tinyBIG too).
    exported = tmp_path / "feynman_exported.yaml"
    to_yaml(from_tinybig(path("feynman")), exported)
    cases = [("iris", 4, path("iris")), ("diabetes", 8, path("diabetes"))]
    cases += [("composite", 2, path("composite")), ("feynman", 9, str(exported))]
    for name, m, file in cases:
        model = from_tinybig(file)
        x = rng.uniform(0.05, 0.95, (5, m)).astype("float32")
        weights = []
        for head in heads(model):
            w = {"w": numpy(head.kernel).astype("float32")}
            if not head.remainder.is_zero:  # tinyBIG stores W_r as (n, m)
                w["w_remainder"] = numpy(head.remainder.kernel).T.astype("float32")
            weights.append(w)
        request[name] = {"path": file, "x": x, "weights": weights}
        keras_outputs[name] = (model.count_params(), numpy(model(x)))
    np.save(tmp_path / "request.npy", request, allow_pickle=True)
    oracle_dir = os.path.join(os.path.dirname(__file__), "oracle")
    subprocess.run(
        [
            python,
            "-c",
            TINYBIG_SCRIPT,
            oracle_dir,
            str(tmp_path / "request.npy"),
            str(tmp_path / "response.npy"),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    response = np.load(tmp_path / "response.npy", allow_pickle=True).item()
    for name, (count, y) in keras_outputs.items():
        tinybig_count, tinybig_y = response[name]
        assert tinybig_count == count, name
        np.testing.assert_allclose(y, tinybig_y, rtol=1e-4, atol=1e-6, err_msg=name)
