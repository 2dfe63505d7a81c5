"""Structure checks written beside a container's weights in `.keras` files."""

import numpy as np


class StructureCheck:
    """Mixin for layers and models that hold a list of sublayers and no variables.

    Keras loads weights by attribute path and ignores entries of the file that the
    rebuilt object has no place for. A config edited to hold fewer heads or layers
    than the weights file would therefore load silently, with weights missing. This
    mixin writes the sublayer counts (`structure()`) next to the weights and refuses
    to load a file whose counts differ.
    """

    def structure(self):
        """`{name: count}` of the sublayer lists whose length the weights depend on."""
        raise NotImplementedError

    def save_own_variables(self, store):
        for key, count in self.structure().items():
            store[key] = np.array(count, dtype="int64")

    def load_own_variables(self, store):
        for key, count in self.structure().items():
            if key in store:
                saved = int(np.asarray(store[key]))
                if saved != count:
                    # Keras may visit this object again under another path of the
                    # file (where nothing is stored): that visit repeats this message.
                    self._structure_mismatch = (
                        f"{self.name} was rebuilt from its config with {key}={count}, but "
                        f"the weights file holds weights for {key}={saved}: the config "
                        f"does not match the weights (change the config back to give "
                        f"{key}={saved}, or retrain and save the edited model)."
                    )
                    raise ValueError(self._structure_mismatch)
            elif getattr(self, "_structure_mismatch", None):
                raise ValueError(self._structure_mismatch)
            else:
                raise ValueError(
                    f"The weights file has no '{key}' entry for {self.name} (rebuilt "
                    f"with {key}={count}): the file was not written by this class, or "
                    f"its layout was edited."
                )
