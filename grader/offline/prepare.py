"""Make the offline assets before any student code runs: dataset, zip, and common stand-ins.

The sandbox mounts the cache read-only, so what a child would otherwise build on every run (a
stand-in for MobileNetV2 at the input sizes students use, for the base a rubric's lab names, and
for the bases a script's source builds with a literal input shape) is built once here, in a separate process, so the grading process itself never imports
TensorFlow for it. ``python -m grader.offline.prepare [CACHE] [ARCHITECTURE:SIZE ...]`` does it
by hand (``EfficientNetB0:224``, ``MobileNetV2:160x160:top`` for one with its top).
"""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

from grader.cache import cache_root
from grader.offline.synthetic import ensure_dataset, ensure_zip
from grader.offline.weights import stand_in_path

# The sizes students use for MobileNetV2: the lab's 160, and 96/128/150/224 from other tutorials.
COMMON_SIZES = (160, 128, 150, 224, 96)
_LOCK = threading.Lock()


# An architecture of keras.applications, its input shape, and whether it keeps its top (ImageNet's
# 1,000 classes, as ImageNet weights require).
Base = tuple[str, tuple[int, int, int], bool]


def _requests(bases: tuple[Base, ...]) -> list[tuple[str, dict[str, object]]]:
    requests = [("MobileNetV2", {"input_shape": (size, size, 3), "include_top": False}) for size in COMMON_SIZES]
    for name, shape, include_top in bases:
        request = (name, {"input_shape": tuple(shape), "include_top": bool(include_top)})
        if request not in requests:
            requests.append(request)
    return requests


def missing_stand_ins(cache: Path, bases: tuple[Base, ...] = ()) -> list[tuple[str, dict[str, object]]]:
    """The stand-ins not yet in ``cache``: MobileNetV2's common ones, and those of ``bases``."""
    return [(architecture, kwargs) for architecture, kwargs in _requests(bases)
            if not stand_in_path(architecture, kwargs, cache).is_file()]


def ensure_offline_assets(cache: Path | None = None, bases: tuple[Base, ...] = ()) -> None:
    """Make sure the dataset, its zip and the stand-ins (MobileNetV2's common ones and those of
    ``bases``: a lab's, a script's) exist; builds what is missing."""
    cache = cache or cache_root()
    with _LOCK:
        ensure_dataset(cache)
        ensure_zip(cache)
        missing = missing_stand_ins(cache, bases)
        if missing:
            # Not checked: a stand-in that cannot be made here is made (or fails, saying why) in the run
            # that needs it, so a base that will not build never stops a class from being graded.
            subprocess.run([sys.executable, "-m", "grader.offline.prepare", str(cache),
                            *(_request_text(name, kwargs) for name, kwargs in missing)], check=False, capture_output=True)


def _request_text(name: str, kwargs: dict[str, object]) -> str:
    """``EfficientNetB0:224x224``, with ``:top`` for a base that keeps its top."""
    height, width, _ = kwargs["input_shape"]  # type: ignore[misc]
    return f"{name}:{height}x{width}" + (":top" if kwargs["include_top"] else "")


def _build(cache: Path, wanted: list[str]) -> None:
    import keras

    from grader.offline.weights import build_application

    for request in wanted:
        name, _, rest = request.partition(":")
        size, _, top = rest.partition(":")
        height, _, width = size.partition("x")
        kwargs = {"input_shape": (int(height), int(width or height), 3), "include_top": top == "top"}
        if not stand_in_path(name, kwargs, cache).is_file():
            build_application(getattr(keras.applications, name), {**kwargs, "weights": "imagenet"}, cache=cache)


if __name__ == "__main__":
    arguments = sys.argv[1:]
    _build(Path(arguments[0]) if arguments else cache_root(),
           arguments[1:] or [_request_text(name, kwargs) for name, kwargs in _requests(())])
