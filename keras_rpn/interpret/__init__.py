"""The learned univariate functions of separable RPN heads, and feature importance.

When the expansion acts on every input feature separately (B-splines, Chebyshev and
the other recurrence polynomials, Gaussian and inverse quadratic RBFs, Fourier,
trigonometric and hyperbolic functions, the naive probabilistic expansions, the
identity), every column of `kappa(x)` depends on one feature only, and a head with
a linear channel fusion is a sum of univariate functions:

```
head(x)_i = sum_j f_ij(x_j) + b_i          (before the head's activation)
f_ij(t)   = F_channel( [ sum_{k in cols(j)} psi(w_c)[i, k] kappa_k(t) ]_c ) + pi_ij(t)
```

where `cols(j)` are the expansion columns of feature `j` (feature-major `(m, K)`
blocks for B-splines, recurrences and RBFs: column `j K + k`; block-major for
Fourier, trigonometric and probabilistic expansions: column `k m + j`; an extended
expansion concatenates its children's), and `pi_ij(t)` is the remainder's share
when it is additive (a linear remainder without activation: `W_r[j, i] t`; an
identity remainder: `t` if `i = j`). This is how a KAN is read: each `f_ij` is the
curve on the edge from input `j` to output `i`.

* `feature_columns(expansion, m)`: the `(m, K)` column indices of each feature
  (the expansion's own `Expansion.separable_columns(m)`).
* `contributions(head, x)`: `f_ij(x_j)` for every sample, `(N, m, n)`, and `b`.
* `univariate_functions(head, grid)`: `f_ij` on a grid, `(G, m, n)`.
* `feature_importance(head, x)`: how much each input moves the outputs.
* `plot_functions(head, output_dir)`: one PNG per output, a panel per input
  (needs matplotlib: `pip install "keras-rpn[plot]"`).

`head` may be an `RPNHead`, an `RPNLayer` whose head fusion is linear (mean, sum,
weighted sums, concatenation) or a one-layer `RPN`. Activations are not undone:
the functions are those before the head's (and layer's) activation, and before the
processing layers of a `ProcessedRPN`.

Modules: `functions` (the per-feature terms and the learned functions) and `plot`
(PNG plots of them).
"""

from keras_rpn.interpret.functions import contributions
from keras_rpn.interpret.functions import default_range
from keras_rpn.interpret.functions import feature_columns
from keras_rpn.interpret.functions import feature_importance
from keras_rpn.interpret.functions import univariate_functions
from keras_rpn.interpret.plot import plot_functions

__all__ = [
    "contributions",
    "default_range",
    "feature_columns",
    "feature_importance",
    "plot_functions",
    "univariate_functions",
]
