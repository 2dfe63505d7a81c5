"""Independent numpy references of the RPN formulas used across the tests."""

import numpy as np


def taylor(x, d):
    blocks, power = [x], x
    for _ in range(2, d + 1):
        power = np.einsum("bi,bj->bij", power, x).reshape(len(x), -1)
        blocks.append(power)
    return np.concatenate(blocks, axis=1)


def bspline(x, grid_range=(-1.0, 1.0), t=5, d=3):
    """Cox-de Boor on the uniform knot vector, evaluated point by point."""
    low, high = grid_range
    h = (high - low) / t
    knots = [low + (j - d) * h for j in range(t + 2 * d + 1)]

    def basis(j, k, v):
        if k == 0:
            return 1.0 if knots[j] <= v < knots[j + 1] else 0.0
        left = (v - knots[j]) / (knots[j + k] - knots[j]) * basis(j, k - 1, v)
        right = (knots[j + k + 1] - v) / (knots[j + k + 1] - knots[j + 1]) * basis(j + 1, k - 1, v)
        return left + right

    out = np.array(
        [[[basis(j, d, v) for j in range(t + d)] for v in row] for row in np.asarray(x, float)]
    )
    return out.reshape(len(x), -1)


def chebyshev(x, d):
    polys = [np.ones_like(x), x]
    for _ in range(2, d + 1):
        polys.append(2 * x * polys[-1] - polys[-2])
    return np.stack(polys[1 : d + 1], axis=-1).reshape(len(x), -1)


EXPANSIONS = {
    "identity": lambda x: x,
    "taylor": lambda x: taylor(x, 2),
    "bspline": bspline,
    "chebyshev": lambda x: chebyshev(x, 2),
}


def lorr(w, n, D, r):
    return w[: n * r].reshape(n, r) @ w[n * r :].reshape(r, D)


def head(
    x,
    kernel,
    n,
    expansion="identity",
    reconcile=None,
    bias=None,
    fusion="mean",
    remainder=None,
    activation=None,
):
    """y = act(F_c([kappa(x) W_c^T + b]) + pi(x)) with W_c = reconcile(kernel[c])."""
    kx = EXPANSIONS[expansion](x)
    D = kx.shape[1]
    reconcile = reconcile or (lambda w: w.reshape(n, D))
    ys = [kx @ reconcile(w).T + (0 if bias is None else bias) for w in kernel]
    y = {"mean": np.mean, "sum": np.sum, "max": np.max}[fusion](np.stack(ys), axis=0)
    if remainder is not None:
        y = y + remainder
    return y if activation is None else activation(y)


def silu(v):
    return v / (1 + np.exp(-v))
