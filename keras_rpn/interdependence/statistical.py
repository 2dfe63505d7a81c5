"""Statistical kernels: KL divergence, Pearson correlation, RV coefficient, mutual
information, between the items of one sample (see `KernelInterdependence`).

Each item `u_i` is a vector of `f` observations. Every kernel is written as batched
matrix products of the centred items (no per-pair loop), so it jit-compiles.
"""

from keras import ops

from keras_rpn.interdependence.base import KernelInterdependence
from keras_rpn.interdependence.base import gram
from keras_rpn.interdependence.base import register
from keras_rpn.interdependence.base import safe_divide
from keras_rpn.interdependence.base import safe_sqrt


def covariance(u):
    """Sample covariances `(batch, d, d)` with the `f - 1` normalisation."""
    centred = u - ops.mean(u, axis=-1, keepdims=True)
    return gram(centred) / float(max(u.shape[-1] - 1, 1))


def correlation(u):
    """Pearson correlations; 0 wherever an item is constant (zero variance)."""
    cov = covariance(u)
    std = safe_sqrt(ops.diagonal(cov, axis1=-2, axis2=-1))
    return safe_divide(cov, std[..., :, None] * std[..., None, :])


def _zero_diagonal(a):
    eye = ops.eye(a.shape[-1], dtype=a.dtype)
    return a * (1.0 - eye)


@register("kl_divergence", "kl_divergence_interdependence")
class KLDivergenceInterdependence(KernelInterdependence):
    """KL divergence between the items seen as distributions (softmax over `f`).

    Formula:
    ```
    P_i = softmax(u_i),   A[i, j] = sum_r P_ir (log P_ir - log P_jr)
    ```

    Args:
        interdependence_type: `"attribute"` (default) or `"instance"`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Example:
    >>> xi = keras_rpn.interdependence.get("kl_divergence")
    >>> tuple(xi(np.ones((2, 5, 3))).shape)  # A compares the 3 features over 5 instances
    (2, 5, 3)
    """

    def kernel(self, u):
        log_p = ops.log_softmax(u, axis=-1)
        p = ops.exp(log_p)
        entropy = ops.sum(p * log_p, axis=-1)
        return entropy[..., :, None] - ops.einsum("bir,bjr->bij", p, log_p)


@register("pearson_correlation", "pearson", "pearson_correlation_interdependence")
class PearsonCorrelationInterdependence(KernelInterdependence):
    """Pearson correlation matrix of the items.

    Formula:
    ```
    A[i, j] = cov(u_i, u_j) / (std(u_i) std(u_j))   (f - 1 normalisation)
    ```
    Difference from tinyBIG: a constant item (zero variance) gives NaN in tinyBIG;
    here its row and column are 0.

    Args:
        interdependence_type: `"attribute"` (default) or `"instance"`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.
    """

    def kernel(self, u):
        return correlation(u)


@register("rv_coefficient", "rv_coefficient_interdependence")
class RVCoefficientInterdependence(KernelInterdependence):
    """tinyBIG's RV coefficient: pairwise correlation clamped to `[0, 1]`, diagonal 0.

    Formula:
    ```
    A[i, j] = clip(corr(u_i, u_j), 0, 1) for i != j,   A[i, i] = 0
    ```
    Computed from one correlation matrix (tinyBIG loops over pairs in Python).

    Args:
        interdependence_type: `"attribute"` (default) or `"instance"`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.
    """

    def kernel(self, u):
        return _zero_diagonal(ops.clip(correlation(u), 0.0, 1.0))


@register("mutual_information", "mutual_information_interdependence")
class MutualInformationInterdependence(KernelInterdependence):
    """Gaussian mutual information between pairs of items, diagonal 0.

    Formula (`s_i^2` the variances, `c_ij` the covariance, `eps = 1e-10`):
    ```
    A[i, j] = 1/2 log( max(s_i^2, eps) max(s_j^2, eps) / max(s_i^2 s_j^2 - c_ij^2, eps) )
    ```
    Computed from one covariance matrix (tinyBIG loops over pairs in Python).

    Args:
        interdependence_type: `"attribute"` (default) or `"instance"`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.
    """

    epsilon = 1e-10

    def kernel(self, u):
        cov = covariance(u)
        var = ops.diagonal(cov, axis1=-2, axis2=-1)
        det = var[..., :, None] * var[..., None, :] - ops.square(cov)
        clamped = ops.maximum(var, self.epsilon)
        ratio = clamped[..., :, None] * clamped[..., None, :] / ops.maximum(det, self.epsilon)
        return _zero_diagonal(0.5 * ops.log(ratio))
