"""Fitted compressions: state learned once from data with `adapt`, then saved.

tinyBIG re-fits scikit-learn on every forward pass (slow, on the host, and the
function changes from batch to batch). Here, as with Keras' preprocessing layers
(`keras.layers.Normalization`), the state is fitted once, by `layer.adapt(data)`,
stored in non-trainable weights (saved in `.keras` files) and applied with
`keras.ops` on every backend. scikit-learn (the `sklearn` extra) is only imported
inside `adapt`.

A compression inside a head is adapted through the head, `head.expansion.adapt(x)`,
or for a whole model with `keras_rpn.compressions.adapt(model, x)`, which passes
the data through the model layer by layer and adapts every un-adapted fitted
compression on the input it sees.
"""

import keras
import numpy as np
from keras import ops

from keras_rpn import validation
from keras_rpn.compressions.base import Compression

try:  # Keras traces `call` on symbolic tensors to infer shapes (e.g. when loading).
    from keras.src.backend.common.symbolic_scope import in_symbolic_scope
except ImportError:  # pragma: no cover - older or newer Keras layouts

    def in_symbolic_scope():
        return False


def sklearn():
    """The scikit-learn package, with a clear error when the extra is missing."""
    try:
        import sklearn as module
    except ImportError:
        raise ImportError(
            "Adapting a fitted compression needs scikit-learn. Install it with "
            '`pip install "keras-rpn[sklearn]"` (or `pip install scikit-learn`).'
        ) from None
    return module


def as_numpy(data, steps=None):
    """`data` (an array, a tensor, or an iterable of batches) as one float64 array."""
    if hasattr(data, "shape") and not isinstance(data, (list, tuple)):
        array = ops.convert_to_numpy(data)
    else:
        batches = []
        for i, batch in enumerate(data):
            if steps is not None and i >= steps:
                break
            if isinstance(batch, (tuple, list)):  # (x, y) pairs: keep x
                batch = batch[0]
            batches.append(ops.convert_to_numpy(batch))
        if not batches:
            raise ValueError("`adapt` received no data. Received: an empty iterable")
        array = np.concatenate(batches, axis=0)
    array = np.asarray(array, dtype="float64")
    if array.ndim < 2:
        raise ValueError(
            f"`adapt` expects data of shape (samples, ..., m). Received: shape={array.shape}"
        )
    if not np.all(np.isfinite(array)):
        raise ValueError("`adapt` received NaN or infinite values in `data`.")
    return array


def check_method(cls, method):
    if method not in cls.methods:
        raise ValueError(
            f"{cls.__name__} takes method= one of {', '.join(cls.methods)}. "
            f"Received: method={method!r}"
        )
    return method


class FixedMethod:
    """Subclasses with the method fixed (`fixed_method`), left out of their config."""

    fixed_method = None

    def __init__(self, **kwargs):
        if kwargs.get("method", self.fixed_method) != self.fixed_method:
            raise ValueError(
                f"{self.__class__.__name__} always uses method={self.fixed_method!r}. "
                f"Received: method={kwargs['method']!r}"
            )
        super().__init__(**{**kwargs, "method": self.fixed_method})

    def get_config(self):
        config = super().get_config()
        del config["method"]
        return config


class FittedCompression(Compression):
    """Base of compressions fitted once on data by `adapt(data)`.

    A subclass implements `state_shapes(m)` (name -> (shape, dtype) of the
    non-trainable weights holding the fitted state; `None` while they depend on the
    data, e.g. its number of rows: they are then made by `adapt`), `fit(x)` (numpy `(n, m)` ->
    dict of arrays for those weights, using scikit-learn) and `transform(x)` (the
    map with `keras.ops`, reading the weights).

    Calling the layer before `adapt` raises an error; after `adapt` (or after
    loading an adapted layer) the output is a fixed function of the input.

    Args:
        D: output width (required, `D <= m`).
        seed: random state of the fit, where the method is random.
        **kwargs: `preprocessing`, `postprocessing` and base layer keyword arguments.
    """

    adaptable = True

    def __init__(self, D=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.D = validation.positive_int("D", D)
        self.seed = None if seed is None else validation.non_negative_int("seed", seed)
        self._adapted = False

    # Subclass protocol -------------------------------------------------------------

    def state_shapes(self, m):
        raise NotImplementedError

    def fit(self, x):
        raise NotImplementedError

    def transform(self, x):
        raise NotImplementedError

    # ------------------------------------------------------------------------------

    @property
    def is_adapted(self):
        """Whether the state has been fitted (by `adapt` or restored by loading)."""
        return self._adapted

    def output_dim(self, input_dim):
        validation.at_most("D", self.D, "m", input_dim)
        return self.D

    def build(self, input_shape):
        m = int(input_shape[-1])
        for layer in self.preprocessing:
            m = int(layer.compute_output_shape((None, m))[-1])
        self.output_dim(m)
        self.adapted = self.add_weight(
            name="adapted", shape=(), dtype="int32", initializer="zeros", trainable=False
        )
        self._state_width = m
        self.state = self._make_state()
        super().build(input_shape)

    def _make_state(self):
        """The state weights, or `{}` while their shapes depend on the adapted data."""
        shapes = self.state_shapes(self._state_width) or {}
        return {
            name: self.add_weight(
                name=name, shape=shape, dtype=dtype, initializer="zeros", trainable=False
            )
            for name, (shape, dtype) in shapes.items()
        }

    def adapt(self, data, batch_size=None, steps=None):
        """Fits the state on `data`, once.

        Args:
            data: array or tensor of shape `(samples, ..., m)`, or an iterable of
                such batches (or of `(x, y)` pairs), e.g. a `tf.data.Dataset`.
            batch_size: unused for arrays (the fit sees all of `data`); kept for
                the signature of Keras' preprocessing layers.
            steps: number of batches taken from an iterable (default: all).

        The pre-processing layers run first; post-processing layers that have an
        `adapt` method (e.g. `keras.layers.Normalization`) are then adapted on the
        compressed data. Returns the layer.
        """
        x = as_numpy(data, steps=steps)
        x = x.reshape(-1, x.shape[-1])
        if not self.built:
            self.build((None, x.shape[-1]))
        for layer in self.preprocessing:
            x = np.asarray(ops.convert_to_numpy(layer(x, training=False)), dtype="float64")
        state = self.fit(x)
        if not self.state:  # shapes known only now: add the weights, as Dense.enable_lora
            self._tracker.unlock()
            try:
                self.state = self._make_state()
            finally:
                self._tracker.lock()
        for name, variable in self.state.items():
            variable.assign(np.asarray(state[name]).astype(variable.dtype).reshape(variable.shape))
        self.adapted.assign(1)
        self._adapted = True
        if self.postprocessing:
            y = self.transform(ops.convert_to_tensor(x, dtype=self.compute_dtype))
            for layer in self.postprocessing:
                if callable(getattr(layer, "adapt", None)):
                    layer.adapt(y)
                y = layer(y, training=False)
        return self

    def load_own_variables(self, store):
        super().load_own_variables(store)
        self._adapted = bool(ops.convert_to_numpy(self.adapted))

    def expand(self, x):
        if not self._adapted and not in_symbolic_scope():
            raise RuntimeError(
                f"{self.__class__.__name__} {self.name!r} is not adapted: it is fitted "
                "once on data before use. Call `layer.adapt(data)` (for a compression "
                "inside a head: `head.expansion.adapt(x)`), or "
                "`keras_rpn.compressions.adapt(model, x)` for every compression of a model."
            )
        return self.transform(x)

    def get_config(self):
        return {**super().get_config(), "D": self.D, "seed": self.seed}


def adapt(model, data, steps=None):
    """Adapts every un-adapted fitted compression of `model` on `data`.

    The data is passed through the model's layers in order; before each layer,
    the fitted compressions it holds (e.g. the expansions of its heads) are adapted
    on the input that layer receives, so the compressions of a deep layer are
    fitted on the outputs of the (already adapted) layers before it. Layers whose
    input is not the previous layer's output (multi-input graphs) are not handled.

    Args:
        model: a Keras model (`keras_rpn.models.RPN`, a `Sequential` or a
            single-path functional model) or a layer.
        data: array of shape `(samples, ..., m)` or iterable of batches.
        steps: batches taken from an iterable (default: all).

    Returns:
        The list of the compressions adapted.
    """
    x = as_numpy(data, steps=steps).astype("float32")
    layers = [
        layer
        for layer in getattr(model, "layers", [model])
        if not isinstance(layer, keras.layers.InputLayer)
    ]
    adapted = []
    for layer in layers:
        for sub in [layer, *layer._flatten_layers(include_self=False)]:
            if getattr(sub, "adaptable", False) and not sub.is_adapted:
                sub.adapt(x)
                adapted.append(sub)
        x = ops.convert_to_numpy(layer(x, training=False))
    return adapted
