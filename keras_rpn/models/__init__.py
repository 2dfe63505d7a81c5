"""Ready-made RPN models."""

from keras_rpn.models.cnn import CNN
from keras_rpn.models.cnn import ResNet
from keras_rpn.models.gnn import GAT
from keras_rpn.models.gnn import GCN
from keras_rpn.models.presets import KAN
from keras_rpn.models.presets import MLP
from keras_rpn.models.presets import PGM
from keras_rpn.models.presets import SVM
from keras_rpn.models.presets import NaiveBayes
from keras_rpn.models.processed import ProcessedRPN
from keras_rpn.models.rpn import RPN
from keras_rpn.models.sequence import RNN
from keras_rpn.models.sequence import RegressionRNN
from keras_rpn.models.sequence import Transformer
