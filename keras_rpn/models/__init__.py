"""Ready-made RPN models."""

from keras_rpn.models.rpn import RPN
