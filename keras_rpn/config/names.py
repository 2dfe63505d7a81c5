"""Tables between tinyBIG's names and keras_rpn's (families, activations, config keys)."""

from keras_rpn import expansions
from keras_rpn import fusions
from keras_rpn import interdependence
from keras_rpn import reconciliations
from keras_rpn import remainders

_FAMILIES = {
    "expansion": expansions,
    "reconciliation": reconciliations,
    "remainder": remainders,
    "fusion": fusions,
    "interdependence": interdependence,
}

# torch activation names (functional or module, lower case) -> Keras activation names.
_ACTIVATIONS = {
    "relu": "relu",
    "gelu": "gelu",
    "silu": "silu",
    "swish": "silu",
    "sigmoid": "sigmoid",
    "tanh": "tanh",
    "softplus": "softplus",
    "elu": "elu",
    "selu": "selu",
    "celu": "celu",
    "mish": "mish",
    "softsign": "softsign",
    "softmax": "softmax",
    "log_softmax": "log_softmax",
    "logsoftmax": "log_softmax",
    "hardsigmoid": "hard_sigmoid",
    "hardswish": "hard_silu",
    "hardtanh": "hard_tanh",
    "relu6": "relu6",
    "tanhshrink": "tanh_shrink",
    "exp": "exponential",
    "identity": "linear",
}
# Keras activation name -> the torch name written out by `to_tinybig`.
_TORCH_ACTIVATIONS = {
    "relu": "ReLU",
    "gelu": "GELU",
    "silu": "SiLU",
    "sigmoid": "Sigmoid",
    "tanh": "Tanh",
    "softplus": "Softplus",
    "elu": "ELU",
    "selu": "SELU",
    "celu": "CELU",
    "mish": "Mish",
    "softsign": "Softsign",
    "hard_sigmoid": "Hardsigmoid",
    "hard_silu": "Hardswish",
    "hard_tanh": "Hardtanh",
    "relu6": "ReLU6",
    "tanh_shrink": "Tanhshrink",
}

_EXPANSION_KEYS = ("data_transformation_configs", "data_transformation_function_configs")
_RECONCILIATION_KEYS = ("parameter_fabrication_configs", "parameter_reconciliation_configs")
_REMAINDER_KEYS = ("remainder_configs", "remainder_function_configs")
_INTERDEPENDENCE_KEYS = {
    "attribute_interdependence": ("attribute_interdependence_configs",),
    "instance_interdependence": ("instance_interdependence_configs",),
}
_OLD_HEAD_KEYS = (
    ("data_transformation", _EXPANSION_KEYS[0]),
    ("parameter_fabrication", _RECONCILIATION_KEYS[0]),
    ("parameter_reconciliation", _RECONCILIATION_KEYS[0]),
    ("remainder", _REMAINDER_KEYS[0]),
)

_FAMILY_PATHS = {
    "expansion": "tinybig.expansion",
    "reconciliation": "tinybig.reconciliation",
    "remainder": "tinybig.remainder",
    "fusion": "tinybig.fusion",
    "interdependence": "tinybig.interdependence",
}
_KERAS_ONLY_KEYS = (
    "name",
    "trainable",
    "dtype",
    "kernel_initializer",
    "bias_initializer",
    "kernel_regularizer",
    "bias_regularizer",
    "kernel_constraint",
    "bias_constraint",
)


def _class_path(family, component):
    """tinyBIG's class path of a component, or `keras_rpn.<family>s.<Class>`."""
    cls = type(component)
    name = _FAMILIES[family].registry.tinybig_name(cls)
    if name is not None:
        return f"{_FAMILY_PATHS[family]}.{name}"
    return f"keras_rpn.{family}s.{cls.__name__}"
