"""Ready-made RPN models."""

from keras_rpn.models.presets import KAN
from keras_rpn.models.presets import MLP
from keras_rpn.models.presets import PGM
from keras_rpn.models.presets import SVM
from keras_rpn.models.presets import NaiveBayes
from keras_rpn.models.presets import ProcessedRPN
from keras_rpn.models.rpn import RPN
