"""Symbolic formulas of RPN models (needs sympy: `pip install "keras-rpn[symbolic]"`).

* `export(obj)`: exact sympy expressions of heads, layers and models whose
  expansions have closed forms (identity, Taylor, Chebyshev, Legendre and the other
  recurrence polynomials), with any reconciliation and linear fusions;
* `auto_symbolic(model, x)` / `formula(model, x)`: every edge function of a
  separable (spline, RBF, ...) model matched against a candidate library
  (`fit_function`), composed into a formula of the inputs;
* `lock(model, x)`: the fitted candidates locked into a trainable model of
  `SymbolicDense` layers (`c f(a x + b) + d` per edge), to fine-tune with `fit`
  and `export` (pykan's auto-symbolic then retraining); `fine_tune(locked, x, y)`
  does the fitting in rounds of decreasing step with the output `c, d` re-solved;
* `to_latex(exprs)`, `round_floats(expr)`, `simplify(expr)`, `evaluate(exprs, x)`.

sympy is imported only when a function needs it.
"""

from keras_rpn.symbolic.export import evaluate
from keras_rpn.symbolic.export import export
from keras_rpn.symbolic.export import round_floats
from keras_rpn.symbolic.export import to_latex
from keras_rpn.symbolic.fit import EdgeFit
from keras_rpn.symbolic.fit import auto_symbolic
from keras_rpn.symbolic.fit import fit_function
from keras_rpn.symbolic.fit import formula
from keras_rpn.symbolic.fit import simplify
from keras_rpn.symbolic.library import NAMES
from keras_rpn.symbolic.locked import SymbolicDense
from keras_rpn.symbolic.locked import fine_tune
from keras_rpn.symbolic.locked import lock

__all__ = [
    "NAMES",
    "EdgeFit",
    "SymbolicDense",
    "auto_symbolic",
    "evaluate",
    "export",
    "fine_tune",
    "fit_function",
    "formula",
    "lock",
    "round_floats",
    "simplify",
    "to_latex",
]
