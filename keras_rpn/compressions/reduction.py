"""Fitted linear compressions: PCA, incremental PCA, random projection; feature selection."""

import numpy as np
from keras import ops

from keras_rpn.compressions.base import register
from keras_rpn.compressions.fitted import FittedCompression
from keras_rpn.compressions.fitted import FixedMethod
from keras_rpn.compressions.fitted import check_method
from keras_rpn.compressions.fitted import sklearn


@register("dimension_reduction", "dimension_reduction_compression")
class DimensionReductionCompression(FittedCompression):
    """A linear projection fitted once: `kappa(x) = (x - mean) W`.

    Formula, for `x` of shape `(..., m)`, with `mean` (`m`) and `W` (`m x D`) fitted
    by `adapt(data)`:
    ```
    kappa(x) = (x - mean) W          D(m) = D
    ```
    * `method="pca"`: `W` = the first `D` principal axes (scikit-learn's `PCA`;
      `kappa` equals its `transform`);
    * `"incremental_pca"`: the same from scikit-learn's `IncrementalPCA` fitted in
      batches of `batch_size` rows (for data that does not fit a single SVD);
    * `"random_projection"`: a sparse random matrix (scikit-learn's
      `SparseRandomProjection`), `mean = 0`.

    Args:
        D: output width (required).
        method: `"pca"` (default), `"incremental_pca"` or `"random_projection"`.
        batch_size: rows per `partial_fit` of the incremental PCA (default: sklearn's).
        seed: random state of the fit.
        **kwargs: `preprocessing`, `postprocessing` and base layer keyword arguments.

    >>> from sklearn.decomposition import PCA
    >>> data = np.random.default_rng(0).normal(size=(100, 5)).astype("float32")
    >>> pca = keras_rpn.compressions.get("pca", D=2).adapt(data)
    >>> z = keras.ops.convert_to_numpy(pca(data))
    >>> z.shape, bool(np.allclose(z, PCA(2).fit(data).transform(data), atol=1e-4))
    ((100, 2), True)
    >>> head = keras_rpn.layers.RPNHead(10, expansion={"class_name": "pca", "config": {"D": 4}})
    >>> _ = head.expansion.adapt(data)  # before training; or compressions.adapt(model, data)
    >>> tuple(head(data).shape)
    (100, 10)
    """

    methods = ("pca", "incremental_pca", "random_projection")

    def __init__(self, D=None, method="pca", batch_size=None, **kwargs):
        super().__init__(D=D, **kwargs)
        self.method = check_method(self.__class__, method)
        self.batch_size = batch_size

    def state_shapes(self, m):
        return {"mean": ((m,), self.dtype), "projection": ((m, self.D), self.dtype)}

    def fit(self, x):
        sklearn()
        if self.method == "random_projection":
            from sklearn import random_projection

            model = random_projection.SparseRandomProjection(
                n_components=self.D, random_state=self.seed
            ).fit(x)
            components = model.components_
            components = components.toarray() if hasattr(components, "toarray") else components
            return {"mean": np.zeros(x.shape[1]), "projection": np.asarray(components).T}
        from sklearn import decomposition

        if self.method == "pca":
            model = decomposition.PCA(n_components=self.D, random_state=self.seed)
        else:
            model = decomposition.IncrementalPCA(n_components=self.D, batch_size=self.batch_size)
        model.fit(x)
        return {"mean": model.mean_, "projection": model.components_.T}

    def transform(self, x):
        mean = ops.cast(self.state["mean"], x.dtype)
        return ops.matmul(x - mean, ops.cast(self.state["projection"], x.dtype))

    def get_config(self):
        config = super().get_config()
        config.update(method=self.method, batch_size=self.batch_size)
        return config


@register("pca")
class PCACompression(FixedMethod, DimensionReductionCompression):
    """Principal component analysis fitted once: `(x - mean) W`, `D(m) = D`."""

    fixed_method = "pca"


@register("incremental_pca", "incremental_PCA_based_compression")
class IncrementalPCACompression(FixedMethod, DimensionReductionCompression):
    """Incremental PCA (fitted in batches, once): `(x - mean) W`, `D(m) = D`."""

    fixed_method = "incremental_pca"


@register("random_projection", "incremental_random_projection_based_compression")
class RandomProjectionCompression(FixedMethod, DimensionReductionCompression):
    """Sparse random projection drawn once: `x W`, `D(m) = D`."""

    fixed_method = "random_projection"


@register("feature_selection", "feature_selection_compression")
class FeatureSelectionCompression(FittedCompression):
    """Keeps `D` features, or `D` means of feature clusters, chosen once from data.

    * `method="variance_threshold"`: the `D` features of largest variance on the
      adapted data, in feature order: `kappa(x) = x[..., S]`;
    * `"feature_clustering"`: features are clustered into `D` groups by spectral
      clustering (scikit-learn) of the affinity `exp(-d_ij^2 / 2)`, with `d_ij` the
      root-mean-square difference of features `i` and `j` over the data;
      `kappa(x)_c` is the mean of the features of cluster `c` (0 for an empty one).
    ```
    D(m) = D
    ```

    Args:
        D: number of features kept (required).
        method: `"variance_threshold"` (default) or `"feature_clustering"`.
        seed: random state of the clustering.
        **kwargs: `preprocessing`, `postprocessing` and base layer keyword arguments.
    """

    methods = ("variance_threshold", "feature_clustering")

    def __init__(self, D=None, method="variance_threshold", **kwargs):
        super().__init__(D=D, **kwargs)
        self.method = check_method(self.__class__, method)

    def state_shapes(self, m):
        if self.method == "variance_threshold":
            return {"selected": ((self.D,), "int32")}
        return {"assignment": ((m,), "int32")}

    def fit(self, x):
        if self.method == "variance_threshold":
            order = np.argsort(-x.var(axis=0), kind="stable")
            return {"selected": np.sort(order[: self.D])}
        sklearn()
        from sklearn import cluster

        affinity = np.exp(-_pairwise_mean_squares(x) / 2.0)
        model = cluster.SpectralClustering(
            n_clusters=self.D, affinity="precomputed", random_state=self.seed
        )
        return {"assignment": model.fit_predict(affinity)}

    def transform(self, x):
        if self.method == "variance_threshold":
            return ops.take(x, self.state["selected"], axis=-1)
        members = ops.one_hot(self.state["assignment"], self.D, dtype=x.dtype)  # (m, D)
        counts = ops.maximum(ops.sum(members, axis=0), 1.0)
        return ops.matmul(x, members / counts)

    def get_config(self):
        return {**super().get_config(), "method": self.method}


def _pairwise_mean_squares(x):
    """`mean_s (x_si - x_sj)^2` for all feature pairs, without an `(n, m, m)` array."""
    norms = np.square(x).mean(axis=0)
    return np.maximum(norms[:, None] + norms[None, :] - 2.0 * (x.T @ x) / len(x), 0.0)


@register("variance_threshold", "incremental_variance_threshold_based_compression")
class VarianceThresholdCompression(FixedMethod, FeatureSelectionCompression):
    """The `D` features of largest variance on the adapted data, `D(m) = D`."""

    fixed_method = "variance_threshold"


@register("feature_clustering", "incremental_feature_clustering_based_compression")
class FeatureClusteringCompression(FixedMethod, FeatureSelectionCompression):
    """Means of `D` feature clusters found once by spectral clustering, `D(m) = D`."""

    fixed_method = "feature_clustering"
