"""Probabilistic compressions: k features (or feature subsets) sampled by their density.

Sampling is random in training and deterministic at inference: with
`training=True` the `k` indices are drawn with probabilities proportional to the
density weights (without replacement by the Gumbel top-k trick, with replacement
by categorical draws), from a `keras.random.SeedGenerator` (seeded by `seed`, its
state saved with the layer); otherwise (inference, `training=None`/`False`) they are
the `k` most probable ones. Indices are sorted ascending, as in tinyBIG.
"""

import math

import keras
from keras import ops

from keras_rpn import validation
from keras_rpn.compressions.base import Compression
from keras_rpn.compressions.base import register
from keras_rpn.expansions.combinatorial import combination_table
from keras_rpn.expansions.combinatorial import num_combinations
from keras_rpn.expansions.probabilistic import _LOG_PDFS
from keras_rpn.expansions.probabilistic import normal_log_pdf


def uniform_log_pdf(x, low, high):
    """`log U(x; low, high)`: `-log(high - low)` inside `[low, high]`, `-inf` outside."""
    inside = ops.logical_and(x >= low, x <= high)
    return ops.where(inside, -math.log(high - low), float("-inf"))


# Distribution families: parameter names and tinyBIG's defaults.
DISTRIBUTIONS = {
    "uniform": (uniform_log_pdf, {"low": 0.0, "high": 1.0}),
    "normal": (_LOG_PDFS["normal"], {"mean": 0.0, "std": 1.0}),
    "cauchy": (_LOG_PDFS["cauchy"], {"loc": 0.0, "scale": 1.0}),
    "chi2": (_LOG_PDFS["chi2"], {"df": 1.0}),
    "exponential": (_LOG_PDFS["exponential"], {"rate": 0.5}),
    "gamma": (_LOG_PDFS["gamma"], {"concentration": 1.0, "rate": 1.0}),
    "laplace": (_LOG_PDFS["laplace"], {"loc": 0.0, "scale": 1.0}),
}
_POSITIVE = ("std", "scale", "df", "rate", "concentration")


def _squash(x):
    return 0.99 * ops.sigmoid(x) + 0.001


class _Sampler(Compression):
    """Shared sampling of `k` indices from per-row log-weights."""

    def __init__(self, k=None, with_replacement=False, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.k = validation.positive_int("k", k)
        self.with_replacement = validation.boolean("with_replacement", with_replacement)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def sample(self, log_weights, training=None):
        """`(rows, n)` log-weights -> `(rows, k)` sorted int indices."""
        if training:
            if self.with_replacement:
                idx = keras.random.categorical(log_weights, self.k, seed=self.seed_generator)
                return ops.sort(idx, axis=-1)
            noise = keras.random.uniform(
                ops.shape(log_weights), minval=1e-7, maxval=1.0, seed=self.seed_generator
            )
            log_weights = log_weights - ops.log(-ops.log(noise))  # + Gumbel noise
        _, idx = ops.top_k(log_weights, self.k, sorted=True)
        return ops.sort(idx, axis=-1)

    def get_config(self):
        config = super().get_config()
        config.update(k=self.k, with_replacement=self.with_replacement, seed=self.seed)
        return config


@register("naive_probabilistic", "naive_probabilistic_compression")
class ProbabilisticCompression(_Sampler):
    """Keeps `k` features sampled in proportion to a density of their (squashed) values.

    Formula, for `x` of shape `(..., m)`:
    ```
    u = 0.99 sigmoid(x) + 0.001      (x itself if require_normalization=False)
    P(feature j) = p(u_j) / sum_i p(u_i)           (p: the distribution's density)
    S = k sorted indices: sampled from P in training, the k most probable at inference
    kappa(x) = x_S  (simply_sampling),  u_S,  or  log p(u_S) (log_prob)     D(m) = k
    ```

    Args:
        k: number of features kept (required, `k <= m`).
        distribution: `"uniform"`, `"normal"`, `"cauchy"`, `"chi2"`,
            `"exponential"`, `"gamma"` or `"laplace"` (default `"uniform"`).
        distribution_parameters: dict of its parameters (defaults: uniform `low=0,
            high=1`; normal `mean=0, std=1`; cauchy and laplace `loc=0, scale=1`;
            chi2 `df=1`; exponential `rate=0.5`; gamma `concentration=1, rate=1`).
        simply_sampling: output the sampled raw features (default `True`);
            otherwise the squashed ones, or their log-densities if `log_prob`.
        with_replacement: sample with replacement (default `False`).
        require_normalization: squash `x` with `0.99 sigmoid(x) + 0.001` before
            the density (default `True`).
        log_prob: with `simply_sampling=False`, output log-densities (default `False`).
        seed: seed of the sampling (`keras.random.SeedGenerator`).
        **kwargs: `preprocessing`, `postprocessing` and base layer keyword arguments.

    >>> kappa = keras_rpn.compressions.get("naive_normal_probabilistic", k=2)
    >>> x = np.array([[0.0, 3.0, -3.0]])
    >>> keras.ops.convert_to_numpy(kappa(x)).tolist()  # inference: the 2 most probable
    [[0.0, -3.0]]
    """

    def __init__(
        self,
        k=None,
        distribution="uniform",
        distribution_parameters=None,
        simply_sampling=True,
        with_replacement=False,
        require_normalization=True,
        log_prob=False,
        seed=None,
        **kwargs,
    ):
        super().__init__(k=k, with_replacement=with_replacement, seed=seed, **kwargs)
        if distribution not in DISTRIBUTIONS:
            raise ValueError(
                f"Unknown distribution {distribution!r}. Valid: {', '.join(DISTRIBUTIONS)}. "
                f"Received: distribution={distribution!r}"
            )
        self.distribution = distribution
        defaults = DISTRIBUTIONS[distribution][1]
        parameters = dict(distribution_parameters or {})
        unknown = sorted(set(parameters) - set(defaults))
        if unknown:
            raise ValueError(
                f"The {distribution} distribution takes {', '.join(defaults)}. "
                f"Received: distribution_parameters={distribution_parameters!r}"
            )
        parameters = {**defaults, **parameters}
        for key, value in parameters.items():
            parameters[key] = validation.finite_float(key, value, positive=key in _POSITIVE)
        if distribution == "uniform" and not parameters["low"] < parameters["high"]:
            raise ValueError(f"Expected low < high. Received: {parameters!r}")
        self.distribution_parameters = parameters
        self.simply_sampling = validation.boolean("simply_sampling", simply_sampling)
        self.require_normalization = validation.boolean(
            "require_normalization", require_normalization
        )
        # As tinyBIG: sampled raw features carry no log-density.
        self.log_prob = validation.boolean("log_prob", log_prob) and not self.simply_sampling

    def output_dim(self, input_dim):
        if not self.with_replacement:
            validation.at_most("k", self.k, "m", input_dim)
        return self.k

    def log_density(self, u):
        return DISTRIBUTIONS[self.distribution][0](u, *self.distribution_parameters.values())

    def expand(self, x, training=None):
        lead = ops.shape(x)[:-1]
        x = ops.reshape(x, (-1, x.shape[-1]))
        u = _squash(x) if self.require_normalization else x
        idx = self.sample(self.log_density(u), training=training)
        out = ops.take_along_axis(x if self.simply_sampling else u, idx, axis=-1)
        if self.log_prob:
            out = self.log_density(out)
        return ops.reshape(out, tuple(lead) + (self.k,))

    def get_config(self):
        config = super().get_config()
        config.update(
            distribution=self.distribution,
            distribution_parameters=self.distribution_parameters,
            simply_sampling=self.simply_sampling,
            require_normalization=self.require_normalization,
            log_prob=self.log_prob,
        )
        return config


def _fixed_distribution(distribution, short, tinybig):
    """A `ProbabilisticCompression` subclass with the distribution fixed, its
    parameters as constructor arguments."""
    defaults = DISTRIBUTIONS[distribution][1]

    def __init__(self, k=None, **kwargs):
        parameters = {key: kwargs.pop(key, value) for key, value in defaults.items()}
        super(cls, self).__init__(
            k=k, distribution=distribution, distribution_parameters=parameters, **kwargs
        )

    def get_config(self):
        config = super(cls, self).get_config()
        del config["distribution"]
        config.update(config.pop("distribution_parameters"))
        return config

    arguments = ", ".join(f"`{key}={value}`" for key, value in defaults.items())
    name = f"Naive{distribution.capitalize()}ProbabilisticCompression"
    doc = (
        f"`ProbabilisticCompression` with the {distribution} density ({arguments}).\n\n"
        f"    `D(m) = k`. Arguments: `k`, {arguments}, and those of "
        "`ProbabilisticCompression` but `distribution`."
    )
    cls = type(
        name,
        (ProbabilisticCompression,),
        {"__init__": __init__, "get_config": get_config, "__doc__": doc, "__module__": __name__},
    )
    return register(short, tinybig)(cls)


NaiveUniformProbabilisticCompression = _fixed_distribution(
    "uniform", "naive_uniform_probabilistic", "naive_uniform_probabilistic_compression"
)
NaiveNormalProbabilisticCompression = _fixed_distribution(
    "normal", "naive_normal_probabilistic", "naive_normal_probabilistic_compression"
)
NaiveCauchyProbabilisticCompression = _fixed_distribution(
    "cauchy", "naive_cauchy_probabilistic", "naive_cauchy_probabilistic_compression"
)
NaiveChi2ProbabilisticCompression = _fixed_distribution(
    "chi2", "naive_chi2_probabilistic", "naive_chi2_probabilistic_compression"
)
NaiveExponentialProbabilisticCompression = _fixed_distribution(
    "exponential", "naive_exponential_probabilistic", "naive_exponential_probabilistic_compression"
)
NaiveGammaProbabilisticCompression = _fixed_distribution(
    "gamma", "naive_gamma_probabilistic", "naive_gamma_probabilistic_compression"
)
NaiveLaplaceProbabilisticCompression = _fixed_distribution(
    "laplace", "naive_laplace_probabilistic", "naive_laplace_probabilistic_compression"
)


@register("combinatorial_sampling", "combinatorial_compression")
class CombinatorialCompression(_Sampler):
    """Keeps `k` feature subsets of each size `r <= d`, sampled by a normal density.

    Formula, for each `r = 1..d` and `x` of shape `(..., m)`:
    ```
    subsets S of r features (itertools.combinations order), u_S = 0.99 sigmoid(x_S) + 0.001
    P(S) proportional to N_r(u_S; 0, I_r)
    k subsets sampled (training) or the k most probable (inference), sorted
    kappa(x) = [x_S for the k subsets, r = 1..d]      D(m) = k (1 + ... + d)
    ```
    `CombinatorialProbabilisticCompression` outputs `log N_r(u_S; 0, I_r)` of the
    subsets instead, `D(m) = d k`.

    Args:
        d: largest subset size (default 1).
        k: subsets kept per size (default 1).
        with_replacement: subsets with repeated features, and sampling with
            replacement (default `False`).
        require_normalization: squash with `0.99 sigmoid(x) + 0.001` (default `True`).
        seed: seed of the sampling.
        **kwargs: `preprocessing`, `postprocessing` and base layer keyword arguments.
    """

    log_prob = False

    def __init__(self, d=1, k=1, with_replacement=False, require_normalization=True, **kwargs):
        super().__init__(k=k, with_replacement=with_replacement, **kwargs)
        self.d = validation.positive_int("d", d)
        self.require_normalization = validation.boolean(
            "require_normalization", require_normalization
        )

    def output_dim(self, input_dim):
        if not self.with_replacement:
            fewest = min(num_combinations(input_dim, r, False) for r in range(1, self.d + 1))
            validation.at_most("k", self.k, "the fewest r-subsets of m features", fewest)
        return self.d * self.k if self.log_prob else self.k * sum(range(1, self.d + 1))

    def expand(self, x, training=None):
        lead, m = ops.shape(x)[:-1], x.shape[-1]
        x = ops.reshape(x, (-1, m))
        parts = []
        for r in range(1, self.d + 1):
            subsets = ops.take(x, combination_table(m, r, self.with_replacement), axis=1)
            u = _squash(subsets) if self.require_normalization else subsets
            log_p = ops.sum(normal_log_pdf(u, 0.0, 1.0), axis=-1)  # (rows, C)
            idx = self.sample(log_p, training=training)  # (rows, k)
            if self.log_prob:
                parts.append(ops.take_along_axis(log_p, idx, axis=1))
            else:
                picked = ops.take_along_axis(subsets, idx[:, :, None], axis=1)
                parts.append(ops.reshape(picked, (-1, self.k * r)))
        out = ops.concatenate(parts, axis=-1) if len(parts) > 1 else parts[0]
        return ops.reshape(out, tuple(lead) + (self.output_dim(m),))

    def get_config(self):
        config = super().get_config()
        config.update(d=self.d, require_normalization=self.require_normalization)
        return config


@register("combinatorial_probabilistic", "combinatorial_probabilistic_compression")
class CombinatorialProbabilisticCompression(CombinatorialCompression):
    """`CombinatorialCompression` giving the log-densities of the kept subsets.

    `kappa(x) = [log N_r(u_S; 0, I_r) for the k subsets S of each size r]`, `D(m) = d k`.
    """

    log_prob = True
