"""Structured interdependence ops against the dense matrices they replace.

Each pair applies the same constant (or learned) matrix `A` to the same tensor: once
as keras_rpn applies it (a shifted add, a sparse gather + segment sum, patch
extraction, a low-rank contraction) and once as a dense product with `A` (tinyBIG's
way: `A^T Z` or `X A` with the full matrix). Forward time only, compiled (jax.jit on
JAX, XLA on TensorFlow, eager on torch), median of `--repeats` calls after warm-up.

    KERAS_BACKEND=jax python benchmarks/interdependence.py [--repeats 30] [--threads 1]

Cases (batch 32):

* `chain`: a chain over N = 1024 tokens, 64 features (banded: 2 shifted slices);
* `multihop_chain`: 3 hops, bi-directional (7 shifted slices);
* `graph`: a random graph, N = 2048 nodes, 4 links per node, GCN normalisation
  (sparse: 10k edges gathered);
* `geometric`: 3x3 patches of a 32 x 32 grid with 16 channels (patch extraction
  against the `1024 x 9216` 0/1 padding matrix);
* `lowrank`: a rank-4 parameterised attribute mixing of 512 features (the
  reconciliation's factored contraction against the `512 x 512` matrix).
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
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--threads", type=int, default=0, help="0: library default")
    args = parser.parse_args()
    if args.threads:
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS"):
            os.environ[var] = str(args.threads)
        os.environ["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"

    import keras
    import numpy as np
    from keras import ops

    from keras_rpn import interdependence

    backend = keras.backend.backend()
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

    x = rng.normal(size=(32, 1024, 64)).astype("float32")
    xi = interdependence.get("chain")
    xi.build(x.shape)
    case("chain", xi, x, dense_instance(xi.op.a), f"{xi.op.kind}, N=1024")
    xi = interdependence.get("multihop_chain", h=3, bi_directional=True)
    xi.build(x.shape)
    case("multihop_chain", xi, x, dense_instance(xi.op.a), f"{xi.op.kind}, 7 bands")

    n = 2048
    links = [(i, int(j)) for i in range(n) for j in rng.choice(n, 4, replace=False)]
    xg = rng.normal(size=(32, n, 64)).astype("float32")
    xi = interdependence.get("graph", links=links, directed=False, self_dependence=True,
                             normalization=True, normalization_mode="symmetric")
    xi.build(xg.shape)
    case("graph", xi, xg, dense_instance(xi.op.a), f"{xi.op.kind}, {len(xi.op.values)} entries")

    grid = rng.normal(size=(32, 32 * 32, 16)).astype("float32")
    xi = interdependence.get("cuboid_patch", h=32, w=32)
    xi.build(grid.shape)
    a = ops.convert_to_tensor(ops.convert_to_numpy(xi.matrix()))
    k, num_patches = xi.patch_size, len(xi.index)

    def dense_patches(t):  # tinyBIG: channel-major (b C, hwd) @ A, then (b, P, C k)
        flat = ops.reshape(ops.transpose(t, (0, 2, 1)), (-1, 32 * 32)) @ a
        flat = ops.reshape(flat, (-1, 16, num_patches, k))
        return ops.reshape(ops.transpose(flat, (0, 2, 1, 3)), (-1, num_patches, 16 * k))

    case("geometric", xi, grid, dense_patches, f"patch extraction, A {tuple(a.shape)}")

    xl = rng.normal(size=(32, 64, 512)).astype("float32")
    xi = interdependence.get("lowrank_parameterized", r=4)
    xi.build(xl.shape)
    a_full = ops.convert_to_tensor(ops.convert_to_numpy(xi.matrix()))
    case("lowrank", xi, xl, lambda t: ops.matmul(t, a_full), "rank 4, m=512")

    print(f"backend {backend}, batch 32, forward, median of {args.repeats} (ms)\n")
    print("| op | structure | keras_rpn (ms) | dense matrix (ms) | speed-up | max abs diff |")
    print("|---|---|---|---|---|---|")
    for name, what, ours, dense, err in rows:
        print(f"| {name} | {what} | {ours:.2f} | {dense:.2f} | {dense / ours:.1f}x | {err:.1e} |")


if __name__ == "__main__":
    main()
