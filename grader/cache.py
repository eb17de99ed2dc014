"""Where the grader keeps what it makes once and reuses: stand-in weights, synthetic data."""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    """Return the grader's cache folder (``$GRADER_CACHE``, else the XDG cache), created if absent."""
    explicit = os.environ.get("GRADER_CACHE")
    if explicit:
        root = Path(explicit)
    else:
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        root = Path(base) / "dl-lab-grader"
    root.mkdir(parents=True, exist_ok=True)
    return root


def keras_models_dir() -> Path:
    """Return the folder where Keras caches downloaded application weights."""
    home = os.environ.get("KERAS_HOME") or Path.home() / ".keras"
    return Path(home) / "models"
