"""Remainder functions pi: R^m -> R^n.

`get(identifier)` resolves a name (see `names()`), an instance or a config dict.
"""

from keras_rpn.remainders.base import Remainder
from keras_rpn.remainders.base import get
from keras_rpn.remainders.base import names
from keras_rpn.remainders.base import register
from keras_rpn.remainders.base import registry
from keras_rpn.remainders.basic import ConstantRemainder
from keras_rpn.remainders.basic import IdentityRemainder
from keras_rpn.remainders.basic import LinearRemainder
from keras_rpn.remainders.basic import OneRemainder
from keras_rpn.remainders.basic import ZeroRemainder
