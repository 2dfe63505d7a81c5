"""Data interdependence functions xi: attribute mixing `X A` and instance mixing `A^T Z`.

`get(identifier)` resolves a name (see `names()`), an instance or a config dict.
Instances are mixed along an explicit axis (axis -2 of `(batch, instances,
features)`), never across the Keras batch axis.
"""

from keras_rpn.interdependence.base import Interdependence
from keras_rpn.interdependence.base import get
from keras_rpn.interdependence.base import names
from keras_rpn.interdependence.base import register
from keras_rpn.interdependence.base import registry
from keras_rpn.interdependence.basic import ConstantCInterdependence
from keras_rpn.interdependence.basic import ConstantInterdependence
from keras_rpn.interdependence.basic import IdentityInterdependence
from keras_rpn.interdependence.basic import OneInterdependence
from keras_rpn.interdependence.basic import ZeroInterdependence
from keras_rpn.interdependence.structured import MatrixOp
from keras_rpn.interdependence.topological import ChainInterdependence
from keras_rpn.interdependence.topological import ExponentialApproxMultihopChainInterdependence
from keras_rpn.interdependence.topological import GraphInterdependence
from keras_rpn.interdependence.topological import InverseApproxMultihopChainInterdependence
from keras_rpn.interdependence.topological import MultihopChainInterdependence
from keras_rpn.interdependence.topological import MultihopGraphInterdependence
from keras_rpn.interdependence.topological import PageRankMultihopGraphInterdependence
from keras_rpn.interdependence.topological import TopologicalInterdependence
from keras_rpn.interdependence.geometric import CuboidPatchAggregationInterdependence
from keras_rpn.interdependence.geometric import CuboidPatchInterdependence
from keras_rpn.interdependence.geometric import CuboidPatchPaddingInterdependence
from keras_rpn.interdependence.geometric import CylinderPatchAggregationInterdependence
from keras_rpn.interdependence.geometric import CylinderPatchInterdependence
from keras_rpn.interdependence.geometric import CylinderPatchPaddingInterdependence
from keras_rpn.interdependence.geometric import GeometricInterdependence
from keras_rpn.interdependence.geometric import SpherePatchAggregationInterdependence
from keras_rpn.interdependence.geometric import SpherePatchInterdependence
from keras_rpn.interdependence.geometric import SpherePatchPaddingInterdependence
