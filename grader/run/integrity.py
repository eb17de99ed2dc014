"""Confirm the run's record against the models it saved, on the trusted side.

The harness records each model's structure in the (signed) trace and saves the model as
``.keras`` at every compile and after every fit, with the file's SHA-256 in the trace. The trusted
inspector (``grader.run.inspector``, which runs no student code, started beside the run) loads those
files in Keras safe mode and describes them itself. ``reconcile`` compares the two: layers and
trainable flags at each compile and fit, and which layers' weights each fit changed. Where they
disagree the trace loses: the event is rewritten from the saved model and the result says so. A
saved file that no longer matches its recorded digest, or that the inspector read differently,
was changed after the grader saved it: that is tampering.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from grader.results import Integrity, IntegrityStatus
from grader.shared.describe import STATISTICS, file_digest
from grader.shared.jsonable import jsonable

Event = dict[str, Any]
Inspected = dict[str, dict[str, Any]]  # artifact file name -> what the inspector derived


def _saved_file(event: Event) -> str | None:
    """The file name of the model an event's record says was saved, if any."""
    record = event.get("artifact")
    if isinstance(record, dict) and isinstance(record.get("file"), str):
        return Path(record["file"]).name
    return None


def artifact_digests(artifacts: Path, events: tuple[Event, ...]) -> tuple[list[Path], list[str]]:
    """The recorded artifacts whose files match their digests, in order; and notes on any that do not."""
    intact, notes = [], []
    for event in events:
        name = _saved_file(event)
        if name is None:
            continue
        path = artifacts / name
        if path.is_symlink() or not path.is_file():
            notes.append(f"the saved model {name} was deleted or replaced by a link after the grader saved it")
        elif file_digest(path) != event["artifact"].get("sha256"):
            notes.append(f"the saved model {path.name} was replaced after the grader saved it")
        else:
            intact.append(path)
    return intact, notes


def inspection_mismatches(events: tuple[Event, ...], inspected: Inspected) -> list[str]:
    """Notes on files the inspector read differently from how the grader saved them: changed while
    the run went on, or not where they were saved (their folder replaced under the inspector)."""
    recorded = {name: event["artifact"].get("sha256") for event in events if (name := _saved_file(event))}
    notes = []
    for name, entry in inspected.items():
        if entry.get("error") == "not found":
            notes.append(f"the saved model {name} was moved away while the run went on")
        elif name in recorded and entry.get("sha256") and entry["sha256"] != recorded[name]:
            notes.append(f"the saved model {name} was changed after the grader saved it")
    return notes


def base_names(events: tuple[Event, ...]) -> dict[str, dict[str, Any]]:
    """Pretrained bases the run built: model name -> architecture and layer names (for the
    inspector's summaries, nested or flattened into the model)."""
    return {str(e["model_name"]): {"architecture": str(e.get("architecture")),
                                   "layer_names": [str(n) for n in e.get("layer_names") or []][:2000]}
            for e in events if e.get("kind") == "application" and e.get("model_name")}


def reconcile(events: tuple[Event, ...], inspected: Inspected, tampered: list[str] | None = None
              ) -> tuple[tuple[Event, ...], Integrity]:
    """Compare the trace with the inspected models; return the trace with the models' word where
    they disagree, and what was found."""
    corrected = [dict(event) for event in events]
    starts = {e.get("phase"): e for e in corrected if e.get("kind") == "fit_start"}
    notes: list[str] = []
    unloadable: list[str] = []
    compared = 0
    previous: dict[Any, dict[str, Any]] = {}  # model id -> its latest inspected save
    for event in corrected:
        saved = inspected.get(_saved_file(event) or "")
        if saved is None:
            continue
        if "error" in saved:
            unloadable.append(f"{saved.get('file')}: {saved['error']}")
            continue
        compared += 1
        kind = event.get("kind")
        target = event if kind == "compile" else starts.get(event.get("phase"))
        step = "compile" if kind == "compile" else f"fit {event.get('phase')}"
        where = f"{step} (line {event.get('line', '?')})"
        if target is not None:
            difference = model_difference(target.get("model") or {}, saved["model"])
            if difference:
                notes.append(f"{where}: {difference}")
                target["model"] = saved["model"]
        before = previous.get(event.get("model_id"))
        if kind == "fit" and before is not None:
            weights, difference = weights_difference(event.get("weights") or {}, before["weights"], saved["weights"])
            if difference:
                notes.append(f"{where}: {difference}")
                event["weights"] = weights
        previous[event.get("model_id")] = saved
    return tuple(corrected), _verdict(compared, notes, unloadable, tampered or [])


def _verdict(compared: int, notes: list[str], unloadable: list[str], tampered: list[str]) -> Integrity:
    if tampered:
        return Integrity(IntegrityStatus.TAMPERED, tuple(tampered), compared)
    if notes:
        return Integrity(IntegrityStatus.CORRECTED, tuple(notes[:10]), compared)
    unsafe = tuple(f"not loadable in safe mode: {u}" for u in unloadable[:3])
    if not compared:
        return Integrity(IntegrityStatus.UNVERIFIED, unsafe or ("no saved model to compare with",), 0)
    return Integrity(IntegrityStatus.CONFIRMED, unsafe, compared)


def model_difference(recorded: dict[str, Any], saved: dict[str, Any]) -> str:
    """The first way the recorded model differs from the saved one, in words; "" when they agree."""
    recorded = jsonable(recorded)
    paths = [layer.get("path") for layer in recorded.get("layers", [])]
    saved_paths = [layer.get("path") for layer in saved.get("layers", [])]
    if paths != saved_paths:
        return f"the record lists layers {_short(paths)}; the saved model has {_short(saved_paths)}"
    for mine, theirs in zip(recorded["layers"], saved["layers"]):
        key, recorded_value, saved_value = _first_difference(mine, theirs)
        if key:
            return (f"layer {mine.get('path')}: the record says {key} = {_short(recorded_value)}; "
                    f"the saved model has {_short(saved_value)}")
    for key in ("trainable", "trainable_weights"):
        if recorded.get(key) != saved.get(key):
            return f"the record says model {key} = {recorded.get(key)}; the saved model has {saved.get(key)}"
    return ""


def _first_difference(mine: dict[str, Any], theirs: dict[str, Any], prefix: str = "") -> tuple[str, Any, Any]:
    """The first key (dotted into nested dicts) whose values differ, with both values."""
    for key in sorted(set(mine) | set(theirs)):
        a, b = mine.get(key), theirs.get(key)
        if a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            return _first_difference(a, b, f"{prefix}{key}.")
        return f"{prefix}{key}", a, b
    return "", None, None


def weights_difference(claim: dict[str, Any], before: dict[str, dict[str, str]], after: dict[str, dict[str, str]]
                       ) -> tuple[dict[str, Any], str]:
    """Compare the fit's recorded weight changes with the saved models' before and after.

    Only layers present in both saved models and in the record are compared; the others keep
    the record's word. Returns the corrected record and a sentence, or the record and "".
    """
    changed, unchanged = set(claim.get("changed", [])), set(claim.get("unchanged", []))
    statistics = set(claim.get("statistics_changed", []))
    common = [path for path in before if path in after and path in changed | unchanged]
    moved = {path for path in common if _moved(before[path], after[path], parameters=True)}
    stats_moved = {path for path in common if _moved(before[path], after[path], parameters=False)}
    wrong = sorted(path for path in common if (path in moved) != (path in changed))
    wrong_stats = sorted(path for path in common if (path in stats_moved) != (path in statistics))
    if not wrong and not wrong_stats:
        return claim, ""
    rest = [path for path in (*claim.get("changed", []), *claim.get("unchanged", [])) if path not in common]
    fixed = {**claim,
             "changed": [p for p in common if p in moved] + [p for p in rest if p in changed],
             "unchanged": [p for p in common if p not in moved] + [p for p in rest if p in unchanged],
             "statistics_changed": [p for p in common if p in stats_moved] + [p for p in rest if p in statistics]}
    layers, what, saw = (wrong, "weights", moved) if wrong else (wrong_stats, "BatchNorm statistics", stats_moved)
    return fixed, (f"the record and the saved models disagree on whether {len(layers)} layer(s)' {what} changed "
                   f"(e.g. {layers[0]}: saved models say {'changed' if layers[0] in saw else 'unchanged'})")


def _moved(before: dict[str, str], after: dict[str, str], parameters: bool) -> bool:
    names = [name for name in before if (name not in STATISTICS) == parameters and name in after]
    return any(before[name] != after[name] for name in names)


def _short(value: Any, limit: int = 60) -> str:
    text = json.dumps(value) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[: limit - 1] + "…"
