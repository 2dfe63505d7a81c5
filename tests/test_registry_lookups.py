"""The registries' public lookups (`entries`, `classes`, `tinybig_name`)."""

import pytest

from keras_rpn import expansions
from keras_rpn import fusions
from keras_rpn import reconciliations
from keras_rpn import remainders


def test_tinybig_names_are_the_family_suffixed_names():
    assert expansions.registry.tinybig_name(expansions.TaylorExpansion) == "taylor_expansion"
    # tinyBIG spells the Haar expansion "harr"; register(tinybig=...) records it.
    assert expansions.registry.tinybig_name(expansions.HaarWaveletExpansion) == (
        "harr_wavelet_expansion"
    )
    assert fusions.registry.tinybig_name(fusions.MeanFusion) == "mean_fusion"
    assert remainders.registry.tinybig_name(remainders.LinearRemainder) == "linear_remainder"
    assert (
        reconciliations.registry.tinybig_name(reconciliations.LowRankReconciliation)
        == "lorr_reconciliation"
    )


@pytest.mark.parametrize("family", [expansions, reconciliations, remainders, fusions])
def test_entries_and_classes_agree_with_lookup(family):
    entries = family.registry.entries()
    assert entries
    for name, cls in entries:
        assert family.registry.lookup(name) is cls
    classes = family.registry.classes()
    assert len(classes) == len(set(classes)) == len({cls for _, cls in entries})
    assert all(issubclass(cls, family.registry.base_class) for cls in classes)


def test_register_rejects_a_non_string_tinybig_name():
    with pytest.raises(TypeError, match="tinybig"):
        expansions.register("x", tinybig=3)
