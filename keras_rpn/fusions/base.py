"""The fusion protocol: combine K outputs of width n (channels or heads)."""

import keras

from keras_rpn.registry import Registry


class Fusion(keras.layers.Layer):
    """Base class of fusion functions, used for channel fusion and head fusion.

    Inputs are the `K` outputs stacked on the second-to-last axis, shape
    `(..., K, n)`; the output has shape `(..., output_dim(K, n))`. A fusion with
    parameters makes them in `build`, given that stacked shape.

    A subclass implements `output_dim(num_inputs, input_dim)` and `fuse(stacked)`,
    and declares its capabilities, which other modules read instead of switching on
    the class:

    * `is_linear` (class attribute): whether `fuse` is linear in the stacked inputs
      (no offset), so that it commutes with sums (`keras_rpn.interpret` splits heads
      into per-feature terms through it);
    * `model_parallel_axis(variable)`: the axis of one of its weights that may be
      split across the devices of a model-parallel mesh (its output axis), or `None`
      (replicated); `keras_rpn.distribution.layout_map` splits it when the mesh's
      model axis divides it.

    Args:
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.
    """

    #: False for fusions with parameters: they still act when K = 1.
    identity_for_one_input = True

    #: Whether `fuse` is linear in the stacked inputs (mean, sums, concatenations).
    is_linear = False

    def model_parallel_axis(self, variable):
        """The axis of `variable` (one of this fusion's weights) to split, or `None`."""
        return None

    def output_dim(self, num_inputs, input_dim):
        return input_dim

    def fuse(self, stacked):
        raise NotImplementedError

    def build(self, input_shape):
        if len(input_shape) < 2 or input_shape[-1] is None or input_shape[-2] is None:
            raise ValueError(
                f"{self.__class__.__name__} expects stacked inputs of shape "
                f"(..., K, n) with K and n known. Received: input_shape={input_shape}"
            )
        self.num_inputs, self.input_dim = int(input_shape[-2]), int(input_shape[-1])

    def call(self, inputs):
        return self.fuse(inputs)

    def get_config(self):
        # Written out so that Keras never falls back to its auto-config, which
        # refuses the dtype-policy objects that heads pass to their components.
        return super().get_config()

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-2]) + (self.output_dim(input_shape[-2], input_shape[-1]),)


registry = Registry("fusion", Fusion)
_registry = registry  # the name older code and tests use
register = registry.register
names = registry.names


def get(identifier, **overrides):
    """Returns a fusion from an instance, a short name or a config dict."""
    return _registry.get(identifier, **overrides)
