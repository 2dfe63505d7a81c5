"""Compressions: metric and geometric (pooling) ones against numpy and Keras references.

References are written from the documented formulas (float64 numpy, patch cells
enumerated here, independently of `keras_rpn.geometry`); the Keras reference of a
cuboid max compression is `keras.layers.MaxPooling2D`.
"""

import itertools

import keras
import numpy as np
import pytest
from checks import as_model
from checks import assert_config_roundtrip
from checks import assert_fit_step
from checks import assert_save_load
from checks import gradients
from keras import ops
from keras.src.testing import TestCase
from scipy import stats

from keras_rpn import compressions
from keras_rpn import expansions
from keras_rpn.layers import RPNHead

X = np.random.default_rng(0).normal(size=(5, 7)).astype("float32")
GRID = dict(h=4, w=5, d=3, channels=2)  # m = 120
VOLUME = np.random.default_rng(1).normal(size=(3, 4, 5, 3, 2)).astype("float32")

METRICS = {
    "max": lambda a, axis: a.max(axis),
    "min": lambda a, axis: a.min(axis),
    "sum": lambda a, axis: a.sum(axis),
    "mean": lambda a, axis: a.mean(axis),
    "prod": lambda a, axis: a.prod(axis),
    "median": lambda a, axis: np.sort(a, axis)[:, (a.shape[axis] - 1) // 2],
}


def numpy(x):
    return ops.convert_to_numpy(x)


@pytest.mark.parametrize("metric", sorted(METRICS))
def test_metric_compressions(metric):
    expected = METRICS[metric](X.astype("float64"), 1)[:, None]
    for kappa in (compressions.get(metric), compressions.get("metric", metric=metric)):
        assert kappa.output_dim(7) == 1
        np.testing.assert_allclose(numpy(kappa(X)), expected, rtol=1e-5, atol=1e-6)
    assert isinstance(expansions.get(f"{metric}_compression"), compressions.MetricCompression)
    with pytest.raises(ValueError, match="always uses metric"):
        compressions.get(metric, metric="max" if metric != "max" else "min")


def offsets(shape, r=1, box=((1, 1), (1, 1), (0, 0))):
    """Patch offsets from the definitions: box, disk x depth range, or ball."""
    if shape == "cuboid":
        return list(itertools.product(*[range(-a, b + 1) for a, b in box]))
    cube = itertools.product(range(-r, r + 1), repeat=3)
    if shape == "sphere":
        return [o for o in cube if o[0] ** 2 + o[1] ** 2 + o[2] ** 2 <= r * r]
    return [o for o in cube if o[0] ** 2 + o[1] ** 2 <= r * r]  # cylinder with p_d = r


def pooled(volume, cells, metric, strides):
    """Reference pooling of `(N, h, w, d, C)`, cells outside the grid ignored."""
    n, h, w, d, c = volume.shape
    out = []
    for ci in range(0, h, strides[0]):
        for cj in range(0, w, strides[1]):
            for ck in range(0, d, strides[2]):
                inside = [
                    volume[:, ci + a, cj + b, ck + e]
                    for a, b, e in cells
                    if 0 <= ci + a < h and 0 <= cj + b < w and 0 <= ck + e < d
                ]
                out.append(METRICS[metric](np.stack(inside, 1).astype("float64"), 1))
    return np.stack(out, 1).reshape(n, -1)  # (N, P * C), patch-major


GEOMETRIC = [
    ("cuboid", {"p_h": 1, "p_w": 0, "p_w_prime": 2, "p_d": 1}, ((1, 1), (0, 2), (1, 1))),
    ("cylinder", {"p_r": 1, "p_d": 1}, None),
    ("sphere", {"p_r": 1}, None),
]


@pytest.mark.parametrize("shape,patch,box", GEOMETRIC, ids=[g[0] for g in GEOMETRIC])
def test_geometric_compressions_pool_each_patch(shape, patch, box):
    cells = offsets(shape, box=box) if box else offsets(shape)
    flat = VOLUME.reshape(3, -1)
    for metric, strides in (("max", (1, 1, 1)), ("min", (2, 2, 2)), ("mean", (2, 3, 1))):
        cd = dict(zip(("cd_h", "cd_w", "cd_d"), strides, strict=True))
        kappa = compressions.get(f"{shape}_{metric}", **GRID, **patch, **cd)
        expected = pooled(VOLUME, cells, metric, strides)
        assert kappa.output_dim(120) == expected.shape[1]
        np.testing.assert_allclose(numpy(kappa(flat)), expected, rtol=1e-5, atol=1e-6)
        # The same patch through the generic class, and on the unflattened volume.
        generic = compressions.get(
            "geometric", metric=metric, patch={"shape": shape, **patch}, **GRID, **cd
        )
        np.testing.assert_allclose(numpy(generic(flat)), expected, rtol=1e-5, atol=1e-6)
        grid = numpy(kappa.pool(VOLUME))
        assert grid.shape == (3, *kappa.output_grid, 2)
        np.testing.assert_allclose(grid.reshape(3, -1), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("size,strides", [(2, 2), (3, 2), (3, 1)])
def test_cuboid_max_equals_max_pooling_2d(size, strides):
    images = np.abs(VOLUME[:, :, :, 0, :])  # non-negative (3, 4, 5, 2) images
    kappa = compressions.get(
        "cuboid_max_based_geometric_compression",
        h=4,
        w=5,
        channels=2,
        p_h=0,
        p_w=0,
        p_h_prime=size - 1,
        p_w_prime=size - 1,
        cd_h=strides,
        cd_w=strides,
        cd_d=1,
    )
    expected = numpy(keras.layers.MaxPooling2D(size, strides, padding="valid")(images))
    got = numpy(kappa.pool(images))
    # Patches running past the border are pooled over their inside cells; the
    # windows MaxPooling2D keeps ("valid") are the same.
    np.testing.assert_allclose(got[:, : expected.shape[1], : expected.shape[2]], expected)
    same = numpy(keras.layers.MaxPooling2D(size, strides, padding="same")(images))
    if size == 2:  # "same" pads after only, like a patch starting at its centre
        np.testing.assert_allclose(got, same)


def test_max_of_a_negative_border_patch_ignores_padding():
    """Standard pooling: a border patch of negative values has a negative max (not 0)."""
    kappa = compressions.get("cuboid_max", h=2, w=2, p_h=1, p_w=1)
    y = numpy(kappa(-np.arange(1.0, 5.0, dtype="float32")[None]))
    np.testing.assert_allclose(y, [[-1.0, -1.0, -1.0, -1.0]])
    grads = gradients(lambda t: kappa(t), -np.arange(1.0, 5.0, dtype="float32")[None])
    np.testing.assert_allclose(grads, [[4.0, 0.0, 0.0, 0.0]])


def test_packing_strategies_and_bad_grids():
    kappa = compressions.get("cuboid_mean", h=6, w=6, packing_strategy="complete_square")
    assert kappa.strides == (2, 2, 1) and kappa.output_dim(36) == 9
    sphere = compressions.get("sphere_max", h=9, w=9, p_r=2, packing_strategy="sparse_simple_cubic")
    assert sphere.strides == (4, 4, 4)
    with pytest.raises(ValueError, match="packing_strategy"):
        compressions.get("cylinder_max", h=4, w=4, packing_strategy="sparse_simple_cubic")
    with pytest.raises(ValueError, match="Received: m=15"):
        compressions.get("cuboid_max", h=4, w=4).output_dim(15)
    with pytest.raises(ValueError, match="cd_h"):
        compressions.get("cuboid_max", h=4, w=4, cd_h=2)
    with pytest.raises(ValueError, match="Received: h=None"):
        compressions.get("cuboid_max", w=4)
    with pytest.raises(ValueError, match="metric"):
        compressions.get("geometric", metric="median", patch={"shape": "sphere"}, h=2, w=2)


def test_names_resolve_in_both_registries_and_aliases_are_the_expansions():
    assert compressions.get("identity_compression").__class__ is expansions.IdentityExpansion
    assert expansions.get("reciprocal_compression").__class__ is expansions.ReciprocalExpansion
    assert compressions.get("linear_compression").__class__ is expansions.LinearExpansion
    for name in ("nested_compression", "extended_compression"):
        assert compressions.base._registry.lookup(name).__name__.endswith("Expansion")
    assert not set(compressions.names()) & set(expansions.names())
    with pytest.raises(ValueError, match="The expansion name 'max' is already taken"):
        expansions.base._registry.register("max")(expansions.TaylorExpansion)


# Arguments a bare name may lack; the first set it accepts builds it.
REQUIRED = [
    {},
    {"metric": "max"},
    {"k": 2},
    {"D": 2},
    GRID,
    {**GRID, "metric": "max"},
    {**GRID, "metric": "max", "patch": {"shape": "sphere"}},
]


def build(name):
    for arguments in REQUIRED:
        try:
            return compressions.get(name, **arguments)
        except (TypeError, ValueError) as error:
            message = str(error)
            assert any(word in message for word in ("Received", "missing", "Unrecognized"))
    if "out-of-sample" in message:  # t-SNE & co. (test_compressions_fitted.py)
        return None
    raise AssertionError(f"{name} builds with none of {REQUIRED}")


def test_every_compression_round_trips_its_config():
    for name in compressions.names():  # the aliases are tested as expansions
        if issubclass(compressions.base._registry.lookup(name), compressions.Compression):
            kappa = build(name)
            if kappa is not None:
                assert_config_roundtrip(kappa)


def test_pooling_head_trains_saves_and_reloads_under_jit():
    x = VOLUME.reshape(3, -1)
    head = RPNHead(4, expansion={"class_name": "cylinder_max", "config": GRID})
    model = as_model(head, 120)
    assert_fit_step(model, x, np.ones((3, 4), "float32"), jit_compile=True)
    assert_save_load(model, x)


# --------------------------------------------------------------------------------------
# Probabilistic compressions.

SQUASH = 1 / (1 + np.exp(-X.astype("float64"))) * 0.99 + 0.001
LOG_PDFS = {  # scipy references of each density, on the squashed input
    "normal": lambda u: stats.norm.logpdf(u, 0.0, 1.0),
    "cauchy": lambda u: stats.cauchy.logpdf(u, 0.0, 1.0),
    "chi2": lambda u: stats.chi2.logpdf(u, 1.0),
    "exponential": lambda u: stats.expon.logpdf(u, scale=1 / 0.5),
    "gamma": lambda u: stats.gamma.logpdf(u, 1.0, scale=1.0),
    "laplace": lambda u: stats.laplace.logpdf(u, 0.0, 1.0),
}


@pytest.mark.parametrize("distribution", sorted(LOG_PDFS))
def test_probabilistic_compressions_keep_the_most_probable_at_inference(distribution):
    log_p = LOG_PDFS[distribution](SQUASH)
    idx = np.sort(np.argsort(-log_p, axis=1, kind="stable")[:, :3], axis=1)
    name = f"naive_{distribution}_probabilistic_compression"
    kappa = compressions.get(name, k=3)
    assert kappa.output_dim(7) == 3
    np.testing.assert_allclose(numpy(kappa(X)), np.take_along_axis(X, idx, 1), rtol=1e-6)
    logs = compressions.get(name, k=3, simply_sampling=False, log_prob=True)
    expected = np.take_along_axis(log_p, idx, 1)
    np.testing.assert_allclose(numpy(logs(X)), expected, rtol=1e-4, atol=1e-5)


def test_probabilistic_sampling_follows_the_weights_in_training():
    x = np.tile(np.array([[-2.0, 0.0, 3.0]], "float32"), (4000, 1))
    kappa = compressions.get("naive_laplace_probabilistic", k=1, seed=3)
    u = 0.99 / (1 + np.exp(-x[0].astype("float64"))) + 0.001
    p = np.exp(-np.abs(u)) / np.exp(-np.abs(u)).sum()
    picked = numpy(kappa(x, training=True))[:, 0]
    freq = np.array([(picked == v).mean() for v in x[0]])
    np.testing.assert_allclose(freq, p, atol=0.03)
    assert freq.min() > 0.2  # random, not the inference choice
    two = numpy(compressions.get("naive_laplace_probabilistic", k=2, seed=3)(x, training=True))
    assert (two[:, 0] != two[:, 1]).all()  # without replacement, in feature order
    assert set(map(tuple, two)) <= {(-2.0, 0.0), (-2.0, 3.0), (0.0, 3.0)}
    again = numpy(compressions.get("naive_laplace_probabilistic", k=1, seed=3)(x, training=True))
    np.testing.assert_array_equal(again[:, 0], picked)  # seeded
    replaced = compressions.get("naive_uniform_probabilistic", k=5, with_replacement=True, seed=1)
    assert numpy(replaced(x[:10], training=True)).shape == (10, 5)


def test_combinatorial_compressions_keep_the_most_probable_subsets():
    rows = []
    for r in (1, 2):
        subsets = list(itertools.combinations(range(7), r))
        log_p = np.stack([stats.norm.logpdf(SQUASH[:, s]).sum(1) for s in subsets], 1)
        idx = np.sort(np.argsort(-log_p, axis=1, kind="stable")[:, :2], axis=1)
        values = [[X[i, list(subsets[j])] for j in row] for i, row in enumerate(idx)]
        rows.append((np.reshape(values, (5, -1)), np.take_along_axis(log_p, idx, 1)))
    kappa = compressions.get("combinatorial_compression", d=2, k=2)
    assert kappa.output_dim(7) == 2 * (1 + 2)
    np.testing.assert_allclose(numpy(kappa(X)), np.hstack([v for v, _ in rows]), rtol=1e-6)
    logs = compressions.get("combinatorial_probabilistic_compression", d=2, k=2)
    assert logs.output_dim(7) == 4
    np.testing.assert_allclose(numpy(logs(X)), np.hstack([p for _, p in rows]), rtol=1e-5)
    assert numpy(kappa(X, training=True)).shape == (5, 6)
    with pytest.raises(ValueError, match="k"):
        compressions.get("combinatorial_compression", d=2, k=8).output_dim(7)


def test_sampling_head_trains_under_jit_and_reloads():
    head = RPNHead(3, expansion={"class_name": "naive_normal_probabilistic", "config": {"k": 4}})
    model = as_model(head, 7)
    assert_fit_step(model, X, np.ones((5, 3), "float32"), jit_compile=True)
    assert_save_load(model, X)  # inference is deterministic


@pytest.mark.parametrize(
    "cls,kwargs,input_shape,output_shape,seeds",
    [
        (compressions.MedianCompression, {}, (2, 5), (2, 1), 0),
        (compressions.SphereMaxCompression, {"h": 3, "w": 2, "channels": 2}, (2, 12), (2, 12), 0),
        (compressions.NaiveNormalProbabilisticCompression, {"k": 2, "seed": 1}, (2, 5), (2, 2), 1),
    ],
    ids=["metric", "geometric", "probabilistic"],
)
def test_keras_run_layer_test(cls, kwargs, input_shape, output_shape, seeds):
    case = TestCase()
    case.setUp()
    case.run_layer_test(
        cls,
        init_kwargs=kwargs,
        input_shape=input_shape,
        expected_output_shape=output_shape,
        expected_num_trainable_weights=0,
        expected_num_seed_generators=seeds,
        expected_num_losses=0,
        supports_masking=False,
    )
