"""Fusion functions, for channels within a head and heads within a layer.

`get(identifier)` resolves a name (see `names()`), an instance or a config dict.
"""

from keras_rpn.fusions.base import Fusion
from keras_rpn.fusions.base import get
from keras_rpn.fusions.base import names
from keras_rpn.fusions.base import register
from keras_rpn.fusions.concatenation import ConcatenationFusion
from keras_rpn.fusions.concatenation import ParameterizedConcatenationFusion
from keras_rpn.fusions.metric import MaxFusion
from keras_rpn.fusions.metric import MeanFusion
from keras_rpn.fusions.metric import SumFusion
from keras_rpn.fusions.weighted import ParameterizedWeightedSumFusion
