"""The run budget (one definition) and what the parent tells the child harness, as a JSON file."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class RunBudget:
    """How much of a student's training the harness allows: epochs and steps of the first ``fit``
    and of later ones (fine-tuning steps are slower), steps of evaluate/predict, wall time.

    A rubric's ``[run]`` table sets it; ``--timeout`` overrides ``timeout_seconds``."""

    epochs: int = 1
    steps_per_epoch: int = 20
    fine_tune_steps_per_epoch: int = 4  # later fits: each step trains part of the base (slower)
    eval_steps: int = 2
    # predict is often run over the whole validation split for a confusion matrix, and compared
    # with labels read in full: the synthetic split (1,000 images, 32 batches of 32) fits.
    predict_steps: int = 32
    timeout_seconds: float = 240.0
    # Memory a run may use (resident and swapped, and each process's private writable memory), in
    # GiB; never more than the machine has (grader.run.memory).
    memory_gib: float = 8.0
    # A training step of a base costlier than the lab's MobileNetV2 at 160 (ResNet50, VGG16, ...)
    # takes only as many images of each batch as cost what this many of MobileNetV2's do
    # (grader.shared.cost); 0: whole batches whatever the base.
    step_images: int = 32


@dataclass(frozen=True)
class HarnessConfig:
    """Everything the harness needs; written by the parent, read by the child."""

    script: str  # the (prepared) student script to run
    workdir: str  # the scratch folder: the only writable place
    data_root: str  # dataset in the cats_and_dogs_filtered layout
    data_kind: str  # "synthetic" or the real folder's path
    data_zip: str  # the same dataset zipped as the tutorial downloads it
    weights_cache: str  # folder of stand-in weights
    seed: int
    budget: RunBudget = field(default_factory=RunBudget)
    weights_file: str | None = None
    petimages_zip: str | None = None  # the synthetic PetImages archive, when the script names it
    flowers_root: str | None = None  # the synthetic flower_photos folder, when the script names it
    tfds_pets_root: str | None = None  # tfds cats_vs_dogs with its real count, when the script loads it
    save_models: bool = True
    key_fd: int | None = None  # a pipe holding the key that signs trace lines; closed before student code

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=1))

    @classmethod
    def read(cls, path: Path) -> HarnessConfig:
        """Read a config written by ``write``; raises ``TypeError``/``ValueError`` if it is not one."""
        values = json.loads(path.read_text())
        return cls(**{**values, "budget": RunBudget(**values["budget"])})
