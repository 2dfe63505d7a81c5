"""Writes docs/functions.md, the function catalogue, from keras_rpn's registries.

Run it after adding or changing a function:

    python docs/gen_catalogue.py

It is also an mkdocs hook (see mkdocs.yml): `mkdocs build` regenerates the page from the
installed keras_rpn when it can be imported (with any Keras backend: nothing is
computed, only the registries and docstrings are read), so the published catalogue
matches the code; otherwise the committed page is used.
"""

import inspect
import os
import re
import sys

FAMILIES = [
    ("expansions", "Expansions (kappa: R^m -> R^D)", "D(m)", "_expansion"),
    ("compressions", "Compressions (kappa: R^m -> R^D, D < m)", "D(m)", "_compression"),
    ("reconciliations", "Reconciliations (psi: R^l -> R^{n x D})", "l(n, D)", "_reconciliation"),
    ("remainders", "Remainders (pi: R^m -> R^n)", "", "_remainder"),
    ("fusions", "Fusions (channels and heads)", "l", "_fusion"),
    ("interdependence", "Interdependence functions (xi_a: X A, xi_i: A^T Z)", "", "_interdependence"),
]
_SKIPPED_ARGS = (
    "self",
    "name",
    "dtype",
    "preprocessing",
    "postprocessing",
    "activity_regularizer",
    "trainable",
    "autocast",
)

HEADER = """# Function catalogue

Every function keras_rpn offers, by family, generated from the registries and the class
docstrings by `docs/gen_catalogue.py` (do not edit by hand). A function is given to a
head, layer or model by any of its names, e.g. `expansion="bspline"`, by a config dict
`{"class_name": "bspline", "config": {"t": 8}}`, or as an instance
(`keras_rpn.expansions.BSplineExpansion(t=8)`). The *tinyBIG name* is the class name
`keras_rpn.config.from_tinybig` maps from (`tinybig.expansion.bspline_expansion`).

Hyper-parameters are the constructor arguments with their defaults; every class also
takes Keras' `name` and `dtype`, and every expansion `preprocessing` and
`postprocessing` (Keras layers run before and after it, e.g. `"layer_norm"`). The full
docstrings, with formulas, are in the [API reference](api.md).
"""


def _names(registry, cls):
    return [n for n, c in registry._classes.items() if c is cls and n != cls.__name__]


def _signature(cls):
    """Constructor arguments of `cls` and of the keras_rpn bases it passes `**kwargs` to."""
    params, seen, fixed = [], set(), set()
    for klass in cls.__mro__:
        if "__init__" not in klass.__dict__ or not klass.__module__.startswith("keras_rpn"):
            continue
        init = klass.__dict__["__init__"]
        signature = inspect.signature(init)
        for p in signature.parameters.values():
            if p.name in _SKIPPED_ARGS or p.name in seen or p.name in fixed:
                continue
            if p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
                continue
            seen.add(p.name)
            params.append(p.name if p.default is p.empty else f"{p.name}={p.default!r}")
        if not any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values()):
            break
        fixed |= _fixed_by_super_call(init)
    return ", ".join(params) if params else "none"


def _fixed_by_super_call(init):
    """Arguments an `__init__` sets itself in its `super().__init__(...)` call (`c=0.0`)."""
    try:
        source = inspect.getsource(init)
    except (OSError, TypeError):
        return set()
    match = re.search(r"super\(\)\.__init__\((.*?)\)\n", source, re.S)
    if not match:
        return set()
    pairs = re.findall(r"(\w+)\s*=\s*([^,\n]+)", match.group(1))
    return {name for name, value in pairs if value.strip() != name}


def _summary(cls):
    doc = inspect.getdoc(cls) or ""
    first = doc.strip().split("\n\n")[0].replace("\n", " ").strip()
    return first


def _dimension(cls, key):
    """The line of the docstring's formula block giving `key` (e.g. `D(m) = m d`)."""
    if not key:
        return ""
    doc = inspect.getdoc(cls) or ""
    pattern = re.escape(key) if key != "l" else r"\bl\b"
    for line in doc.splitlines():
        if re.search(pattern + r"\s*=", line):
            part = line[re.search(pattern + r"\s*=", line).start() :].strip()
            part = re.sub(r"\s{2,}", " ", part.split(",   ")[0].strip())
            return part.rstrip("`.,")
    return ""


def _cell(text):
    return text.replace("|", "\\|")


def catalogue():
    """The Markdown text of the catalogue."""
    import keras_rpn

    lines = [HEADER]
    for module_name, title, dim_key, suffix in FAMILIES:
        module = getattr(keras_rpn, module_name)
        registry = module.base._registry
        classes = []
        for cls in dict.fromkeys(registry._classes.values()):
            if _names(registry, cls):
                classes.append(cls)
        lines.append(f"\n## {title}\n")
        lines.append(f"{len(classes)} functions.\n")
        dim_header = f" {dim_key} |" if dim_key else ""
        lines.append(f"| names | tinyBIG name | hyper-parameters |{dim_header} what it computes |")
        lines.append("|---|---|---|" + ("---|" if dim_key else "") + "---|")
        for cls in classes:
            names = _names(registry, cls)
            tinybig = [n for n in names if n.endswith(suffix)]
            short = [n for n in names if n not in tinybig]
            shown = ", ".join(f"`{n}`" for n in (short or names))
            tb = ", ".join(f"`{n}`" for n in tinybig) or "(keras_rpn only)"
            dim = f" {_cell(_dimension(cls, dim_key))} |" if dim_key else ""
            lines.append(
                f"| {shown} | {tb} | `{_cell(_signature(cls))}` |{dim} {_cell(_summary(cls))} |"
            )
    return "\n".join(lines) + "\n"


# Pages other parts of the project may add or remove; the nav lists those present.
_OPTIONAL_PAGES = {"distribution.md": "Training on several devices"}


def on_config(config):
    """mkdocs hook: lists the optional pages (and every `differences_*.md`) that exist."""
    docs_dir = config["docs_dir"]
    present = set(os.listdir(docs_dir))
    nav = []
    for entry in config["nav"] or []:
        ((title, page),) = entry.items()
        if isinstance(page, str) and (page in _OPTIONAL_PAGES or page.startswith("differences_")):
            if page not in present:
                continue
        nav.append(entry)
    listed = {page for entry in nav for page in entry.values() if isinstance(page, str)}
    extra = sorted(p for p in present if p.startswith("differences_") and p.endswith(".md"))
    after = next((i + 1 for i, e in enumerate(nav) if "migration.md" in e.values()), len(nav))
    for page in reversed([p for p in extra if p not in listed]):
        family = page[len("differences_") : -len(".md")].replace("_", " ")
        nav.insert(after, {f"{family.capitalize()}: differences from tinyBIG": page})
    config["nav"] = nav
    return config


def on_files(files, config):
    """mkdocs hook: replaces docs/functions.md with a freshly generated page."""
    try:
        text = catalogue()
    except Exception as error:  # keras_rpn not importable: keep the committed page
        print(f"gen_catalogue: keeping the committed functions.md ({error})", file=sys.stderr)
        return files
    from mkdocs.structure.files import File

    existing = files.get_file_from_path("functions.md")
    if existing is not None:
        files.remove(existing)
    files.append(File.generated(config, "functions.md", content=text))
    return files


def main():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "functions.md")
    with open(path, "w", encoding="utf-8") as f:
        f.write(catalogue())
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
