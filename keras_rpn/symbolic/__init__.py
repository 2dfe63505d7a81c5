"""Symbolic formulas of RPN models (needs sympy: `pip install "keras-rpn[symbolic]"`).

* `export(obj)`: exact sympy expressions of heads, layers and models whose
  expansions have closed forms (identity, Taylor, Chebyshev, Legendre and the other
  recurrence polynomials), with any reconciliation and linear fusions;
* `to_latex(exprs)`, `round_floats(expr)`, `evaluate(exprs, x)`.

sympy is imported only when a function needs it.
"""

from keras_rpn.symbolic.export import evaluate
from keras_rpn.symbolic.export import export
from keras_rpn.symbolic.export import round_floats
from keras_rpn.symbolic.export import to_latex

__all__ = ["evaluate", "export", "round_floats", "to_latex"]
