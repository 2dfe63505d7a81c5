"""Tabular classification (scikit-learn's bundled iris, wine, breast cancer; offline).

Each data set is split 70/30 (stratified) and standardised with the training split's
mean and standard deviation. Four one-layer presets, `[features, classes]`, trained with
AdamW and cross-entropy on their logits:

* NaiveBayes: per-feature standard-normal log-densities `-x_j^2 / 2 + c`, learned
  weights, a bias (the log prior) and a linear remainder (tinyBIG's `with_residual`, as
  in its iris example). With it a head can express a Gaussian naive Bayes
  log-posterior, `sum_j -(x_j - mu_j)^2 / (2 s_j^2) + b`, whose `x_j` terms the
  symmetric log-density alone lacks;
* PGM: log-densities of every feature and every pair of features (combinatorial normal,
  d=2), with a linear remainder too;
* SVM, linear kernel (identity expansion) and Gaussian RBF kernel (10 centres over
  [-3, 3] per feature, epsilon 1).

scikit-learn's GaussianNB and SVC(kernel="rbf") on the same splits are printed beside
them for reference. The script prints test accuracy and training time per model.

    KERAS_BACKEND=jax python examples/tabular.py [--epochs 150]
"""

import argparse
import time

import keras
import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.datasets import load_iris
from sklearn.datasets import load_wine
from sklearn.model_selection import train_test_split
from sklearn.naive_bayes import GaussianNB
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

import keras_rpn

DATASETS = {"iris": load_iris, "wine": load_wine, "breast_cancer": load_breast_cancer}


def models(m, classes):
    return {
        "NaiveBayes": keras_rpn.models.NaiveBayes(
            [m, classes], distribution="normal", remainder="linear"
        ),
        "PGM": keras_rpn.models.PGM([m, classes], d=2, remainder="linear"),
        "SVM linear": keras_rpn.models.SVM([m, classes], kernel="linear"),
        "SVM rbf": keras_rpn.models.SVM(
            [m, classes], kernel="gaussian_rbf", base_range=(-3, 3), num_interval=10
        ),
    }


def load(name, seed):
    data = DATASETS[name]()
    x_train, x_test, y_train, y_test = train_test_split(
        data.data, data.target, test_size=0.3, random_state=seed, stratify=data.target
    )
    scaler = StandardScaler().fit(x_train)
    x_train = scaler.transform(x_train).astype("float32")
    x_test = scaler.transform(x_test).astype("float32")
    return x_train, x_test, y_train, y_test


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=150)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(f"keras {keras.__version__}, backend {keras.backend.backend()}; {args.epochs} epochs")
    rows = []
    for name in DATASETS:
        x_train, x_test, y_train, y_test = load(name, args.seed)
        m, classes = x_train.shape[1], int(np.max(y_train)) + 1
        print(
            f"\n{name}: {len(x_train)} train / {len(x_test)} test, {m} features, {classes} classes"
        )
        keras.utils.set_random_seed(args.seed)
        for label, model in models(m, classes).items():
            model.compile(
                optimizer=keras.optimizers.AdamW(1e-2, weight_decay=1e-4),
                loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                metrics=["accuracy"],
            )
            start = time.perf_counter()
            model.fit(x_train, y_train, epochs=args.epochs, batch_size=32, verbose=0)
            seconds = time.perf_counter() - start
            _, accuracy = model.evaluate(x_test, y_test, verbose=0)
            rows.append((name, label, model.count_params(), accuracy, seconds))
            print(
                f"  {label}: {model.count_params():,} parameters, test accuracy "
                f"{accuracy:.4f} ({seconds:.1f} s)"
            )
        for label, estimator in (("sklearn GaussianNB", GaussianNB()), ("sklearn SVC rbf", SVC())):
            accuracy = estimator.fit(x_train, y_train).score(x_test, y_test)
            rows.append((name, label, None, accuracy, None))
            print(f"  {label}: test accuracy {accuracy:.4f}")
    print(f"\n{'data set':<15}{'model':<20}{'parameters':>11}{'accuracy':>10}{'time':>9}")
    for name, label, params, accuracy, seconds in rows:
        params = "" if params is None else f"{params:,}"
        seconds = "" if seconds is None else f"{seconds:.1f} s"
        print(f"{name:<15}{label:<20}{params:>11}{accuracy:>10.4f}{seconds:>9}")


if __name__ == "__main__":
    main()
