"""A stand-in ``tensorflow_datasets`` module: ``load('cats_vs_dogs')`` from the offline dataset,
and ``load('tf_flowers')`` from the synthetic flower photos when the script names them.

It keeps the real datasets' element structure ((image, label) with ``as_supervised``, else a
dict with ``image``, ``image/filename`` and ``label``) and their ``info`` (label names
``cat``/``dog``; tf_flowers' five in its own order), and supports the split slicing students use
(``train[:80%]``, ``train[80%:]``).
"""

from __future__ import annotations

import re
import types
from pathlib import Path
from typing import Any

_SLICE = re.compile(r"^(?P<name>\w+)(?:\[(?P<start>-?\d+%?)?:(?P<stop>-?\d+%?)?\])?$")


class _Label:
    def __init__(self, names: list[str]) -> None:
        self.names = names
        self.num_classes = len(names)

    def int2str(self, index: int) -> str:
        return self.names[int(index)]

    def str2int(self, name: str) -> int:
        return self.names.index(name)


class _Split:
    def __init__(self, count: int) -> None:
        self.num_examples = count
        self.name = "train"


class DatasetInfo:
    """The parts of ``tfds.core.DatasetInfo`` that lab scripts read."""

    def __init__(self, name: str, names: list[str], count: int) -> None:
        self.name = name
        self.features = {"label": _Label(names), "image": None, "image/filename": None}
        self.splits = {"train": _Split(count)}
        self.supervised_keys = ("image", "label")
        self.description = f"Offline synthetic stand-in for {name} (grader harness)."

    def __repr__(self) -> str:
        return f"DatasetInfo(name={self.name!r}, train examples={self.splits['train'].num_examples}, offline stand-in)"


_IMAGES = {".jpg", ".jpeg", ".png"}
FLOWER_LABELS = ["dandelion", "daisy", "tulips", "sunflowers", "roses"]  # tf_flowers' label order


def _files(root: Path, pattern: str = "*/*/*") -> list[tuple[str, int]]:
    """Cats (0) and dogs (1) under ``root``: ``split/class/image`` by default, ``class/image`` with ``*/*``."""
    files = sorted((str(path), 0 if path.parent.name.lower().startswith("cat") else 1)
                   for path in root.glob(pattern) if path.suffix.lower() in _IMAGES)
    return _interleaved(files, 2)


def _flower_files(root: Path) -> list[tuple[str, int]]:
    files = sorted((str(path), FLOWER_LABELS.index(path.parent.name)) for path in root.glob("*/*")
                   if path.suffix.lower() in _IMAGES and path.parent.name in FLOWER_LABELS)
    return _interleaved(files, len(FLOWER_LABELS))


def _interleaved(files: list[tuple[str, int]], classes: int) -> list[tuple[str, int]]:
    """The classes interleaved deterministically, as the real (shuffled) TFRecords are mixed; the
    larger classes' remainders at the end."""
    by_class = [[f for f in files if f[1] == label] for label in range(classes)]
    mixed = [item for group in zip(*by_class) for item in group]
    shortest = min(len(group) for group in by_class)
    return mixed + [item for group in by_class for item in group[shortest:]]


def _bound(text: str | None, total: int, default: int) -> int:
    if not text:
        return default
    value = int(text.rstrip("%"))
    return total * value // 100 if text.endswith("%") else value


def _slice(split: str, total: int) -> tuple[int, int]:
    match = _SLICE.match(split.replace(" ", ""))
    if match is None:
        raise ValueError(f"unsupported split {split!r} (offline tensorflow_datasets stand-in)")
    start = _bound(match["start"], total, 0)
    stop = _bound(match["stop"], total, total)
    return (start % total if start < 0 else start), (stop % total if stop < 0 else stop)


def module(redirect: Any) -> types.ModuleType:
    """Build the stand-in module, reading images under ``redirect.root``."""
    fake = types.ModuleType("tensorflow_datasets")
    fake.__dict__["__grader_stand_in__"] = True
    # cats_vs_dogs: its real count when synthetic (23,262 images); with a real --data folder, that folder.
    pets = redirect.tfds_pets
    catalogue = {"cats_vs_dogs": ((lambda: _files(pets, "*/*")) if pets is not None else (lambda: _files(redirect.root)),
                                  ["cat", "dog"])}
    if redirect.flowers is not None:
        catalogue["tf_flowers"] = (lambda: _flower_files(redirect.flowers), FLOWER_LABELS)

    def make(files: list[tuple[str, int]], split: str, as_supervised: bool) -> Any:
        import tensorflow as tf

        start, stop = _slice(split, len(files))
        chosen = files[start:stop]
        paths = tf.constant([f for f, _ in chosen] or [""])[: len(chosen)]
        labels = tf.constant([label for _, label in chosen] or [0], dtype=tf.int64)[: len(chosen)]

        def decode(path: Any, label: Any) -> Any:
            image = tf.io.decode_jpeg(tf.io.read_file(path), channels=3)
            if as_supervised:
                return image, label
            return {"image": image, "image/filename": path, "label": label}

        return tf.data.Dataset.from_tensor_slices((paths, labels)).map(decode)

    def load(name: str, split: Any = None, with_info: bool = False, as_supervised: bool = False,
             **_: Any) -> Any:
        known = str(name).split(":")[0]
        if known not in catalogue:
            raise ValueError(f"dataset {name!r} is not available offline (only {', '.join(catalogue)} are)")
        listing, labels = catalogue[known]
        files = listing()
        source = "synthetic flower_photos" if known == "tf_flowers" else f"{redirect.kind} dataset"
        redirect.trace.accommodate(f"tensorflow_datasets.load({name!r}) served offline from the "
                                   f"{source} ({len(files)} images)")
        redirect.trace.emit("dataset", loader="tfds", directory=known, class_names=list(labels))
        splits = split if split is not None else "train"
        datasets = ([make(files, s, as_supervised) for s in splits] if isinstance(splits, (list, tuple))
                    else make(files, splits, as_supervised))
        if split is None and not isinstance(datasets, list):
            datasets = {"train": datasets}
        return (datasets, DatasetInfo(known, labels, len(files))) if with_info else datasets

    def as_numpy(dataset: Any) -> Any:
        return dataset.as_numpy_iterator() if hasattr(dataset, "as_numpy_iterator") else dataset

    fake.load = load
    fake.as_numpy = as_numpy
    fake.show_examples = lambda *args, **kwargs: None
    fake.Split = types.SimpleNamespace(TRAIN="train", VALIDATION="validation", TEST="test")
    fake.disable_progress_bar = lambda: None
    return fake
