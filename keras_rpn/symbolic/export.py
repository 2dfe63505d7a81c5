"""Exact export of heads, layers and models with closed-form expansions to sympy.

A head whose expansion has symbolic columns (the identity, Taylor, Chebyshev,
Legendre and the other recurrence polynomials) computes, for every output `i`,
```
y_i = sigma( F_channel([ sum_k psi(w_c)[i, k] kappa_k(x) + b_i ]_c ) + pi_i(x) )
```
with any reconciliation `psi` (its matrices are read after reconciling), a linear
channel fusion and a remainder with a closed form: a polynomial when the
expansion is polynomial and `sigma`, `pi` are. A layer fuses its heads linearly;
a model composes its layers. The expressions evaluate to the layer outputs up to
float32 rounding of the weights.
"""

import keras
import numpy as np

from keras_rpn.interpret.functions import reconciled_matrices
from keras_rpn.interpret.functions import to_numpy
from keras_rpn.layers.rpn_head import RPNHead
from keras_rpn.layers.rpn_layer import RPNLayer


def import_sympy():
    """`sympy`, or an ImportError naming the extra that installs it."""
    try:
        import sympy
    except ImportError:
        raise ImportError(
            'keras_rpn.symbolic needs sympy. Install it with `pip install "keras-rpn[symbolic]"` '
            "(or `pip install sympy`)."
        ) from None
    return sympy


def sympy_activation(fn, expr):
    """A Keras activation applied to a sympy expression."""
    sp = import_sympy()
    name = keras.activations.serialize(fn) if fn is not None else "linear"
    if isinstance(name, dict):
        name = name.get("config", name.get("class_name"))
    table = {
        "linear": lambda e: e,
        "relu": lambda e: sp.Max(0, e),
        "sigmoid": lambda e: 1 / (1 + sp.exp(-e)),
        "tanh": sp.tanh,
        "silu": lambda e: e / (1 + sp.exp(-e)),
        "swish": lambda e: e / (1 + sp.exp(-e)),
        "exponential": sp.exp,
        "softplus": lambda e: sp.log(1 + sp.exp(e)),
        "softsign": lambda e: e / (1 + sp.Abs(e)),
    }
    if name not in table:
        raise ValueError(
            f"No symbolic form for the activation {name!r}. Known: {', '.join(sorted(table))}."
        )
    return table[name](expr)


def linear_map(fusion, num_inputs, width):
    """The `(num_inputs * width, width')` matrix of a linear fusion; raises otherwise."""
    basis = np.eye(num_inputs * width, dtype="float32").reshape(-1, num_inputs, width)
    matrix = to_numpy(fusion.call(basis))
    rng = np.random.default_rng(0)
    probe = rng.normal(size=(2, num_inputs, width)).astype("float32")
    expected = probe.reshape(2, -1) @ matrix
    if not np.allclose(to_numpy(fusion.call(probe)), expected, rtol=1e-4, atol=1e-4):
        raise ValueError(
            f"The fusion {type(fusion).__name__} is not linear: no exact formula. Use a linear "
            "fusion (mean, sum, weighted sums, concatenation)."
        )
    return matrix


def _fuse(fusion, groups):
    """Applies a linear fusion to `groups`, a list of equal-length expression lists."""
    if len(groups) == 1 and fusion.identity_for_one_input:
        return groups[0]
    matrix = linear_map(fusion, len(groups), len(groups[0]))
    flat = [e for group in groups for e in group]
    return [
        sum((float(matrix[r, o]) * flat[r] for r in range(len(flat)) if matrix[r, o] != 0), 0.0)
        for o in range(matrix.shape[1])
    ]


def head_expressions(head, symbols):
    """The outputs of a built `RPNHead` as sympy expressions of `symbols`."""
    expansion = head.expansion
    if expansion.has_processing:
        raise ValueError(
            f"{head.name}: the expansion has pre/postprocessing layers, which have no exact "
            "symbolic form here."
        )
    for stage in ("attribute_interdependence", "instance_interdependence"):
        if getattr(head, stage, None) is not None:
            raise ValueError(f"{head.name}: interdependence stages have no symbolic form here.")
    try:
        columns = expansion.symbolic_columns(list(symbols))
    except NotImplementedError as error:
        raise ValueError(
            f"{head.name}: {error} Exact export needs a closed-form expansion (identity, "
            "Taylor, Chebyshev, Legendre and the other recurrence polynomials); fit formulas "
            "to spline and RBF heads with keras_rpn.symbolic.auto_symbolic."
        ) from None
    weights = reconciled_matrices(head)  # (C, n, D)
    bias = np.zeros(head.units) if head.bias is None else to_numpy(head.bias)
    channels = [
        [
            sum(
                (float(w[i, k]) * columns[k] for k in range(len(columns)) if w[i, k] != 0),
                float(bias[i]),
            )
            for i in range(head.units)
        ]
        for w in weights
    ]
    y = _fuse(head.channel_fusion, channels)
    if not head.remainder.is_zero:
        try:
            rest = head.remainder.symbolic(list(symbols), sympy_activation)
        except NotImplementedError as error:
            raise ValueError(f"{head.name}: {error}") from None
        y = [a + b for a, b in zip(y, rest, strict=True)]
    return [sympy_activation(head.activation, e) for e in y]


def layer_expressions(layer, symbols):
    """The outputs of a built `RPNLayer`, `RPNHead` or symbolic layer as sympy expressions."""
    if hasattr(layer, "symbolic_expressions"):  # e.g. SymbolicDense
        return layer.symbolic_expressions(symbols)
    if isinstance(layer, RPNHead):
        return head_expressions(layer, symbols)
    outputs = [head_expressions(head, symbols) for head in layer.heads]
    return [sympy_activation(layer.activation, e) for e in _fuse(layer.head_fusion, outputs)]


def _exportable(layer):
    return isinstance(layer, (RPNHead, RPNLayer)) or hasattr(layer, "symbolic_expressions")


def layers_of(obj):
    """The chain of RPN (or symbolic) layers/heads that `obj` applies, in order."""
    if _exportable(obj):
        return [obj]
    if hasattr(obj, "rpn_layers"):
        groups = getattr(obj, "postprocessing_groups", lambda: [])()
        if any(groups):
            raise ValueError(f"{obj.name} has processing layers between its RPN layers.")
        return list(obj.rpn_layers)
    if isinstance(obj, keras.Sequential):
        layers = [layer for layer in obj.layers if not isinstance(layer, keras.layers.InputLayer)]
        for layer in layers:
            if not _exportable(layer):
                raise ValueError(f"{obj.name} holds {layer.name}, which is not an RPN layer.")
        return layers
    raise TypeError(
        "Expected an RPNHead, an RPNLayer, an RPN model or a Sequential of RPN layers. "
        f"Received: {type(obj).__name__}"
    )


def input_width(layer):
    if hasattr(layer, "symbolic_expressions"):
        return layer.input_dim
    head = layer if isinstance(layer, RPNHead) else layer.heads[0]
    if not head.built or not head.input_spec or not head.input_spec.axes:
        raise ValueError(f"{layer.name} is not built: call it on data first.")
    return int(head.input_spec.axes[-1])


def make_symbols(count, names=None):
    sp = import_sympy()
    if names is None:
        names = [f"x_{j + 1}" for j in range(count)]
    if len(names) != count:
        raise ValueError(f"Expected {count} input names. Received: {list(names)}")
    return [sp.Symbol(str(name), real=True) for name in names]


def export(obj, input_names=None, expand=False):
    """The outputs of `obj` as exact sympy expressions of its inputs.

    Args:
        obj: an `RPNHead`, `RPNLayer`, `RPN` model or `Sequential` of them, built,
            whose expansions have closed forms (identity, Taylor, recurrence
            polynomials) with any reconciliation and linear fusions.
        input_names: optional names of the inputs (default `x_1 .. x_m`).
        expand: whether to multiply out the polynomials (default `False`).

    Returns:
        A list of sympy expressions, one per output.

    Example:
    >>> head = keras_rpn.layers.RPNHead(1, expansion="taylor", remainder="zero")
    >>> head.build((None, 2))  # Taylor d=2: [x_1, x_2, x_1 x_1, x_1 x_2, x_2 x_1, x_2 x_2]
    >>> head.set_weights([np.array([[1.0, 0.0, 0.0, 0.5, 0.5, 0.0]]), np.array([2.0])])
    >>> keras_rpn.symbolic.export(head)
    [1.0*x_1*x_2 + 1.0*x_1 + 2.0]
    """
    sp = import_sympy()
    layers = layers_of(obj)
    symbols = make_symbols(input_width(layers[0]), input_names)
    exprs = list(symbols)
    for layer in layers:
        hidden = make_symbols(len(exprs), [f"_h{j}" for j in range(len(exprs))])
        out = layer_expressions(layer, hidden)
        substitution = dict(zip(hidden, exprs, strict=True))
        exprs = [e.xreplace(substitution) if hasattr(e, "xreplace") else e for e in out]
        exprs = [sp.sympify(e) for e in exprs]
    return [sp.expand(e) for e in exprs] if expand else exprs


def to_latex(exprs, precision=4, output_names=None):
    """LaTeX of expressions, coefficients rounded to `precision` significant digits."""
    sp = import_sympy()
    exprs = exprs if isinstance(exprs, (list, tuple)) else [exprs]
    names = output_names or [f"y_{i + 1}" for i in range(len(exprs))]
    lines = [
        f"{n} = {sp.latex(round_floats(e, precision))}" for n, e in zip(names, exprs, strict=True)
    ]
    return " \\\\\n".join(lines)


def round_floats(expr, precision=4):
    """`expr` with every float rounded to `precision` significant digits."""
    sp = import_sympy()
    expr = sp.sympify(expr)
    rounded = {f: sp.Float(float(f"{float(f):.{precision}g}")) for f in expr.atoms(sp.Float)}
    return expr.xreplace(rounded)


def evaluate(exprs, x, input_names=None):
    """Evaluates expressions on inputs `x` (`(N, m)`) with numpy; returns `(N, len(exprs))`."""
    sp = import_sympy()
    x = np.asarray(x, dtype="float64")
    symbols = make_symbols(x.shape[1], input_names)
    columns = []
    for e in exprs:
        fn = sp.lambdify(symbols, e, modules="numpy")
        columns.append(np.broadcast_to(np.asarray(fn(*x.T), dtype="float64"), (len(x),)))
    return np.stack(columns, axis=1)
