"""Property-based tests: random valid head/layer configs across all function families.

For every drawn configuration: build, call, one `fit` step, `get_config` round trip
and `.keras` round trip with identical outputs. Draws that a function refuses at
construction or build (e.g. a Kronecker factor that does not divide `D`) must be
refused with a `ValueError` naming the problem; they are then discarded.
"""

import keras
import numpy as np
import pytest
from checks import as_model
from checks import assert_config_roundtrip
from checks import assert_fit_step
from checks import assert_save_load
from hypothesis import HealthCheck
from hypothesis import assume
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from keras_rpn import expansions
from keras_rpn import fusions
from keras_rpn import reconciliations
from keras_rpn import remainders
from keras_rpn.layers import RPNLayer

# Bounded so the suite stays within CI time on all three backends.
EXAMPLES = 8
# Expansions whose width explodes or that need required arguments are drawn with
# explicit small hyper-parameters instead of their bare names.
EXPLICIT_EXPANSIONS = [
    {"class_name": "taylor", "config": {"d": 2}},
    {"class_name": "bspline", "config": {"t": 3, "d": 2}},
]


def _constructible(family, name):
    try:
        family.get(name)
    except (TypeError, ValueError):
        return False
    return True


def _names(family, exclude=()):
    return sorted(n for n in family.names() if n not in exclude and _constructible(family, n))


def head_configs():
    return st.fixed_dictionaries(
        {
            "expansion": st.sampled_from(_names(expansions) + EXPLICIT_EXPANSIONS),
            "reconciliation": st.sampled_from(_names(reconciliations)),
            "remainder": st.sampled_from(_names(remainders)),
            "channels": st.integers(1, 3),
            "channel_fusion": st.sampled_from(_names(fusions)),
            "use_bias": st.booleans(),
        }
    )


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(
    heads=st.lists(head_configs(), min_size=1, max_size=2),
    units=st.integers(1, 4),
    m=st.integers(1, 4),
    head_fusion=st.sampled_from(_names(fusions)),
)
def test_random_layers_build_train_and_round_trip(heads, units, m, head_fusion):
    keras.backend.clear_session(free_memory=False)
    x = np.random.default_rng(0).uniform(-1, 1, (6, m)).astype("float32")
    try:
        layer = RPNLayer(units, heads=heads, head_fusion=head_fusion)
        model = as_model(layer, m)
    except ValueError as error:
        assert "Received" in str(error) or "must" in str(error), str(error)
        assume(False)
    y = keras.ops.convert_to_numpy(model(x))
    assert y.shape == (6, layer.compute_output_shape((None, m))[-1])
    assert np.all(np.isfinite(y))
    assert_config_roundtrip(layer)
    if model.trainable_weights:
        assert_fit_step(model, x, np.zeros_like(y))
    assert_save_load(model, x, atol=1e-5)


@pytest.mark.parametrize("family", [expansions, reconciliations, remainders, fusions])
def test_every_family_is_drawn_from(family):
    assert len(_names(family)) >= 3
