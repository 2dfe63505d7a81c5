"""Every docstring example (`>>>`) of the package runs and prints what it shows.

One test per docstring, named by the object's qualified name, on the current backend.
The examples may assume `np`, `keras` and `keras_rpn` imported; anything else they
import themselves. Outputs are shown backend-independently (numpy arrays, tuples,
Python numbers), so the same text passes on TensorFlow, PyTorch and JAX.
"""

import ast
import doctest
import importlib
import os
import pathlib
import pkgutil
import re

import keras
import numpy as np
import pytest

import keras_rpn

os.environ.setdefault("MPLBACKEND", "Agg")  # plotting examples draw off-screen

FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _docstring_examples():
    finder = doctest.DocTestFinder(exclude_empty=True)
    found = {}
    for info in pkgutil.walk_packages(keras_rpn.__path__, "keras_rpn."):
        module = importlib.import_module(info.name)
        for test in finder.find(module, globs={}):
            if test.examples:
                found.setdefault(test.name, test)
    return [found[name] for name in sorted(found)]


EXAMPLES = _docstring_examples()


def test_examples_are_collected():
    # A finder that silently finds nothing would make the test below vacuous.
    assert len(EXAMPLES) >= 140
    assert sum(len(test.examples) for test in EXAMPLES) >= 240


def _bound_names(path):
    """Names a module file binds at top level (imports, definitions, assignments)."""
    names = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
    return names


def _missing_attribute(dotted):
    """The first part of `keras_rpn.a.b...` that `import keras_rpn` alone does not bind."""
    path = pathlib.Path(keras_rpn.__file__).parent
    parts = dotted.split(".")[1:]
    for depth, name in enumerate(parts):
        if not path.is_dir():  # a module: what it defines is there
            return None
        if name not in _bound_names(path / "__init__.py"):
            return ".".join(["keras_rpn"] + parts[: depth + 1])
        path = path / name if (path / name).is_dir() else path / f"{name}.py"
    return None


@pytest.mark.parametrize("test", EXAMPLES, ids=[test.name for test in EXAMPLES])
def test_docstring_example(test):
    # Collecting imported every submodule; a user's `import keras_rpn` does not.
    code = [e.source for e in test.examples if not e.source.startswith(("from ", "import "))]
    paths = re.findall(r"\bkeras_rpn(?:\.\w+)+", "".join(code))
    missing = sorted({m for m in map(_missing_attribute, paths) if m})
    assert not missing, f"not reachable after `import keras_rpn`: {missing}"
    keras.utils.set_random_seed(0)
    test.globs = {"np": np, "keras": keras, "keras_rpn": keras_rpn}
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    report = []
    result = runner.run(test, out=report.append)
    assert result.failed == 0, "".join(report)
