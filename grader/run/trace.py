"""Read the harness's trace on the trusted side: signed lines only, size-capped, located in the
student's files."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.intake import Program
from grader.shared.signing import verify

_MAX_TRACE_BYTES = 20 * 2**20
_MAX_EVENTS = 20_000


@dataclass(frozen=True)
class TraceRecord:
    """A parsed trace: the harness's events, and how many lines were not (forged, or cut by a kill)."""

    events: tuple[dict[str, Any], ...]
    truncated: bool
    forged: int


def read_trace(path: Path, key: bytes) -> TraceRecord:
    """Parse a JSON-lines trace (at most ``_MAX_TRACE_BYTES`` and ``_MAX_EVENTS``), keeping only
    lines signed with ``key`` whose sequence numbers increase. A last line cut short by a kill is
    truncation; any other line that fails is counted as forged."""
    if not path.is_file():
        return TraceRecord((), False, 0)
    events: list[dict[str, Any]] = []
    truncated = path.stat().st_size > _MAX_TRACE_BYTES
    forged, last_seq = 0, 0
    with open(path, "rb") as handle:
        lines = handle.read(_MAX_TRACE_BYTES).split(b"\n")
    for number, raw in enumerate(lines):
        if not raw.strip():
            continue
        event = _signed_event(raw, key)
        if event is None or event["seq"] <= last_seq:
            if number == len(lines) - 1:
                truncated = True
            else:
                forged += 1
            continue
        last_seq = event["seq"]
        events.append(event)
        if len(events) >= _MAX_EVENTS:
            return TraceRecord(tuple(events), True, forged)
    return TraceRecord(tuple(events), truncated, forged)


def _signed_event(raw: bytes, key: bytes) -> dict[str, Any] | None:
    """One line's event if it is signed with ``key`` and has a sequence number, else None."""
    text, _, mac = raw.decode("utf-8", "replace").rpartition("\t")
    try:
        event = json.loads(text) if verify(text, mac, key) else None
    except ValueError:
        return None
    return event if isinstance(event, dict) and isinstance(event.get("seq"), int) else None


def locate_events(events: tuple[dict[str, Any], ...], program: Program) -> tuple[dict[str, Any], ...]:
    """Point events at what the student wrote: the notebook's cell and line, not the joined script."""
    if program.kind != "notebook":
        return events
    located = []
    for event in events:
        if event.get("file") == program.script_name and isinstance(event.get("line"), int):
            cell, line = program.locate(event["line"])
            event = {**event, "file": program.origin.name, "cell": cell, "line": line}
        located.append(event)
    return tuple(located)
