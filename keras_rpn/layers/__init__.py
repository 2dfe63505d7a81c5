"""RPN heads and layers: the RPN 1 head and layer, and the RPN 2 grid (convolution-like),
chain (recurrence-like), graph (GCN-like), graph-bilinear (GAT-like) and bilinear
(attention-like) heads and layers."""

from keras_rpn.layers.bilinear import BilinearHead
from keras_rpn.layers.bilinear import BilinearLayer
from keras_rpn.layers.chain import ChainHead
from keras_rpn.layers.chain import ChainLayer
from keras_rpn.layers.graph import GraphBilinearHead
from keras_rpn.layers.graph import GraphBilinearLayer
from keras_rpn.layers.graph import GraphHead
from keras_rpn.layers.graph import GraphLayer
from keras_rpn.layers.grid import GridCompression
from keras_rpn.layers.grid import GridHead
from keras_rpn.layers.grid import GridLayer
from keras_rpn.layers.kan_dense import KANDense
from keras_rpn.layers.rpn_head import RPNHead
from keras_rpn.layers.rpn_layer import RPNLayer
