"""RPN heads and layers."""

from keras_rpn.layers.rpn_head import RPNHead
from keras_rpn.layers.rpn_layer import RPNLayer
from keras_rpn.layers.kan_dense import KANDense
