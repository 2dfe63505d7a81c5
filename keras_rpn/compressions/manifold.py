"""Manifold compressions with an out-of-sample map (Isomap, LLE), fitted once.

t-SNE, MDS and spectral embedding only embed the points they are fitted on: they
have no map for new inputs, so they cannot be a layer's function; their classes
exist (tinyBIG's names resolve) and explain this when constructed.
"""

import numpy as np
from keras import ops

from keras_rpn import validation
from keras_rpn.compressions.base import register
from keras_rpn.compressions.fitted import FittedCompression
from keras_rpn.compressions.fitted import FixedMethod
from keras_rpn.compressions.fitted import as_numpy
from keras_rpn.compressions.fitted import check_method
from keras_rpn.compressions.fitted import sklearn

_TRANSDUCTIVE = {"mds": "MDS", "spectral_embedding": "spectral embedding", "tsne": "t-SNE"}


@register("manifold", "manifold_compression")
class ManifoldCompression(FittedCompression):
    """A non-linear embedding fitted once on data, with its out-of-sample map.

    `adapt(data)` fits scikit-learn's estimator on the `N` rows of `data` and keeps
    what its `transform` needs (the training rows, their embedding and, for
    Isomap, the geodesic distances: `N x N` values, so adapt on a few thousand
    rows at most). The layer then computes that `transform` with `keras.ops`:

    * `method="isomap"`: for the `n_neighbors` nearest training rows `t` of `x`,
      `g_j = min_t (|x - t| + G_tj)` (geodesic distances `G`), then the kernel PCA
      projection of `-g^2 / 2`, centred with the fit statistics;
    * `"lle"` (locally linear embedding): barycentric weights `w` of `x` on its
      `n_neighbors` nearest training rows (regularised by `reg`), and
      `kappa(x) = sum_t w_t y_t` with `y_t` their embedding.
    ```
    D(m) = D
    ```
    `"mds"`, `"spectral_embedding"` and `"tsne"` raise a `ValueError`: they have no
    out-of-sample map.

    Args:
        D: embedding width (required).
        method: `"isomap"` (default) or `"lle"`.
        n_neighbors: neighbours of the graph and of the map (default 5; tinyBIG's
            default of 1 leaves the neighbour graph disconnected).
        reg: LLE regularisation (default 1e-3, scikit-learn's).
        num_samples: rows of the adapted data, set by `adapt` (saved in the config,
            so a loaded layer rebuilds its state with the right shapes).
        seed: random state of the fit.
        **kwargs: `preprocessing`, `postprocessing` and base layer keyword arguments.
    """

    methods = ("isomap", "lle", *_TRANSDUCTIVE)

    def __init__(
        self, D=None, method="isomap", n_neighbors=5, reg=1e-3, num_samples=None, **kwargs
    ):
        method = check_method(self.__class__, method)
        if method in _TRANSDUCTIVE:
            raise ValueError(
                f"{_TRANSDUCTIVE[method]} has no out-of-sample map: it embeds only the "
                "points it is fitted on, so it cannot compress new inputs in a layer "
                "(tinyBIG re-fits it on every batch, which makes the function change from "
                "batch to batch). Use method='isomap' or 'lle' (non-linear, with an "
                "out-of-sample map) or the 'pca' compression instead. "
                f"Received: method={method!r}"
            )
        super().__init__(D=D, **kwargs)
        self.method = method
        self.n_neighbors = validation.positive_int("n_neighbors", n_neighbors)
        self.reg = validation.finite_float("reg", reg, positive=True)
        self.num_samples = validation.positive_int("num_samples", num_samples, allow_none=True)

    def state_shapes(self, m):
        n = self.num_samples
        if n is None:  # sized by `adapt`
            return None
        shapes = {"samples": ((n, m), self.dtype), "embedding": ((n, self.D), self.dtype)}
        if self.method == "isomap":
            shapes.update(geodesics=((n, n), self.dtype), kernel_rows=((n,), self.dtype))
            shapes.update(kernel_mean=((), self.dtype))
        return shapes

    def adapt(self, data, batch_size=None, steps=None):
        x = as_numpy(data, steps=steps)
        num_samples = int(np.prod(x.shape[:-1]))
        validation.at_most("n_neighbors", self.n_neighbors + 1, "the samples", num_samples)
        if self.num_samples not in (None, num_samples):
            raise ValueError(
                f"{self.__class__.__name__} was built for {self.num_samples} samples; adapt "
                f"a new layer on other data. Received: {num_samples} samples"
            )
        self.num_samples = num_samples
        return super().adapt(x)

    def fit(self, x):
        sklearn()
        from sklearn import manifold

        if self.method == "lle":
            model = manifold.LocallyLinearEmbedding(
                n_neighbors=self.n_neighbors,
                n_components=self.D,
                reg=self.reg,
                random_state=self.seed,
            ).fit(x)
            return {"samples": x, "embedding": model.embedding_}
        model = manifold.Isomap(n_neighbors=self.n_neighbors, n_components=self.D).fit(x)
        kpca = model.kernel_pca_
        lambdas, alphas = kpca.eigenvalues_, kpca.eigenvectors_
        scaled = np.zeros_like(alphas)
        nonzero = lambdas != 0
        scaled[:, nonzero] = alphas[:, nonzero] / np.sqrt(lambdas[nonzero])
        return {
            "samples": x,
            "embedding": scaled,
            "geodesics": model.dist_matrix_,
            "kernel_rows": kpca._centerer.K_fit_rows_,
            "kernel_mean": kpca._centerer.K_fit_all_,
        }

    def _neighbours(self, x):
        """Distances `(b, k)` and indices `(b, k)` of the nearest training rows."""
        samples = ops.cast(self.state["samples"], x.dtype)
        squared = (
            ops.sum(ops.square(x), axis=-1, keepdims=True)
            - 2.0 * ops.matmul(x, ops.transpose(samples))
            + ops.sum(ops.square(samples), axis=-1)[None, :]
        )
        negative, idx = ops.top_k(-squared, self.n_neighbors)
        return ops.sqrt(ops.maximum(-negative, 0.0)), idx, samples

    def transform(self, x):
        lead = ops.shape(x)[:-1]
        x = ops.reshape(x, (-1, x.shape[-1]))
        dist, idx, samples = self._neighbours(x)
        embedding = ops.cast(self.state["embedding"], x.dtype)
        if self.method == "lle":
            local = ops.take(samples, idx, axis=0) - x[:, None, :]  # (b, k, m)
            gram = ops.matmul(local, ops.transpose(local, (0, 2, 1)))  # (b, k, k)
            trace = ops.trace(gram, axis1=1, axis2=2)
            ridge = ops.where(trace > 0, self.reg * trace, self.reg)
            eye = ops.eye(self.n_neighbors, dtype=x.dtype)
            gram = gram + ridge[:, None, None] * eye
            w = ops.solve(gram, ops.ones((ops.shape(x)[0], self.n_neighbors, 1), x.dtype))
            w = w[..., 0] / ops.sum(w[..., 0], axis=-1, keepdims=True)
            y = ops.einsum("bk,bkd->bd", w, ops.take(embedding, idx, axis=0))
        else:
            geodesics = ops.take(ops.cast(self.state["geodesics"], x.dtype), idx, axis=0)
            g = ops.min(geodesics + dist[:, :, None], axis=1)  # (b, N)
            kernel = -0.5 * ops.square(g)
            rows = ops.cast(self.state["kernel_rows"], x.dtype)
            kernel = (
                kernel
                - rows[None, :]
                - ops.mean(kernel, axis=-1, keepdims=True)
                + ops.cast(self.state["kernel_mean"], x.dtype)
            )
            y = ops.matmul(kernel, embedding)
        return ops.reshape(y, tuple(lead) + (self.D,))

    def get_config(self):
        config = super().get_config()
        config.update(method=self.method, n_neighbors=self.n_neighbors, reg=self.reg)
        config["num_samples"] = self.num_samples
        return config


@register("isomap", "isomap_manifold_compression")
class IsomapCompression(FixedMethod, ManifoldCompression):
    """Isomap fitted once, with its out-of-sample map, `D(m) = D`."""

    fixed_method = "isomap"


@register("lle", "lle_manifold_compression")
class LLECompression(FixedMethod, ManifoldCompression):
    """Locally linear embedding fitted once, with its out-of-sample map, `D(m) = D`."""

    fixed_method = "lle"


@register("mds", "mds_manifold_compression")
class MDSCompression(FixedMethod, ManifoldCompression):
    """MDS: no out-of-sample map; constructing it raises a `ValueError` saying so."""

    fixed_method = "mds"


@register("spectral_embedding", "spectral_embedding_manifold_compression")
class SpectralEmbeddingCompression(FixedMethod, ManifoldCompression):
    """Spectral embedding: no out-of-sample map; constructing it raises a `ValueError`."""

    fixed_method = "spectral_embedding"


@register("tsne", "tsne_manifold_compression")
class TSNECompression(FixedMethod, ManifoldCompression):
    """t-SNE: no out-of-sample map; constructing it raises a `ValueError` saying so."""

    fixed_method = "tsne"
