"""keras_rpn: Reconciled Polynomial Networks as Keras 3 layers.

A head computes `F_channel([<kappa(x), psi(w_c)> + b]) + pi(x)`; a layer fuses
several heads; a model stacks layers. Every function family lives in its own
subpackage: `expansions` (kappa), `compressions` (kappa with D < m),
`reconciliations` (psi), `remainders` (pi) and `fusions`.
"""

from keras_rpn import callbacks
from keras_rpn import compressions
from keras_rpn import config
from keras_rpn import distribution
from keras_rpn import expansions
from keras_rpn import fusions
from keras_rpn import grid
from keras_rpn import initializers
from keras_rpn import interdependence
from keras_rpn import interpret
from keras_rpn import layers
from keras_rpn import models
from keras_rpn import plotting
from keras_rpn import reconciliations
from keras_rpn import regularizers
from keras_rpn import remainders
from keras_rpn import symbolic
from keras_rpn.pruning import prune
from keras_rpn.version import __version__
