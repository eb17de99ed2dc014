"""Keras 2 import paths run as their Keras 2 meaning, each use recorded as an accommodation.

A module Keras 3 dropped (``keras.utils.np_utils``) is served, when the script imports it and
only then, by an alias of the module that holds its names now; a module Keras 3 kept with fewer
names (``keras.preprocessing.image``) takes the names it lacks from its replacement. The table
is ``grader.shared.keras2.MOVED``, which the parent also reads to explain imports it cannot serve.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
from typing import Any

from grader.harness.trace import Trace
from grader.shared.keras2 import MOVED, keras2_equivalent


def install(trace: Trace) -> None:
    """Serve every Keras 2 path of the table: dropped modules on import, missing names on use."""
    for old, new in MOVED.items():
        existing = sys.modules.get(old) or _import_quietly(old)
        if existing is not None:
            _lend_missing_names(existing, old, new, trace)
    sys.meta_path.append(_Keras2Finder(trace))  # last: only what no real module answers


def _import_quietly(name: str) -> types.ModuleType | None:
    """``name`` if it imports (without the aliases below), else None."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def _lend_missing_names(module: types.ModuleType, old: str, new: str, trace: Trace) -> None:
    """Names ``module`` lacks are read from ``new`` (PEP 562's module ``__getattr__``)."""
    previous = module.__dict__.get("__getattr__")

    def __getattr__(name: str) -> Any:  # noqa: N807 - the module hook's name
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            value = getattr(importlib.import_module(new), name)
        except (ImportError, AttributeError):
            if previous is not None:
                return previous(name)
            raise AttributeError(f"module {old!r} has no attribute {name!r}") from None
        trace.accommodate(f"ran `{old}.{name}` as `{_public(new)}.{name}` (Keras 2 path; Keras 3 moved it)")
        return value

    module.__getattr__ = __getattr__  # type: ignore[attr-defined]


class _Alias(types.ModuleType):
    """A dropped Keras 2 module: each name read is the replacement's, and recorded."""

    def __init__(self, old: str, new: str, trace: Trace) -> None:
        super().__init__(old)
        self.__path__: list[str] = []  # a package, so its own submodules can be aliased too
        self._new, self._trace = new, trace

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in ("_new", "_trace"):
            raise AttributeError(name)
        value = getattr(importlib.import_module(self._new), name)
        self._trace.accommodate(f"ran `{self.__name__}.{name}` as `{_public(self._new)}.{name}` "
                                "(Keras 2 path; Keras 3 dropped the module)")
        return value


class _Keras2Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds the Keras 2 modules of the table that no installed module answers."""

    def __init__(self, trace: Trace) -> None:
        self._trace = trace

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if not _replacement(fullname):
            return None
        return importlib.machinery.ModuleSpec(fullname, self, is_package=True)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return _Alias(spec.name, _replacement(spec.name), self._trace)

    def exec_module(self, module: types.ModuleType) -> None:
        """Nothing to run: the alias reads its replacement on use."""


def _replacement(module: str) -> str:
    """The module serving Keras 2 ``module``; tf.keras's own for a ``tensorflow.keras.`` spelling."""
    new = keras2_equivalent(module)
    if new and module.startswith("tensorflow.keras.") and new.startswith("keras.") \
            and not new.startswith("keras._tf_keras."):
        new = "keras._tf_keras." + new
    return new


def _public(module: str) -> str:
    return module.replace("keras._tf_keras.keras.", "tf.keras.")
