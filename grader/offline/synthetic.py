"""Deterministic synthetic datasets in the layouts real labs download: cats vs dogs
(``cats_and_dogs_filtered``, Microsoft's ``PetImages``) and TensorFlow's five ``flower_photos``.

The classes differ in the colour of the objects drawn on a varied background: "cats" are warm
(red to orange), "dogs" are cool (cyan to blue); each kind of flower has a hue band of its own.
Colour survives flips, rotations, crops and resizing, so a correct pipeline learns the task in a
few steps, while a pipeline that squashes its inputs (images scaled twice) cannot see the
difference. Every dataset keeps its real counts, which students' pipelines depend on.
"""

from __future__ import annotations

import colorsys
import io
import os
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from grader.cache import cache_root

# Bumped whenever the images drawn change, so that stale caches are rebuilt.
GENERATOR_VERSION = 1
DATASET_NAME = "cats_and_dogs_filtered"
# The real dataset's counts: students' pipelines (e.g. ``val_batches // 5``) depend on them.
SPLIT_COUNTS = {"train": 1000, "validation": 500}  # images per class
# The real file names: train cat.0..cat.999, validation cat.2000..cat.2499.
SPLIT_FIRST_INDEX = {"train": 0, "validation": 2000}
CLASSES = ("cats", "dogs")
_HUES = {"cats": (0.97, 0.10), "dogs": (0.50, 0.66),
         # Five bands a fifth of the wheel apart, each half as wide as the gaps between them.
         "daisy": (0.00, 0.06), "dandelion": (0.16, 0.22), "roses": (0.36, 0.42), "sunflowers": (0.56, 0.62),
         "tulips": (0.76, 0.82)}
_SIZE_RANGE = (96, 176)


@dataclass(frozen=True)
class SyntheticDataset:
    """Where a generated dataset lives: ``root`` holds ``train/`` and ``validation/``."""

    root: Path
    version: int = GENERATOR_VERSION

    @property
    def train_dir(self) -> Path:
        return self.root / "train"

    @property
    def validation_dir(self) -> Path:
        return self.root / "validation"


def draw_image(label: str, seed: int) -> Image.Image:
    """Return one synthetic RGB image of class ``label`` ("cats" or "dogs"), fixed by ``seed``."""
    rng = np.random.default_rng(seed)
    width, height = (int(v) for v in rng.integers(*_SIZE_RANGE, size=2))
    canvas = _background(rng, width, height)
    draw = ImageDraw.Draw(canvas)
    low, high = _HUES[label]
    for _ in range(int(rng.integers(3, 6))):
        hue = rng.uniform(low, high + (1.0 if high < low else 0.0)) % 1.0
        rgb = colorsys.hsv_to_rgb(hue, rng.uniform(0.6, 1.0), rng.uniform(0.55, 1.0))
        radius_x, radius_y = rng.uniform(0.2, 0.42, size=2) * (width, height)
        cx, cy = rng.uniform(0.2, 0.8) * width, rng.uniform(0.2, 0.8) * height
        box = (cx - radius_x, cy - radius_y, cx + radius_x, cy + radius_y)
        draw.ellipse(box, fill=tuple(int(255 * c) for c in rgb))
    return canvas


def _background(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """A muted two-colour gradient with noise: varied, and carrying no class signal."""
    start, end = (np.array(colorsys.hsv_to_rgb(rng.uniform(), rng.uniform(0, 0.3), rng.uniform(0.2, 0.9)))
                  for _ in range(2))
    t = np.linspace(0.0, 1.0, width)[None, :, None]
    pixels = (start * (1 - t) + end * t) * 255.0
    pixels = np.broadcast_to(pixels, (height, width, 3)) + rng.normal(0, 8, size=(height, width, 3))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def image_seed(split: str, label: str, index: int) -> int:
    """Return the seed of one image: stable across runs, machines and Python versions."""
    return (GENERATOR_VERSION * 1_000_003 + CLASSES.index(label) * 10_007 + index) * (
        2 if split == "train" else 3
    )


def write_dataset(root: Path) -> SyntheticDataset:
    """Write the whole dataset under ``root`` (replacing it) and return where it is."""
    staging = root.with_name(root.name + f".tmp-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    for split, per_class in SPLIT_COUNTS.items():
        for label in CLASSES:
            folder = staging / split / label
            folder.mkdir(parents=True)
            first = SPLIT_FIRST_INDEX[split]
            for index in range(first, first + per_class):
                image = draw_image(label, image_seed(split, label, index))
                image.save(folder / f"{label[:-1]}.{index}.jpg", quality=85)
    (staging / "VERSION").write_text(f"{GENERATOR_VERSION}\n")
    shutil.rmtree(root, ignore_errors=True)
    staging.rename(root)  # atomic on one filesystem: readers never see half a dataset
    return SyntheticDataset(root)


def _is_current(root: Path) -> bool:
    marker = root / "VERSION"
    return marker.is_file() and marker.read_text().strip() == str(GENERATOR_VERSION)


def ensure_dataset(cache: Path | None = None) -> SyntheticDataset:
    """Return the cached synthetic dataset, generating it first if absent or stale."""
    root = (cache or cache_root()) / "datasets" / DATASET_NAME
    if _is_current(root):
        return SyntheticDataset(root)
    root.parent.mkdir(parents=True, exist_ok=True)
    return write_dataset(root)


def ensure_zip(cache: Path | None = None) -> Path:
    """Return a zip of the dataset laid out as the TensorFlow tutorial's download."""
    dataset = ensure_dataset(cache)
    archive = dataset.root.parent / f"{DATASET_NAME}.v{GENERATOR_VERSION}.zip"
    if archive.is_file():
        return archive
    staging = archive.with_suffix(f".tmp-{os.getpid()}")
    with zipfile.ZipFile(staging, "w", compression=zipfile.ZIP_STORED) as bundle:
        for path in sorted(dataset.root.rglob("*")):
            if path.is_file() and path.name != "VERSION":
                bundle.write(path, Path(DATASET_NAME) / path.relative_to(dataset.root))
    staging.rename(archive)
    return archive


# Microsoft's cats-vs-dogs download (kagglecatsanddogs_*.zip): PetImages/{Cat,Dog}/N.jpg, no split.
PETIMAGES_PER_CLASS = 12_500
PETIMAGES_CLASSES = {"Cat": "cats", "Dog": "dogs"}


def ensure_petimages_zip(cache: Path | None = None) -> Path:
    """Return a zip of synthetic images in Microsoft's ``PetImages`` layout, with its real counts
    (12,500 a class), generating it first if absent (about a minute, once per machine)."""
    folder = (cache or cache_root()) / "datasets"
    archive = folder / f"PetImages.v{GENERATOR_VERSION}.zip"
    if archive.is_file():
        return archive
    folder.mkdir(parents=True, exist_ok=True)
    staging = archive.with_suffix(f".tmp-{os.getpid()}")
    with zipfile.ZipFile(staging, "w", compression=zipfile.ZIP_STORED) as bundle:
        for folder_name, label in PETIMAGES_CLASSES.items():
            for index in range(PETIMAGES_PER_CLASS):
                buffer = io.BytesIO()
                draw_image(label, image_seed("petimages", label, index) * 5).save(buffer, format="JPEG", quality=85)
                bundle.writestr(f"PetImages/{folder_name}/{index}.jpg", buffer.getvalue())
    staging.rename(archive)
    return archive


# TensorFlow's flower_photos.tgz: flower_photos/{daisy,dandelion,roses,sunflowers,tulips}/*.jpg and a
# LICENSE.txt, no split (students split it with validation_split); tfds's tf_flowers is the same.
FLOWER_COUNTS = {"daisy": 633, "dandelion": 898, "roses": 641, "sunflowers": 699, "tulips": 799}
FLOWERS = "flower_photos"


def ensure_flowers(cache: Path | None = None) -> Path:
    """Return the synthetic ``flower_photos`` folder (its class folders inside), with the real
    counts (3,670 images), generating it first if absent (a few seconds, once)."""
    root = (cache or cache_root()) / "datasets" / f"{FLOWERS}.v{GENERATOR_VERSION}" / FLOWERS
    kinds = {label: (label, count, lambda index, number=number: (number + 1) * 7_000_003 + index)
             for number, (label, count) in enumerate(FLOWER_COUNTS.items())}
    return _drawn_folder(root, kinds, "LICENSE.txt", "Synthetic stand-in for flower_photos, drawn by the grader.\n")


# tensorflow_datasets' cats_vs_dogs: 23,262 images (PetImages' 25,000 less the 1,738 that tfds skips as
# unreadable), labels cat and dog, no split (students slice "train[:80%]").
TFDS_CATS_VS_DOGS = 23_262


def ensure_tfds_cats_vs_dogs(cache: Path | None = None) -> Path:
    """Return a folder of synthetic images with tfds ``cats_vs_dogs``'s real count, ``Cat/`` and
    ``Dog/`` as in PetImages, generating it first if absent (a few tens of seconds, once)."""
    root = (cache or cache_root()) / "datasets" / f"cats_vs_dogs.v{GENERATOR_VERSION}" / "PetImages"
    kinds = {folder_name: (label, TFDS_CATS_VS_DOGS // 2 + (number < TFDS_CATS_VS_DOGS % 2),
                           lambda index, label=label: image_seed("tfds", label, index) * 7)
             for number, (folder_name, label) in enumerate(PETIMAGES_CLASSES.items())}
    return _drawn_folder(root, kinds, "COMPLETE", f"{TFDS_CATS_VS_DOGS}\n")


def _drawn_folder(root: Path, kinds: dict[str, tuple[str, int, Callable[[int], int]]], marker: str, text: str) -> Path:
    """``root`` holding a folder per kind (folder name -> drawn class, count, seed of an image's
    index) and ``marker`` (written last): kept when the marker is there, else drawn into a staging
    folder that replaces ``root``'s parent whole, so a reader never sees half of it."""
    if (root / marker).is_file():
        return root
    staging = root.parent.with_name(root.parent.name + f".tmp-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    for folder_name, (label, count, seed) in kinds.items():
        folder = staging / root.name / folder_name
        folder.mkdir(parents=True)
        for index in range(count):
            draw_image(label, seed(index)).save(folder / f"{index}.jpg", quality=85)
    (staging / root.name / marker).write_text(text)
    shutil.rmtree(root.parent, ignore_errors=True)
    staging.rename(root.parent)
    return root
