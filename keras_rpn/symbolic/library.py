"""The candidate library: the functions `g` a fitted edge `c g(a t + b) + d` may use.

Each candidate is written once, in the three forms the toolset needs:

* numpy, on float64 arrays, NaN where `g` is undefined (fitting: such a candidate
  scores R^2 = -inf on those samples);
* `keras.ops`, with the argument clamped where `g` is undefined (the locked
  `SymbolicDense` layer: sqrt and log at 1e-8, 1/x at |u| >= 1e-3);
* sympy (the formula), given the sympy module, which is an optional extra.

`complexity` breaks near-ties: the simplest candidate within the tolerance wins.
"""

import dataclasses
from collections.abc import Callable

import numpy as np
from keras import ops

_EPS = 1e-8


def _ops_reciprocal(u):
    return 1.0 / ops.where(u < 0, ops.minimum(u, -1e-3), ops.maximum(u, 1e-3))


def _undefined(where, values):
    return np.where(where, np.nan, values)


@dataclasses.dataclass(frozen=True)
class Candidate:
    """One function `g` of the library.

    Attributes:
        numpy: `g` on float64 arrays, NaN where undefined.
        ops: `g` on tensors, written with `keras.ops`, argument clamped where undefined.
        sympy: `(sp, u) -> g(u)` for the sympy module `sp` and an expression `u`.
        complexity: a positive integer; lower is simpler.
    """

    numpy: Callable
    ops: Callable
    sympy: Callable
    complexity: int


CANDIDATES = {
    "x": Candidate(lambda u: u, lambda u: u, lambda sp, u: u, 1),
    "x^2": Candidate(np.square, ops.square, lambda sp, u: u**2, 2),
    "x^3": Candidate(lambda u: u**3, lambda u: u * u * u, lambda sp, u: u**3, 3),
    "exp": Candidate(np.exp, ops.exp, lambda sp, u: sp.exp(u), 2),
    "log": Candidate(
        lambda u: _undefined(u <= 0, np.log(np.abs(u) + 1e-300)),
        lambda u: ops.log(ops.maximum(u, _EPS)),
        lambda sp, u: sp.log(u),
        2,
    ),
    "sin": Candidate(np.sin, ops.sin, lambda sp, u: sp.sin(u), 2),
    "tan": Candidate(
        lambda u: _undefined(np.abs(np.cos(u)) <= 1e-2, np.tan(u)),
        ops.tan,
        lambda sp, u: sp.tan(u),
        3,
    ),
    "tanh": Candidate(np.tanh, ops.tanh, lambda sp, u: sp.tanh(u), 3),
    "sqrt": Candidate(
        lambda u: _undefined(u < 0, np.sqrt(np.abs(u))),
        lambda u: ops.sqrt(ops.maximum(u, _EPS)),
        lambda sp, u: sp.sqrt(u),
        2,
    ),
    "1/x": Candidate(
        lambda u: _undefined(np.abs(u) <= 1e-3, 1.0 / u),
        _ops_reciprocal,
        lambda sp, u: 1 / u,
        2,
    ),
    "abs": Candidate(np.abs, ops.abs, lambda sp, u: sp.Abs(u), 3),
    "gaussian": Candidate(
        lambda u: np.exp(-(u**2)),
        lambda u: ops.exp(-ops.square(u)),
        lambda sp, u: sp.exp(-(u**2)),
        3,
    ),
}

NAMES = tuple(CANDIDATES)


def get(name):
    """The `Candidate` called `name`; a clear `ValueError` for an unknown one."""
    try:
        return CANDIDATES[name]
    except (KeyError, TypeError):
        raise ValueError(f"Unknown candidate {name!r}. Known: {', '.join(NAMES)}.") from None
