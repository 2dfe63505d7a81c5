"""Data compression functions kappa: R^m -> R^D with D < m.

A compression is a data transformation like an expansion, so any compression goes in
a head's `expansion=` slot (by instance, config dict, short name or tinyBIG class
name: `RPNHead(10, expansion="max_compression")`). `get(identifier)` resolves a name
(see `names()`), an instance or a config dict. tinyBIG's `identity_compression`,
`reciprocal_compression`, `linear_compression`, `nested_compression` and
`extended_compression` are its basic and composite expansions under other names; they
resolve to the same keras_rpn classes.
"""

from keras_rpn.compressions.base import Compression
from keras_rpn.compressions.base import get
from keras_rpn.compressions.base import names
from keras_rpn.compressions.base import register
from keras_rpn.compressions.fitted import FittedCompression
from keras_rpn.compressions.fitted import adapt
from keras_rpn.compressions.geometric import CuboidMaxCompression
from keras_rpn.compressions.geometric import CuboidMeanCompression
from keras_rpn.compressions.geometric import CuboidMinCompression
from keras_rpn.compressions.geometric import CuboidPatchCompression
from keras_rpn.compressions.geometric import CylinderMaxCompression
from keras_rpn.compressions.geometric import CylinderMeanCompression
from keras_rpn.compressions.geometric import CylinderMinCompression
from keras_rpn.compressions.geometric import CylinderPatchCompression
from keras_rpn.compressions.geometric import GeometricCompression
from keras_rpn.compressions.geometric import SphereMaxCompression
from keras_rpn.compressions.geometric import SphereMeanCompression
from keras_rpn.compressions.geometric import SphereMinCompression
from keras_rpn.compressions.geometric import SpherePatchCompression
from keras_rpn.compressions.manifold import IsomapCompression
from keras_rpn.compressions.manifold import LLECompression
from keras_rpn.compressions.manifold import ManifoldCompression
from keras_rpn.compressions.manifold import MDSCompression
from keras_rpn.compressions.manifold import SpectralEmbeddingCompression
from keras_rpn.compressions.manifold import TSNECompression
from keras_rpn.compressions.metric import MaxCompression
from keras_rpn.compressions.metric import MeanCompression
from keras_rpn.compressions.metric import MedianCompression
from keras_rpn.compressions.metric import MetricCompression
from keras_rpn.compressions.metric import MinCompression
from keras_rpn.compressions.metric import ProdCompression
from keras_rpn.compressions.metric import SumCompression
from keras_rpn.compressions.probabilistic import CombinatorialCompression
from keras_rpn.compressions.probabilistic import CombinatorialProbabilisticCompression
from keras_rpn.compressions.probabilistic import NaiveCauchyProbabilisticCompression
from keras_rpn.compressions.probabilistic import NaiveChi2ProbabilisticCompression
from keras_rpn.compressions.probabilistic import NaiveExponentialProbabilisticCompression
from keras_rpn.compressions.probabilistic import NaiveGammaProbabilisticCompression
from keras_rpn.compressions.probabilistic import NaiveLaplaceProbabilisticCompression
from keras_rpn.compressions.probabilistic import NaiveNormalProbabilisticCompression
from keras_rpn.compressions.probabilistic import NaiveUniformProbabilisticCompression
from keras_rpn.compressions.probabilistic import ProbabilisticCompression
from keras_rpn.compressions.reduction import DimensionReductionCompression
from keras_rpn.compressions.reduction import FeatureClusteringCompression
from keras_rpn.compressions.reduction import FeatureSelectionCompression
from keras_rpn.compressions.reduction import IncrementalPCACompression
from keras_rpn.compressions.reduction import PCACompression
from keras_rpn.compressions.reduction import RandomProjectionCompression
from keras_rpn.compressions.reduction import VarianceThresholdCompression
from keras_rpn.expansions import ExtendedExpansion
from keras_rpn.expansions import IdentityExpansion
from keras_rpn.expansions import LinearExpansion
from keras_rpn.expansions import NestedExpansion
from keras_rpn.expansions import ReciprocalExpansion

# tinyBIG's aliases: the same classes under their compression names.
register("identity_compression")(IdentityExpansion)
register("reciprocal_compression")(ReciprocalExpansion)
register("linear_compression")(LinearExpansion)
register("nested_compression")(NestedExpansion)
register("extended_compression")(ExtendedExpansion)
