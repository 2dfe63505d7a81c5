"""Parameter reconciliation functions psi: R^l -> R^{n x D}.

`get(identifier)` resolves a name (see `names()`), an instance or a config dict.
"""

from keras_rpn.reconciliations.base import Reconciliation
from keras_rpn.reconciliations.base import get
from keras_rpn.reconciliations.base import names
from keras_rpn.reconciliations.base import register
from keras_rpn.reconciliations.base import registry
from keras_rpn.reconciliations.basic import ConstantEyeReconciliation
from keras_rpn.reconciliations.basic import ConstantReconciliation
from keras_rpn.reconciliations.basic import IdentityReconciliation
from keras_rpn.reconciliations.basic import MaskingReconciliation
from keras_rpn.reconciliations.basic import OneReconciliation
from keras_rpn.reconciliations.basic import ZeroReconciliation
from keras_rpn.reconciliations.hypernet import HypernetReconciliation
from keras_rpn.reconciliations.kronecker import DualLPHMReconciliation
from keras_rpn.reconciliations.kronecker import HMReconciliation
from keras_rpn.reconciliations.kronecker import KroneckerReconciliation
from keras_rpn.reconciliations.kronecker import LPHMReconciliation
from keras_rpn.reconciliations.lowrank import LowRankReconciliation
from keras_rpn.reconciliations.padding import DuplicatedDiagonalPaddingReconciliation
from keras_rpn.reconciliations.padding import DuplicatedPaddingReconciliation
from keras_rpn.reconciliations.random_matrix import RandomMatrixAdaptionReconciliation
from keras_rpn.reconciliations.random_matrix import RandomMatrixHypernetReconciliation
