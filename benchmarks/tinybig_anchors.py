"""tinyBIG 0.2.1 anchors: one training-step timing of one config, under the tinyBIG Python.

    $TINYBIG_PYTHON benchmarks/tinybig_anchors.py --config bspline_kan --steps 30

`run.py` starts it when given `--tinybig-python` (or `$TINYBIG_PYTHON`); the environment
is the parity oracle's (`python tests/oracle/make_venv.py` builds it). tinyBIG is
imported through the oracle's `load_tinybig()`, which puts placeholders in place of the
data-loader modules that do not import on current Pythons.

Protocol (the same as `_harness.py` for the Keras rows): synthetic data (uniform
[0, 1), seed 0), Adam 1e-3, CrossEntropy; one step = forward + loss + backward +
update; median of `--steps` steps after `--warmup`; forward = median under
`torch.no_grad()`; memory through `_memory.MemoryProbe` after a torch warm-up (a
one-unit Linear trained one step). Prints one JSON line.

Configs (784 -> 64 -> 10, batch 256 unless said):
  identity_mlp        identity expansion + identity reconciliation (+bias), zero
                      remainder, ReLU after the hidden layer (= Dense(64, relu) -> Dense(10))
  bspline_kan         B-spline t=5 d=3 + identity reconciliation + SiLU linear remainder
  taylor2_lorr2       Taylor d=2 + LoRR r=2 (+bias), zero remainder
  chebyshev3          Chebyshev d=3 + identity reconciliation (+bias), zero remainder
  taylor2_dual_lphm   Taylor d=2 + dual LPHM r=2, (p, q) = (8, 784) then (2, 64), +bias
  kan_1000            B-spline t=5 d=3 + identity + SiLU linear remainder, 1000 -> 1000,
                      batch 100
"""

import argparse
import contextlib
import io
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "oracle"))

from _memory import MemoryProbe  # noqa: E402

CONFIGS = (
    "identity_mlp",
    "bspline_kan",
    "taylor2_lorr2",
    "chebyshev3",
    "taylor2_dual_lphm",
    "kan_1000",
)


def build(name, torch):
    """(model, m, n) for config `name`."""
    from tinybig.expansion import bspline_expansion
    from tinybig.expansion import chebyshev_expansion
    from tinybig.expansion import identity_expansion
    from tinybig.expansion import taylor_expansion
    from tinybig.model import rpn
    from tinybig.module import rpn_head
    from tinybig.module import rpn_layer
    from tinybig.reconciliation import dual_lphm_reconciliation
    from tinybig.reconciliation import identity_reconciliation
    from tinybig.reconciliation import lorr_reconciliation
    from tinybig.remainder import linear_remainder
    from tinybig.remainder import zero_remainder

    def silu_linear():
        return linear_remainder(require_parameters=True, activation_functions=[torch.nn.SiLU()])

    def bspline():
        return bspline_expansion(grid_range=(-1, 1), t=5, d=3)

    def layer(m, n, kappa, psi, rem, post=None):
        head = rpn_head(
            m=m,
            n=n,
            data_transformation=kappa,
            parameter_fabrication=psi,
            remainder=rem,
            output_process_functions=post,
        )
        return rpn_layer(m=m, n=n, heads=[head])

    dims = [784, 64, 10]
    pairs = list(zip(dims, dims[1:], strict=False))
    if name == "identity_mlp":
        layers = [
            layer(
                m,
                n,
                identity_expansion(),
                identity_reconciliation(enable_bias=True),
                zero_remainder(),
                [torch.nn.ReLU()] if i == 0 else None,
            )
            for i, (m, n) in enumerate(pairs)
        ]
    elif name == "bspline_kan":
        layers = [
            layer(m, n, bspline(), identity_reconciliation(enable_bias=False), silu_linear())
            for m, n in pairs
        ]
    elif name == "taylor2_lorr2":
        layers = [
            layer(
                m,
                n,
                taylor_expansion(d=2),
                lorr_reconciliation(r=2, enable_bias=True),
                zero_remainder(),
            )
            for m, n in pairs
        ]
    elif name == "chebyshev3":
        layers = [
            layer(
                m,
                n,
                chebyshev_expansion(d=3),
                identity_reconciliation(enable_bias=True),
                zero_remainder(),
            )
            for m, n in pairs
        ]
    elif name == "taylor2_dual_lphm":
        pq = [(8, 784), (2, 64)]
        layers = [
            layer(
                m,
                n,
                taylor_expansion(d=2),
                dual_lphm_reconciliation(p=p, q=q, r=2, enable_bias=True),
                zero_remainder(),
            )
            for (m, n), (p, q) in zip(pairs, pq, strict=True)
        ]
    elif name == "kan_1000":
        dims = [1000, 1000]
        layers = [
            layer(1000, 1000, bspline(), identity_reconciliation(enable_bias=False), silu_linear())
        ]
    else:
        raise ValueError(name)
    return rpn(layers=layers), dims[0], dims[-1]


def _warm_up(torch):
    """One Adam step of a one-unit Linear: loads autograd and the optimizer."""
    lin = torch.nn.Linear(4, 1)
    opt = torch.optim.Adam(lin.parameters(), lr=1e-3)
    loss = lin(torch.ones(2, 4)).sum()
    loss.backward()
    opt.step()


def run(name, steps, warmup, batch):
    t0 = time.perf_counter()
    import numpy as np
    import torch
    from tinybig_oracle import load_tinybig

    load_tinybig()
    t_import = time.perf_counter() - t0
    _warm_up(torch)
    probe = MemoryProbe().start()
    torch.manual_seed(0)
    with contextlib.redirect_stdout(io.StringIO()):  # tinyBIG prints as it builds
        model, m, n = build(name, torch)
    batch = batch or (100 if name == "kan_1000" else 256)
    rng = np.random.default_rng(0)
    x = torch.tensor(rng.random((batch, m), dtype=np.float32))
    y = torch.tensor(rng.integers(0, n, size=batch))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    model.train()

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return float(loss.detach())

    for _ in range(warmup):
        step()
    times, cpu, losses = [], [], []
    for _ in range(steps):
        s, c = time.perf_counter(), time.process_time()
        losses.append(step())
        times.append((time.perf_counter() - s) * 1e3)
        cpu.append((time.process_time() - c) * 1e3)
    model.eval()
    fwd = []
    with torch.no_grad():
        for _ in range(max(5, steps // 5)):
            s = time.perf_counter()
            model(x)
            fwd.append((time.perf_counter() - s) * 1e3)
    srt = sorted(times)
    res = {
        "framework": "tinybig-0.2.1/torch-" + torch.__version__,
        "config": name,
        "batch": batch,
        "steps": steps,
        "threads": torch.get_num_threads(),
        "params": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "ms_step_median": round(statistics.median(times), 3),
        "ms_step_p10": round(srt[len(srt) // 10], 3),
        "ms_step_p90": round(srt[(len(srt) * 9) // 10], 3),
        "cpu_ms_step_median": round(statistics.median(cpu), 3),
        "ms_fwd_median": round(statistics.median(fwd), 3),
        "loss_first_last": [round(losses[0], 4), round(losses[-1], 4)] if losses else None,
        "import_s": round(t_import, 2),
    }
    res.update(probe.stop())
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", required=True, choices=CONFIGS)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--batch", type=int, default=None)
    args = ap.parse_args()
    try:
        res = run(args.config, args.steps, args.warmup, args.batch)
    except Exception as e:  # noqa: BLE001 - reported as a result line
        res = {"config": args.config, "error": f"{type(e).__name__}: {str(e)[:400]}"}
    print(json.dumps(res), flush=True)


if __name__ == "__main__":
    main()
