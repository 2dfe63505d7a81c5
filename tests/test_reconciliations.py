"""Reconciliations psi: formulas, parameter counts, structured == explicit products,
initial scale, validation, serialisation and training."""

import keras
import numpy as np
import pytest
from checks import BACKEND
from checks import as_model
from checks import assert_config_roundtrip
from checks import assert_save_load
from checks import gradients
from keras import ops

from keras_rpn import expansions
from keras_rpn import reconciliations
from keras_rpn.expansions import TaylorExpansion
from keras_rpn.initializers import GlorotPsi
from keras_rpn.layers import RPNHead
from keras_rpn.layers import RPNLayer
from keras_rpn.models import RPN


def numpy_of(tensor):
    return ops.convert_to_numpy(tensor)


def sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


def blocks(w, *shapes):
    """Consecutive row-major blocks of the flat vector `w`."""
    out, offset = [], 0
    for shape in shapes:
        size = int(np.prod(shape))
        out.append(w[offset : offset + size].reshape(shape))
        offset += size
    assert offset == len(w)
    return out


# Independent numpy formulas: psi(w) for one channel, given the built layer `rec`
# (for its frozen constants) and the matrix shape (n, D).
def ref_kronecker(a_of, b_of):
    def psi(w, rec, n, D):
        p, q = rec.p_, rec.q_
        return np.kron(a_of(w, p, q, n, D, rec), b_of(w, p, q, n, D, rec))

    return psi


def _hm_blocks(w, p, q, n, D):
    return blocks(w, (p, q), (n // p, D // q))


def _lphm_blocks(w, p, q, n, D, r):
    return blocks(w, (p, q), (n // p, r), (D // q, r))


def _dual_blocks(w, p, q, n, D, r):
    return blocks(w, (p, r), (q, r), (n // p, r), (D // q, r))


def ref_padding(constant):
    def psi(w, rec, n, D):
        p, q = rec.p_, rec.q_
        return np.kron(constant(p, q), w.reshape(n // p, D // q))

    return psi


def ref_hypernet(w, rec, n, D):
    hidden = sigmoid(w @ numpy_of(rec.hidden_kernel) + numpy_of(rec.hidden_bias))
    return (hidden @ numpy_of(rec.output_kernel) + numpy_of(rec.output_bias)).reshape(n, D)


def ref_random_matrix_adaption(w, rec, n, D):
    lambda_1, lambda_2 = w[:n], w[n:]
    A, B = numpy_of(rec.random_a), numpy_of(rec.random_b)
    return np.diag(lambda_1) @ A @ np.diag(lambda_2) @ B.T


def ref_random_matrix_hypernet(w, rec, n, D):
    P, Q, S = (numpy_of(v) for v in (rec.random_p, rec.random_q, rec.random_s))
    T = numpy_of(rec.random_t).T  # stored as (r, n D); tinyBIG's T is (n D, r)
    return (((sigmoid((w @ P) @ Q.T)) @ S) @ T.T).reshape(n, D)


# name, config, (n, D), l(n, D) from the reference formulas, numpy psi.
CASES = [
    ("constant", {"c": 0.5}, (4, 6), 0, lambda w, rec, n, D: np.full((n, D), 0.5)),
    ("zero", {}, (4, 6), 0, lambda w, rec, n, D: np.zeros((n, D))),
    ("one", {}, (4, 6), 0, lambda w, rec, n, D: np.ones((n, D))),
    ("constant_eye", {}, (4, 6), 0, lambda w, rec, n, D: np.eye(n, D)),
    ("constant_eye", {}, (6, 4), 0, lambda w, rec, n, D: np.eye(n, D)),
    ("identity", {}, (4, 6), 24, lambda w, rec, n, D: w.reshape(n, D)),
    (
        "masking",
        {"p": 0.5, "seed": 3},
        (4, 6),
        24,
        lambda w, rec, n, D: w.reshape(n, D) * numpy_of(rec.mask),
    ),
    (
        "duplicated_padding",
        {"p": 2, "q": 3},
        (4, 6),
        4,
        ref_padding(lambda p, q: np.ones((p, q))),
    ),
    (
        "duplicated_diagonal_padding",
        {"p": 2, "q": 3},
        (4, 6),
        4,
        ref_padding(lambda p, q: np.eye(p, q)),
    ),
    (
        "duplicated_diagonal_padding",
        {"p": 4, "q": 2},
        (4, 6),
        3,
        ref_padding(lambda p, q: np.eye(p, q)),
    ),
    (
        "lorr",
        {"r": 2},
        (4, 6),
        20,
        lambda w, rec, n, D: np.matmul(*blocks(w, (n, 2), (2, D))),
    ),
    (
        "hm",
        {"p": 2, "q": 3},
        (4, 6),
        6 + 4,
        ref_kronecker(
            lambda w, p, q, n, D, rec: _hm_blocks(w, p, q, n, D)[0],
            lambda w, p, q, n, D, rec: _hm_blocks(w, p, q, n, D)[1],
        ),
    ),
    (
        "hm",
        {},
        (6, 12),
        6 + 12,  # p = 2, q = 3 by default
        ref_kronecker(
            lambda w, p, q, n, D, rec: _hm_blocks(w, p, q, n, D)[0],
            lambda w, p, q, n, D, rec: _hm_blocks(w, p, q, n, D)[1],
        ),
    ),
    (
        "lphm",
        {"p": 2, "q": 3, "r": 1},
        (4, 6),
        6 + 1 * (2 + 2),
        ref_kronecker(
            lambda w, p, q, n, D, rec: _lphm_blocks(w, p, q, n, D, 1)[0],
            lambda w, p, q, n, D, rec: (
                _lphm_blocks(w, p, q, n, D, 1)[1] @ _lphm_blocks(w, p, q, n, D, 1)[2].T
            ),
        ),
    ),
    (
        "dual_lphm",
        {"p": 2, "q": 3, "r": 2},
        (4, 6),
        2 * (2 + 3 + 2 + 2),
        ref_kronecker(
            lambda w, p, q, n, D, rec: (
                _dual_blocks(w, p, q, n, D, 2)[0] @ _dual_blocks(w, p, q, n, D, 2)[1].T
            ),
            lambda w, p, q, n, D, rec: (
                _dual_blocks(w, p, q, n, D, 2)[2] @ _dual_blocks(w, p, q, n, D, 2)[3].T
            ),
        ),
    ),
    ("hypernet", {"l": 8, "hidden_dim": 5}, (4, 6), 8, ref_hypernet),
    ("random_matrix_adaption", {"r": 2}, (4, 6), 4 + 2, ref_random_matrix_adaption),
    (
        "random_matrix_hypernet",
        {"r": 2, "l": 8, "hidden_dim": 5},
        (4, 6),
        8,
        ref_random_matrix_hypernet,
    ),
]


def case_id(case):
    name, config, shape = case[:3]
    return f"{name}{''.join(f'-{k}{v}' for k, v in config.items())}-{shape[0]}x{shape[1]}"


def make(name, config, shape):
    rec = reconciliations.get({"class_name": name, "config": config})
    rec.build(shape)
    return rec


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_reconcile_matches_numpy_formula(case, rng):
    name, config, (n, D), num_params, reference = case
    rec = make(name, config, (n, D))
    assert rec.num_params(n, D) == num_params
    kernel = rng.normal(size=(2, num_params)).astype("float32")
    got = numpy_of(rec.reconcile(ops.convert_to_tensor(kernel)))
    assert got.shape == (2, n, D)
    for c in range(2):
        np.testing.assert_allclose(got[c], reference(kernel[c], rec, n, D), rtol=1e-5, atol=1e-5)


def test_kronecker_is_the_documented_product_not_an_outer_reshape():
    """tinyBIG reshapes outer(vec A, vec B); keras_rpn computes np.kron(A, B)."""
    rec = make("hm", {"p": 2, "q": 2}, (4, 4))
    A, B = np.arange(1.0, 5.0).reshape(2, 2), np.arange(5.0, 9.0).reshape(2, 2)
    kernel = np.concatenate([A.ravel(), B.ravel()])[None].astype("float32")
    W = numpy_of(rec.reconcile(ops.convert_to_tensor(kernel)))[0]
    np.testing.assert_array_equal(W, np.kron(A, B))
    assert not np.array_equal(W, np.outer(A.ravel(), B.ravel()).reshape(4, 4))


def test_mnist_dual_lphm_has_9330_reconciliation_parameters():
    """tinyBIG's MNIST example: 784-64-64-10, Taylor d=2, dual LPHM per layer."""
    pqr = [(8, 784, 5), (8, 64, 5), (2, 64, 5)]
    model = RPN(
        [784, 64, 64, 10],
        expansion={"class_name": "taylor", "config": {"d": 2}},
        layer_configs=[
            {
                "reconciliation": {
                    "class_name": "dual_lphm",
                    "config": dict(zip("pqr", c, strict=True)),
                }
            }
            for c in pqr
        ],
    )
    counts = [int(np.prod(layer.heads[0].kernel.shape)) for layer in model.rpn_layers]
    assert counts == [7925, 725, 680]
    assert sum(counts) == 9330


def test_hm_default_factors_are_largest_divisors_below_sqrt():
    rec = make("hm", {}, (64, 615440))  # 615440 = 784 * 785
    assert (rec.p_, rec.q_, rec.s_, rec.t_) == (8, 784, 8, 785)
    assert rec.num_params(64, 615440) == 8 * 784 + 8 * 785


class GuardedTaylor(TaylorExpansion):
    """A Taylor expansion that fails if the D-wide expansion is ever built."""

    def expand(self, x):
        raise AssertionError("the D-wide Taylor expansion was materialised")


# Reconciliations whose head output, with a Taylor expansion, never builds kappa(x).
PROJECTED = {
    "constant",
    "zero",
    "one",
    "lorr",
    "hm",
    "lphm",
    "dual_lphm",
    "duplicated_padding",
    "duplicated_diagonal_padding",
    "random_matrix_adaption",
    "random_matrix_hypernet",
}

# Configs valid for n = 6 and D in {12, 39}; the comments name the structured path
# (with a Taylor expansion) each one takes.
STRUCTURED = [
    ("constant", {"c": -1.5}),  # projection onto a row of ones
    ("zero", {}),
    ("one", {}),
    ("constant_eye", {}),  # slice of kappa(x)
    ("identity", {}),
    ("masking", {"seed": 1}),
    ("lorr", {"r": 2}),
    ("hm", {}),  # rank min(p,q) min(s,t) = 6 >= n: the rows of psi(w) as basis
    ("hm", {"p": 6, "q": 3}),  # rank 3 < n: Kronecker products of factor columns
    ("lphm", {"r": 2}),
    ("dual_lphm", {"r": 2}),
    ("duplicated_padding", {"p": 2, "q": 3}),
    ("duplicated_diagonal_padding", {"p": 2, "q": 3}),
    ("duplicated_diagonal_padding", {"p": 3, "q": 1}),  # zero block rows
    ("hypernet", {"l": 6, "hidden_dim": 4}),
    ("random_matrix_adaption", {"r": 2}),
    ("random_matrix_hypernet", {"r": 2, "l": 6, "hidden_dim": 4}),
]
EXPANSIONS = [("identity", {}, 12), ("taylor", {"d": 2}, 3), ("taylor", {"d": 3}, 3)]


# Runs with d = 3 only for the factorised functions: the others take the same path
# for every degree.
UNSTRUCTURED = {"constant", "zero", "one", "constant_eye", "identity", "masking", "hypernet"}
STRUCTURED_RUNS = [
    pytest.param(
        case,
        expansion,
        id=case_id((*case, (6, "D"))) + "-" + expansion[0] + str(expansion[1].get("d", "")),
    )
    for case in STRUCTURED
    for expansion in EXPANSIONS
    if not (case[0] in UNSTRUCTURED and expansion[1].get("d") == 3)
]


@pytest.mark.parametrize("case,expansion", STRUCTURED_RUNS)
def test_structured_contraction_equals_explicit_product(case, expansion, rng):
    """C = 1 and C = 3 channels; with Taylor d = 2, 3 the factorised functions must
    not call `expand` at all."""
    name, config = case
    exp_name, exp_config, m = expansion
    kappa = expansions.get({"class_name": exp_name, "config": exp_config})
    D = kappa.output_dim(m)
    rec = make(name, config, (6, D))
    x = ops.convert_to_tensor(rng.uniform(-1, 1, (5, m)).astype("float32"))
    expanded = numpy_of(kappa(x))
    if exp_name == "taylor" and name in PROJECTED:
        kappa = GuardedTaylor(**exp_config)
    for channels in (1, 3):
        kernel = ops.convert_to_tensor(
            rng.normal(size=(channels, rec.num_params(6, D))).astype("float32")
        )
        W = numpy_of(rec.reconcile(kernel))
        explicit = np.einsum("bd,cnd->bcn", expanded, W, optimize=True)
        structured = numpy_of(rec.contract(kappa, x, kernel))
        assert structured.shape == (5, channels, 6)
        scale = max(1.0, np.abs(explicit).max())
        np.testing.assert_allclose(structured / scale, explicit / scale, atol=2e-5)


@pytest.mark.parametrize("m", [2, 7, 33])
def test_dual_lphm_taylor2_kronecker_projection_equals_numpy(m, rng):
    """Taylor d = 2 with the default q = m (t = m + 1): the FFT-correlation path
    (`Expansion.kronecker_project`) against the numpy product kappa(x) psi(w)^T, two
    channels, r = 3; gradients finite."""
    n, r, p = 6, 3, 3
    D = m + m * m
    rec = make("dual_lphm", {"p": p, "r": r}, (n, D))
    assert (rec.q_, rec.t_) == (m, m + 1)
    kappa = GuardedTaylor(d=2)
    assert kappa.has_kronecker_projection(m, m, m + 1)
    assert not kappa.has_kronecker_projection(m, m + 1, m)
    x = rng.uniform(-1, 1, (5, m)).astype("float32")
    kernel = rng.normal(size=(2, rec.num_params(n, D))).astype("float32")
    expanded = np.concatenate([x, (x[:, :, None] * x[:, None, :]).reshape(5, -1)], axis=1)
    W = []
    for c in range(2):
        P, Q, S, T = _dual_blocks(kernel[c].astype("float64"), p, m, n, D, r)
        W.append(np.kron(P @ Q.T, S @ T.T))
    explicit = np.einsum("bd,cnd->bcn", expanded, np.stack(W))
    structured = numpy_of(
        rec.contract(kappa, ops.convert_to_tensor(x), ops.convert_to_tensor(kernel))
    )
    scale = max(1.0, np.abs(explicit).max())
    np.testing.assert_allclose(structured / scale, explicit / scale, atol=2e-5)
    # Gradients w.r.t. the kernel: finite, and equal to those of the dense product
    # kappa(x) psi(w)^T (`reconcile`, checked against numpy above).
    xt, weights = ops.convert_to_tensor(x), ops.convert_to_tensor(rng.normal(size=(2, n)))
    weights = ops.cast(weights, "float32")
    fast = gradients(lambda k: rec.contract(kappa, xt, k) * weights, kernel)
    dense = gradients(
        lambda k: (
            ops.einsum("bd,cnd->bcn", ops.convert_to_tensor(expanded), rec.reconcile(k)) * weights
        ),
        kernel,
    )
    assert np.isfinite(fast).all() and np.abs(fast).max() > 0
    np.testing.assert_allclose(fast, dense, rtol=1e-4, atol=1e-4 * np.abs(dense).max())


def test_constant_eye_pads_when_n_exceeds_D(rng):
    x = rng.uniform(-1, 1, (3, 4)).astype("float32")
    head = RPNHead(6, reconciliation="constant_eye", use_bias=False)
    y = numpy_of(head(x))
    np.testing.assert_allclose(y, np.concatenate([x, np.zeros((3, 2))], axis=1), atol=1e-7)


def test_parameter_free_functions_keep_every_channel(rng):
    """l = 0: the head still gives psi its C channels (concatenating fusion)."""
    x = rng.uniform(-1, 1, (3, 4)).astype("float32")
    head = RPNHead(
        2, reconciliation="one", channels=3, channel_fusion="concatenation", use_bias=False
    )
    y = numpy_of(head(x))
    np.testing.assert_allclose(y, np.repeat(x.sum(axis=1, keepdims=True), 6, axis=1), rtol=1e-6)
    assert head.kernel is None and not head.trainable_weights[1:]


# Every function with parameters: GlorotPsi gives psi(w) the Glorot variance
# 2 / (n + D) (within a factor 2).
PARAMETRIC = [
    ("identity", {}),
    ("masking", {"p": 0.3}),
    ("duplicated_padding", {}),
    ("duplicated_diagonal_padding", {}),
    ("lorr", {"r": 3}),
    ("hm", {}),
    ("lphm", {"r": 2}),
    ("dual_lphm", {"r": 2}),
    ("hypernet", {}),
    ("random_matrix_adaption", {"r": 4}),
    ("random_matrix_hypernet", {}),
]


@pytest.mark.parametrize("case", PARAMETRIC, ids=lambda c: c[0])
def test_glorot_psi_initializer_gives_glorot_variance(case):
    name, config = case
    n, D = 16, 48
    head = RPNHead(
        n,
        reconciliation={"class_name": name, "config": config},
        channels=8,
        kernel_initializer=GlorotPsi(),
    )
    head.build((None, D))
    W = numpy_of(head.reconciliation.reconcile(head.kernel))
    target = 2.0 / (n + D)
    assert 0.5 * target < W.var() < 2.0 * target, (W.var(), target)


INVALID = [
    ("hm", {"p": 3}, (4, 6), "`p` must divide n = 4. Received: p=3"),
    ("hm", {"q": 4}, (4, 6), "`q` must divide D = 6. Received: q=4"),
    ("lphm", {"r": 5}, (4, 6), r"`r` must be at most min\(n, D\) = 4. Received: r=5"),
    ("dual_lphm", {"p": 2, "q": 2, "r": 5}, (4, 6), "Received: r=5"),
    ("duplicated_padding", {"p": 3}, (6, 4), "`q` must divide D = 4. Received: q=3"),
    ("duplicated_diagonal_padding", {"p": 4}, (6, 4), "`p` must divide n = 6. Received: p=4"),
    ("random_matrix_adaption", {"r": 7}, (4, 6), "Received: r=7"),
]


def test_lorr_rank_above_min_n_d_is_accepted_with_a_warning(rng):
    """Issue 11, defect 7: tinyBIG's SST-2 config has r=5 on a 32 -> 2 layer (before:
    refused at build, so the published config could not be imported)."""
    head = RPNHead(2, reconciliation={"class_name": "lorr", "config": {"r": 5}})
    with pytest.warns(UserWarning, match=r"r=5 exceeds min\(n, D\) = 2"):
        head.build((None, 32))
    assert head.kernel.shape == (1, 5 * (2 + 32))
    kernel = numpy_of(head.kernel)
    a, b = kernel[0, :10].reshape(2, 5), kernel[0, 10:].reshape(5, 32)
    x = rng.uniform(-1, 1, (3, 32)).astype("float32")
    np.testing.assert_allclose(numpy_of(head(x)), x @ (a @ b).T, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("case", INVALID, ids=lambda c: case_id(c[:3]))
def test_invalid_factor_shapes_are_refused_at_build(case):
    name, config, shape, message = case
    rec = reconciliations.get({"class_name": name, "config": config})
    with pytest.raises(ValueError, match=message):
        rec.build(shape)


@pytest.mark.parametrize(
    "name,config,message",
    [
        ("masking", {"p": 0.0}, "p=0.0"),
        ("masking", {"p": 1.5}, "p=1.5"),
        ("masking", {"fixed_mask": False}, "fixed_mask=False"),
        ("hm", {"p": 0}, "p=0"),
        ("lphm", {"r": 0}, "r=0"),
        ("hypernet", {"l": -1}, "l=-1"),
        ("random_matrix_hypernet", {"hidden_dim": 0}, "hidden_dim=0"),
        ("constant", {"c": float("nan")}, "c=nan"),
    ],
)
def test_invalid_hyper_parameters_are_refused(name, config, message):
    with pytest.raises(ValueError, match=message):
        reconciliations.get({"class_name": name, "config": config})


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_config_roundtrip(case):
    name, config = case[:2]
    clone = assert_config_roundtrip(reconciliations.get({"class_name": name, "config": config}))
    for key, value in config.items():
        assert getattr(clone, key) == value


FROZEN = [
    ("masking", {"p": 0.4}, ["mask"]),
    ("hypernet", {"l": 6, "hidden_dim": 4}, ["hidden_kernel", "output_bias"]),
    ("random_matrix_adaption", {"r": 2}, ["random_a", "random_b"]),
    ("random_matrix_hypernet", {"l": 6, "hidden_dim": 4}, ["random_p", "random_t"]),
]


@pytest.mark.parametrize("case", FROZEN, ids=lambda c: c[0])
def test_frozen_constants_are_saved_and_non_trainable(case, rng):
    name, config, frozen = case
    x = rng.uniform(-1, 1, (4, 3)).astype("float32")
    head = RPNHead(
        4,
        expansion="taylor",
        reconciliation={"class_name": name, "config": config},
        channels=2,
    )
    model = as_model(head, 3)
    # A different global seed before loading: the constants must come from the file.
    keras.utils.set_random_seed(99)
    loaded = assert_save_load(model, x)
    reloaded = loaded.layers[-1].reconciliation
    for weight_name in frozen:
        before, after = getattr(head.reconciliation, weight_name), getattr(reloaded, weight_name)
        assert not before.trainable and not after.trainable
        np.testing.assert_array_equal(numpy_of(before), numpy_of(after))
    assert len(loaded.trainable_weights) == 2  # the head's kernel and bias only


def test_hypernet_generator_trains_when_not_static():
    head = RPNHead(
        3, reconciliation={"class_name": "hypernet", "config": {"l": 4, "static": False}}
    )
    head.build((None, 5))
    assert len(head.trainable_weights) == 2 + 4
    assert not head.non_trainable_weights


def test_masking_mask_is_seeded_and_keeps_a_fraction_p():
    a = make("masking", {"p": 0.25, "seed": 7}, (40, 50))
    b = make("masking", {"p": 0.25, "seed": 7}, (40, 50))
    mask = numpy_of(a.mask)
    np.testing.assert_array_equal(mask, numpy_of(b.mask))
    assert set(np.unique(mask)) <= {0.0, 1.0}
    assert 0.2 < mask.mean() < 0.3


def test_jit_compiled_fit_trains_every_reconciliation(rng):
    """One model with a head per reconciliation: one compiled fit step updates every
    kernel and leaves frozen constants alone. `jit_compile=True` means XLA on JAX and
    TensorFlow; on torch it means `torch.compile`, which Keras treats as
    experimental (not a gate), so the torch pass runs eagerly."""
    unique = {name: config for name, config in STRUCTURED}
    heads = [{"reconciliation": {"class_name": n, "config": c}} for n, c in unique.items()]
    layer = RPNLayer(6, heads=heads, expansion="taylor", channels=2, head_fusion="concatenation")
    model = as_model(layer, 3)
    x = rng.uniform(-1, 1, (8, 3)).astype("float32")
    y = rng.uniform(-1, 1, (8, 6 * len(heads))).astype("float32")
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse", jit_compile=BACKEND != "torch")
    kernels = [h.kernel for h in layer.heads if h.kernel is not None]
    before = [numpy_of(k).copy() for k in kernels]
    frozen_before = [numpy_of(w).copy() for w in model.non_trainable_weights]
    history = model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    for head_kernel, old in zip(kernels, before, strict=True):
        new = numpy_of(head_kernel)
        assert np.all(np.isfinite(new)) and not np.allclose(new, old), head_kernel.path
    for w, old in zip(model.non_trainable_weights, frozen_before, strict=True):
        np.testing.assert_array_equal(numpy_of(w), old)
