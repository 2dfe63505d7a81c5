"""Ready-made RPN models named after the classic learners they generalise.

tinyBIG ships `mlp`, `kan`, `svm`, `naive_bayes` and `pgm` models: stacks of RPN
layers whose heads differ only in their data expansion `kappa`. Here each one is a
small registered subclass of `keras_rpn.models.RPN`, so it trains with `fit`, saves
to `.keras` files and loads back without `custom_objects`:

| preset | expansion `kappa` | reconciliation `psi` | remainder `pi` | bias |
|---|---|---|---|---|
| `MLP` | identity | identity | zero | yes |
| `KAN` | B-spline (`grid_range`, `t`, `d`) | identity | linear + SiLU | no |
| `SVM` | identity, Gaussian RBF or inverse quadratic RBF | identity | zero | yes |
| `NaiveBayes` | `naive_<distribution>` log-density | identity | zero | yes |
| `PGM` | `combinatorial_normal` (`d`) | identity | zero | yes |

Every preset takes the RPN layer and head arguments too (`reconciliation="lorr"`,
`channels`, `width`, `remainder`, ...), so `MLP(dims, reconciliation={"class_name":
"lorr", "config": {"r": 3}})` is tinyBIG's `with_lorr` perceptron.

Differences from tinyBIG on purpose: hidden layers get no softmax and no dropout
unless asked (tinyBIG's `mlp` puts ReLU, Dropout(0.5) and Softmax after *every*
layer); batch normalisation, dropout and the output activation are explicit
arguments, made of Keras layers that honour `training=`; the MLP, SVM, naive Bayes
and PGM presets have a bias by default (tinyBIG: `enable_bias=False`), because it is
the intercept of the linear model, or the log prior of a naive Bayes classifier.

The presets are built on `ProcessedRPN` (`keras_rpn.models.processed`): an RPN with
any Keras layers (batch normalisation, dropout, layer normalisation, activations)
run after each RPN layer.
"""

import keras

from keras_rpn import validation
from keras_rpn.models.processed import ProcessedRPN

__all__ = ["KAN", "MLP", "PGM", "SVM", "NaiveBayes", "Preset", "ProcessedRPN"]


class Preset(ProcessedRPN):
    """Base of the named presets: fixed head functions, optional BN and dropout.

    A subclass sets `fixed_keys` (the head arguments it decides, which the user may
    not pass) and implements `head_arguments()` (those arguments, from the preset's
    own hyper-parameters) and `preset_config()` (the hyper-parameters, for
    `get_config`).

    Between layers, in this order (tinyBIG's): batch normalisation if
    `batch_norm`, the hidden `activation`, dropout of rate `dropout` if > 0. Without
    batch normalisation the activation is the RPN layer's own.
    """

    fixed_keys = ("expansion",)
    default_use_bias = True

    def __init__(
        self,
        dims,
        activation=None,
        output_activation=None,
        batch_norm=False,
        dropout=0.0,
        use_bias=None,
        **kwargs,
    ):
        for key in self.fixed_keys:
            if key in kwargs:
                raise TypeError(
                    f"{self.__class__.__name__} sets `{key}` itself; use "
                    f"keras_rpn.models.RPN for another {key}. Received: {key}={kwargs[key]!r}"
                )
        if "postprocessing" in kwargs:
            raise TypeError(
                f"{self.__class__.__name__} makes its own postprocessing from `batch_norm` "
                "and `dropout`; use keras_rpn.models.ProcessedRPN for other layers."
            )
        self.hidden_activation = validation.activation("activation", activation)
        self.batch_norm = validation.boolean("batch_norm", batch_norm)
        self.dropout = validation.bounded_float(
            "dropout", dropout, low=0.0, high=1.0, low_inclusive=True
        )
        self.use_bias = self.default_use_bias if use_bias is None else bool(use_bias)
        self.preset_kwargs = dict(kwargs)
        base_kwargs = validation.pop_base_kwargs(kwargs, validation.BASE_MODEL_KWARGS)
        num_layers = len(dims) - 1 if hasattr(dims, "__len__") else 0
        postprocessing = None
        if (self.batch_norm or self.dropout > 0) and num_layers > 1:
            postprocessing = [self._hidden_steps() for _ in range(num_layers - 1)] + [None]
        super().__init__(
            dims,
            activation=None if self.batch_norm else self.hidden_activation,
            output_activation=output_activation,
            postprocessing=postprocessing,
            use_bias=self.use_bias,
            **self.head_arguments(),
            **base_kwargs,
            **kwargs,
        )

    def _hidden_steps(self):
        steps = []
        if self.batch_norm:
            steps.append(keras.layers.BatchNormalization())
            if self.hidden_activation is not keras.activations.linear:
                steps.append(keras.layers.Activation(self.hidden_activation))
        if self.dropout > 0:
            steps.append(keras.layers.Dropout(self.dropout))
        return steps

    def head_arguments(self):
        """The `RPNHead` arguments this preset fixes."""
        raise NotImplementedError

    def preset_config(self):
        """The preset's own hyper-parameters, for `get_config`."""
        return {}

    def get_config(self):
        serialize = keras.saving.serialize_keras_object
        extra = validation.without_base_config(self.preset_kwargs)
        # Base keys only: a preset's config is its own arguments, not RPN's.
        return {
            **keras.layers.Layer.get_config(self),
            "dims": self.dims,
            "activation": validation.serialize_activation("activation", self.hidden_activation),
            "output_activation": validation.serialize_activation(
                "output_activation", self.output_activation
            ),
            "batch_norm": self.batch_norm,
            "dropout": self.dropout,
            "use_bias": self.use_bias,
            **self.preset_config(),
            **serialize(extra),
        }


@keras.saving.register_keras_serializable(package="keras_rpn")
class MLP(Preset):
    """A multi-layer perceptron as an RPN: identity expansion, identity reconciliation.

    Each head computes `x W^T + b`, a `keras.layers.Dense` layer (tinyBIG's
    `perceptron_head`); a low-rank or Kronecker reconciliation makes it a compressed
    MLP (`reconciliation="lorr"`, tinyBIG's `with_lorr`).

    Args:
        dims: widths `[m, n_1, ..., n_K]`, input width first.
        activation: activation of the hidden layers (default `"relu"`).
        output_activation: activation of the last layer (default none: logits).
        batch_norm: batch normalisation after every hidden layer, before its
            activation (default `False`).
        dropout: dropout rate after every hidden layer (default 0: none).
        use_bias: whether heads have a bias (default `True`).
        **kwargs: other `RPNLayer` / `RPNHead` arguments (`reconciliation`,
            `remainder`, `channels`, `width`, ...) and model keyword arguments.

    Example:
    >>> model = keras_rpn.models.MLP([64, 32, 10], dropout=0.2)
    >>> model.count_params()  # 64*32 + 32 + 32*10 + 10
    2410
    """

    def __init__(self, dims, activation="relu", **kwargs):
        super().__init__(dims, activation=activation, **kwargs)

    def head_arguments(self):
        return {"expansion": "identity"}


@keras.saving.register_keras_serializable(package="keras_rpn")
class KAN(Preset):
    """A Kolmogorov-Arnold network as an RPN: B-spline expansion, SiLU remainder.

    Each head computes, for inputs `x` of width `m`,
    `y = B(x) W^T + silu(x W_r)`: `B` is the B-spline expansion of every input
    (`t + d` bases per input on a uniform grid over `grid_range`), `W` the `n x m (t
    + d)` spline coefficients and `W_r` the `m x n` base weights (tinyBIG's
    `kan_head`: SiLU after the linear map).

    Args:
        dims: widths `[m, n_1, ..., n_K]`, input width first.
        grid_range: `(low, high)` of the spline grid (default `(-1, 1)`); keep the
            inputs of every layer inside it.
        t: number of grid intervals (default 5).
        d: spline degree (default 3).
        remainder_activation: activation of the linear remainder (default
            `"silu"`; `None` gives a plain linear term, which keeps every head a sum
            of univariate functions, see `keras_rpn.interpret`).
        activation: activation between layers (default none).
        output_activation: activation of the last layer (default none).
        batch_norm, dropout: as in `MLP` (default off).
        use_bias: whether heads have a bias (default `False`: a sum of B-splines
            already holds constants).
        **kwargs: other `RPNLayer` / `RPNHead` arguments and model keyword arguments.

    Example:
    >>> model = keras_rpn.models.KAN([4, 3, 2])
    >>> model.count_params()  # (4*8*3 + 4*3) + (3*8*2 + 3*2)
    162
    """

    fixed_keys = ("expansion", "remainder")
    default_use_bias = False

    #: The config argument `keras_rpn.grid.extend_grid` changes.
    grid_size_argument = "t"

    def __init__(
        self,
        dims,
        grid_range=(-1.0, 1.0),
        t=5,
        d=3,
        remainder_activation="silu",
        **kwargs,
    ):
        self.grid_range = validation.float_range("grid_range", grid_range)
        self.t = validation.positive_int("t", t)
        self.d = validation.non_negative_int("d", d)
        self.remainder_activation = validation.activation(
            "remainder_activation", remainder_activation
        )
        super().__init__(dims, **kwargs)

    def head_arguments(self):
        activation = validation.serialize_activation(
            "remainder_activation", self.remainder_activation
        )
        return {
            "expansion": {
                "class_name": "bspline",
                "config": {"grid_range": list(self.grid_range), "t": self.t, "d": self.d},
            },
            "remainder": {"class_name": "linear", "config": {"activation": activation}},
        }

    def preset_config(self):
        return {
            "grid_range": list(self.grid_range),
            "t": self.t,
            "d": self.d,
            "remainder_activation": validation.serialize_activation(
                "remainder_activation", self.remainder_activation
            ),
        }


_SVM_KERNELS = {
    "linear": "identity",
    "gaussian_rbf": "gaussian_rbf",
    "rbf": "gaussian_rbf",
    "inverse_quadratic_rbf": "inverse_quadratic_rbf",
}


@keras.saving.register_keras_serializable(package="keras_rpn")
class SVM(Preset):
    """A support vector machine-like RPN: a kernel feature map, then a linear model.

    `kernel="linear"` uses the identity expansion (`y = x W^T + b`);
    `"gaussian_rbf"` and `"inverse_quadratic_rbf"` expand every input on
    `num_interval` fixed centres spread over `base_range` (`exp(-((x_j - c_k)
    epsilon)^2)` or `1 / (1 + ((x_j - c_k) epsilon)^2)`), so the linear model acts on
    an explicit, per-feature RBF feature map (tinyBIG's `svm_head`). Train it with a
    hinge loss (`keras.losses.Hinge`, labels in {-1, 1}) for a max-margin model, or
    with cross-entropy for a multi-class one.

    Args:
        dims: widths `[m, n_1, ..., n_K]`, usually `[m, classes]`.
        kernel: `"linear"`, `"gaussian_rbf"` (or `"rbf"`) or
            `"inverse_quadratic_rbf"` (default `"linear"`).
        base_range, num_interval, epsilon: RBF centres and shape (defaults
            `(-1, 1)`, 10, 1.0); ignored by the linear kernel.
        activation, output_activation, batch_norm, dropout: as in `MLP` (default
            none / off).
        use_bias: whether heads have a bias (default `True`).
        **kwargs: other `RPNLayer` / `RPNHead` arguments and model keyword arguments.

    Example:
    >>> model = keras_rpn.models.SVM([4, 3], kernel="gaussian_rbf", num_interval=5)
    >>> model.count_params()  # 4*5*3 + 3
    63
    """

    def __init__(
        self,
        dims,
        kernel="linear",
        base_range=(-1.0, 1.0),
        num_interval=10,
        epsilon=1.0,
        **kwargs,
    ):
        if not isinstance(kernel, str) or kernel.strip().lower() not in _SVM_KERNELS:
            raise ValueError(
                f"Unknown SVM kernel {kernel!r}. Valid kernels: {', '.join(_SVM_KERNELS)}."
            )
        self.kernel = kernel.strip().lower()
        self.base_range = validation.float_range("base_range", base_range)
        self.num_interval = validation.positive_int("num_interval", num_interval)
        self.epsilon = validation.finite_float("epsilon", epsilon, positive=True)
        super().__init__(dims, **kwargs)

    def head_arguments(self):
        name = _SVM_KERNELS[self.kernel]
        if name == "identity":
            return {"expansion": "identity"}
        config = {
            "base_range": list(self.base_range),
            "num_interval": self.num_interval,
            "epsilon": self.epsilon,
        }
        return {"expansion": {"class_name": name, "config": config}}

    def preset_config(self):
        return {
            "kernel": self.kernel,
            "base_range": list(self.base_range),
            "num_interval": self.num_interval,
            "epsilon": self.epsilon,
        }


_DISTRIBUTIONS = ("normal", "cauchy", "laplace", "gamma", "exponential", "chi2")


@keras.saving.register_keras_serializable(package="keras_rpn")
class NaiveBayes(Preset):
    """A naive Bayes-like RPN: per-feature log-densities, summed with learned weights.

    Each head computes `y_i = sum_j W_ij log p(x_j) + b_i`, with `p` a fixed
    distribution applied to every feature (`naive_<distribution>` expansion; the
    densities with positive support see `0.99 sigmoid(x) + 0.001`, as in tinyBIG). With
    `W = 1` and `b` the log prior this is the naive Bayes log-posterior of one
    class; learning `W` and `b` reweights the features (tinyBIG's `naive_bayes_head`).

    Args:
        dims: widths `[m, n_1, ..., n_K]`, usually `[m, classes]`.
        distribution: one of `"normal"`, `"cauchy"`, `"laplace"`, `"gamma"`,
            `"exponential"`, `"chi2"` (default `"normal"`).
        activation, output_activation, batch_norm, dropout: as in `MLP` (default
            none / off).
        use_bias: whether heads have a bias, the log prior (default `True`).
        **kwargs: other `RPNLayer` / `RPNHead` arguments and model keyword arguments.

    Example:
    >>> model = keras_rpn.models.NaiveBayes([4, 3], distribution="laplace")
    >>> model.count_params()  # W: 4*3, b: 3
    15
    """

    def __init__(self, dims, distribution="normal", **kwargs):
        if not isinstance(distribution, str) or distribution.strip().lower() not in _DISTRIBUTIONS:
            raise ValueError(
                f"Unknown distribution {distribution!r}. Valid distributions: "
                f"{', '.join(_DISTRIBUTIONS)}."
            )
        self.distribution = distribution.strip().lower()
        super().__init__(dims, **kwargs)

    def head_arguments(self):
        return {"expansion": f"naive_{self.distribution}"}

    def preset_config(self):
        return {"distribution": self.distribution}


@keras.saving.register_keras_serializable(package="keras_rpn")
class PGM(Preset):
    """A probabilistic graphical model-like RPN: joint log-densities of feature subsets.

    Each head computes `y_i = sum_S W_iS log N(x_S; 0, I) + b_i` over every subset
    `S` of 1 to `d` features (`combinatorial_normal` expansion, `D = sum_{r<=d} C(m,
    r)`), so the learned weights of the pairs (`d = 2`) score pairwise dependencies
    (tinyBIG's `pgm_head`).

    Args:
        dims: widths `[m, n_1, ..., n_K]`, usually `[m, classes]`.
        d: largest subset size (default 2).
        with_replacement: whether subsets may repeat a feature (default `False`).
        activation, output_activation, batch_norm, dropout: as in `MLP` (default
            none / off).
        use_bias: whether heads have a bias (default `True`).
        **kwargs: other `RPNLayer` / `RPNHead` arguments and model keyword arguments.

    Example:
    >>> model = keras_rpn.models.PGM([4, 1])
    >>> model.count_params()  # C(4,1) + C(4,2) + 1
    11
    """

    def __init__(self, dims, d=2, with_replacement=False, **kwargs):
        self.d = validation.positive_int("d", d)
        self.with_replacement = validation.boolean("with_replacement", with_replacement)
        super().__init__(dims, **kwargs)

    def head_arguments(self):
        return {
            "expansion": {
                "class_name": "combinatorial_normal",
                "config": {"d": self.d, "with_replacement": self.with_replacement},
            }
        }

    def preset_config(self):
        return {"d": self.d, "with_replacement": self.with_replacement}
