"""The trusted inspector: a process that runs no student code and reads the saved ``.keras`` models.

``python -m grader.run.inspector ARTIFACTS WORK OUT.json``, with the request as JSON on standard input:
``{"artifacts": [file names, in the order the run saved them], "bases": {model name: architecture}}``.

The parent starts it beside the student's run, so TensorFlow's import and the loading of every
model overlap the training (the harness renames each file into place once it is whole); the
request comes (and standard input closes) when the run has ended. Each file is copied into
``WORK`` and hashed (the copy is what gets loaded, so the hash names exactly what was inspected),
then loaded with Keras safe mode (no Lambda bytecode, no arbitrary imports) and without its
optimizer. The inspector describes each model with the same code the harness uses for the trace
and fingerprints every layer's weights, so the parent can compare the two records without
TensorFlow. It runs in the same sandbox as student code: the files are untrusted.
"""

from __future__ import annotations

import hashlib
import json
import os
import select
import stat
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from grader.shared.describe import describe_model, flattened_bases, layer_weights, nested_layers, weights_path
from grader.shared.jsonable import jsonable
from grader.shared.layout import SAVED_MODEL

_MAX_MODELS = 16
_MAX_BYTES = 600 * 2**20
_POLL_SECONDS = 0.5


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: python -m grader.run.inspector ARTIFACTS WORK OUT.json  (request on standard input)", file=sys.stderr)
        return 2
    artifacts, work, out = Path(argv[0]), Path(argv[1]), Path(argv[2])
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    loaded: dict[str, Loaded] = {}
    request = _request_if_sent()
    while request is None:
        names = sorted(name for name in os.listdir(artifacts) if SAVED_MODEL.match(name))[:_MAX_MODELS]
        # The harness writes each file under another name and renames it whole: every file named
        # as a saved model is complete, the newest too, while the run goes on.
        for name in names:
            if name not in loaded:
                loaded[name] = Loaded.read(keras, artifacts / name, work)
        request = _request_if_sent()
    bases = {str(name): _base_info(str(name), known) for name, known in request.get("bases", {}).items()}
    report = []
    for name in [Path(str(name)).name for name in request.get("artifacts", [])][:_MAX_MODELS]:
        if name not in loaded and os.path.lexists(artifacts / name):
            loaded[name] = Loaded.read(keras, artifacts / name, work)
        report.append(loaded[name].describe(bases) if name in loaded else {"file": name, "error": "not found"})
    out.write_text(json.dumps({"models": report}), encoding="utf-8")
    return 0


def _base_info(name: str, known: Any) -> dict[str, Any]:
    """What the request says of one base: its architecture and layer names (``known`` may be just
    the architecture, as older requests sent it)."""
    known = known if isinstance(known, dict) else {"architecture": known}
    names = known.get("layer_names") if isinstance(known.get("layer_names"), list) else []
    return {"architecture": str(known.get("architecture")), "model_name": name, "layer_names": names}


def _request_if_sent() -> dict[str, Any] | None:
    """The request, once the parent has written it; None while standard input is still open and empty."""
    readable, _, _ = select.select([sys.stdin], [], [], _POLL_SECONDS)
    if not readable:
        return None
    text = sys.stdin.read()
    try:
        request = json.loads(text) if text.strip() else {}
    except ValueError:
        request = {}
    return request if isinstance(request, dict) else {}


@dataclass(frozen=True)
class Loaded:
    """One saved model as loaded here (or why it could not be), with the SHA-256 of its bytes."""

    name: str
    sha256: str
    model: Any = None
    weights: dict[str, Any] | None = None
    error: str = ""

    @classmethod
    def read(cls, keras: Any, path: Path, work: Path) -> Loaded:
        try:
            data = _read_regular_file(path)
        except OSError as error:
            return cls(path.name, "", error=f"could not read the file: {error.strerror or error}")
        sha256 = hashlib.sha256(data).hexdigest()
        copy = work / path.name
        copy.write_bytes(data)
        try:
            model = keras.saving.load_model(copy, compile=False, safe_mode=True)
            weights = {layer: {name: _digest(value) for name, value in variables}
                       for layer, variables in layer_weights(model).items()}
        except Exception as error:  # noqa: BLE001 - any failure is this file's verdict, not a crash
            return cls(path.name, sha256, error=f"{type(error).__name__}: {_first_sentence(str(error))}")
        finally:
            copy.unlink(missing_ok=True)
        return cls(path.name, sha256, model, weights)

    def describe(self, bases: dict[str, dict[str, Any]]) -> dict[str, Any]:
        if self.model is None:
            return {"file": self.name, "sha256": self.sha256, "error": self.error}
        known = {id(layer): bases[layer.name] for _, layer in nested_layers(self.model) if layer.name in bases}
        try:
            description = jsonable(describe_model(self.model, known, list(bases.values())))
            flattened = flattened_bases(self.model, list(bases.values()))
            # As the harness names them: a flattened base's layers under the base's name.
            weights = {weights_path(path, flattened): digests for path, digests in (self.weights or {}).items()}
        except Exception as error:  # noqa: BLE001
            problem = f"could not describe the loaded model: {type(error).__name__}: {_first_sentence(str(error))}"
            return {"file": self.name, "sha256": self.sha256, "error": problem}
        return {"file": self.name, "sha256": self.sha256, "model": description, "weights": weights}


def _read_regular_file(path: Path) -> bytes:
    """The bytes of a regular file (never through a link, never more than ``_MAX_BYTES``)."""
    descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode) or info.st_size > _MAX_BYTES:
            raise OSError(0, "not a regular file of a sensible size")
        with os.fdopen(descriptor, "rb", closefd=False) as handle:
            return handle.read(_MAX_BYTES)
    finally:
        os.close(descriptor)


def _first_sentence(text: str) -> str:
    """Keras's loading errors run on for lines (with the whole config): keep the first sentence."""
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first.split(". ")[0][:200]


def _digest(value: np.ndarray) -> str:
    array = np.ascontiguousarray(value)
    return hashlib.blake2b(str(array.shape).encode() + array.tobytes(), digest_size=8).hexdigest()


if __name__ == "__main__":
    from grader.shared.ending import exit_now

    exit_now(main(sys.argv[1:]))
