"""The trusted inspector's life: started beside the run, asked once the run has ended, its report
read and compared with the trace (``integrity``)."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from grader.results import Integrity, IntegrityStatus, RunResult
from grader.run.command import child_env, grader_command
from grader.run.integrity import artifact_digests, base_names, inspection_mismatches, reconcile
from grader.run.sandbox import ChildOutcome, Isolation, StartedChild, finish_child, start_child
from grader.run.settings import RunSettings

_INSPECT_SECONDS = 180.0  # after the run's own time limit
_MAX_INSPECTION_BYTES = 4 * 2**20


@dataclass(frozen=True)
class Inspector:
    """A started inspector process and where it will write its report."""

    child: StartedChild
    report: Path


def start_inspector(artifacts: Path, inspect: Path, settings: RunSettings, isolation: Isolation) -> Inspector:
    """Start ``grader.run.inspector`` beside the run, in the sandbox (the files are untrusted; the
    code is ours). It imports TensorFlow and loads each saved model while the run goes on;
    ``confirm`` sends the request once the run has ended."""
    inspect.mkdir()
    report = inspect / "inspection.json"
    env = child_env(inspect / "home", isolation, settings.extra_env)
    command = grader_command(["grader.run.inspector", str(artifacts), str(inspect), str(report)], inspect,
                             [artifacts], env, isolation)
    child = start_child(command, inspect, env, settings.run_limits(), settings.budget.timeout_seconds + _INSPECT_SECONDS,
                        inspect.parent / "inspect-logs", stdin_pipe=True)
    return Inspector(child, report)


def confirm(result: RunResult, artifacts: Path, inspector: Inspector) -> RunResult:
    """Check the trace against the saved models, as the inspector read them; the trace loses where
    they differ."""
    intact, tampered = artifact_digests(artifacts, result.trace)
    request = {"artifacts": [path.name for path in intact], "bases": base_names(result.trace)}
    outcome = finish_child(inspector.child, json.dumps(request).encode())
    inspected, problem = _read_inspection(outcome, inspector.report) if intact else ({}, "")
    tampered += inspection_mismatches(result.trace, inspected)
    events, integrity = reconcile(result.trace, inspected, tampered)
    if problem and integrity.status is not IntegrityStatus.TAMPERED:
        integrity = Integrity(IntegrityStatus.UNVERIFIED, (problem,))
    return replace(result, trace=events, integrity=integrity)


def _read_inspection(outcome: ChildOutcome, report: Path) -> tuple[dict[str, dict[str, Any]], str]:
    """What the inspector derived, by file name; or a sentence saying why there is nothing."""
    if (outcome.timed_out or outcome.returncode != 0 or report.is_symlink() or not report.is_file()
            or report.stat().st_size > _MAX_INSPECTION_BYTES):
        last = (outcome.stderr.strip().splitlines() or ["no output"])[-1][:200]
        return {}, f"the saved models could not be inspected ({'timed out' if outcome.timed_out else last})"
    try:
        models = json.loads(report.read_text(encoding="utf-8")).get("models", [])
    except ValueError:
        return {}, "the inspector's report could not be read"
    return {str(entry.get("file")): entry for entry in models if isinstance(entry, dict)}, ""
