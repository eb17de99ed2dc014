"""One conversion of Python, NumPy and grader values into JSON values."""

from __future__ import annotations

import math
from enum import Enum
from pathlib import Path
from typing import Any

_MAX_DEPTH = 12


def jsonable(value: Any, depth: int = 0) -> Any:
    """Return ``value`` as JSON values: enums by value, paths as text, tuples and sets as lists,
    NumPy scalars and small arrays as numbers, NaN and infinities as text, objects with
    ``to_dict`` through it, anything else (or nested too deep) as a short ``repr``."""
    if depth > _MAX_DEPTH:
        return repr(value)[:200]
    if isinstance(value, Enum):
        return value.value
    if value is None or isinstance(value, (bool, str, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v, depth + 1) for v in value]
    if hasattr(value, "to_dict"):
        return jsonable(value.to_dict(), depth + 1)
    if hasattr(value, "tolist") and getattr(value, "size", 2) <= 64:
        return jsonable(value.tolist(), depth + 1)
    if hasattr(value, "item") and getattr(value, "size", 2) == 1:
        return jsonable(value.item(), depth + 1)
    return repr(value)[:200]
