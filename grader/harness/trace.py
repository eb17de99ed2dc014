"""The child's trace: JSON lines, flushed per event, so a crash or a kill keeps what came before."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from grader.shared.jsonable import jsonable
from grader.shared.signing import signer

_MAX_EVENT_CHARS = 200_000
_HARNESS_DIR = str(Path(__file__).resolve().parent.parent)


class Trace:
    """Appends events to a JSON-lines file; each carries the student's file and line that caused it."""

    def __init__(self, path: Path, workdir: Path, key: bytes = b"") -> None:
        self._file: TextIO = open(path, "a", encoding="utf-8", buffering=1)
        self._sign = signer(key)
        self._workdir = str(workdir.resolve())
        self._seq = 0
        self._started = time.monotonic()
        self._said: set[str] = set()

    def emit(self, kind: str, **payload: Any) -> None:
        """Write one event now. Never raises: a trace problem must not change the student's run."""
        self._seq += 1
        event = {"seq": self._seq, "t": round(time.monotonic() - self._started, 3), "kind": kind,
                 **self.location(), **payload}
        try:
            line = json.dumps(jsonable(event), allow_nan=False)
        except (TypeError, ValueError) as error:
            line = json.dumps({"seq": self._seq, "kind": kind, "trace_error": repr(error)})
        if len(line) > _MAX_EVENT_CHARS:
            line = json.dumps({"seq": self._seq, "kind": kind, "truncated": len(line), **self.location()})
        try:
            self._file.write(f"{line}\t{self._sign(line)}\n")
            self._file.flush()
        except OSError:
            pass

    def accommodate(self, message: str) -> None:
        """Record, once, something the harness changed so that the script could run here."""
        if message not in self._said:
            self._said.add(message)
            self.emit("accommodation", message=message)

    def location(self) -> dict[str, Any]:
        """Return the innermost frame in the student's own files: ``{"file", "line"}`` or ``{}``."""
        frame = sys._getframe(1)
        while frame is not None:
            filename = frame.f_code.co_filename
            # "<frozen runpy>", "<string>" and compiled modules' relative names are no student file.
            if os.path.isabs(filename) and filename.startswith(self._workdir + os.sep) \
                    and not filename.startswith(_HARNESS_DIR):
                return {"file": os.path.relpath(filename, self._workdir), "line": frame.f_lineno}
            frame = frame.f_back
        return {}
