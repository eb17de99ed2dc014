"""Make the offline assets before any student code runs: dataset, zip, and common stand-ins.

The sandbox mounts the cache read-only, so what a child would otherwise build on every run (a
stand-in for MobileNetV2 at the input sizes students use) is built once here, in a separate
process, so the grading process itself never imports TensorFlow for it.
``python -m grader.offline.prepare`` does it by hand.
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


def _common_requests() -> list[dict[str, object]]:
    return [{"input_shape": (size, size, 3), "include_top": False} for size in COMMON_SIZES]


def missing_stand_ins(cache: Path) -> list[dict[str, object]]:
    """The common MobileNetV2 stand-ins not yet in ``cache``."""
    return [kwargs for kwargs in _common_requests() if not stand_in_path("MobileNetV2", kwargs, cache).is_file()]


def ensure_offline_assets(cache: Path | None = None) -> None:
    """Make sure the dataset, its zip and the common stand-ins exist; builds what is missing."""
    cache = cache or cache_root()
    with _LOCK:
        ensure_dataset(cache)
        ensure_zip(cache)
        if missing_stand_ins(cache):
            subprocess.run([sys.executable, "-m", "grader.offline.prepare", str(cache)], check=True,
                           capture_output=True)


def _build(cache: Path) -> None:
    from keras.applications import MobileNetV2

    from grader.offline.weights import build_application

    for kwargs in missing_stand_ins(cache):
        build_application(MobileNetV2, {**kwargs, "weights": "imagenet"}, cache=cache)


if __name__ == "__main__":
    _build(Path(sys.argv[1]) if len(sys.argv) > 1 else cache_root())
