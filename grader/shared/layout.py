"""Names of the run's scratch layout, known to the parent, the harness and the source scan.

::

    <work>/scratch/              the student's files (the only place the child may write)
    <work>/scratch/home/         HOME, KERAS_HOME, caches
    <work>/scratch/.grader/trace.jsonl       the signed trace
    <work>/scratch/.grader/artifacts/NN-<label>.keras   models saved at each compile and fit
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

GRADER_DIR = ".grader"
TRACE_FILE = "trace.jsonl"
ARTIFACTS_DIR = "artifacts"
GRADER_MOUNT = Path("/opt/grader-lib")  # where the sandbox sees the ``grader`` package
SAVED_MODEL = re.compile(r"^\d{2}-(compile|fit\d+)\.keras$")
# Where Colab and Kaggle keep a notebook's files: in the sandbox, these are the run's scratch folder.
NOTEBOOK_HOMES = {"/content": "Colab", "/kaggle/working": "Kaggle"}
KAGGLE_INPUT = "/kaggle/input"  # exists, empty: the harness serves the datasets scripts read there


def saved_model_name(number: int, label: str) -> str:
    """The file name of the ``number``-th model saved by a run, at ``label`` (``compile``, ``fit1``...)."""
    return f"{number:02d}-{label}.keras"


@dataclass(frozen=True)
class Scratch:
    """The paths of one run's scratch folder."""

    root: Path

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def grader(self) -> Path:
        return self.root / GRADER_DIR

    @property
    def trace(self) -> Path:
        return self.grader / TRACE_FILE

    @property
    def artifacts(self) -> Path:
        return self.grader / ARTIFACTS_DIR

    def saved_models(self) -> list[Path]:
        """The models the run saved, in the order it saved them."""
        return sorted(path for path in self.artifacts.glob("*.keras") if SAVED_MODEL.match(path.name))
