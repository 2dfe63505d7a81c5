"""Bad input gets a clear ValueError/TypeError naming the argument and the value."""

import re

import numpy as np
import pytest

import keras_rpn
from keras_rpn.layers import RPNHead
from keras_rpn.layers import RPNLayer
from keras_rpn.models import RPN

X5 = np.zeros((2, 5), "float32")

CASES = [
    # (id, callable raising, exception type, message pattern)
    (
        "unknown expansion",
        lambda: RPNHead(3, expansion="tailor"),
        ValueError,
        r"Unknown expansion: 'tailor'\. Valid names: .*taylor",
    ),
    (
        "unknown reconciliation",
        lambda: RPNHead(3, reconciliation="low"),
        ValueError,
        r"Unknown reconciliation: 'low'.*lorr",
    ),
    (
        "unknown remainder",
        lambda: RPNHead(3, remainder="lin"),
        ValueError,
        r"Unknown remainder: 'lin'.*linear",
    ),
    (
        "unknown fusion",
        lambda: RPNLayer(3, head_fusion="avg"),
        ValueError,
        r"Unknown fusion: 'avg'.*mean",
    ),
    (
        "identifier of wrong type",
        lambda: RPNHead(3, expansion=3.5),
        TypeError,
        r"expansion identifier: 3\.5",
    ),
    (
        "config dict without class_name",
        lambda: RPNHead(3, expansion={"d": 2}),
        ValueError,
        r"'class_name'",
    ),
    (
        "component of the wrong family",
        lambda: RPNHead(3, expansion="lorr"),
        ValueError,
        r"Unknown expansion: 'lorr'",
    ),
    ("units zero", lambda: RPNHead(0), ValueError, r"`units`.*units=0"),
    ("units negative", lambda: RPNLayer(-2), ValueError, r"units=-2"),
    ("units float", lambda: RPNHead(2.5), ValueError, r"units=2\.5"),
    ("units bool", lambda: RPNHead(True), ValueError, r"units=True"),
    ("channels zero", lambda: RPNHead(3, channels=0), ValueError, r"channels=0"),
    (
        "taylor order zero",
        lambda: RPNHead(3, expansion={"class_name": "taylor", "config": {"d": 0}}),
        ValueError,
        r"`d`.*d=0",
    ),
    (
        "bspline empty grid",
        lambda: keras_rpn.expansions.BSplineExpansion(grid_range=(1, 1)),
        ValueError,
        r"grid_range.*low < high",
    ),
    (
        "bspline no intervals",
        lambda: keras_rpn.expansions.BSplineExpansion(t=0),
        ValueError,
        r"t=0",
    ),
    (
        "lorr rank zero",
        lambda: keras_rpn.reconciliations.LowRankReconciliation(r=0),
        ValueError,
        r"r=0",
    ),
    (
        "identity remainder width",
        lambda: RPNHead(3, remainder="identity")(X5),
        ValueError,
        r"input width m=5, units=3",
    ),
    (
        "width_alloc length",
        lambda: RPNLayer(3, heads=[{}, {}], width_alloc=[1]),
        ValueError,
        r"width_alloc.*2 config",
    ),
    (
        "width_alloc vs width",
        lambda: RPNLayer(3, heads=[{}], width=2, width_alloc=[3]),
        ValueError,
        r"width.*sum\(width_alloc\) = 3",
    ),
    (
        "width_alloc entry",
        lambda: RPNLayer(3, heads=[{}], width_alloc=[0]),
        ValueError,
        r"width_alloc\[0\]",
    ),
    (
        "width with several configs",
        lambda: RPNLayer(3, heads=[{}, {}], width=3),
        ValueError,
        r"width=3",
    ),
    ("heads not a list", lambda: RPNLayer(3, heads="taylor"), TypeError, r"heads='taylor'"),
    ("head units mismatch", lambda: RPNLayer(3, heads=[{"units": 4}]), ValueError, r"units=4"),
    ("dims too short", lambda: RPN([4]), ValueError, r"dims=\[4\]"),
    ("dims entry", lambda: RPN([4, 0]), ValueError, r"dims\[1\]"),
    (
        "layer_configs length",
        lambda: RPN([4, 3, 2], layer_configs=[{}]),
        ValueError,
        r"layer_configs",
    ),
    ("rank-1 input", lambda: RPNHead(3).build((5,)), ValueError, r"rank >= 2"),
    (
        "unknown last axis",
        lambda: RPNHead(3).build((None, None)),
        ValueError,
        r"last axis .* must be known",
    ),
    ("wrong width after build", lambda: _call_twice(), ValueError, r"axis -1"),
    # Issue 11, defect 2: batched heads skip RPNHead.__call__, so the layer and the
    # model check the width themselves (before: (4, 2) and (2, 4) outputs).
    (
        "RPN with hm: wrong width",
        lambda: _call_built(RPN([4, 4, 2], reconciliation="hm"), (2, 8)),
        ValueError,
        r"expected axis -1 of input shape to have value 4.*shape \(2, 8\)",
    ),
    (
        "RPNLayer with batched lorr heads: wrong width",
        lambda: _call_built(
            RPNLayer(4, expansion="taylor", reconciliation="lorr", width=2), (2, 2), (2, 4)
        ),
        ValueError,
        r"expected axis -1 of input shape to have value 4.*shape \(2, 2\)",
    ),
    (
        "RPN built for another width",
        lambda: RPN([4, 2]).build((None, 3)),
        ValueError,
        r"dims\[0\]=4\. Received: input_shape=\(None, 3\)",
    ),
    # Defect 8: registry errors name the key (before: AttributeError, a bare
    # TypeError from dict(), RecursionError).
    (
        "class_name not a string",
        lambda: RPNHead(3, expansion={"class_name": 3}),
        TypeError,
        r"'class_name' of the expansion config must be a string.*class_name=3",
    ),
    (
        "config not a dict",
        lambda: RPNHead(3, expansion={"class_name": "taylor", "config": [1, 2]}),
        TypeError,
        r"'config' of the expansion config dict must be a dict.*config=\[1, 2\]",
    ),
    (
        "deeply nested composite, through the registry",
        lambda: keras_rpn.expansions.get(_deep_composite()),
        ValueError,
        r"`expansion` is nested more than 64 levels deep .* under "
        r"expansion\['config'\]\['composition_functions'\]\[0\]",
    ),
    (
        "deeply nested value, through a head",
        lambda: RPNHead(3, expansion={"class_name": "taylor", "config": {"d": _deep_list()}}),
        ValueError,
        r"`expansion` is nested more than 64 levels deep .* under "
        r"expansion\['config'\]\['d'\]\[0\]",
    ),
    (
        "deeply nested head config, through a layer",
        lambda: RPNLayer(3, heads=[{"expansion": _deep_composite()}]),
        ValueError,
        r"`heads` is nested more than 64 levels deep",
    ),
    (
        "deeply nested config, through a model",
        lambda: RPN([3, 2], expansion=_deep_composite()),
        ValueError,
        r"`expansion` is nested more than 64 levels deep",
    ),
    # Defect 4: an empty head list (before: accepted, IndexError later).
    ("heads empty", lambda: RPNLayer(4, heads=[]), ValueError, r"heads=\[\]"),
    # Defect 5: sizes computed in Python at build (before: the backend overflowed or
    # aborted the process).
    (
        "units too large for the kernel",
        lambda: RPNHead(10**9).build((None, 5)),
        ValueError,
        r"kernel .* 5,000,000,000 elements.*fewer `units`.*units=1000000000",
    ),
    (
        "Taylor D(m) too large",
        lambda: RPNHead(2, expansion={"class_name": "taylor", "config": {"d": 12}}).build(
            (None, 40)
        ),
        ValueError,
        r"expansion width D\(m\) .* is 17,207,401,025,641,025,640 elements.*lower expansion "
        r"order.*expansion=\{'class_name': 'TaylorExpansion', 'config': \{'d': 12.*m=40",
    ),
    (
        "linear remainder too large",
        lambda: RPNHead(
            10**9, reconciliation={"class_name": "lorr", "config": {"r": 1}}, remainder="linear"
        ).build((None, 5)),
        ValueError,
        r"remainder kernel .* 5,000,000,000 elements.*units=1000000000, m=5",
    ),
    (
        "channels too many",
        lambda: RPNHead(1000, channels=10**6).build((None, 5)),
        ValueError,
        r"5,000,000,000 elements.*channels=1000000",
    ),
    (
        "Kronecker p does not divide n",
        lambda: RPNHead(4, reconciliation={"class_name": "hm", "config": {"p": 3}})(X5),
        ValueError,
        r"`p` must divide n = 4\. Received: p=3",
    ),
    (
        "Kronecker q does not divide D",
        lambda: RPNHead(4, reconciliation={"class_name": "dual_lphm", "config": {"p": 2, "q": 3}})(
            X5
        ),
        ValueError,
        r"`q` must divide D = 5\. Received: q=3",
    ),
    (
        "LPHM rank too large",
        lambda: RPNHead(3, reconciliation={"class_name": "lphm", "config": {"r": 9}})(X5),
        ValueError,
        r"r=9",
    ),
    (
        "negative polynomial order",
        lambda: keras_rpn.expansions.get({"class_name": "chebyshev", "config": {"d": -1}}),
        ValueError,
        r"d=-1",
    ),
    (
        "masking probability out of range",
        lambda: keras_rpn.reconciliations.get({"class_name": "masking", "config": {"p": 1.5}}),
        ValueError,
        r"p=1\.5",
    ),
    (
        "RBF range reversed",
        lambda: keras_rpn.expansions.get(
            {"class_name": "gaussian_rbf", "config": {"base_range": (1, -1)}}
        ),
        ValueError,
        r"base_range=\(1, -1\)",
    ),
    (
        "NaN hyper-parameter",
        lambda: keras_rpn.expansions.BSplineExpansion(grid_range=(float("nan"), 1.0)),
        ValueError,
        r"grid_range\[0\]=nan",
    ),
]


def _deep_composite(depth=3000):
    config = {"class_name": "taylor"}
    for _ in range(depth):
        config = {"class_name": "extended", "config": {"composition_functions": [config]}}
    return config


def _deep_list(depth=5000):
    value = 1
    for _ in range(depth):
        value = [value]
    return value


def _call_built(layer, shape, build_shape=None):
    """Builds `layer` (on `build_shape` if given), then calls it on zeros of `shape`."""
    if build_shape is not None:
        layer(np.zeros(build_shape, "float32"))
    return layer(np.zeros(shape, "float32"))


def _call_twice():
    head = RPNHead(3)
    head(X5)
    head(np.zeros((2, 4), "float32"))


@pytest.mark.parametrize("make,error,pattern", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_refused_clearly(make, error, pattern):
    with pytest.raises(error, match=pattern):
        make()


def test_lambda_activation_warns_then_refuses_to_save(tmp_path):
    with pytest.warns(UserWarning, match="cannot be saved.*register_keras_serializable"):
        model = RPN([5, 3], activation=lambda v: v, output_activation=lambda v: 2 * v)
    model(X5)
    with pytest.raises(ValueError, match="Cannot serialise `(output_)?activation`=.*lambda"):
        model.save(str(tmp_path / "m.keras"))


# Issue 11, defect 7: tinyBIG config import (`keras_rpn.config`).


def _tinybig_config(m=5, n=3, head_parameters=None, rank=None):
    reconciliation = {"function_class": "tinybig.reconciliation.identity_reconciliation"}
    if rank is not None:
        reconciliation = {
            "function_class": "tinybig.reconciliation.lorr_reconciliation",
            "function_parameters": {"r": rank},
        }
    head = {
        "data_transformation_configs": {"function_class": "tinybig.expansion.identity_expansion"},
        "parameter_fabrication_configs": reconciliation,
        **(head_parameters or {}),
    }
    layer = {"m": m, "n": n, "head_configs": [{"head_parameters": head}]}
    return {"model_configs": {"model_parameters": {"layer_configs": [{"layer_parameters": layer}]}}}


def _bias(value):
    config = _tinybig_config()
    head = config["model_configs"]["model_parameters"]["layer_configs"][0]["layer_parameters"]
    head["head_configs"][0]["head_parameters"]["parameter_fabrication_configs"][
        "function_parameters"
    ] = {"enable_bias": value}
    return config


ALIAS_BOMB = "\n".join(
    ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    + [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]" for i in range(8)]
)

CONFIG_CASES = [
    # (id, config, exception type, message pattern)
    (
        "YAML alias bomb",
        ALIAS_BOMB,
        ValueError,
        r"expands to more than 100,000 nodes .* line \d+, column \d+",
    ),
    (
        "enable_bias as a string",
        _bias("false"),
        ValueError,
        r"`enable_bias` must be a boolean .* Received: enable_bias='false'",
    ),
    (
        "m fractional",
        _tinybig_config(m=4.7),
        ValueError,
        r"layer_configs\[0\]: `m` must be an integer, not a fraction\. Received: m=4\.7",
    ),
    (
        "m a word",
        _tinybig_config(m="four"),
        ValueError,
        r"layer_configs\[0\]: `m` must be an integer\. Received: m='four'",
    ),
    (
        "channel_num fractional",
        _tinybig_config(head_parameters={"channel_num": 2.9}),
        ValueError,
        r"head_configs\[0\]: `channel_num` must be an integer, not a fraction\. "
        r"Received: channel_num=2\.9",
    ),
    (
        "malformed YAML string",
        "model_configs:\n  model_parameters: [1, 2\n  x: {",
        ValueError,
        r"Malformed YAML in the configuration string, line \d+, column \d+",
    ),
    (
        "missing file",
        "configs/no_such_model.yaml",
        ValueError,
        r"No configuration file at 'configs/no_such_model\.yaml'",
    ),
]


@pytest.mark.parametrize(
    "config,error,pattern", [c[1:] for c in CONFIG_CASES], ids=[c[0] for c in CONFIG_CASES]
)
def test_bad_tinybig_configs_are_refused_clearly(config, error, pattern):
    pytest.importorskip("yaml", reason="YAML input needs the optional pyyaml")
    from keras_rpn.config import from_tinybig

    with pytest.raises(error, match=pattern) as info:
        from_tinybig(config)
    assert len(str(info.value)) < 1000  # never the whole (expanded) config


def test_bad_tinybig_config_files_name_file_line_and_column(tmp_path):
    pytest.importorskip("yaml", reason="YAML input needs the optional pyyaml")
    from keras_rpn.config import load_config

    bad = tmp_path / "bad.yaml"
    bad.write_text("model_configs:\n  model_class: tinybig.model.rpn\n   oops: [\n")
    with pytest.raises(ValueError, match=rf"Malformed YAML in {re.escape(str(bad))}, line 3, "):
        load_config(str(bad))
    bad_json = tmp_path / "bad.json"
    bad_json.write_text('{"model_configs": {"a": 1,}}')
    with pytest.raises(ValueError, match=r"Malformed JSON in .*bad\.json, line 1, column 27"):
        load_config(bad_json)
    with pytest.raises(ValueError, match=r"No configuration file at .*missing\.yaml"):
        load_config(tmp_path / "missing.yaml")


def test_tinybig_lorr_rank_above_min_n_d_imports_with_a_warning():
    """tinyBIG's published SST-2 config: lorr with r=5 on a 32 -> 2 layer."""
    from keras_rpn.config import from_tinybig

    with pytest.warns(UserWarning, match=r"r=5 exceeds min\(n, D\) = 2"):
        model = from_tinybig(_tinybig_config(m=32, n=2, rank=5))
    assert model.count_params() == 5 * (2 + 32)
