"""Point the student's dataset loaders at the offline dataset, keeping every other argument."""

from __future__ import annotations

import functools
import os
import sys
import types
from pathlib import Path
from typing import Any

from grader.harness.rebind import replace_everywhere
from grader.harness.trace import Trace
from grader.offline.weights import wrap_get_file

_TRAIN_NAMES = {"train", "training", "training_set", "train_set", "trainset"}
_VALIDATION_NAMES = {"validation", "val", "valid", "validation_set", "test", "test_set", "testing", "testset"}
_CLASS_NAMES = {"cat": "cats", "cats": "cats", "dog": "dogs", "dogs": "dogs"}
_ZIP_NAMES = ("cats_and_dogs", "cats-and-dogs", "catsanddogs", "dogs-vs-cats", "dogs_vs_cats", "cats_vs_dogs")
_PETIMAGES_NAMES = ("petimages", "kagglecatsanddogs")
_FLOWERS = "flower_photos"


class DatasetRedirect:
    """Maps paths from the student's machine to the offline dataset (``root`` in tutorial layout)."""

    def __init__(self, root: Path, kind: str, zip_path: Path, keras_home: Path, trace: Trace,
                 petimages_zip: Path | None = None, flowers: Path | None = None,
                 tfds_pets: Path | None = None) -> None:
        self.root, self.kind, self.zip_path, self.keras_home, self.trace = root, kind, zip_path, keras_home, trace
        self.petimages_zip, self.flowers, self.tfds_pets = petimages_zip, flowers, tfds_pets

    def archive(self, requested: Any) -> Any:
        """The offline archive standing for a dataset archive the script opens and this machine
        lacks, in the layout its name implies; else ``requested`` itself."""
        try:
            path = Path(os.fspath(requested))
        except TypeError:  # an open file object
            return requested
        name = path.name.lower()
        if path.exists():
            return requested
        if self.petimages_zip is not None and any(key in name for key in _PETIMAGES_NAMES):
            served, layout = self.petimages_zip, "PetImages/{Cat,Dog}"
        elif any(key in name for key in _ZIP_NAMES):
            served, layout = self.zip_path, "cats_and_dogs_filtered/{train,validation}/{cats,dogs}"
        else:
            return requested
        self.trace.accommodate(f"archive {os.fspath(requested)!r} is not on this machine; opened the {self.kind} "
                               f"dataset as an archive in the {layout} layout instead")
        return os.fspath(served)

    def folder(self, requested: Any, *, single_folder: bool = False) -> str:
        """Return the offline folder standing for ``requested`` (unchanged if it holds images)."""
        path = Path(os.fspath(requested)).expanduser()
        if path.is_dir() and _holds_class_folders(path):
            return os.fspath(path)
        parts = [part.lower() for part in path.parts]
        if self.flowers is not None and any("flower" in part for part in parts):
            return self._flower_folder(requested, parts)
        target = self.root / "train"
        for index in range(len(parts) - 1, -1, -1):
            if parts[index] in _CLASS_NAMES:
                split = "validation" if set(parts[:index]) & _VALIDATION_NAMES else "train"
                target = self.root / split / _CLASS_NAMES[parts[index]]
                break
            if parts[index] in _VALIDATION_NAMES:
                target = self.root / "validation"
                break
            if parts[index] in _TRAIN_NAMES:
                break
        self.trace.accommodate(f"dataset folder {os.fspath(requested)!r} is not on this machine; read "
                               f"the {self.kind} dataset's {target.relative_to(self.root)}/ instead")
        return os.fspath(target)

    def _flower_folder(self, requested: Any, parts: list[str]) -> str:
        """The synthetic flower photos (or one kind of them) for a flowers folder not on this machine."""
        assert self.flowers is not None
        kinds = {child.name for child in self.flowers.iterdir() if child.is_dir()}
        target = next((self.flowers / part for part in reversed(parts) if part in kinds), self.flowers)
        self.trace.accommodate(f"dataset folder {os.fspath(requested)!r} is not on this machine; read the synthetic "
                               f"{_FLOWERS}{'/' + target.name if target != self.flowers else ''} instead")
        return os.fspath(target)

    def get_file(self, original: Any) -> Any:
        """A ``get_file`` that serves the cats-and-dogs archive offline, in both Keras meanings of
        ``extract=True``: Keras 2 returned the archive (the folder beside it), Keras 3 returns the
        extraction folder (the folder inside it). Both places hold ``cats_and_dogs_filtered``."""

        def serve(arguments: dict[str, Any]) -> str | None:
            name = str(arguments.get("fname") or "") + " " + str(arguments.get("origin") or "")
            if self.flowers is not None and _FLOWERS in name.lower():
                return self._serve_flowers(arguments)
            return self._serve_archive(arguments) if any(key in name.lower() for key in _ZIP_NAMES) else None

        return wrap_get_file(original, serve)

    def _serve_archive(self, arguments: dict[str, Any]) -> str:
        datasets = Path(arguments.get("cache_dir") or self.keras_home).expanduser() / arguments.get("cache_subdir", "datasets")
        datasets.mkdir(parents=True, exist_ok=True)
        fname = str(arguments.get("fname") or Path(str(arguments["origin"])).name)
        stem = fname.split(".")[0]
        archive = datasets / (fname if "." in fname else f"{fname}.zip")
        extracted = datasets / f"{stem}_extracted"
        _link(archive, self.zip_path)
        extracted.mkdir(exist_ok=True)
        for home in (datasets, extracted):
            _link(home / "cats_and_dogs_filtered", self.root)
        self.trace.accommodate(f"download of {fname} served offline from the {self.kind} dataset")
        return os.fspath(extracted if arguments.get("extract") or arguments.get("untar") else archive)

    def _serve_flowers(self, arguments: dict[str, Any]) -> str:
        """``get_file`` of ``flower_photos.tgz``, answered where Keras 3 would put it: extracted, a
        folder holding ``flower_photos/`` (named ``<fname>`` or ``<stem>_extracted`` as Keras names
        it); not extracted, the photos' folder itself. The tutorial's ``Path(archive).with_suffix('')``
        finds them too."""
        assert self.flowers is not None
        datasets = Path(arguments.get("cache_dir") or self.keras_home).expanduser() / arguments.get("cache_subdir", "datasets")
        datasets.mkdir(parents=True, exist_ok=True)
        given = str(arguments.get("fname") or "")
        fname = given or Path(str(arguments["origin"])).name
        if not (arguments.get("extract") or arguments.get("untar")):
            served = datasets / fname
            _link(served, self.flowers)
        else:
            served = datasets / (f"{fname[:fname.find('.')]}_extracted" if given and "." in fname else fname)
            if not served.is_symlink():  # an earlier call may have linked this name to the photos themselves
                served.mkdir(exist_ok=True)
                _link(served / _FLOWERS, self.flowers)
            if served.suffix:
                _link(served.with_suffix(""), self.flowers)
        self.trace.accommodate(f"download of {fname} served offline from the synthetic {_FLOWERS} "
                               "(five kinds, the real counts)")
        return os.fspath(served)


def _link(link: Path, target: Path) -> None:
    if not link.exists():
        link.symlink_to(target)


def _holds_class_folders(path: Path) -> bool:
    try:
        return sum(1 for child in path.iterdir() if child.is_dir()) >= 2
    except OSError:
        return False


def install(redirect: DatasetRedirect) -> None:
    """Patch the directory loaders, ``get_file`` and ``tensorflow_datasets.load``."""
    from keras.src.legacy.preprocessing.image import ImageDataGenerator
    from keras.src.utils import file_utils, image_dataset_utils

    loaders = {image_dataset_utils.image_dataset_from_directory: _directory_loader(
        image_dataset_utils.image_dataset_from_directory, redirect)}
    loaders[file_utils.get_file] = redirect.get_file(file_utils.get_file)
    replace_everywhere(loaders)
    original_flow = ImageDataGenerator.flow_from_directory

    @functools.wraps(original_flow)
    def flow_from_directory(self: Any, directory: Any, *args: Any, **kwargs: Any) -> Any:
        return original_flow(self, redirect.folder(directory), *args, **kwargs)

    ImageDataGenerator.flow_from_directory = flow_from_directory
    sys.modules["tensorflow_datasets"] = _fake_tfds(redirect)
    _serve_archives(redirect)


def _serve_archives(redirect: DatasetRedirect) -> None:
    """``zipfile.ZipFile`` and ``shutil.unpack_archive`` read the offline archive in place of a
    dataset archive that is not on this machine (a download the script expects to find)."""
    import shutil
    import zipfile

    class ServedZipFile(zipfile.ZipFile):
        def __init__(self, file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> None:
            super().__init__(redirect.archive(file) if mode == "r" else file, mode, *args, **kwargs)

    original_unpack = shutil.unpack_archive

    @functools.wraps(original_unpack)
    def unpack_archive(filename: Any, extract_dir: Any = None, format: Any = None, **kwargs: Any) -> Any:  # noqa: A002
        served = redirect.archive(filename)
        return original_unpack(served, extract_dir, "zip" if served is not filename else format, **kwargs)

    zipfile.ZipFile = ServedZipFile  # type: ignore[misc]
    shutil.unpack_archive = unpack_archive


def _directory_loader(original: Any, redirect: DatasetRedirect) -> Any:
    @functools.wraps(original)
    def image_dataset_from_directory(directory: Any, *args: Any, **kwargs: Any) -> Any:
        dataset = original(redirect.folder(directory), *args, **kwargs)
        redirect.trace.emit("dataset", loader="image_dataset_from_directory", directory=os.fspath(directory),
                            arguments={k: v for k, v in kwargs.items() if isinstance(v, (int, float, str, bool, tuple, list, type(None)))},
                            class_names=_class_names(dataset))
        return dataset

    return image_dataset_from_directory


def _class_names(dataset: Any) -> Any:
    if isinstance(dataset, (list, tuple)):
        return getattr(dataset[0], "class_names", None)
    return getattr(dataset, "class_names", None)


def _fake_tfds(redirect: DatasetRedirect) -> types.ModuleType:
    """A ``tensorflow_datasets`` whose ``load('cats_vs_dogs')`` reads the offline dataset."""
    from grader.harness import tfds_stub

    return tfds_stub.module(redirect)
