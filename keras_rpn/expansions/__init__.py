"""Data expansion functions kappa: R^m -> R^D.

`get(identifier)` resolves a name (see `names()`), an instance or a config dict.
"""

from keras_rpn.expansions.base import Expansion
from keras_rpn.expansions.base import get
from keras_rpn.expansions.base import names
from keras_rpn.expansions.base import register
from keras_rpn.expansions.basic import IdentityExpansion
from keras_rpn.expansions.bspline import BSplineExpansion
from keras_rpn.expansions.orthogonal import ChebyshevExpansion
from keras_rpn.expansions.orthogonal import RecurrenceExpansion
from keras_rpn.expansions.polynomial import TaylorExpansion
