"""Combinatorial expansions: feature subsets of sizes 1 to d, as gathered tensors."""

import functools
import itertools
import math

import numpy as np
from keras import ops

from keras_rpn import validation
from keras_rpn.expansions.base import Expansion
from keras_rpn.expansions.base import register


@functools.lru_cache(maxsize=64)
def combination_table(m, r, with_replacement):
    """All r-subsets of `range(m)` in lexicographic order, as an int32 array `(C, r)`.

    The order is `itertools.combinations` (or `combinations_with_replacement`), the
    same as `torch.combinations`.
    """
    make = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    table = np.array(list(make(range(m), r)), dtype="int32")
    return table.reshape(-1, r)


def num_combinations(m, r, with_replacement):
    return math.comb(m + r - 1, r) if with_replacement else math.comb(m, r)


class _CombinatorialBase(Expansion):
    @property
    def column_layout(self):
        # Degree 1: each column is one feature; higher degrees mix features.
        return "feature_major" if self.d == 1 else None

    def __init__(self, d, with_replacement=False, **kwargs):
        super().__init__(**kwargs)
        self.d = validation.positive_int("d", d)
        self.with_replacement = validation.boolean("with_replacement", with_replacement)

    def tables(self, m):
        return [combination_table(m, r, self.with_replacement) for r in range(1, self.d + 1)]

    def get_config(self):
        return {**super().get_config(), "d": self.d, "with_replacement": self.with_replacement}


@register("combinatorial", "combinatorial_expansion")
class CombinatorialExpansion(_CombinatorialBase):
    """Combinatorial expansion: the values of every feature subset of size 1 to `d`.

    Formula (for each `r = 1..d`, every r-subset `S = (i_1 < ... < i_r)` of the
    features in lexicographic order):
    ```
    kappa(x) = [x_S  for S in C(m, 1)] ++ ... ++ [x_S  for S in C(m, d)]
    D(m) = sum_{r=1..d} r C(m, r)     (with replacement: sum_r r C(m + r - 1, r))
    ```
    Layout: degree-major, then subsets in `torch.combinations` order, then the `r`
    values of the subset; e.g. `m = 3, d = 2`:
    `[x1, x2, x3, x1, x2, x1, x3, x2, x3]`. tinyBIG returns the same numbers as
    nested Python lists (one list per degree and sample), which a head cannot use;
    here they are one tensor, gathered with an index table built once per `m`.

    Args:
        d: largest subset size, a positive integer (default 2).
        with_replacement: whether subsets may repeat a feature (default `False`).
        **kwargs: `preprocessing`, `postprocessing` (see `Expansion`) and base layer
            keyword arguments, such as `name` and `dtype`.

    Example:
    >>> kappa = keras_rpn.expansions.CombinatorialExpansion(d=2)
    >>> keras.ops.convert_to_numpy(kappa(np.array([[1.0, 2.0, 3.0]])))
    array([[1., 2., 3., 1., 2., 1., 3., 2., 3.]], dtype=float32)
    """

    def __init__(self, d=2, with_replacement=False, **kwargs):
        super().__init__(d=d, with_replacement=with_replacement, **kwargs)

    def output_dim(self, input_dim):
        return sum(
            r * num_combinations(input_dim, r, self.with_replacement) for r in range(1, self.d + 1)
        )

    def expand(self, x):
        index = np.concatenate([t.reshape(-1) for t in self.tables(x.shape[-1])])
        return ops.take(x, index, axis=-1)


@register("combinatorial_normal", "combinatorial_normal_expansion")
class CombinatorialNormalExpansion(_CombinatorialBase):
    """Log-densities of standard multivariate normals on every feature subset.

    Formula (for each `r = 1..d` and every r-subset `S` in lexicographic order):
    ```
    kappa(x)_S = log N_r(x_S; 0, I_r) = -|x_S|^2 / 2 - (r / 2) log(2 pi)
    D(m) = sum_{r=1..d} C(m, r)     (with replacement: sum_r C(m + r - 1, r))
    ```
    Degree-major, subsets in `torch.combinations` order. tinyBIG loops over the
    samples on the CPU; here each degree is one gather and one sum.

    Args:
        d: largest subset size, a positive integer (default 1).
        with_replacement: whether subsets may repeat a feature (default `False`).
        **kwargs: `preprocessing`, `postprocessing` (see `Expansion`) and base layer
            keyword arguments, such as `name` and `dtype`.

    Example:
    >>> tuple(keras_rpn.expansions.CombinatorialNormalExpansion(d=2)(np.zeros((4, 3))).shape)
    (4, 6)
    """

    float32_compute = True

    def __init__(self, d=1, with_replacement=False, **kwargs):
        super().__init__(d=d, with_replacement=with_replacement, **kwargs)

    def output_dim(self, input_dim):
        return sum(
            num_combinations(input_dim, r, self.with_replacement) for r in range(1, self.d + 1)
        )

    def expand(self, x):
        half_squares = 0.5 * ops.square(x)
        parts = []
        for r, table in enumerate(self.tables(x.shape[-1]), start=1):
            gathered = ops.take(half_squares, table.reshape(-1), axis=-1)
            gathered = ops.reshape(gathered, ops.shape(x)[:-1] + table.shape)
            parts.append(-ops.sum(gathered, axis=-1) - r * 0.5 * math.log(2.0 * math.pi))
        return parts[0] if len(parts) == 1 else ops.concatenate(parts, axis=-1)
