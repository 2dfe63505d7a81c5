"""The tinyBIG half of `fidelity.py`: trains tinyBIG 0.2.1 models on given data.

Runs under the tinyBIG Python (`tests/oracle/make_venv.py` builds that environment),
never inside keras_rpn:

    $TINYBIG_PYTHON benchmarks/fidelity_tinybig.py REQUEST.npz RESPONSE.json

REQUEST.npz holds, per job `J`, arrays `J:x_train`, `J:y_train`, `J:x_test`, `J:y_test`
and `__jobs__`, a JSON list of `{"id", "seed", "configurations"}` where
`configurations` is a whole tinyBIG configuration (`model_configs`,
`learner_configs`, `data_configs`). Each job seeds torch, builds the model with
tinyBIG's own config machinery (so tinyBIG initialises it with the configured
`parameters_init_method`) and trains it as tinyBIG's `backward_learner` does:
the optimizer, learning-rate scheduler (stepped once per epoch) and loss named in
`learner_configs`, `n_epochs` epochs of shuffled mini-batches of
`data_configs.data_parameters.train_batch_size`. RESPONSE.json maps job ids to
`{"test_mse", "test_accuracy", "seconds", "parameters"}` (accuracy: the rounded
single-output prediction against integer labels, as tinyBIG's tabular examples
report it; null for function fitting), `"epoch_loss"` (the mean training loss of
each epoch) and, for a job with `"dump": true`, `"initial"` and `"orders"`: the names
of the arrays written to `RESPONSE.npz` (beside RESPONSE.json), tinyBIG's initial
`named_parameters()` (`J:init:<name>`) and the sample order of every epoch
(`J:orders`, `(n_epochs, n_train)`), so keras_rpn can start from the same point and
see the same batches (`fidelity.py --same-init`). A job with `"train": false` only
draws the initial parameters and the orders (its metrics are the untrained model's).
"""

import contextlib
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "oracle"))

from tinybig_oracle import load_tinybig  # noqa: E402


def get(dotted):
    module, name = dotted.rsplit(".", 1)
    return getattr(__import__(module, fromlist=[name]), name)


def train(job, arrays, torch, config, dumped):
    conf = job["configurations"]
    learner = conf["learner_configs"]["learner_parameters"]
    torch.manual_seed(job["seed"])
    with contextlib.redirect_stdout(sys.stderr):
        model = config.instantiation_from_configs(
            conf["model_configs"], class_name="model_class", parameter_name="model_parameters"
        )
    if job.get("dump"):
        for name, value in model.named_parameters():
            dumped[f"{job['id']}:init:{name}"] = value.detach().numpy().copy()
    opt_conf = learner["optimizer_configs"]
    optimizer = get(opt_conf["optimizer_class"])(
        model.parameters(), **(opt_conf.get("optimizer_parameters") or {})
    )
    scheduler = None
    if learner.get("lr_scheduler_configs"):
        sched = learner["lr_scheduler_configs"]
        scheduler = get(sched["lr_scheduler_class"])(
            optimizer, **(sched.get("lr_scheduler_parameters") or {})
        )
    loss_conf = learner["loss_configs"]
    loss_fn = get(loss_conf["loss_class"])(**(loss_conf.get("loss_parameters") or {}))
    x, y = (torch.tensor(arrays[f"{job['id']}:{k}"]) for k in ("x_train", "y_train"))
    xt, yt = (torch.tensor(arrays[f"{job['id']}:{k}"]) for k in ("x_test", "y_test"))
    batch = conf["data_configs"]["data_parameters"]["train_batch_size"]
    generator = torch.Generator().manual_seed(job["seed"])
    orders, epoch_loss = [], []
    start = time.perf_counter()
    model.train()
    for _ in range(learner["n_epochs"]):
        order = torch.randperm(len(x), generator=generator)
        orders.append(order)
        if not job.get("train", True):
            continue
        total, steps = 0.0, 0
        for i in range(0, len(x), batch):
            idx = order[i : i + batch]
            optimizer.zero_grad()
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            optimizer.step()
            total, steps = total + loss.item(), steps + 1
        epoch_loss.append(total / steps)
        if scheduler is not None:
            scheduler.step()
    seconds = time.perf_counter() - start
    model.eval()
    with torch.no_grad():
        pred = model(xt)
    mse = float(torch.mean((pred - yt) ** 2))
    accuracy = None
    if job.get("classification"):
        accuracy = float((torch.round(pred) == yt).float().mean())
    count = sum(p.numel() for p in model.parameters())
    result = {
        "test_mse": mse,
        "test_accuracy": accuracy,
        "seconds": seconds,
        "parameters": count,
        "epoch_loss": epoch_loss,
    }
    if job.get("dump"):
        dumped[f"{job['id']}:orders"] = torch.stack(orders).numpy().astype("int32")
        result["initial"] = sorted(k for k in dumped if k.startswith(f"{job['id']}:init:"))
        result["orders"] = f"{job['id']}:orders"
    return result


def main():
    request, response = sys.argv[1], sys.argv[2]
    torch_threads = int(os.environ.get("FIDELITY_THREADS", "1"))
    with contextlib.redirect_stdout(sys.stderr):
        load_tinybig()
        import numpy as np
        import torch
        from tinybig.config.base_config import config
    torch.set_num_threads(torch_threads)
    arrays = dict(np.load(request))
    jobs = json.loads(str(arrays.pop("__jobs__")))
    results, dumped = {}, {}
    for job in jobs:
        with contextlib.redirect_stdout(sys.stderr):
            results[job["id"]] = train(job, arrays, torch, config, dumped)
        brief = {k: v for k, v in results[job["id"]].items() if k not in ("epoch_loss", "initial")}
        print(job["id"], brief, file=sys.stderr, flush=True)
    with open(response, "w") as f:
        json.dump(results, f)
    if dumped:
        np.savez(os.path.splitext(response)[0] + ".npz", **dumped)


if __name__ == "__main__":
    main()
