"""Shared by the RPN 2 examples: train a compiled Keras model, time it, report a row."""

import time

import keras


def train(model, x, y, learning_rate, epochs, batch_size, loss, metrics=(), **fit_kwargs):
    """Compiles `model` with Adam, fits it silently; returns the training seconds."""
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=loss, metrics=list(metrics))
    start = time.perf_counter()
    model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=0, **fit_kwargs)
    return time.perf_counter() - start


def report(rows, metric):
    """Prints `(name, parameters, metric value, seconds)` rows as a table."""
    print(f"\n{'model':<34}{'parameters':>12}{metric:>16}{'train time':>12}")
    for name, params, value, seconds in rows:
        print(f"{name:<34}{params:>12,}{value:>16.4f}{seconds:>10.1f} s")


def header(what, epochs):
    print(f"keras {keras.__version__}, backend {keras.backend.backend()}; {what}; {epochs} epochs")
