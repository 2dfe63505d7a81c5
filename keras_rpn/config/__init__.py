"""Import and export of tinyBIG-style model configurations (YAML or JSON).

`from_tinybig(config)` builds a Keras model from a tinyBIG model configuration;
`to_tinybig(model)` / `to_yaml(model)` write a model's architecture back out in the
same layout, which `from_tinybig` reads again.

The configuration nests as tinyBIG's does:

```
configurations -> model_configs -> {model_class, model_parameters}
  model_parameters -> layer_configs (+ depth, depth_alloc)
    -> {layer_class, layer_parameters: {m, n, width, width_alloc, head_configs, ...}}
      head_configs -> {head_class, head_parameters: {channel_num, ...,
          data_transformation_configs, parameter_fabrication_configs, remainder_configs}}
        each function -> {function_class, function_parameters}
```

Both the current schema (`function_class` / `function_parameters`) and the older ones
(`data_transformation_class` / `data_transformation_parameters`,
`parameter_fabrication_class` / ..., `parameter_reconciliation_class` / ...,
`remainder_class` / ..., `expansion_class` / `expansion_parameters` for composed
expansions, a layer's `fusion_strategy`) are read.

How tinyBIG's settings map onto keras_rpn (see `docs/migration.md`):

* function classes (`tinybig.expansion.taylor_expansion`, ...) resolve through the
  registries, which know tinyBIG's class names; their parameters keep their names;
* a reconciliation's `enable_bias` becomes the head's `use_bias` (tinyBIG's default:
  no bias); a remainder's `enable_bias` becomes its `use_bias`;
* a remainder's `activation_functions` / `activation_function_configs`
  (`torch.nn.functional.silu`, `torch.nn.SiLU`, ...) become its Keras `activation`;
* `channel_num` becomes `channels`; `width` / `width_alloc` and `depth` /
  `depth_alloc` repeat head and layer configs by tinyBIG's rule;
* an expansion's pre/postprocess functions (`torch.nn.LayerNorm`, `'layer_norm'`,
  ...) become its `preprocessing` / `postprocessing` Keras layers. tinyBIG never
  registers process functions as submodules, so a LayerNorm's affine parameters
  stay at 1 and 0 there: it is imported as a LayerNormalization without them, which
  computes the same thing and keeps tinyBIG's parameter counts;
* a head's output processing (`torch.nn.ReLU`, `torch.nn.BatchNorm1d`,
  `torch.nn.Dropout`, ...) becomes the layer's activation and, when there is more
  than one activation, Keras layers after the layer (a `ProcessedRPN`). These
  honour `training=` (tinyBIG's stay in training mode) and their weights train.

* a head's `attribute_interdependence_configs` and `instance_interdependence_configs`
  fill the head's `attribute_interdependence` and `instance_interdependence` slots
  (`interdependence_from_tinybig` imports one interdependence function config on its
  own). A model with instance interdependence functions takes `(batch, N, m)`
  inputs (`RPN(..., instances=N)`, `N` = the functions' `b`): keras_rpn mixes an
  explicit instance axis of each sample, never the batch axis.

Anything that cannot be mapped raises a `ValueError` naming the key or class;
tinyBIG features keras_rpn does not have raise `NotImplementedError`.
`device`, `name` and `batch_num` are ignored: Keras places tensors.

Initialisation: a layer's `parameters_init_method` (tinyBIG's default
`xavier_uniform`; `xavier_normal` for the specialised models) becomes
`keras_rpn.initializers.TinyBIG(method)` on every head's kernel and bias and on a
linear remainder, so an imported model starts where tinyBIG's starts; `to_tinybig`
writes it back. (A head's own `parameters_init_method` is overwritten by its layer's
in tinyBIG, and ignored here too.)

`learner_arguments(config)` maps `learner_configs` (optimizer, learning-rate
schedule, loss, epochs) and the training batch size to Keras `compile` / `fit`
arguments (opt-in).

YAML needs the optional dependency pyyaml (`pip install "keras-rpn[config]"`);
dicts and JSON do not.

The subpackage's modules: `schema` (reading files and tinyBIG's config layout),
`names` (the tables between tinyBIG's and keras_rpn's names), `steps` (process
functions <-> Keras layers), `functions` (one function config -> a keras_rpn
component config), `interdependence` (interdependence configs, the instance axis of
an imported model), `importer` (heads, layers, models) and `exporter`.
"""

from keras_rpn.config.exporter import to_tinybig
from keras_rpn.config.exporter import to_yaml
from keras_rpn.config.importer import from_tinybig
from keras_rpn.config.interdependence import interdependence_from_tinybig
from keras_rpn.config.learner import learner_arguments
from keras_rpn.config.schema import load_config

__all__ = [
    "from_tinybig",
    "interdependence_from_tinybig",
    "learner_arguments",
    "load_config",
    "to_tinybig",
    "to_yaml",
]
