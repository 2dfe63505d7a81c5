"""KAN-style network diagrams and per-edge layer plots."""

import keras
import numpy as np
import pytest

pytest.importorskip("matplotlib", reason="the plot extra is not installed")

from keras_rpn import plotting  # noqa: E402
from keras_rpn.layers import KANDense  # noqa: E402


def test_network_and_layer_figures(rng):
    model = keras.Sequential([keras.Input((3,)), KANDense(2), KANDense(1)])
    x = rng.uniform(-1, 1, (64, 3)).astype("float32")
    head = model.layers[0].head
    coef = keras.ops.convert_to_numpy(head.kernel).reshape(2, 3, 8)
    coef[:, 2] = 0.0  # input 2 -> both hidden units: flat spline ...
    head.kernel.assign(coef.reshape(1, -1))
    base = keras.ops.convert_to_numpy(head.remainder.kernel)
    base[2] = 0.0  # ... and no base branch: two dead edges
    head.remainder.kernel.assign(base)
    fig = plotting.plot_network(model, x, threshold=0.01, input_names=["a", "b", "c"])
    # canvas + one inset per drawn edge: 3*2 - 2 dead edges in layer 1, 2 in layer 2
    assert len(fig.axes) == 1 + 4 + 2
    insets = fig.axes[1:]
    assert all(0 < line.get_alpha() <= 1 for ax in insets for line in ax.lines)
    layer_fig = plotting.plot_layer(model.layers[0], x, shared_y=True)
    assert len(layer_fig.axes) == 6
    limits = {ax.get_ylim() for ax in layer_fig.axes}
    assert len(limits) == 1  # one y-scale
    flat = layer_fig.axes[2].lines[0].get_ydata()  # edge c -> y0
    np.testing.assert_allclose(flat, 0.0, atol=1e-6)
    fig.savefig(__import__("io").BytesIO(), format="png")


def test_default_kan_network_with_a_shared_y_scale(rng):
    from keras_rpn.models import KAN

    model = KAN([2, 3, 1])  # base branch silu(x W_r): not per edge, drawn as its splines
    x = rng.uniform(-1, 1, (48, 2)).astype("float32")
    fig = plotting.plot_network(model, x, shared_y=True)
    insets = fig.axes[1:]
    assert len(insets) == 2 * 3 + 3 * 1  # every edge of both layers
    assert len({ax.get_ylim() for ax in insets}) == 1
    layer_fig = plotting.plot_layer(model.rpn_layers[0], x)
    assert len(layer_fig.axes) == 6
    with pytest.raises(ValueError, match="2 layers"):
        plotting.plot_layer(model, x)
