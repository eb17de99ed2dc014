"""Recognise the folder layouts cats-vs-dogs data comes in."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from grader.errors import DatasetError

# (training folder, validation folder) names, in the order they are tried.
_SPLIT_NAMES = (("train", "validation"), ("train", "val"), ("train", "test"),
                ("training_set", "test_set"))
_IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif"}


@dataclass(frozen=True)
class Splits:
    """A dataset's class folders: ``train`` always; ``validation`` when the layout has one."""

    train: Path
    validation: Path | None


def find_splits(root: Path) -> Splits:
    """Return the training and validation folders under ``root``.

    Accepts ``train/`` + ``validation/`` (or ``val/``, ``test/``), Kaggle's ``training_set/`` +
    ``test_set/`` (each possibly nested once, as Kaggle does), or a single folder of class
    folders such as PetImages' ``Cat/`` and ``Dog/`` (then ``validation`` is None). Raises
    ``DatasetError`` when ``root`` holds none of these.
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"dataset folder not found: {root}")
    for train_name, validation_name in _SPLIT_NAMES:
        train, validation = _unnest(root / train_name), _unnest(root / validation_name)
        if _has_class_folders(train) and _has_class_folders(validation):
            return Splits(train, validation)
    if _has_class_folders(root):
        return Splits(root, None)
    raise DatasetError(
        f"no class folders found in {root}: expected train/ and validation/ (each with one folder "
        "per class), or one folder per class")


def _unnest(folder: Path) -> Path:
    """Kaggle nests ``training_set/training_set/cats``: step into a lone same-named child."""
    inner = folder / folder.name
    return inner if inner.is_dir() else folder


def _has_class_folders(folder: Path) -> bool:
    if not folder.is_dir():
        return False
    classes = [child for child in folder.iterdir() if child.is_dir()]
    return len(classes) >= 2 and all(_holds_images(child) for child in classes)


def _holds_images(folder: Path) -> bool:
    return any(path.suffix.lower() in _IMAGE_SUFFIXES for path in folder.iterdir())
