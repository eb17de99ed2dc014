"""The trusted inspector: a process that runs no student code and reads the saved ``.keras`` models.

``python -m grader.inspector REQUEST.json OUT.json``. The request names the artifacts (in the
order the run saved them) and the pretrained bases the run built (model name -> architecture).
Each artifact is loaded with Keras safe mode (no Lambda bytecode, no arbitrary imports) and
without its optimizer; the inspector describes it with the same code the harness uses for the
trace and fingerprints every layer's weights, so the parent can compare the two records without
TensorFlow. The parent runs this in the same sandbox as student code: the files are untrusted.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

_MAX_MODELS = 16


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m grader.inspector REQUEST.json OUT.json", file=sys.stderr)
        return 2
    request = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    bases = {str(name): {"architecture": architecture} for name, architecture in request.get("bases", {}).items()}
    inspected = [inspect_artifact(keras, Path(path), bases) for path in request.get("artifacts", [])[:_MAX_MODELS]]
    Path(argv[1]).write_text(json.dumps({"models": inspected}), encoding="utf-8")
    return 0


def inspect_artifact(keras: Any, path: Path, bases: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Describe one saved model, or say why it could not be loaded safely."""
    from grader.harness.snapshot import describe_model, layer_weights

    try:
        model = keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as error:  # noqa: BLE001 - any failure is this artifact's verdict, not a crash
        return {"file": path.name, "error": f"{type(error).__name__}: {_first_sentence(str(error))}"}
    known = {id(layer): bases[layer.name] for layer in _nested(model) if layer.name in bases}
    try:
        description = json.loads(json.dumps(describe_model(model, known), default=str))
        weights = {layer: {name: _digest(value) for name, value in variables}
                   for layer, variables in layer_weights(model).items()}
    except Exception as error:  # noqa: BLE001
        problem = f"could not describe the loaded model: {type(error).__name__}: {_first_sentence(str(error))}"
        return {"file": path.name, "error": problem}
    return {"file": path.name, "model": description, "weights": weights}


def _first_sentence(text: str) -> str:
    """Keras's loading errors run on for lines (with the whole config): keep the first sentence."""
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first.split(". ")[0][:200]


def _nested(model: Any) -> list[Any]:
    found = []
    for layer in getattr(model, "layers", []):
        found.append(layer)
        if layer is not model:
            found.extend(_nested(layer))
    return found


def _digest(value: np.ndarray) -> str:
    array = np.ascontiguousarray(value)
    return hashlib.blake2b(str(array.shape).encode() + array.tobytes(), digest_size=8).hexdigest()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
