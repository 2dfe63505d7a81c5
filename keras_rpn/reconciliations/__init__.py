"""Parameter reconciliation functions psi: R^l -> R^{n x D}.

`get(identifier)` resolves a name (see `names()`), an instance or a config dict.
"""

from keras_rpn.reconciliations.base import Reconciliation
from keras_rpn.reconciliations.base import get
from keras_rpn.reconciliations.base import names
from keras_rpn.reconciliations.base import register
from keras_rpn.reconciliations.basic import IdentityReconciliation
from keras_rpn.reconciliations.lowrank import LowRankReconciliation
