"""Numerical kernels between the items of one sample (see `KernelInterdependence`):
inner-product kernels, distance kernels `exp(-dist)`, RBFs and weighted hybrids.

Squared Euclidean distances (RBF, exponential kernels) use the Gram expansion
`|a|^2 + |b|^2 - 2 a.b` (no `d x d x f` tensor); the distances themselves take the
pairwise differences of one sample (a square root of the Gram form would lose
`sqrt(eps)` of precision near 0).
"""

import math

import numpy as np
from keras import ops

from keras_rpn import validation
from keras_rpn.interdependence.base import KernelInterdependence
from keras_rpn.interdependence.base import get
from keras_rpn.interdependence.base import gram
from keras_rpn.interdependence.base import register
from keras_rpn.interdependence.base import safe_divide
from keras_rpn.interdependence.base import safe_sqrt
from keras_rpn.registry import serialize_component


def squared_distances(u, weights=None):
    """`sum_f w_f (u_if - u_jf)^2` per sample, through Gram matrices."""
    weighted = u if weights is None else u * weights
    norms = ops.sum(weighted * u, axis=-1)
    d2 = norms[..., :, None] + norms[..., None, :] - 2.0 * ops.einsum("bif,bjf->bij", weighted, u)
    return ops.maximum(d2, 0.0)


def differences(u):
    """`|u_if - u_jf|`, shape `(batch, d, d, f)`."""
    return ops.abs(u[..., :, None, :] - u[..., None, :, :])


def minkowski(u, p):
    diff = differences(u)
    if p == 2:  # from the differences: the Gram form loses sqrt(eps) near 0
        return safe_sqrt(ops.sum(ops.square(diff), axis=-1))
    if math.isinf(p):
        return ops.max(diff, axis=-1)
    if p == 1:
        return ops.sum(diff, axis=-1)
    total = ops.sum(diff**p, axis=-1)
    positive = ops.greater(total, 0.0)
    return ops.where(positive, ops.power(ops.where(positive, total, 1.0), 1.0 / p), 0.0)


@register("linear_kernel", "linear_kernel_interdependence")
class LinearKernelInterdependence(KernelInterdependence):
    """Linear kernel: `A[i, j] = <u_i, u_j>`.

    Args:
        interdependence_type: `"attribute"` (default) or `"instance"`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Example:
    >>> xi = keras_rpn.interdependence.get("linear_kernel", interdependence_type="instance")
    >>> tuple(xi(np.ones((2, 5, 3))).shape)
    (2, 5, 3)
    """

    def kernel(self, u):
        return gram(u)


@register("polynomial_kernel", "polynomial_kernel_interdependence")
class PolynomialKernelInterdependence(KernelInterdependence):
    """Polynomial kernel: `A[i, j] = (<u_i, u_j> + c)^d`.

    Args:
        c: offset (default 0.0).
        d: degree, a positive integer (default 1).
        interdependence_type: `"attribute"` (default) or `"instance"`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.
    """

    def __init__(self, c=0.0, d=1, **kwargs):
        super().__init__(**kwargs)
        self.c = validation.finite_float("c", c)
        self.d = validation.positive_int("d", d)

    def kernel(self, u):
        return (gram(u) + self.c) ** self.d

    def get_config(self):
        return {**super().get_config(), "c": self.c, "d": self.d}


@register("hyperbolic_tangent_kernel", "hyperbolic_tangent_kernel_interdependence")
class HyperbolicTangentKernelInterdependence(KernelInterdependence):
    """Hyperbolic tangent kernel: `A[i, j] = tanh(alpha <u_i, u_j> + c)`.

    Args:
        c: offset (default 0.0).
        alpha: slope (default 1.0).
        interdependence_type: `"attribute"` (default) or `"instance"`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.
    """

    def __init__(self, c=0.0, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.c = validation.finite_float("c", c)
        self.alpha = validation.finite_float("alpha", alpha)

    def kernel(self, u):
        return ops.tanh(self.alpha * gram(u) + self.c)

    def get_config(self):
        return {**super().get_config(), "c": self.c, "alpha": self.alpha}


@register("cosine_similarity", "cosine_similarity_interdependence")
class CosineSimilarityInterdependence(KernelInterdependence):
    """Cosine similarity: `A[i, j] = <u_i, u_j> / (|u_i| |u_j|)`; 0 for zero vectors.

    Args:
        interdependence_type: `"attribute"` (default) or `"instance"`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.
    """

    def kernel(self, u):
        norms = safe_sqrt(ops.sum(ops.square(u), axis=-1, keepdims=True))
        unit = safe_divide(u, norms)
        return gram(unit)


class DistanceKernelInterdependence(KernelInterdependence):
    """Base of `A[i, j] = exp(-distance(u_i, u_j))`.

    A subclass implements `distance(u)`.
    """

    def distance(self, u):
        raise NotImplementedError

    def kernel(self, u):
        return ops.exp(-self.distance(u))


@register("minkowski_distance", "minkowski_distance_interdependence")
class MinkowskiDistanceInterdependence(DistanceKernelInterdependence):
    """Minkowski distance kernel: `A[i, j] = exp(-|u_i - u_j|_p)`.

    Args:
        p: the norm's order, a number >= 1 or `"inf"` (default 2).
        interdependence_type: `"attribute"` (default) or `"instance"`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.
    """

    def __init__(self, p=2, **kwargs):
        super().__init__(**kwargs)
        if isinstance(p, str) and p.lower() in ("inf", "infinity"):
            p = math.inf
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not p >= 1:
            raise ValueError(f"`p` must be a number >= 1 or 'inf'. Received: p={p!r}")
        self.p = float(p)

    def distance(self, u):
        return minkowski(u, self.p)

    def get_config(self):
        return {**super().get_config(), "p": "inf" if math.isinf(self.p) else self.p}


class _FixedNormInterdependence(MinkowskiDistanceInterdependence):
    """A Minkowski kernel whose order is fixed by the class (`norm`)."""

    norm = 2

    def __init__(self, **kwargs):
        kwargs.pop("p", None)
        super().__init__(p=self.norm, **kwargs)

    def get_config(self):
        config = super().get_config()
        config.pop("p")
        return config


@register("manhattan_distance", "manhattan_distance_interdependence")
class ManhattanDistanceInterdependence(_FixedNormInterdependence):
    """Manhattan distance kernel: `A[i, j] = exp(-|u_i - u_j|_1)`.

    Args:
        interdependence_type: `"attribute"` (default) or `"instance"`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.
    """

    norm = 1


@register("euclidean_distance", "euclidean_distance_interdependence")
class EuclideanDistanceInterdependence(_FixedNormInterdependence):
    """Euclidean distance kernel: `A[i, j] = exp(-|u_i - u_j|_2)`.

    Args:
        interdependence_type: `"attribute"` (default) or `"instance"`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.
    """

    norm = 2


@register("chebyshev_distance", "chebyshev_distance_interdependence")
class ChebyshevDistanceInterdependence(_FixedNormInterdependence):
    """Chebyshev distance kernel: `A[i, j] = exp(-max_f |u_if - u_jf|)`.

    Args:
        interdependence_type: `"attribute"` (default) or `"instance"`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.
    """

    norm = math.inf


@register("canberra_distance", "canberra_distance_interdependence")
class CanberraDistanceInterdependence(DistanceKernelInterdependence):
    """Canberra distance kernel: `A[i, j] = exp(-sum_f |a - b| / (|a| + |b| + 1e-10))`.

    With `a = u_if`, `b = u_jf`.

    Args:
        interdependence_type: `"attribute"` (default) or `"instance"`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.
    """

    def distance(self, u):
        total = ops.abs(u[..., :, None, :]) + ops.abs(u[..., None, :, :])
        return ops.sum(differences(u) / (total + 1e-10), axis=-1)


@register("exponential_kernel", "exponential_kernel_interdependence")
class ExponentialKernelInterdependence(KernelInterdependence):
    """Exponential kernel: `A[i, j] = exp(-gamma |u_i - u_j|^2)`.

    Args:
        gamma: a finite positive number (default 1.0).
        interdependence_type: `"attribute"` (default) or `"instance"`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.
    """

    def __init__(self, gamma=1.0, **kwargs):
        super().__init__(**kwargs)
        self.gamma = validation.finite_float("gamma", gamma, positive=True)

    def kernel(self, u):
        return ops.exp(-self.gamma * squared_distances(u))

    def get_config(self):
        return {**super().get_config(), "gamma": self.gamma}


@register("gaussian_rbf_kernel", "gaussian_rbf", "gaussian_rbf_kernel_interdependence")
class GaussianRBFKernelInterdependence(KernelInterdependence):
    """Gaussian RBF kernel: `A[i, j] = exp(-|u_i - u_j|^2 / (2 sigma^2))`.

    Args:
        sigma: a finite positive width (default 1.0).
        interdependence_type: `"attribute"` (default) or `"instance"`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.
    """

    def __init__(self, sigma=1.0, **kwargs):
        super().__init__(**kwargs)
        self.sigma = validation.finite_float("sigma", sigma, positive=True)

    def kernel(self, u):
        return ops.exp(-squared_distances(u) / (2.0 * self.sigma**2))

    def get_config(self):
        return {**super().get_config(), "sigma": self.sigma}


@register("laplacian_kernel", "laplacian_kernel_interdependence")
class LaplacianKernelInterdependence(KernelInterdependence):
    """Laplacian kernel: `A[i, j] = exp(-|u_i - u_j|_1 / sigma)`.

    Args:
        sigma: a finite positive width (default 1.0).
        interdependence_type: `"attribute"` (default) or `"instance"`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.
    """

    def __init__(self, sigma=1.0, **kwargs):
        super().__init__(**kwargs)
        self.sigma = validation.finite_float("sigma", sigma, positive=True)

    def kernel(self, u):
        return ops.exp(-minkowski(u, 1) / self.sigma)

    def get_config(self):
        return {**super().get_config(), "sigma": self.sigma}


@register("anisotropic_rbf_kernel", "anisotropic_rbf_kernel_interdependence")
class AnisotropicRBFKernelInterdependence(KernelInterdependence):
    """Anisotropic RBF kernel: `A[i, j] = exp(-sum_f a_f (u_if - u_jf)^2)`.

    Args:
        a_vector: per-observation weights `a`, of length `f` (the items' length:
            `m` for the instance type, `N` for the attribute type); default
            `a_scalar` everywhere.
        a_scalar: the weight when `a_vector` is not given (default 1.0).
        interdependence_type: `"attribute"` (default) or `"instance"`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.
    """

    def __init__(self, a_vector=None, a_scalar=1.0, **kwargs):
        super().__init__(**kwargs)
        self.a_vector = (
            None
            if a_vector is None
            else validation.float_list("a_vector", list(np.ravel(a_vector)))
        )
        self.a_scalar = validation.finite_float("a_scalar", a_scalar)

    def build(self, inputs_shape, data_shape=None):
        super().build(inputs_shape, data_shape)
        length = self.data_shape[-1] if self.is_instance else self.data_shape[-2]
        if self.a_vector is not None and len(self.a_vector) != length:
            raise ValueError(
                f"`a_vector` has {len(self.a_vector)} entries, but the items compared have "
                f"length {length}. Received: input_shape={self.data_shape}"
            )

    def kernel(self, u):
        if self.a_vector is None:
            return ops.exp(-self.a_scalar * squared_distances(u))
        weights = ops.convert_to_tensor(np.asarray(self.a_vector), dtype=u.dtype)
        return ops.exp(-squared_distances(u, weights))

    def get_config(self):
        return {**super().get_config(), "a_vector": self.a_vector, "a_scalar": self.a_scalar}


@register("custom_hybrid_kernel", "custom_hybrid_kernel_interdependence")
class CustomHybridKernelInterdependence(KernelInterdependence):
    """Weighted sum of kernels: `A = sum_k w_k A_k`.

    Args:
        kernels: the kernels, a list of names, config dicts or kernel
            interdependences (e.g. `["linear_kernel", "gaussian_rbf_kernel"]`);
            they take this function's `interdependence_type`.
        weights: one weight per kernel (default: uniform, `1 / K`).
        interdependence_type: `"attribute"` (default) or `"instance"`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.
    """

    def __init__(self, kernels, weights=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(kernels, (str, dict)) or not kernels:
            raise ValueError(f"`kernels` must be a non-empty list. Received: kernels={kernels!r}")
        self.kernels = [
            get(k, interdependence_type=self.interdependence_type, name=f"kernel_{i}")
            for i, k in enumerate(kernels)
        ]
        for k in self.kernels:
            if not isinstance(k, KernelInterdependence):
                raise ValueError(
                    f"`kernels` must name data kernels; {k.__class__.__name__} is not one."
                )
        if weights is None:
            weights = [1.0 / len(self.kernels)] * len(self.kernels)
        self.weights_ = validation.float_list("weights", weights)
        if len(self.weights_) != len(self.kernels):
            raise ValueError(
                f"`weights` needs one entry per kernel ({len(self.kernels)}). "
                f"Received: weights={weights!r}"
            )

    def build(self, inputs_shape, data_shape=None):
        super().build(inputs_shape, data_shape)
        for k in self.kernels:
            k.build(inputs_shape, data_shape)

    def kernel(self, u):
        return sum(w * k.kernel(u) for w, k in zip(self.weights_, self.kernels, strict=True))

    def get_config(self):
        return {
            **super().get_config(),
            "kernels": [serialize_component(k) for k in self.kernels],
            "weights": self.weights_,
        }
