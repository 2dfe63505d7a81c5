"""A new user's first hour: the documented snippets and examples do what they say."""

import ast
import os
import re

import numpy as np
import pytest

ROOT = os.path.join(os.path.dirname(__file__), "..")


def read(*parts):
    with open(os.path.join(ROOT, *parts), encoding="utf-8") as f:
        return f.read()


def test_index_interpretability_snippet_runs_as_written(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib", reason="the snippet plots (the `plot` extra)")
    blocks = re.findall(r"```python\n(.*?)```", read("docs", "index.md"), re.DOTALL)
    (snippet,) = [b for b in blocks if "interpret.plot_functions" in b]
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(snippet, "docs/index.md", "exec"), namespace)
    importance = np.asarray(namespace["importance"])
    assert importance.shape == (3,)
    assert importance[0] > importance[2]  # x_0 drives y, x_2 is unused
    assert os.listdir(tmp_path / "plots") == ["functions_output0.png"]


def _arguments(script):
    """The `--flags` an example's argument parser defines."""
    tree = ast.parse(read("examples", script))
    return {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and getattr(node.func, "attr", None) == "add_argument"
        and isinstance(node.args[0], ast.Constant)
    }


EXAMPLES = sorted(
    f
    for f in os.listdir(os.path.join(ROOT, "examples"))
    if f.endswith(".py") and '__name__ == "__main__"' in read("examples", f)
)


@pytest.mark.parametrize("script", EXAMPLES)
def test_examples_take_the_documented_arguments_and_the_configured_backend(script):
    readme = read("examples", "README.md")
    assert "take\n`--epochs`" in readme or "take `--epochs`" in readme
    rows = [line for line in readme.splitlines() if line.startswith(f"| `{script}`")]
    documented = {"--epochs"} | set(re.findall(r"--[a-z][a-z-]*", " ".join(rows)))
    source = read("examples", script)
    usage = re.findall(r"\[(--[a-z][a-z-]*)", ast.get_docstring(ast.parse(source)) or "")
    assert documented | set(usage) <= _arguments(script)
    # The backend is KERAS_BACKEND or keras.json, as Keras picks it: never forced.
    assert not re.search(r"environ\.setdefault\(\s*\"KERAS_BACKEND\"", source)
    assert not re.search(r"environ\[\"KERAS_BACKEND\"\] = \"", source)


def test_api_reference_includes_every_public_module():
    api = read("docs", "api.md")
    for module in ("keras_rpn.distribution", "keras_rpn.config", "keras_rpn.interpret"):
        assert f"::: {module}" in api


def test_config_exports_only_its_api():
    import keras_rpn.config

    api = set(keras_rpn.config.__all__)
    assert {"from_tinybig", "load_config", "to_tinybig", "to_yaml"} <= api
    # Functions only: no submodules (schema, importer, ...), no private helpers.
    assert all(callable(getattr(keras_rpn.config, name)) for name in api)
    assert not any(name.startswith("_") for name in api)
    namespace = {}
    exec("from keras_rpn.config import *", namespace)
    assert {k for k in namespace if not k.startswith("__")} == api
