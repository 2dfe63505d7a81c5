"""Structured interdependence ops against the dense matrices they replace.

Each pair applies the same constant (or learned) matrix `A` to the same tensor: once
as keras_rpn applies it (a shifted add, a sparse gather, patch extraction, a
precomputed inverse, a reconciliation's factored contraction) and once as a dense
product with `A` (tinyBIG's way: `A^T Z` or `X A` with the full matrix). Forward time
only, compiled (jax.jit on JAX, XLA on TensorFlow, eager on torch), median of
`--repeats` calls after warm-up.

    KERAS_BACKEND=jax python benchmarks/interdependence.py [--repeats 10] [--threads 1]
    KERAS_BACKEND=jax python benchmarks/interdependence.py --threads 1 --sweep

Cases (batch 8, 32 features per instance):

* `chain`: a chain over N = 1024 tokens (banded: 2 shifted slices);
* `multihop_chain`: 3 hops, bi-directional (7 shifted slices);
* `graph`: a random graph, N = 2048 nodes, 4 links per node, undirected, GCN
  normalisation (sparse: padded per-target source lists);
* `pagerank`: PageRank over a 512-node graph: the inverse computed once at build and
  applied as a dense product, against inverting `I - (1 - c) A` in every call;
* `geometric`: 3x3 patches of a 32 x 32 grid with 16 channels (patch extraction
  against the `1024 x 9216` 0/1 padding matrix);
* `lowrank`, `lphm`, `dual_lphm`: parameterised attribute mixing of 512 features
  through the reconciliation's contraction against the `512 x 512` matrix.

`--sweep` measures the sparse layouts against the dense product over graph sizes and
in-degrees, the measurement behind `GATHER_COST` and `SCATTER_COST` in
`keras_rpn/interdependence/structured.py`.
"""

import argparse
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--sweep", action="store_true", help="sparse vs dense cost sweep")
    parser.add_argument("--threads", type=int, default=0, help="0: library default")
    args = parser.parse_args()
    if args.threads:
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS"):
            os.environ[var] = str(args.threads)
        os.environ["TF_NUM_INTEROP_THREADS"] = str(args.threads)
        os.environ["XLA_FLAGS"] = (
            "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
        )

    import keras
    import numpy as np
    from keras import ops

    from keras_rpn import interdependence

    backend = keras.backend.backend()
    if backend == "torch" and args.threads:
        import torch

        torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)

    def compiled(fn):
        if backend == "jax":
            import jax

            return jax.jit(fn)
        if backend == "tensorflow":
            import tensorflow as tf

            return tf.function(fn, jit_compile=True)
        return fn

    def timed(fn, *inputs):
        fn = compiled(fn)
        for _ in range(3):
            out = fn(*inputs)
        ops.convert_to_numpy(out)
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            out = fn(*inputs)
            ops.convert_to_numpy(out)
            times.append(time.perf_counter() - start)
        return statistics.median(times) * 1e3

    def dense_instance(a):
        a = ops.convert_to_tensor(a.astype("float32"))
        return lambda z: ops.einsum("nk,bnf->bkf", a, z)

    rows = []

    def case(name, xi, x, dense_fn, what):
        z = ops.convert_to_tensor(x)
        ours = timed(lambda t: xi(t), z)
        dense = timed(dense_fn, z)
        err = float(np.max(np.abs(ops.convert_to_numpy(xi(z)) - ops.convert_to_numpy(dense_fn(z)))))
        rows.append((name, what, ours, dense, err))

    if args.sweep:
        return sweep(rng, timed, backend, args)

    x = rng.normal(size=(8, 1024, 32)).astype("float32")
    xi = interdependence.get("chain")
    xi.build(x.shape)
    case("chain", xi, x, dense_instance(xi.op.a), f"{xi.op.kind}, N=1024")
    xi = interdependence.get("multihop_chain", h=3, bi_directional=True)
    xi.build(x.shape)
    case("multihop_chain", xi, x, dense_instance(xi.op.a), f"{xi.op.kind}, 7 bands")

    n = 2048
    links = [(i, int(j)) for i in range(n) for j in rng.choice(n, 4, replace=False)]
    xg = rng.normal(size=(8, n, 32)).astype("float32")
    xi = interdependence.get(
        "graph",
        links=links,
        directed=False,
        self_dependence=True,
        normalization=True,
        normalization_mode="symmetric",
    )
    xi.build(xg.shape)
    layout = "source lists" if xi.op.ell is not None else "COO"
    case(
        "graph",
        xi,
        xg,
        dense_instance(xi.op.a),
        f"{xi.op.kind} ({layout}), {len(xi.op.values)} entries",
    )

    n = 512
    links = [(i, int(j)) for i in range(n) for j in rng.choice(n, 4, replace=False)]
    xp = rng.normal(size=(8, n, 32)).astype("float32")
    xi = interdependence.get(
        "pagerank", links=links, normalization=True, normalization_mode="column"
    )
    xi.build(xp.shape)
    graph = interdependence.get(
        "graph", links=links, normalization=True, normalization_mode="column"
    )
    graph.build(xp.shape)
    a_graph = ops.convert_to_tensor((1.0 - xi.c) * graph.op.a.astype("float32"))
    eye = ops.eye(n)

    def pagerank_per_call(t):  # the inverse in the graph, every call
        a = xi.c * ops.inv(eye - a_graph)
        return ops.einsum("nk,bnf->bkf", a, t)

    case("pagerank", xi, xp, pagerank_per_call, f"inverse at build, N={n}")

    grid = rng.normal(size=(8, 32 * 32, 16)).astype("float32")
    xi = interdependence.get("cuboid_patch", h=32, w=32)
    xi.build(grid.shape)
    a = ops.convert_to_tensor(ops.convert_to_numpy(xi.matrix()))
    k, num_patches = xi.patch_size, len(xi.index)

    def dense_patches(t):  # tinyBIG: channel-major (b C, hwd) @ A, then (b, P, C k)
        flat = ops.reshape(ops.transpose(t, (0, 2, 1)), (-1, 32 * 32)) @ a
        flat = ops.reshape(flat, (-1, 16, num_patches, k))
        return ops.reshape(ops.transpose(flat, (0, 2, 1, 3)), (-1, num_patches, 16 * k))

    case("geometric", xi, grid, dense_patches, f"patch extraction, A {tuple(a.shape)}")

    xl = rng.normal(size=(8, 64, 512)).astype("float32")
    for name, kwargs, what in (
        ("lowrank_parameterized", {"r": 4}, "rank 4"),
        ("lphm_parameterized", {"r": 4, "p": 8, "q": 8}, "r 4, p = q = 8"),
        ("dual_lphm_parameterized", {"r": 4, "p": 8, "q": 8}, "r 4, p = q = 8"),
    ):
        xi = interdependence.get(name, **kwargs)
        xi.build(xl.shape)
        a_full = ops.convert_to_tensor(ops.convert_to_numpy(xi.matrix()))
        case(
            name.replace("_parameterized", ""),
            xi,
            xl,
            lambda t, a=a_full: ops.matmul(t, a),
            f"{what}, m=512",
        )

    print(f"backend {backend}, batch 8, forward, median of {args.repeats} (ms)\n")
    print("| op | structure | keras_rpn (ms) | dense matrix (ms) | speed-up | max abs diff |")
    print("|---|---|---|---|---|---|")
    for name, what, ours, dense, err in rows:
        print(f"| {name} | {what} | {ours:.2f} | {dense:.2f} | {dense / ours:.1f}x | {err:.1e} |")


def sweep(rng, timed, backend, args):
    """Sparse (both layouts) against dense over graph sizes and in-degrees."""
    import numpy as np
    from keras import ops

    from keras_rpn.interdependence.structured import MatrixOp
    from keras_rpn.interdependence.structured import choose_kind

    print(
        f"backend {backend}, (8, N, 16) inputs, random graphs of even in-degree, forward "
        f"median of {args.repeats} (ms)\n"
    )
    print("| N | in-degree | source lists | COO segment_sum | dense | auto picks |")
    print("|---|---|---|---|---|---|")
    for n in (128, 512, 2048):
        z = ops.convert_to_tensor(rng.normal(size=(8, n, 16)).astype("float32"))
        for degree in (2, 8, 32):
            a = np.zeros((n, n))
            for j in range(n):  # in-degree `degree` for every target
                a[rng.choice(n, degree, replace=False), j] = 1.0
            lists, coo, dense = MatrixOp(a, "sparse"), MatrixOp(a, "sparse"), MatrixOp(a, "dense")
            coo.ell = None
            t = [timed(op, z) for op in (lists, coo, dense)]
            print(f"| {n} | {degree} | {t[0]:.2f} | {t[1]:.2f} | {t[2]:.2f} | {choose_kind(a)} |")


if __name__ == "__main__":
    main()
