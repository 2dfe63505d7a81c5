"""Trigonometric and hyperbolic expansions and their inverses (`D = 3m`, block-major)."""

from keras import ops

from keras_rpn.expansions.base import BlockExpansion
from keras_rpn.expansions.base import register


@register("hyperbolic", "hyperbolic_expansion")
class HyperbolicExpansion(BlockExpansion):
    """Hyperbolic expansion: `[sinh(x) | cosh(x) | tanh(x)]`.

    Formula:
    ```
    kappa(x) = [sinh(x) | cosh(x) | tanh(x)],   D(m) = 3 m   (block-major)
    ```
    The input is saturated at `|x| <= 80` (`cosh(80) ~ 2.8e34`), so outputs and
    gradients stay finite on the whole float32 range, with room left for the
    contraction with the kernel (`sinh` and `cosh` overflow float32 above
    `|x| ~ 89`). Computed in float32; in float16 `cosh` saturates above
    `|x| ~ 11.8` (see the float16 ranges in docs/backends.md).

    Args:
        **kwargs: `preprocessing`, `postprocessing` (see `Expansion`) and base layer
            keyword arguments, such as `name` and `dtype`.

    Example:
    >>> keras.ops.convert_to_numpy(keras_rpn.expansions.HyperbolicExpansion()(np.array([[0.0]])))
    array([[0., 1., 0.]], dtype=float32)
    """

    float32_compute = True
    num_blocks = 3
    #: Inputs are clipped to `[-saturation, saturation]` before sinh and cosh.
    saturation = 80.0

    def blocks(self, x):
        x = ops.clip(x, -self.saturation, self.saturation)
        return [ops.sinh(x), ops.cosh(x), ops.tanh(x)]


@register("arc_hyperbolic", "arc_hyperbolic_expansion")
class ArcHyperbolicExpansion(BlockExpansion):
    """Inverse hyperbolic expansion on sigmoid-squashed inputs.

    Formula (the shifts keep every function inside its domain):
    ```
    u = sigmoid(x)
    kappa(x) = [asinh(u) | acosh(u + 1.01) | atanh(0.99 u)],   D(m) = 3 m   (block-major)
    ```

    Args:
        **kwargs: `preprocessing`, `postprocessing` (see `Expansion`) and base layer
            keyword arguments, such as `name` and `dtype`.

    Example:
    >>> tuple(keras_rpn.expansions.ArcHyperbolicExpansion()(np.zeros((1, 2))).shape)
    (1, 6)
    """

    float32_compute = True
    num_blocks = 3

    def blocks(self, x):
        u = ops.sigmoid(x)
        return [ops.arcsinh(u), ops.arccosh(u + 1.01), ops.arctanh(0.99 * u)]


@register("trigonometric", "trigonometric_expansion")
class TrigonometricExpansion(BlockExpansion):
    """Trigonometric expansion: `[sin(x) | cos(x) | tan(x)]`.

    Formula:
    ```
    kappa(x) = [sin(x) | cos(x) | tan(x)],   D(m) = 3 m   (block-major)
    ```
    `tan` has poles at `pi/2 + k pi`, as in tinyBIG; float inputs never hit them
    exactly, but values near them are large.

    Args:
        **kwargs: `preprocessing`, `postprocessing` (see `Expansion`) and base layer
            keyword arguments, such as `name` and `dtype`.

    Example:
    >>> keras.ops.convert_to_numpy(keras_rpn.expansions.TrigonometricExpansion()(np.array([[0.0]])))
    array([[0., 1., 0.]], dtype=float32)
    """

    float32_compute = True
    num_blocks = 3

    def blocks(self, x):
        return [ops.sin(x), ops.cos(x), ops.tan(x)]


@register("arc_trigonometric", "arc_trigonometric_expansion")
class ArcTrigonometricExpansion(BlockExpansion):
    """Inverse trigonometric expansion on sigmoid-squashed inputs.

    Formula (the factor 0.99 keeps asin/acos away from their singular ends):
    ```
    u = sigmoid(x)
    kappa(x) = [asin(0.99 u) | acos(0.99 u) | atan(u)],   D(m) = 3 m   (block-major)
    ```

    Args:
        **kwargs: `preprocessing`, `postprocessing` (see `Expansion`) and base layer
            keyword arguments, such as `name` and `dtype`.

    Example:
    >>> tuple(keras_rpn.expansions.ArcTrigonometricExpansion()(np.zeros((1, 2))).shape)
    (1, 6)
    """

    float32_compute = True
    num_blocks = 3

    def blocks(self, x):
        u = ops.sigmoid(x)
        return [ops.arcsin(0.99 * u), ops.arccos(0.99 * u), ops.arctan(u)]
