"""tinyBIG 0.2.1 timings for the configs the shared bench_tinybig.py does not cover.

Run with the tinyBIG Python (run.py does this when given --tinybig-python):

    $TINYBIG_PYTHON benchmarks/tinybig_extra.py --config chebyshev3 --anchors-dir ../shared/bench

It imports tinyBIG through the shared script's `import_tinybig()` (which stubs the data
modules that do not import on Python 3.11) and times exactly as that script does: Adam,
CrossEntropy, one step = forward + loss + backward + update, median after warm-up,
forward under `torch.no_grad()`, peak RSS of this process. Prints one JSON line.

Configs (784 -> 64 -> 10, batch 256 unless said):
  chebyshev3          Chebyshev d=3 + identity reconciliation (+bias), zero remainder
  taylor2_dual_lphm   Taylor d=2 + dual LPHM r=2, (p, q) = (8, 784) then (2, 64), +bias
  kan_1000            B-spline t=5 d=3 + identity + SiLU linear remainder, 1000 -> 1000
"""

import argparse
import contextlib
import io
import json
import os
import resource
import statistics
import sys
import time

CONFIGS = ("chebyshev3", "taylor2_dual_lphm", "kan_1000")


def build(name, torch):
    from tinybig.expansion import bspline_expansion
    from tinybig.expansion import chebyshev_expansion
    from tinybig.expansion import taylor_expansion
    from tinybig.model import rpn
    from tinybig.module import rpn_head
    from tinybig.module import rpn_layer
    from tinybig.reconciliation import dual_lphm_reconciliation
    from tinybig.reconciliation import identity_reconciliation
    from tinybig.remainder import linear_remainder
    from tinybig.remainder import zero_remainder

    def one(m, n, kappa, psi, rem):
        head = rpn_head(
            m=m, n=n, data_transformation=kappa, parameter_fabrication=psi, remainder=rem
        )
        return rpn_layer(m=m, n=n, heads=[head])

    if name == "chebyshev3":
        dims = [784, 64, 10]
        return (
            rpn(
                layers=[
                    one(
                        m,
                        n,
                        chebyshev_expansion(d=3),
                        identity_reconciliation(enable_bias=True),
                        zero_remainder(),
                    )
                    for m, n in zip(dims, dims[1:], strict=False)
                ]
            ),
            784,
            10,
        )
    if name == "taylor2_dual_lphm":
        pq = [(8, 784), (2, 64)]
        dims = [784, 64, 10]
        return (
            rpn(
                layers=[
                    one(
                        m,
                        n,
                        taylor_expansion(d=2),
                        dual_lphm_reconciliation(p=p, q=q, r=2, enable_bias=True),
                        zero_remainder(),
                    )
                    for (m, n), (p, q) in zip(zip(dims, dims[1:], strict=False), pq, strict=True)
                ]
            ),
            784,
            10,
        )
    if name == "kan_1000":
        rem = linear_remainder(require_parameters=True, activation_functions=[torch.nn.SiLU()])
        return (
            rpn(
                layers=[
                    one(
                        1000,
                        1000,
                        bspline_expansion(grid_range=(-1, 1), t=5, d=3),
                        identity_reconciliation(enable_bias=False),
                        rem,
                    )
                ]
            ),
            1000,
            1000,
        )
    raise ValueError(name)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True, choices=CONFIGS)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--batch", type=int, default=None)
    ap.add_argument(
        "--anchors-dir",
        default=os.path.join(
            os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "bench"
        ),
    )
    args = ap.parse_args()
    sys.path.insert(0, os.path.abspath(args.anchors_dir))
    import numpy as np
    import torch
    from bench_tinybig import import_tinybig

    with contextlib.redirect_stdout(io.StringIO()):
        import_tinybig()
        torch.manual_seed(0)
        model, m, n = build(args.config, torch)
    batch = args.batch or (100 if args.config == "kan_1000" else 256)
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

    for _ in range(args.warmup):
        step()
    times, losses = [], []
    for _ in range(args.steps):
        s = time.perf_counter()
        losses.append(step())
        times.append((time.perf_counter() - s) * 1e3)
    model.eval()
    fwd = []
    with torch.no_grad():
        for _ in range(max(5, args.steps // 5)):
            s = time.perf_counter()
            model(x)
            fwd.append((time.perf_counter() - s) * 1e3)
    srt = sorted(times)
    print(
        json.dumps(
            {
                "framework": "tinybig-0.2.1/torch-" + torch.__version__,
                "config": args.config,
                "batch": batch,
                "steps": args.steps,
                "threads": torch.get_num_threads(),
                "params": sum(p.numel() for p in model.parameters() if p.requires_grad),
                "ms_step_median": round(statistics.median(times), 2),
                "ms_step_p10": round(srt[len(srt) // 10], 2),
                "ms_step_p90": round(srt[(len(srt) * 9) // 10], 2),
                "ms_fwd_median": round(statistics.median(fwd), 2),
                "loss_first_last": [round(losses[0], 4), round(losses[-1], 4)] if losses else None,
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
