"""Replace a function in every loaded Keras and TensorFlow module that exposes it."""

from __future__ import annotations

import sys
from typing import Any


def replace_everywhere(replacements: dict[Any, Any], prefixes: tuple[str, ...] = ("keras", "tensorflow")) -> None:
    """Rebind each module attribute that *is* a key of ``replacements`` to its value.

    Students reach one function through many paths (``tf.keras.utils.X``, ``keras.utils.X``,
    ``keras.preprocessing.X``); each is a module attribute bound to the same object.
    """
    for module in list(sys.modules.values()):
        if not getattr(module, "__name__", "").startswith(prefixes):
            continue
        for attribute, value in list(vars(module).items()):
            try:
                replacement = replacements.get(value)
            except TypeError:  # unhashable attribute
                continue
            if replacement is not None:
                setattr(module, attribute, replacement)
