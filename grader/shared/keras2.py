"""Keras 2 import paths that Keras 3 moved or dropped, and modules with no equivalent at all.

One table for both sides of the trust boundary: the harness installs an alias for each path that
has an equivalent (so the script runs as its author meant, with the accommodation recorded), and
the parent reads the same table to say why a run stopped at an import that has none.

Which paths: those real scripts of this lab use (counted with a code search of public
repositories, see docs/checks.md "Keras 2 code"), plus their close siblings.
"""

from __future__ import annotations

from dataclasses import dataclass

# Keras 2 module -> the module that holds the same names now. A module Keras 3 dropped becomes
# an alias of its replacement; one it kept with fewer names (``keras.preprocessing.image`` lost
# ``ImageDataGenerator``) takes the names it lacks from its replacement.
MOVED: dict[str, str] = {
    "keras.preprocessing.image": "keras._tf_keras.keras.preprocessing.image",
    "keras.preprocessing.text": "keras._tf_keras.keras.preprocessing.text",
    "keras.utils.np_utils": "keras.utils",
    "keras.utils.vis_utils": "keras.utils",
    "keras.utils.data_utils": "keras.utils",
    "keras.utils.generic_utils": "keras.utils",
    "keras.layers.core": "keras.layers",
    "keras.layers.convolutional": "keras.layers",
    "keras.layers.pooling": "keras.layers",
    "keras.layers.normalization": "keras.layers",
    "keras.layers.merge": "keras.layers",
    "keras.layers.advanced_activations": "keras.layers",
    "keras.applications.mobilenetv2": "keras.applications.mobilenet_v2",
    "keras.callbacks.callbacks": "keras.callbacks",
    # Keras 2.2's separate preprocessing package, folded into tf.keras since.
    "keras_preprocessing": "keras._tf_keras.keras.preprocessing",
    "keras_preprocessing.image": "keras._tf_keras.keras.preprocessing.image",
}

# Modules that nothing installable replaces: what they were and what to write instead.
NO_EQUIVALENT: dict[str, str] = {
    "nets": "TF-slim's model library (TensorFlow 1, from the tensorflow/models repository), which has no "
            "TensorFlow 2 equivalent: build the base with `tf.keras.applications.MobileNetV2`",
    "tensorflow.contrib": "TensorFlow 1's `contrib`, removed in TensorFlow 2 with no equivalent module: "
                          "use `tf.keras` for the model",
    "keras.backend.tensorflow_backend": "Keras 2's TensorFlow session helpers (`set_session`, ...); "
                                        "TensorFlow 2 needs no session: remove the import and the session set-up",
    "keras.engine": "Keras 2's internal `engine` package: import `Layer`, `Input` and `Model` from `keras` itself",
}

# Top-level modules whose package is named otherwise on the package index.
PACKAGE_OF: dict[str, str] = {
    "cv2": "opencv-python", "sklearn": "scikit-learn", "PIL": "pillow", "skimage": "scikit-image",
    "yaml": "pyyaml", "tf_slim": "tf-slim", "scikeras": "scikeras",
}


@dataclass(frozen=True)
class MissingModule:
    """What a run that stopped at ``import module`` needs: a package to install, or a code change."""

    module: str  # in full, as the import named it: "keras.utils.np_utils"
    package: str  # the package to install, or "" when the fix is in the code
    advice: str  # one sentence, without the "imports `module`" that precedes it

    def to_dict(self) -> dict[str, str]:
        return {"module": self.module, "package": self.package, "advice": self.advice}


def keras2_equivalent(module: str) -> str:
    """The module now holding Keras 2 ``module``'s names (``tensorflow.keras.`` spellings too), or ""."""
    key = _as_keras(module)
    if key in MOVED:
        return MOVED[key]
    return ""


def no_equivalent(module: str) -> str:
    """Why ``module`` (or a package above it) has no equivalent to install, or ""."""
    key = _as_keras(module)
    for name, why in NO_EQUIVALENT.items():
        if key == name or key.startswith(name + "."):
            return why
    return ""


def advise(module: str, installed: set[str], versions: dict[str, str] | None = None) -> MissingModule:
    """What to tell about a run stopped by ``No module named 'module'``, given which top-level
    packages are ``installed`` here (and their ``versions``, when known). The advice is a clause
    that follows "imports `module` at ..., "."""
    versions = versions or {}
    top = module.split(".")[0]
    why = no_equivalent(module)
    if why:
        return MissingModule(module, "", f"{why}; nothing to install")
    replacement = keras2_equivalent(module)
    if top in installed:
        owner = f"`{top}` {versions[top]}" if versions.get(top) else f"`{top}`"
        if replacement:
            return MissingModule(module, "", f"a Keras 2 module that the installed {owner} no longer has (its "
                                             f"names are in `{_public(replacement)}` now); change the import: "
                                             "nothing to install")
        return MissingModule(module, "", f"a module that the installed {owner} does not have; change the "
                                         "import: nothing to install")
    if replacement:
        return MissingModule(module, "", f"Keras 2's separate package, folded into TensorFlow since: import "
                                         f"from `{_public(replacement)}` instead; nothing to install")
    package = PACKAGE_OF.get(top, top)
    return MissingModule(module, package, "which the grading environment does not have: add it to the "
                                          f"environment (package `{package}`) or remove the import")


def _as_keras(module: str) -> str:
    """``tensorflow.keras.x`` and ``keras._tf_keras.keras.x`` are Keras's ``keras.x`` for this table."""
    for prefix in ("tensorflow.keras.", "tensorflow.python.keras.", "keras._tf_keras.keras."):
        if module.startswith(prefix):
            return "keras." + module[len(prefix):]
    return module


def _public(module: str) -> str:
    """How a student writes ``module``: tf.keras's internal home spelled as ``tf.keras``."""
    return module.replace("keras._tf_keras.keras.", "tf.keras.")
