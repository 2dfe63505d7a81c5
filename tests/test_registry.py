"""Resolving functions by instance, short name, class name and config dict."""

import keras
import pytest

import keras_rpn
from keras_rpn import expansions
from keras_rpn import fusions
from keras_rpn import reconciliations
from keras_rpn import remainders

FAMILIES = [expansions, reconciliations, remainders, fusions]


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.__name__.split(".")[-1])
def test_every_short_name_resolves_and_round_trips(family):
    names = family.names()
    assert names, "each family registers at least one function"
    for name in names:
        try:
            obj = family.get(name)
        except (TypeError, ValueError) as error:
            # Functions with required hyper-parameters (e.g. nested expansions) refuse
            # to be built from a bare name; their own tests cover construction.
            assert name in str(error) or "Received" in str(error) or "missing" in str(error)
            continue
        assert isinstance(obj, keras.layers.Layer)
        config = keras.saving.serialize_keras_object(obj)
        assert config["registered_name"] == f"keras_rpn>{type(obj).__name__}"
        for identifier in (
            {"class_name": name, "config": obj.get_config()},
            {"class_name": type(obj).__name__, "config": obj.get_config()},
            {"class_name": config["registered_name"], "config": obj.get_config()},
            config,
        ):
            clone = family.get(identifier)
            assert type(clone) is type(obj)
            assert clone.get_config() == obj.get_config()


def test_instances_pass_through_and_overrides_clone():
    taylor = expansions.TaylorExpansion(d=3)
    assert expansions.get(taylor) is taylor
    clone = expansions.get(taylor, dtype="bfloat16")
    assert clone is not taylor and clone.d == 3 and clone.compute_dtype == "bfloat16"


def test_config_dict_short_form_and_case():
    assert expansions.get({"class_name": "taylor", "config": {"d": 3}}).d == 3
    assert isinstance(expansions.get("Taylor"), expansions.TaylorExpansion)
    assert isinstance(
        reconciliations.get("lorr_reconciliation"), reconciliations.LowRankReconciliation
    )


@pytest.fixture
def scratch_registry():
    """Forgets what a test registers, so other modules see the real registry."""
    registry = expansions.base._registry
    saved = dict(registry._classes)
    custom = dict(keras.saving.get_custom_objects())
    yield
    registry._classes.clear()
    registry._classes.update(saved)
    keras.saving.get_custom_objects().clear()
    keras.saving.get_custom_objects().update(custom)


def test_registering_a_new_function_needs_one_class(scratch_registry):
    @expansions.register("test_square_only")
    class SquareExpansion(expansions.Expansion):
        def output_dim(self, input_dim):
            return input_dim

        def expand(self, x):
            return x * x

    head = keras_rpn.layers.RPNHead(2, expansion="test_square_only")
    assert isinstance(head.expansion, SquareExpansion)
    with pytest.raises(ValueError, match="already taken"):
        expansions.register("test_square_only")(type("Other", (expansions.Expansion,), {}))


def test_register_refuses_foreign_classes(scratch_registry):
    with pytest.raises(TypeError, match="must subclass Expansion"):
        expansions.register("not_an_expansion")(type("Plain", (keras.layers.Layer,), {}))
