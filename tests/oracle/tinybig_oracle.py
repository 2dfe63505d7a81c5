"""Runs tinyBIG 0.2.1 as a black box and writes what it computes (the parity oracle).

This script runs under the *tinyBIG* virtual environment (see `make_venv.py`), never
inside keras_rpn: keras_rpn's tests start it as a subprocess, hand it a batch of jobs and
read back tinyBIG's outputs. It depends on torch, numpy and tinybig only.

Usage:

    python tinybig_oracle.py REQUEST.npz RESPONSE.npz
    python tinybig_oracle.py - RESPONSE.npz     # the request's bytes come on stdin
    python tinybig_oracle.py --version          # prints versions as JSON, exit 0

With `-`, tinybig is imported before stdin is read, so a caller can start the oracle
first and write the request while tinybig loads.

Protocol (version 1)
--------------------
REQUEST.npz holds the input arrays by name, plus `__request__`: a JSON document (a 0-d
unicode array) of the form

    {"protocol": 1, "jobs": [JOB, ...]}

Every JOB has an `"id"` (unique string), a `"kind"`, an optional `"dtype"` (`"float64"`,
the default, or `"float32"`: the torch default dtype and the dtype of every array handed
to tinyBIG) and an optional `"seed"` (torch seed set before the job, default 0).
Arrays are named by strings that are keys of REQUEST.npz. `"class"` is a class name that
the family's package exports (`"taylor_expansion"`) or `"module.class"` below it
(`"basic_remainder.one_remainder"`). Kinds:

* `expansion`: `{"class", "kwargs", "x", "ms"}`: `tinybig.expansion.<class>(**kwargs)`.
  Returns scalars `D_of_m` (`{str(m'): calculate_D(m')}` for every `m'` in the optional
  list `ms`, each asked of a new object) and, when `x` (b, m) is given, the expansion
  of `x` as array `y`. With `"flatten_lists": true`, an output given as Python lists
  `y[r][i]` (per degree r, per sample i, as combinatorial_expansion returns) becomes the
  (b, D) array whose row i is the concatenation of the flattened `y[r][i]`.
* `reconciliation`: `{"class", "kwargs", "shapes", "n", "D", "w" | "w_pool"}`: returns
  scalars `l_of` (`{"n,D": calculate_l(n, D)}` for every `[n, D]` in the optional list
  `shapes`, each asked of a new object) and, when `n`, `D` and parameters are given,
  scalar `l` and array `W`, the (n, D) matrix (densified if tinyBIG returns a sparse
  tensor). The parameters are `w` (shape (1, l)), or the first `l` entries of the 1-D
  array `w_pool` (so a caller need not know `l`).
* `remainder`: `{"class", "kwargs", "n", "m", "x", "w", "b"}`: the remainder applied to
  `x` with parameters `w` (tinyBIG layout (n, m)) and `b` (n,), both optional. Returns
  array `y` (a remainder that returns one row is broadcast to the batch).
* `fusion`: `{"class", "kwargs", "dims", "xs", "w" | "w_pool", "w_rank"}`: returns scalars
  `n` (`calculate_n(dims)`) and `l` (`calculate_l()`), with `dims` the given list or the
  widths of `xs`; when the list of arrays `xs` (each (b, n_k)) is given, array `y`, the
  fusion of `xs` with the parameters `w`, or the first `l` entries of `w_pool` shaped
  (1, l) (`w_rank` 2, the default) or (l,) (`w_rank` 1).
* `head`: `{"m", "n", "channels", "expansion", "reconciliation", "remainder",
  "channel_fusion", "x", "params"}`: a `tinybig.module.rpn_head`; each component is
  `{"class", "kwargs"}` or null (`channel_fusion` null keeps tinyBIG's default). `params`
  maps head parameter names (`w` (C, l), `b` (n,), `w_remainder` (n, m), `b_remainder`
  (n,), `w_channel_fusion` (1, l_F)) to arrays; every parameter tinyBIG creates must be
  given, with tinyBIG's shape. Returns scalars `l` (per channel), `num_params` (all head
  parameters) and `param_shapes` and, when `x` is given, array `y`.
* `interdependence`: `{"class", "kwargs", "x", "w"}`: `tinybig.interdependence.<class>(**kwargs)`;
  returns array `A`, its `calculate_A(x=x, w=w)` (x (b, m) optional: data-free
  functions; w (1, l) optional: parameterised functions).

Values inside `kwargs` are JSON, with these tagged objects decoded first:
`{"$array": NAME}` -> torch tensor; `{"$tuple": [...]}` -> tuple;
`{"$ref": "dotted.name"}` -> that object (e.g. `"torch.nn.functional.silu"`);
`{"$call": "dotted.name", "args": [...], "kwargs": {...}}` -> the result of calling it
(e.g. `{"$call": "torch.nn.SiLU"}`).

RESPONSE.npz holds `__response__`, a JSON document

    {"protocol": 1, "versions": {...}, "jobs": {ID: {"ok": true, "scalars": {...}} |
                                                 {"ok": false, "error": "..."}}}

and the arrays of job ID under the keys `"ID::NAME"`. A job that raises is reported
with `ok: false` and does not stop the other jobs; a malformed request exits non-zero.
Everything tinyBIG prints goes to stderr.
"""

import contextlib
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import io
import json
import sys
import traceback
import types

PROTOCOL = 1

# Top-level packages that tinyBIG imports only for its data loaders, downloads and plots,
# which the oracle never uses. They are replaced by empty placeholder modules when they are
# missing (torchvision/torchtext cannot be installed beside a current torch; `requests`
# and `matplotlib` are not worth installing). `tinybig.data` itself is always replaced: one
# of its modules uses Python 3.12 f-string syntax and it imports the missing packages.
_OPTIONAL_PACKAGES = ("torchvision", "torchtext", "torchdata", "requests", "matplotlib")
_ALWAYS_PLACEHOLDER = ("tinybig.data",)


class _Placeholder(types.ModuleType):
    """A module whose every public attribute is a do-nothing class."""

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        value = type(name, (), {"__init__": lambda self, *args, **kwargs: None})
        setattr(self, name, value)
        return value


class _PlaceholderImporter(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def __init__(self, roots):
        self.roots = tuple(roots)

    def _covers(self, fullname):
        return any(fullname == root or fullname.startswith(root + ".") for root in self.roots)

    def find_spec(self, fullname, path=None, target=None):
        if self._covers(fullname):
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec):
        module = _Placeholder(spec.name)
        module.__path__ = []
        return module

    def exec_module(self, module):
        return None


def _missing(package):
    try:
        return importlib.util.find_spec(package) is None
    except (ImportError, ValueError):
        return True


def load_tinybig():
    """Imports tinybig with placeholders for the modules it cannot import here."""
    roots = list(_ALWAYS_PLACEHOLDER) + [p for p in _OPTIONAL_PACKAGES if _missing(p)]
    sys.meta_path.insert(0, _PlaceholderImporter(roots))
    with contextlib.redirect_stdout(sys.stderr):
        import tinybig  # noqa: F401
        import tinybig.expansion  # noqa: F401
        import tinybig.fusion  # noqa: F401
        import tinybig.interdependence  # noqa: F401
        import tinybig.module  # noqa: F401
        import tinybig.reconciliation  # noqa: F401
        import tinybig.remainder  # noqa: F401
    return sys.modules["tinybig"]


def versions():
    import numpy
    import torch

    try:
        from importlib.metadata import version

        tinybig_version = version("tinybig")
    except Exception:  # noqa: BLE001
        tinybig_version = None
    return {
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "tinybig": tinybig_version,
    }


def _resolve(dotted):
    module_name, _, attr = dotted.rpartition(".")
    return getattr(importlib.import_module(module_name), attr)


class Job:
    """One job of a request: decodes its values and collects its outputs."""

    def __init__(self, spec, arrays):
        import torch

        self.spec = spec
        self.arrays = arrays
        self.dtype = {"float64": torch.float64, "float32": torch.float32}[
            spec.get("dtype", "float64")
        ]
        self.out_arrays = {}
        self.scalars = {}

    def tensor(self, name):
        import torch

        if name is None:
            return None
        if name not in self.arrays:
            raise KeyError(f"array {name!r} is not in the request")
        # A copy: tinyBIG may write into its input (reciprocal_expansion does).
        return torch.tensor(self.arrays[name], dtype=self.dtype)

    def decode(self, value):
        if isinstance(value, list):
            return [self.decode(v) for v in value]
        if not isinstance(value, dict):
            return value
        if "$array" in value:
            return self.tensor(value["$array"])
        if "$tuple" in value:
            return tuple(self.decode(v) for v in value["$tuple"])
        if "$ref" in value:
            return _resolve(value["$ref"])
        if "$call" in value:
            args = self.decode(value.get("args", []))
            kwargs = self.decode(value.get("kwargs", {}))
            return _resolve(value["$call"])(*args, **kwargs)
        return {k: self.decode(v) for k, v in value.items()}

    def component(self, package, spec):
        if spec is None:
            return None
        name = spec["class"]
        if "." in name:  # a class the package does not export: "module.class"
            cls = _resolve(f"{package.__name__}.{name}")
        else:
            cls = getattr(package, name)
        return cls(**self.decode(spec.get("kwargs", {})))

    def put(self, name, value):
        import torch

        if isinstance(value, torch.Tensor):
            if value.is_sparse:
                value = value.to_dense()
            self.out_arrays[name] = value.detach().cpu().numpy()
        else:
            raise TypeError(f"tinyBIG returned {type(value).__name__} for {name!r}, not a tensor")


def run_expansion(job, tinybig):
    spec = job.spec
    # A fresh object for each question: some tinyBIG functions fix their shapes lazily
    # on first use (hm_reconciliation's p and q, for instance).
    job.scalars["D_of_m"] = {
        str(m): int(job.component(tinybig.expansion, spec).calculate_D(m=m))
        for m in spec.get("ms", [])
    }
    if spec.get("x") is not None:
        kappa = job.component(tinybig.expansion, spec)
        y = kappa(job.tensor(spec["x"]))
        if spec.get("flatten_lists") and isinstance(y, (list, tuple)):
            y = _flatten_degree_lists(y)
        job.put("y", y)


def _flatten_degree_lists(y):
    """`y[r][i]` (degree r, sample i, any shape) -> rows `[flat y[0][i], flat y[1][i], ...]`."""
    import torch

    rows = []
    for i in range(len(y[0])):
        rows.append(torch.cat([torch.as_tensor(degree[i]).reshape(-1) for degree in y]))
    return torch.stack(rows)


def _pooled(job, count, rank):
    pool = job.tensor(job.spec["w_pool"]).reshape(-1)
    if pool.numel() < count:
        raise ValueError(f"w_pool has {pool.numel()} entries, {count} are needed")
    return pool[:count].reshape((1, -1) if rank == 2 else (-1,))


def run_reconciliation(job, tinybig):
    spec = job.spec
    job.scalars["l_of"] = {
        f"{n},{D}": int(job.component(tinybig.reconciliation, spec).calculate_l(n=n, D=D))
        for n, D in spec.get("shapes", [])
    }
    if spec.get("n") is None:
        return
    psi = job.component(tinybig.reconciliation, spec)
    n, D = int(spec["n"]), int(spec["D"])
    job.scalars["l"] = count = int(psi.calculate_l(n=n, D=D))
    w = _pooled(job, count, 2) if spec.get("w_pool") is not None else job.tensor(spec.get("w"))
    job.put("W", psi(w=w, n=n, D=D))


def run_remainder(job, tinybig):
    spec = job.spec
    pi = job.component(tinybig.remainder, spec)
    n, m = int(spec["n"]), int(spec["m"])
    x = job.tensor(spec["x"])
    y = pi(x=x, w=job.tensor(spec.get("w")), b=job.tensor(spec.get("b")), m=m, n=n)
    if y is not None and y.ndim == 1:  # a constant remainder returns one row
        y = y.expand(x.shape[0], -1)
    job.put("y", y)


def run_fusion(job, tinybig):
    spec = job.spec
    fuse = job.component(tinybig.fusion, spec)
    xs = [job.tensor(name) for name in spec.get("xs", [])]
    dims = spec.get("dims") or [t.shape[-1] for t in xs]
    job.scalars["n"] = int(fuse.calculate_n(dims=list(dims)))
    job.scalars["l"] = count = int(fuse.calculate_l())
    if not xs:
        return
    if spec.get("w_pool") is not None:
        w = _pooled(job, count, int(spec.get("w_rank", 2)))
    else:
        w = job.tensor(spec.get("w"))
    job.put("y", fuse(x=xs, w=w))


def _describe(error):
    """`Type: message (at file:line: source)` of the innermost frame that raised."""
    detail = traceback.format_exception_only(type(error), error)[-1].strip()
    frames = traceback.extract_tb(error.__traceback__)
    if frames:
        last = frames[-1]
        where = "/".join(last.filename.replace("\\", "/").split("/")[-2:])
        detail += f" (at {where}:{last.lineno}: {(last.line or '').strip()})"
    return detail


def run_interdependence(job, tinybig):
    xi = job.component(tinybig.interdependence, job.spec)
    w = job.tensor(job.spec.get("w"))
    kwargs = {} if w is None else {"w": w}
    job.put("A", xi.calculate_A(x=job.tensor(job.spec.get("x")), **kwargs))


_HEAD_PARAMS = ("w", "b", "w_remainder", "b_remainder", "w_channel_fusion")


def run_head(job, tinybig):
    import torch

    spec = job.spec
    kwargs = dict(
        m=int(spec["m"]),
        n=int(spec["n"]),
        channel_num=int(spec.get("channels", 1)),
        data_transformation=job.component(tinybig.expansion, spec["expansion"]),
        parameter_fabrication=job.component(tinybig.reconciliation, spec.get("reconciliation")),
        remainder=job.component(tinybig.remainder, spec.get("remainder")),
    )
    if spec.get("channel_fusion") is not None:
        kwargs["channel_fusion"] = job.component(tinybig.fusion, spec["channel_fusion"])
    head = tinybig.module.rpn_head(**kwargs)
    given = dict(spec.get("params", {}))
    shapes = {}
    for name in _HEAD_PARAMS:
        current = getattr(head, name, None)
        if current is None:
            if given.get(name) is not None:
                raise ValueError(f"tinyBIG's head has no parameter {name!r}, but it was given")
            continue
        shapes[name] = list(current.shape)
        if given.get(name) is None:
            raise ValueError(
                f"tinyBIG's head has parameter {name!r} of shape {list(current.shape)}; "
                "the request must give it"
            )
        value = job.tensor(given[name])
        if tuple(value.shape) != tuple(current.shape):
            raise ValueError(
                f"parameter {name!r}: tinyBIG's shape is {list(current.shape)}, "
                f"the request gives {list(value.shape)}"
            )
        setattr(head, name, torch.nn.Parameter(value))
    job.scalars["l"] = int(head.l) if head.l is not None else None
    job.scalars["num_params"] = int(sum(p.numel() for p in head.parameters()))
    job.scalars["param_shapes"] = shapes
    if spec.get("x") is not None:
        job.put("y", head(job.tensor(spec["x"])))


RUNNERS = {
    "expansion": run_expansion,
    "reconciliation": run_reconciliation,
    "remainder": run_remainder,
    "fusion": run_fusion,
    "head": run_head,
    "interdependence": run_interdependence,
}


def serve(request_path, response_path):
    import numpy as np
    import torch

    tinybig = load_tinybig()
    source = io.BytesIO(sys.stdin.buffer.read()) if request_path == "-" else request_path
    with np.load(source, allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    request = json.loads(str(arrays.pop("__request__")))
    if request.get("protocol") != PROTOCOL:
        raise SystemExit(f"unsupported protocol {request.get('protocol')!r} (want {PROTOCOL})")
    results, out = {}, {}
    for spec in request["jobs"]:
        job_id, kind = spec["id"], spec["kind"]
        if job_id in results:
            raise SystemExit(f"duplicate job id {job_id!r}")
        try:
            if "::" in job_id:
                raise ValueError("a job id must not contain '::'")
            job = Job(spec, arrays)
            torch.manual_seed(int(spec.get("seed", 0)))
            torch.set_default_dtype(job.dtype)
            with contextlib.redirect_stdout(sys.stderr), torch.no_grad():
                RUNNERS[kind](job, tinybig)
        except Exception as error:  # noqa: BLE001 - reported per job
            results[job_id] = {"ok": False, "error": f"{kind}: {_describe(error)}"}
            continue
        finally:
            torch.set_default_dtype(torch.float32)
        results[job_id] = {"ok": True, "scalars": job.scalars}
        for name, value in job.out_arrays.items():
            out[f"{job_id}::{name}"] = value
    response = {"protocol": PROTOCOL, "versions": versions(), "jobs": results}
    out["__response__"] = np.array(json.dumps(response))
    np.savez(response_path, **out)


def main(argv):
    if argv[1:] == ["--version"]:
        load_tinybig()
        print(json.dumps(versions()))
        return 0
    if len(argv) != 3:
        print(__doc__.split("Protocol")[0].strip(), file=sys.stderr)
        return 2
    serve(argv[1], argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
