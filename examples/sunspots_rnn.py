"""Yearly sunspot numbers 1700-2008 (the series bundled with statsmodels, offline):
one-year-ahead forecasts from the previous 12 years, the RegressionRNN preset beside
Keras SimpleRNN and LSTM networks.

* RegressionRNN preset [1, 16, 1]: a per-year RPN layer (1 -> 16, ReLU), a chain layer
  (each year adds the previous year's features, ReLU), a dense RPN layer on the 12 x 16
  flattened features;
* Keras SimpleRNN(16) and LSTM(16), each followed by Dense(1).

The series is scaled by its training maximum; the first 80% of the windows train, the
last 20% (the most recent years) test. Prints each model's parameter count, test RMSE
in sunspot numbers and training time:

    KERAS_BACKEND=jax python examples/sunspots_rnn.py [--epochs 100]
"""

import argparse

import keras
import numpy as np
from rpn2_common import header
from rpn2_common import report
from rpn2_common import train

import keras_rpn

WINDOW = 12


def load_windows():
    try:
        import statsmodels.api as sm
    except ImportError as error:  # pragma: no cover - a clear message for the extra
        raise ImportError("This example needs statsmodels: pip install statsmodels") from error
    series = sm.datasets.sunspots.load_pandas().data["SUNACTIVITY"].to_numpy("float32")
    x = np.stack([series[i : i + WINDOW] for i in range(len(series) - WINDOW)])[..., None]
    y = series[WINDOW:, None]
    split = int(0.8 * len(x))
    scale = float(series[: split + WINDOW].max())
    return x[:split] / scale, y[:split] / scale, x[split:] / scale, y[split:] / scale, scale


def keras_recurrent(layer, name):
    return keras.Sequential([keras.Input((WINDOW, 1)), layer, keras.layers.Dense(1)], name=name)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    keras.utils.set_random_seed(args.seed)
    x_train, y_train, x_test, y_test, scale = load_windows()
    header(
        f"sunspots: {len(x_train)} train / {len(x_test)} test windows of {WINDOW} years",
        args.epochs,
    )
    models = [
        keras_rpn.models.RegressionRNN([1, 16, 1], name="rpn_regression_rnn_preset"),
        keras_recurrent(keras.layers.SimpleRNN(16), "keras_simple_rnn"),
        keras_recurrent(keras.layers.LSTM(16), "keras_lstm"),
    ]
    rows = []
    for model in models:
        seconds = train(model, x_train, y_train, 3e-3, args.epochs, 32, "mse")
        error = np.asarray(model.predict(x_test, verbose=0)) - y_test
        rmse = float(np.sqrt(np.mean(error**2))) * scale
        rows.append((model.name, model.count_params(), rmse, seconds))
        print(f"{model.name}: test RMSE {rmse:.2f} sunspots in {seconds:.1f} s")
    naive = float(np.sqrt(np.mean((x_test[:, -1] - y_test) ** 2))) * scale
    print(f"(persistence forecast, next year = this year: RMSE {naive:.2f})")
    report(rows, "test RMSE")


if __name__ == "__main__":
    main()
