"""`learner_arguments`: tinyBIG's learner settings as Keras `compile` / `fit` arguments."""

import keras

from keras_rpn.config.schema import _drop
from keras_rpn.config.schema import _reject
from keras_rpn.config.schema import _short
from keras_rpn.config.schema import load_config

# torch optimizer -> (Keras class, {torch name: Keras name}, torch defaults that differ
# from Keras'). torch's Adam/SGD `weight_decay` adds `wd * w` to the gradient; AdamW's
# is decoupled, as Keras' `weight_decay` is for every optimizer.
_OPTIMIZERS = {
    "AdamW": (
        "AdamW",
        {
            "lr": "learning_rate",
            "weight_decay": "weight_decay",
            "eps": "epsilon",
            "amsgrad": "amsgrad",
        },
        {"learning_rate": 1e-3, "weight_decay": 1e-2, "epsilon": 1e-8},
    ),
    "Adam": (
        "Adam",
        {"lr": "learning_rate", "eps": "epsilon", "amsgrad": "amsgrad"},
        {"learning_rate": 1e-3, "epsilon": 1e-8},
    ),
    "SGD": (
        "SGD",
        {"lr": "learning_rate", "momentum": "momentum", "nesterov": "nesterov"},
        {"learning_rate": 1e-3},
    ),
}
_LOSSES = {
    "MSELoss": lambda: keras.losses.MeanSquaredError(),
    "L1Loss": lambda: keras.losses.MeanAbsoluteError(),
    # torch's CrossEntropyLoss takes logits and integer class labels.
    "CrossEntropyLoss": lambda: keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    "BCEWithLogitsLoss": lambda: keras.losses.BinaryCrossentropy(from_logits=True),
}


def _spec(config, class_key, params_key, where):
    if not isinstance(config, dict) or class_key not in config:
        raise ValueError(f"{where} needs `{class_key}`. Received: {config!r}")
    params = config.get(params_key) or {}
    if not isinstance(params, dict):
        raise ValueError(f"{where}.{params_key} must be a mapping. Received: {params!r}")
    return _short(config[class_key]), dict(params)


def _number(params, key, where, cast=float):
    value = params.pop(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{where}: `{key}` must be a number. Received: {key}={value!r}")
    return cast(value)


def _optimizer(config, where):
    name, params = _spec(config, "optimizer_class", "optimizer_parameters", where)
    if name not in _OPTIMIZERS:
        raise ValueError(
            f"{where}: cannot map the optimizer {name!r}; known: {sorted(_OPTIMIZERS)}."
        )
    cls, keys, defaults = _OPTIMIZERS[name]
    kwargs = dict(defaults)
    _drop(params, ("params",))
    betas = params.pop("betas", None)
    if betas is not None:
        kwargs["beta_1"], kwargs["beta_2"] = (float(b) for b in betas)
    for torch_key, keras_key in keys.items():
        if torch_key in params:
            value = params.pop(torch_key)
            kwargs[keras_key] = value if isinstance(value, bool) else float(value)
    if name in ("Adam", "SGD") and params.get("weight_decay"):
        raise NotImplementedError(
            f"{where}: torch's {name} adds `weight_decay` to the gradient (L2), which no "
            "Keras optimizer does; use AdamW or a kernel regularizer. Received: "
            f"weight_decay={params['weight_decay']!r}"
        )
    params.pop("weight_decay", None)
    _reject(params, where)
    return getattr(keras.optimizers, cls)(**kwargs)


def _schedule(config, where):
    """A per-epoch learning-rate function `f(epoch, lr0)`, as torch's schedulers step."""
    name, params = _spec(config, "lr_scheduler_class", "lr_scheduler_parameters", where)
    _drop(params, ("optimizer", "verbose", "last_epoch"))
    if name == "ExponentialLR":
        gamma = _number(params, "gamma", where)
        _reject(params, where)
        return lambda epoch, lr0: lr0 * gamma**epoch
    if name == "StepLR":
        step = _number(params, "step_size", where, int)
        gamma = _number(params, "gamma", where) if "gamma" in params else 0.1
        _reject(params, where)
        return lambda epoch, lr0: lr0 * gamma ** (epoch // step)
    raise ValueError(f"{where}: cannot map the scheduler {name!r}; known: ExponentialLR, StepLR.")


def _loss(config, where):
    name, params = _spec(config, "loss_class", "loss_parameters", where)
    if name not in _LOSSES:
        raise ValueError(f"{where}: cannot map the loss {name!r}; known: {sorted(_LOSSES)}.")
    reduction = params.pop("reduction", "mean")
    if reduction != "mean":
        raise ValueError(f"{where}: only reduction='mean' is mapped. Received: {reduction!r}")
    _reject(params, where)
    return _LOSSES[name]()


def learner_arguments(config):
    """tinyBIG's learner settings as Keras `compile` and `fit` keyword arguments.

    Reads `learner_configs` (tinyBIG's `backward_learner`: `n_epochs`,
    `optimizer_configs`, `lr_scheduler_configs`, `loss_configs`) and the training
    batch size of `data_configs`, so a tinyBIG experiment runs unchanged:

    * `torch.optim.AdamW` / `Adam` / `SGD` -> the Keras optimizer of the same name,
      with torch's defaults where Keras' differ (AdamW `weight_decay=0.01`,
      `epsilon=1e-8`);
    * `torch.optim.lr_scheduler.ExponentialLR(gamma)` / `StepLR(step_size, gamma)`
      -> a `keras.callbacks.LearningRateScheduler` stepping once per epoch, as torch's
      schedulers do;
    * `torch.nn.MSELoss` / `L1Loss` / `CrossEntropyLoss` (logits, integer labels) /
      `BCEWithLogitsLoss` -> the matching Keras loss;
    * `n_epochs` -> `epochs`; `data_configs.data_parameters.train_batch_size` ->
      `batch_size`.

    Args:
        config: a whole tinyBIG configuration (dict, YAML/JSON string or file path),
            with `configurations` or without.

    Returns:
        `(compile_kwargs, fit_kwargs)`: `{"optimizer", "loss"}` and `{"epochs",
        "batch_size", "callbacks"}` (only the keys the config sets, for `fit`).

    Example:
    >>> compile_kwargs, fit_kwargs = keras_rpn.config.learner_arguments({
    ...     "learner_configs": {"learner_parameters": {
    ...         "n_epochs": 20,
    ...         "optimizer_configs": {"optimizer_class": "torch.optim.AdamW",
    ...                               "optimizer_parameters": {"lr": 3e-3}},
    ...         "loss_configs": {"loss_class": "torch.nn.MSELoss"}}}})
    >>> fit_kwargs["epochs"], type(compile_kwargs["optimizer"]).__name__
    (20, 'AdamW')
    """
    config = load_config(config)
    config = config.get("configurations", config) or {}
    learner = config.get("learner_configs")
    if not isinstance(learner, dict):
        raise ValueError(
            f"The configuration has no `learner_configs` mapping. Received: {learner!r}"
        )
    where = "learner_configs.learner_parameters"
    params = dict(learner.get("learner_parameters") or {})
    _drop(params, ("name", "device"))
    compile_kwargs, fit_kwargs = {}, {}
    if params.get("optimizer_configs") is not None:
        compile_kwargs["optimizer"] = _optimizer(
            params.pop("optimizer_configs"), f"{where}.optimizer_configs"
        )
    if params.get("loss_configs") is not None:
        compile_kwargs["loss"] = _loss(params.pop("loss_configs"), f"{where}.loss_configs")
    if params.get("lr_scheduler_configs") is not None:
        schedule = _schedule(params.pop("lr_scheduler_configs"), f"{where}.lr_scheduler_configs")
        optimizer = compile_kwargs.get("optimizer")
        lr0 = float(optimizer.learning_rate) if optimizer is not None else 1e-3
        callback = keras.callbacks.LearningRateScheduler(lambda epoch, lr: schedule(epoch, lr0))
        fit_kwargs["callbacks"] = [callback]
    if params.get("n_epochs") is not None:
        fit_kwargs["epochs"] = _positive(params.pop("n_epochs"), "n_epochs", where)
    for key in ("optimizer_configs", "loss_configs", "lr_scheduler_configs", "n_epochs"):
        params.pop(key, None)
    _reject(params, where)
    data = (config.get("data_configs") or {}).get("data_parameters") or {}
    if data.get("train_batch_size") is not None:
        fit_kwargs["batch_size"] = _positive(
            data["train_batch_size"], "train_batch_size", "data_configs.data_parameters"
        )
    return compile_kwargs, fit_kwargs


def _positive(value, key, where):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{where}: `{key}` must be a positive integer. Received: {key}={value!r}")
    return value
