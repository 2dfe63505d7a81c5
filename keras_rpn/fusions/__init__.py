"""Fusion functions, for channels within a head and heads within a layer.

`get(identifier)` resolves a name (see `names()`), an instance or a config dict.
"""

from keras_rpn.fusions.base import Fusion
from keras_rpn.fusions.base import get
from keras_rpn.fusions.base import names
from keras_rpn.fusions.base import register
from keras_rpn.fusions.base import registry
from keras_rpn.fusions.concatenation import ConcatenationFusion
from keras_rpn.fusions.concatenation import ParameterizedConcatenationFusion
from keras_rpn.fusions.metric import L1NormFusion
from keras_rpn.fusions.metric import L2NormFusion
from keras_rpn.fusions.metric import MaxFusion
from keras_rpn.fusions.metric import MeanFusion
from keras_rpn.fusions.metric import MedianFusion
from keras_rpn.fusions.metric import MinFusion
from keras_rpn.fusions.metric import ProdFusion
from keras_rpn.fusions.metric import SumFusion
from keras_rpn.fusions.parameterized import DualLPHMParameterizedConcatenationFusion
from keras_rpn.fusions.parameterized import HMParameterizedConcatenationFusion
from keras_rpn.fusions.parameterized import LowRankParameterizedConcatenationFusion
from keras_rpn.fusions.parameterized import LPHMParameterizedConcatenationFusion
from keras_rpn.fusions.parameterized import RandomMatrixAdaptionParameterizedConcatenationFusion
from keras_rpn.fusions.parameterized import ReconciledConcatenationFusion
from keras_rpn.fusions.weighted import ParameterizedWeightedSumFusion
from keras_rpn.fusions.weighted import WeightedSumFusion
