"""Name registries for the four RPN function families.

Every expansion, reconciliation, remainder and fusion class is registered twice:
with Keras (`keras.saving.register_keras_serializable(package="keras_rpn")`, so saved
models load without `custom_objects`) and with its family's `Registry` under one or more
short names (`"taylor"`, `"taylor_expansion"`, ...), so that the family's `get()` resolves
strings the way `keras.activations.get` does.
"""

import keras

from keras_rpn import validation


class Registry:
    """Short-name lookup for one family of RPN functions.

    Args:
        family: human-readable family name used in error messages, e.g. `"expansion"`.
        base_class: the class every member of the family derives from.
        parent: optional registry that also resolves this family's names (the
            expansion registry resolves compression names, since a compression is
            an expansion with `D < m`). Names may not clash with the parent's.
    """

    def __init__(self, family, base_class, parent=None):
        self.family = family
        self.base_class = base_class
        self._classes = {}
        self._tinybig_names = {}
        self._parent = parent
        self._children = []
        if parent is not None:
            parent._children.append(self)

    def register(self, *names, tinybig=None):
        """Class decorator: registers `cls` with Keras and under `names`.

        Args:
            *names: short names the family's `get()` resolves to the class.
            tinybig: tinyBIG's class name for the function (without its module,
                e.g. `"taylor_expansion"`), used by `keras_rpn.config` to write
                tinyBIG configurations. Defaults to the first of `names` ending in
                `_<family>`; functions tinyBIG does not have need none.
        """
        if tinybig is not None and not isinstance(tinybig, str):
            raise TypeError(f"`tinybig` must be a class name string. Received: {tinybig!r}")

        def decorator(cls):
            if not issubclass(cls, self.base_class):
                raise TypeError(
                    f"{cls.__name__} must subclass {self.base_class.__name__} "
                    f"to be registered as a {self.family}."
                )
            cls = keras.saving.register_keras_serializable(package="keras_rpn")(cls)
            suffix = f"_{self.family}"
            tinybig_name = tinybig or next((n for n in names if n.endswith(suffix)), None)
            related = [self._parent] if self._parent else []
            for name in dict.fromkeys((*names, *([tinybig] if tinybig else []))):
                for taken in [r._classes for r in (self, *related, *self._children)]:
                    if name in taken and taken[name] is not cls:
                        raise ValueError(
                            f"The {self.family} name {name!r} is already taken by "
                            f"{taken[name].__name__}."
                        )
                self._classes[name] = cls
            self._classes.setdefault(cls.__name__, cls)
            if tinybig_name is not None:
                self._tinybig_names[cls] = tinybig_name
            return cls

        return decorator

    def entries(self):
        """`(name, class)` pairs of every registered name (class names included)."""
        return list(self._classes.items())

    def classes(self):
        """The registered classes, each once, in registration order."""
        return list(dict.fromkeys(self._classes.values()))

    def tinybig_name(self, cls):
        """tinyBIG's class name of `cls` (e.g. `"taylor_expansion"`), or `None`."""
        return self._tinybig_names.get(cls)

    def names(self):
        """The registered short names (class names excluded), sorted."""
        return sorted(n for n, c in self._classes.items() if n != c.__name__)

    def lookup(self, name):
        """Returns the class registered under `name`, or raises `ValueError`."""
        if not isinstance(name, str):
            raise TypeError(
                f"The 'class_name' of the {self.family} config must be a string. Received: "
                f"class_name={validation.short_repr(name)} (of type {type(name).__name__})"
            )
        cls = self._find(name.strip())
        if cls is None:
            also = "".join(
                f" (or any {child.family} name: {child.family}s.names())"
                for child in self._children
            )
            raise ValueError(
                f"Unknown {self.family}: {name!r}. Valid names: {', '.join(self.names())}{also}."
            )
        return cls

    def _find(self, key):
        cls = self._classes.get(key) or self._classes.get(key.lower())
        for child in self._children:
            cls = cls or child._find(key)
        return cls

    def get(self, identifier, **overrides):
        """Resolves `identifier` to a new or existing instance.

        Args:
            identifier: an instance (returned as is unless `overrides` are given),
                a short name such as `"taylor"`, or a Keras config dict
                `{"class_name": "taylor", "config": {"d": 3}}` (the `class_name` may
                be a short name, a class name or a `"keras_rpn>Class"` name).
            **overrides: config entries forced onto the result (e.g. `dtype`).
                When given, an instance is cloned through its config.
        """
        if isinstance(identifier, self.base_class):
            if not overrides:
                return identifier
            config = {**identifier.get_config(), **overrides}
            return _instantiate(identifier.__class__, config)
        if isinstance(identifier, str):
            return self.lookup(identifier)(**overrides)
        if isinstance(identifier, dict):
            if "class_name" not in identifier:
                raise ValueError(
                    f"A {self.family} config dict needs a 'class_name' key (and an "
                    f"optional 'config' dict). Received: {validation.short_repr(identifier)}"
                )
            validation.nesting(self.family, identifier)
            class_name = identifier["class_name"]
            if isinstance(class_name, str) and class_name.startswith("keras_rpn>"):
                class_name = class_name.split(">", 1)[1]
            cls = self.lookup(class_name)
            config = identifier.get("config")
            if config is not None and not isinstance(config, dict):
                raise TypeError(
                    f"The 'config' of the {self.family} config dict must be a dict of "
                    f"{cls.__name__} arguments. Received: config={validation.short_repr(config)}"
                )
            config = dict(config or {})
            config.update(overrides)
            return _instantiate(cls, config)
        raise TypeError(
            f"Could not interpret {self.family} identifier: {validation.short_repr(identifier)} "
            f"(of type {type(identifier).__name__}). Expected a "
            f"{self.base_class.__name__} instance, a name (one of "
            f"{', '.join(self.names())}) or a config dict."
        )


def _instantiate(cls, config):
    """`cls.from_config(config)`, but letting the constructor's own errors through.

    Keras' default `from_config` turns every constructor error into a `TypeError`;
    a bad hyper-parameter in a config dict should raise the constructor's clear
    `ValueError` instead.
    """
    if getattr(cls.from_config, "__func__", None) is not _DEFAULT_FROM_CONFIG:
        return cls.from_config(config)
    if isinstance(config.get("dtype"), dict):
        config["dtype"] = keras.dtype_policies.deserialize(config["dtype"])
    return cls(**config)


_DEFAULT_FROM_CONFIG = keras.layers.Layer.from_config.__func__


def serialize_component(component):
    """Keras config dict of a component, without its build state.

    Components are built by the head that owns them, so their own `build_config`
    is left out: a head restored from config rebuilds them with the right shapes.
    """
    config = keras.saving.serialize_keras_object(component)
    config.pop("build_config", None)
    return config
