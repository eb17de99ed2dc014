"""Run one submission's code in the sandbox and return what it built and did as a ``RunResult``.

The parent never unpickles or executes anything the child wrote and never reads results from
the child's stdout: it reads the JSON trace (size-capped) and keeps the ``.keras`` artifacts for
trusted inspection.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import sys
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import grader
from grader.cache import cache_root
from grader.errors import SubmissionError
from grader.harness.config import HarnessConfig
from grader.harness.trace import verify
from grader.intake import Program, read_program
from grader.integrity import artifact_digests, base_names, inspection_mismatches, reconcile
from grader.offline.prepare import ensure_offline_assets
from grader.offline.synthetic import SyntheticDataset, ensure_dataset, ensure_zip
from grader.results import Integrity, RunResult, RunStatus
from grader.rubric import RunBudget
from grader.sandbox import (ChildOutcome, Isolation, Limits, StartedChild, available_isolation, bwrap_command,
                            drops_privileges, finish_child, prepare_scratch_owner, python_executable, run_child,
                            run_uid, start_child)

_MAX_TRACE_BYTES = 20 * 2**20
_MAX_EVENTS = 20_000
_GRADER_MOUNT = Path("/opt/grader-lib")
_LIMIT_SIGNALS = {"SIGXCPU": "CPU time limit", "SIGXFSZ": "file size limit (output or files too large)"}
_CRASH_SIGNALS = {"SIGSEGV": "segmentation fault", "SIGBUS": "bus error", "SIGABRT": "aborted", "SIGILL": "illegal instruction"}


@dataclass(frozen=True)
class RunSettings:
    """How to run submissions: training budget, limits, isolation, data and weights."""

    budget: RunBudget = RunBudget()
    limits: Limits = Limits()
    isolation: Isolation | None = None  # None: the strongest available
    data: Path | None = None  # a real dataset folder; None: the synthetic one
    weights_file: Path | None = None
    cache: Path | None = None
    seed: int = 1234
    save_models: bool = True
    work_root: Path | None = None  # where scratch folders are made (default: the system temp)
    extra_env: dict[str, str] = field(default_factory=dict)


def run_submission(code: Path, settings: RunSettings, keep: Path | None = None,
                   files: tuple[Path, ...] | None = None) -> RunResult:
    """Run ``code`` (a ``.py`` or ``.ipynb``) in the sandbox, in a scratch copy of its folder.

    ``files``: copy only these beside it (a flat or LMS layout, where the folder holds other
    students' work); by default the code's folder is copied, less data sets and large files.
    ``keep``: a folder where the run's artifacts and logs are kept; without it they are removed.
    Never raises for a bad submission: the problem is in the result's status and reason.
    """
    try:
        program = read_program(code)
    except SubmissionError as error:
        return _not_run(RunStatus.ERROR, str(error))
    problem = program.syntax_error()
    if problem is not None:
        cell, line = program.locate(problem.lineno or 0)
        where = f"cell {cell}, line {line}" if cell else f"line {line}"
        return _not_run(RunStatus.ERROR, f"SyntaxError at {where}: {problem.msg}",
                        trace=({"kind": "exception", "type": "SyntaxError", "message": problem.msg,
                                "file": code.name, "line": line, "cell": cell},))
    isolation = available_isolation(settings.isolation)
    work = Path(tempfile.mkdtemp(prefix=f"grade-{os.getpid()}-", dir=settings.work_root))
    try:
        return _run_in(work, program, settings, isolation, keep, files)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def sweep_stale_scratch(root: Path | None = None) -> list[Path]:
    """Remove scratch folders left by graders that were killed mid-run (their process is gone).

    Each folder is named ``grade-<grader pid>-...``; folders of live graders are kept. Returns
    what was removed."""
    removed = []
    for folder in Path(root or tempfile.gettempdir()).glob("grade-*-*"):
        pid = folder.name.split("-")[1]
        if not pid.isdigit() or folder.is_symlink() or not folder.is_dir() or _alive(int(pid)):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def _not_run(status: RunStatus, reason: str, trace: tuple[dict[str, Any], ...] = ()) -> RunResult:
    return RunResult(status, reason, None, 0.0, "", "", trace)


def _dataset(settings: RunSettings) -> tuple[SyntheticDataset | Path, str, Path]:
    ensure_offline_assets(settings.cache)
    if settings.data is not None:
        return settings.data, str(settings.data), ensure_zip(settings.cache)
    return ensure_dataset(settings.cache), "synthetic", ensure_zip(settings.cache)


def _run_in(work: Path, program: Program, settings: RunSettings, isolation: Isolation, keep: Path | None,
            files: tuple[Path, ...] | None) -> RunResult:
    scratch, control, logs = work / "scratch", work / "control", work / "logs"
    if files is None:
        shutil.copytree(program.origin.parent, scratch, symlinks=False, ignore=_ignore_large)
    else:
        scratch.mkdir()
        for path in files:
            shutil.copy2(path, scratch / path.name)
    control.mkdir()
    script = scratch / (program.origin.name + (".py" if program.kind == "notebook" else ""))
    script.write_text(program.source, encoding="utf-8")
    (scratch / ".grader" / "artifacts").mkdir(parents=True)
    (scratch / "home").mkdir(exist_ok=True)
    key = secrets.token_bytes(32)  # signs the trace; only the harness (and this process) know it
    dataset, data_kind, zip_path = _dataset(settings)
    root = dataset.root if isinstance(dataset, SyntheticDataset) else dataset
    cache = settings.cache or cache_root()
    config = HarnessConfig(
        script=str(script), workdir=str(scratch), trace=str(scratch / ".grader" / "trace.jsonl"),
        artifacts=str(scratch / ".grader" / "artifacts"), data_root=str(root), data_kind=data_kind,
        data_zip=str(zip_path), weights_cache=str(cache),
        weights_file=str(settings.weights_file) if settings.weights_file else None,
        epochs=settings.budget.epochs, steps_per_epoch=settings.budget.steps_per_epoch,
        fine_tune_steps_per_epoch=settings.budget.fine_tune_steps_per_epoch,
        eval_steps=settings.budget.eval_steps, seed=settings.seed, save_models=settings.save_models,
        key_fd=_key_pipe(key))
    config.write(control / "config.json")
    env = {**_child_env(scratch, isolation, settings), "GRADER_CACHE": str(cache)}
    readable = [control, root, zip_path.parent, cache / "weights"]
    if settings.weights_file:
        readable.append(settings.weights_file)
    command = _grader_command(["grader.harness", str(control / "config.json")], scratch, readable, env, isolation)
    limits = replace(settings.limits, timeout_seconds=settings.budget.timeout_seconds)
    artifacts = scratch / ".grader" / "artifacts"
    inspector = _start_inspector(artifacts, work / "inspect", settings, isolation) if settings.save_models else None
    outcome = run_child(command, scratch, env, limits, logs, pass_fds=(config.key_fd,))
    result = _result(outcome, scratch, program, isolation, key)
    if inspector is not None:
        result = _confirm(result, artifacts, inspector)
    if keep is None:
        return replace(result, artifacts=())
    return replace(result, artifacts=_keep(scratch, logs, keep))


_INSPECT_SECONDS = 180.0  # after the run's own time limit
_MAX_INSPECTION_BYTES = 4 * 2**20


@dataclass(frozen=True)
class _Inspector:
    child: StartedChild
    report: Path


def _start_inspector(artifacts: Path, inspect: Path, settings: RunSettings, isolation: Isolation) -> _Inspector:
    """Start ``grader.inspector`` beside the run, in the sandbox (the files are untrusted; the code is ours).

    It imports TensorFlow and loads each saved model while the run goes on; ``_confirm`` sends
    the request once the run has ended."""
    inspect.mkdir()
    report = inspect / "inspection.json"
    env = _child_env(inspect, isolation, settings)
    command = _grader_command(["grader.inspector", str(artifacts), str(inspect), str(report)], inspect, [artifacts],
                              env, isolation)
    limits = replace(settings.limits, timeout_seconds=settings.budget.timeout_seconds + _INSPECT_SECONDS)
    return _Inspector(start_child(command, inspect, env, limits, inspect.parent / "inspect-logs", stdin_pipe=True),
                      report)


def _confirm(result: RunResult, artifacts: Path, inspector: _Inspector) -> RunResult:
    """Check the trace against the saved models, as the inspector read them; the trace loses where
    they differ."""
    intact, tampered = artifact_digests(artifacts, result.trace)
    request = {"artifacts": [path.name for path in intact], "bases": base_names(result.trace)}
    outcome = finish_child(inspector.child, json.dumps(request).encode())
    inspected, problem = _read_inspection(outcome, inspector.report) if intact else ({}, "")
    tampered += inspection_mismatches(result.trace, inspected)
    events, integrity = reconcile(result.trace, inspected, tampered)
    if problem and integrity.status != "tampered":
        integrity = Integrity("unverified", (problem,))
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


_NOT_COPIED = {"grading-results", ".grader", "__pycache__", ".git", ".venv", "venv", "env", "node_modules",
               ".ipynb_checkpoints", "data", "dataset", "datasets", "cats_and_dogs_filtered", "PetImages",
               "training_set", "test_set"}
_MAX_COPIED_FILE = 5 * 2**20


def _key_pipe(key: bytes) -> int:
    """A pipe's read end holding ``key``: the harness reads and closes it before student code runs."""
    read_end, write_end = os.pipe()
    os.write(write_end, key)
    os.close(write_end)
    return read_end


def _ignore_large(folder: str, names: list[str]) -> list[str]:
    """Leave out what a run never needs: data sets (the harness serves its own), environments,
    earlier grading output, and files over 5 MiB (a student's own folder may be their Downloads)."""
    skipped = []
    for name in names:
        path = Path(folder) / name
        if name in _NOT_COPIED or (path.is_file() and path.stat().st_size > _MAX_COPIED_FILE):
            skipped.append(name)
    return skipped


def _grader_command(module: list[str], writable: Path, readable: list[Path], env: dict[str, str],
                    isolation: Isolation) -> list[str]:
    """``python -m`` one of the grader's modules as a child: under bwrap, it sees only the Python
    environment, the ``grader`` package, ``readable`` (read-only) and ``writable``; when the grader
    is root, ``writable`` is given to a user id of the child's own, which it runs as."""
    command = [python_executable(), "-m", *module]
    uid = run_uid() if drops_privileges(isolation) else None
    if uid is not None:
        prepare_scratch_owner(writable, uid)
    if isolation != "bwrap":
        return command
    python = [Path(p) for p in {sys.prefix, sys.base_prefix, sys.exec_prefix}]
    return _with_grader_mount(bwrap_command(command, writable, python + readable, env, uid))


def _with_grader_mount(command: list[str]) -> list[str]:
    """Bind only the ``grader`` package (not its repository: rubrics and tests stay out of reach)."""
    package = Path(grader.__file__).resolve().parent
    split = command.index("--clearenv")
    mount = ["--perms", "0755", "--dir", str(_GRADER_MOUNT.parent), "--perms", "0755", "--dir", str(_GRADER_MOUNT),
             "--ro-bind", str(package), str(_GRADER_MOUNT / "grader")]
    return command[:split] + mount + command[split:]


def _child_env(scratch: Path, isolation: Isolation, settings: RunSettings) -> dict[str, str]:
    home = scratch / "home"
    grader_path = _GRADER_MOUNT if isolation == "bwrap" else Path(grader.__file__).resolve().parent.parent
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "KERAS_HOME": str(home / ".keras"),
        "MPLCONFIGDIR": str(home / ".matplotlib"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "MPLBACKEND": "Agg",
        "PYTHONPATH": str(grader_path),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "PYTHONUNBUFFERED": "1",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "TF_DETERMINISTIC_OPS": "1",  # grading the same submission twice gives the same result
        "CUDA_VISIBLE_DEVICES": "",
        "NO_COLOR": "1",
        "LANG": "C.UTF-8",
        **settings.extra_env,
    }


@dataclass(frozen=True)
class Trace:
    """A parsed trace: the harness's events, and how many lines were not (forged, or cut by a kill)."""

    events: tuple[dict[str, Any], ...]
    truncated: bool
    forged: int


def read_trace(path: Path, key: bytes) -> Trace:
    """Parse a JSON-lines trace (at most ``_MAX_TRACE_BYTES`` and ``_MAX_EVENTS``), keeping only
    lines signed with ``key`` whose sequence numbers increase. A last line cut short by a kill is
    truncation; any other line that fails is counted as forged."""
    if not path.is_file():
        return Trace((), False, 0)
    events: list[dict[str, Any]] = []
    truncated = path.stat().st_size > _MAX_TRACE_BYTES
    forged, last_seq = 0, 0
    with open(path, "rb") as handle:
        lines = handle.read(_MAX_TRACE_BYTES).split(b"\n")
    for number, raw in enumerate(lines):
        if not raw.strip():
            continue
        text, _, mac = raw.decode("utf-8", "replace").rpartition("\t")
        try:
            event = json.loads(text) if verify(text, mac, key) else None
        except ValueError:
            event = None
        if not isinstance(event, dict) or not isinstance(event.get("seq"), int) or event["seq"] <= last_seq:
            if number == len(lines) - 1:
                truncated = True
            else:
                forged += 1
            continue
        last_seq = event["seq"]
        events.append(event)
        if len(events) >= _MAX_EVENTS:
            return Trace(tuple(events), True, forged)
    return Trace(tuple(events), truncated, forged)


def _locate_events(events: tuple[dict[str, Any], ...], program: Program, script_name: str) -> tuple[dict[str, Any], ...]:
    """Point events at what the student wrote: the notebook's cell and line, not the joined script."""
    if program.kind != "notebook":
        return events
    located = []
    for event in events:
        if event.get("file") == script_name and isinstance(event.get("line"), int):
            cell, line = program.locate(event["line"])
            event = {**event, "file": program.origin.name, "cell": cell, "line": line}
        located.append(event)
    return tuple(located)


def _result(outcome: ChildOutcome, scratch: Path, program: Program, isolation: Isolation, key: bytes) -> RunResult:
    script_name = program.origin.name + (".py" if program.kind == "notebook" else "")
    trace = read_trace(scratch / ".grader" / "trace.jsonl", key)
    events = _locate_events(trace.events, program, script_name)
    status, reason = classify(outcome, events)
    accommodations = [event["message"] for event in events if event.get("kind") == "accommodation"]
    if program.neutralised:
        accommodations.append(f"{len(program.neutralised)} IPython magic or shell line(s) not run")
    if program.encoding_note:
        accommodations.append(program.encoding_note)
    artifacts = tuple(sorted(str(p) for p in (scratch / ".grader" / "artifacts").glob("*.keras")))
    return RunResult(status, reason, outcome.returncode, round(outcome.duration, 2), outcome.stdout[-8000:],
                     outcome.stderr[-8000:], events, artifacts, isolation, tuple(accommodations), trace.truncated,
                     trace.forged)


def classify(outcome: ChildOutcome, events: tuple[dict[str, Any], ...]) -> tuple[RunStatus, str]:
    """Decide the run's status and a one-line reason from how the child ended and what it recorded."""
    kinds = {event.get("kind") for event in events}
    exception = next((e for e in reversed(events) if e.get("kind") == "exception"), None)
    if outcome.signal_name is None and not kinds & {"end", "exit"}:
        outcome = replace(outcome, signal_name=_signal_from_exit_code(outcome.returncode))
    if outcome.timed_out:
        last = next((e for e in reversed(events) if e.get("line")), None)
        where = f"; last recorded at line {last['line']} ({last['kind']})" if last else ""
        return RunStatus.TIMEOUT, f"did not finish within the time limit{where}"
    if "harness_start" not in kinds:
        return RunStatus.INTERNAL_ERROR, ("the grader's harness did not start: "
                                          + (outcome.stderr.strip().splitlines() or ["no output"])[-1][:300])
    if exception is not None and exception.get("type") == "MemoryError":
        return RunStatus.LIMIT, f"memory limit reached{_at(exception)}"
    if exception is not None and "File too large" in str(exception.get("message")):
        return RunStatus.LIMIT, f"file size limit reached (output or files too large){_at(exception)}"
    if exception is not None and exception.get("type") == "BlockingIOError" and "fork" in str(exception.get("traceback")):
        return RunStatus.LIMIT, f"process limit reached{_at(exception)}"
    if outcome.signal_name in _CRASH_SIGNALS:
        return RunStatus.ERROR, f"the Python process crashed ({_CRASH_SIGNALS[outcome.signal_name]}, {outcome.signal_name})"
    if outcome.signal_name in _LIMIT_SIGNALS or outcome.signal_name == "SIGKILL":
        what = _LIMIT_SIGNALS.get(outcome.signal_name, "killed (out of memory or a limit)")
        return RunStatus.LIMIT, f"{what} ({outcome.signal_name})"
    if exception is not None:
        return RunStatus.ERROR, f"{exception.get('type')}{_at(exception)}: {str(exception.get('message'))[:300]}"
    if outcome.returncode not in (0, None):
        return RunStatus.ERROR, f"exited with code {outcome.returncode}"
    if "end" not in kinds and "exit" not in kinds:
        return RunStatus.COMPLETED, "exited abruptly (os._exit or similar) before the harness's end record"
    return RunStatus.COMPLETED, "ran to its end"


def _signal_from_exit_code(code: int | None) -> str | None:
    """bwrap reports a child killed by signal N as exit code 128 + N."""
    if code is None or not 128 < code < 128 + 65:
        return None
    try:
        return signal.Signals(code - 128).name
    except ValueError:
        return None


def _at(event: dict[str, Any]) -> str:
    if not event.get("line"):
        return ""
    cell = f"cell {event['cell']}, " if event.get("cell") else ""
    return f" at {event.get('file')}, {cell}line {event['line']}"


def _keep(scratch: Path, logs: Path, keep: Path) -> tuple[str, ...]:
    """Copy artifacts, logs and the trace out of the scratch folder; return the artifacts' new paths."""
    keep.mkdir(parents=True, exist_ok=True)
    kept = []
    for artifact in sorted((scratch / ".grader" / "artifacts").glob("*.keras")):
        shutil.copy2(artifact, keep / artifact.name)
        kept.append(str(keep / artifact.name))
    for name in ("stdout", "stderr"):
        if (logs / name).exists():
            shutil.copy2(logs / name, keep / f"{name}.txt")
    trace = scratch / ".grader" / "trace.jsonl"
    if trace.exists():
        shutil.copy2(trace, keep / "trace.jsonl")
    return tuple(kept)
