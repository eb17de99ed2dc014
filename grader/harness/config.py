"""What the parent tells the child harness: paths and the training budget, as a JSON file."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class HarnessConfig:
    """Everything the harness needs; written by the parent, read by the child."""

    script: str  # the (prepared) student script to run
    workdir: str  # the scratch folder: the only writable place
    trace: str  # JSON-lines trace file
    artifacts: str  # folder for saved models
    data_root: str  # dataset in the cats_and_dogs_filtered layout
    data_kind: str  # "synthetic" or the real folder's path
    data_zip: str  # the same dataset zipped as the tutorial downloads it
    weights_cache: str  # folder of stand-in weights
    weights_file: str | None = None
    epochs: int = 1
    steps_per_epoch: int = 20
    fine_tune_steps_per_epoch: int = 4  # later fits: each step trains part of the base (slower)
    eval_steps: int = 2
    seed: int = 1234
    save_models: bool = True
    key_fd: int | None = None  # a pipe holding the key that signs trace lines; closed before student code

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=1))

    @classmethod
    def read(cls, path: Path) -> HarnessConfig:
        return cls(**json.loads(path.read_text()))
