"""How a run ended, in one status and one sentence, from the process's end and its trace."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re
import signal
from dataclasses import replace
from typing import Any

from grader.results import RunStatus
from grader.run.memory import in_gib
from grader.run.sandbox import ChildOutcome
from grader.shared.keras2 import MissingModule, advise

_LIMIT_SIGNALS = {"SIGXCPU": "CPU time limit", "SIGXFSZ": "file size limit (output or files too large)"}
_CRASH_SIGNALS = {"SIGSEGV": "segmentation fault", "SIGBUS": "bus error", "SIGABRT": "aborted", "SIGILL": "illegal instruction"}
_TENSOR = re.compile(r"OOM when allocating tensor with shape\s*(\[[\d, ]*\])")
# A native library whose allocation fails crashes or says so in its own words; near the limit, the
# limit is the likelier cause than the script.
_NATIVE_ALLOCATION = ("could not create a primitive", "std::bad_alloc", "Cannot allocate memory", "failed to allocate")
_NEAR_LIMIT = 0.85


def classify(outcome: ChildOutcome, events: tuple[dict[str, Any], ...]) -> tuple[RunStatus, str]:
    """Decide the run's status and a one-line reason from how the child ended and what it recorded."""
    kinds = {event.get("kind") for event in events}
    exception = next((e for e in reversed(events) if e.get("kind") == "exception"), None)
    if outcome.signal_name is None and not kinds & {"end", "exit"}:
        outcome = replace(outcome, signal_name=_signal_from_exit_code(outcome.returncode))
    if outcome.timed_out:
        last = next((e for e in reversed(events) if e.get("line")), None)
        where = f"; last recorded at line {last['line']} ({last['kind']})" if last else ""
        # Stopped at its limit, so its duration is the limit it had (a slow base's raised one too).
        return RunStatus.TIMEOUT, (f"did not finish within the time limit ({outcome.duration:.0f} s){where}"
                                   f"{_unfinished(events)}")
    if outcome.memory is not None and outcome.memory.exceeded:
        return RunStatus.LIMIT, f"{_used_more(outcome)}{_doing(events)}"
    if "harness_start" not in kinds:
        return RunStatus.INTERNAL_ERROR, ("the grader's harness did not start: "
                                          + (outcome.stderr.strip().splitlines() or ["no output"])[-1][:300])
    limit = _memory_reached(outcome, exception, events) or _limit_reached(exception)
    if limit:
        return RunStatus.LIMIT, limit
    if outcome.signal_name in _CRASH_SIGNALS:
        return RunStatus.ERROR, f"the Python process crashed ({_CRASH_SIGNALS[outcome.signal_name]}, {outcome.signal_name})"
    if outcome.signal_name in _LIMIT_SIGNALS or outcome.signal_name == "SIGKILL":
        what = _LIMIT_SIGNALS.get(outcome.signal_name, "killed (out of memory or a limit)")
        return RunStatus.LIMIT, f"{what} ({outcome.signal_name})"
    missing = missing_module(events)
    if missing is not None:
        joint = ", " if missing.package else ": "  # "..., which the environment lacks" / ": a module that ..."
        return RunStatus.ERROR, f"imports `{missing.module}`{_at(exception or {})}{joint}{missing.advice}"
    if exception is not None:
        return RunStatus.ERROR, f"{exception.get('type')}{_at(exception)}: {str(exception.get('message'))[:300]}"
    if outcome.returncode not in (0, None):
        return RunStatus.ERROR, f"exited with code {outcome.returncode}"
    if "end" not in kinds and "exit" not in kinds:
        return RunStatus.COMPLETED, "exited abruptly (os._exit or similar) before the harness's end record"
    return RunStatus.COMPLETED, "ran to its end"


_NO_MODULE = re.compile(r"No module named '([\w.]+)'")


def missing_module(events: tuple[dict[str, Any], ...]) -> MissingModule | None:
    """The module whose absence stopped the run (``ModuleNotFoundError``), named in full, with the
    package to install ("" when an installed package lost it or nothing replaces it), or None."""
    exception = next((e for e in reversed(events) if e.get("kind") == "exception"), None)
    if exception is None or exception.get("type") != "ModuleNotFoundError":
        return None
    found = _NO_MODULE.search(str(exception.get("message")))
    if not found:
        return None
    module = found.group(1)
    top = module.split(".")[0]
    installed = {top} if _installed(top) else set()
    return advise(module, installed, {top: _version(top)} if installed else {})


def _installed(top: str) -> bool:
    """Whether top-level ``top`` imports here (the child runs with this Python environment)."""
    try:
        return importlib.util.find_spec(top) is not None
    except (ImportError, ValueError):
        return False


def _version(top: str) -> str:
    """The installed version of the distribution providing ``top`` ("" when unknown)."""
    try:
        return importlib.metadata.version(top)
    except importlib.metadata.PackageNotFoundError:
        return ""


def _used_more(outcome: ChildOutcome) -> str:
    limit = outcome.memory.limit if outcome.memory is not None else 0
    return f"the run used more than {in_gib(limit)} of memory (the limit)" if limit else "the run ran out of memory"


def _memory_reached(outcome: ChildOutcome, exception: dict[str, Any] | None,
                    events: tuple[dict[str, Any], ...]) -> str:
    """The memory limit, when the run's end shows it reached it: an allocation refused in Python
    (``MemoryError``) or in TensorFlow (its message names the tensor), or a native failure or a
    crash when the run was near the limit; else ""."""
    message = str((exception or {}).get("message"))
    tensor = _TENSOR.search(message)
    near = outcome.memory is not None and outcome.memory.peak >= _NEAR_LIMIT * outcome.memory.limit
    at = _at(exception or {})
    if tensor or (exception or {}).get("type") == "MemoryError":
        shape = f", allocating a tensor of shape {tensor.group(1).replace(' ', '')}" if tensor else ""
        return f"{_used_more(outcome)}{at}{shape}{_doing(events)}"
    if near and (outcome.signal_name in _CRASH_SIGNALS or any(words in message for words in _NATIVE_ALLOCATION)):
        how = f"crashed ({outcome.signal_name})" if outcome.signal_name in _CRASH_SIGNALS else "failed to allocate"
        return f"{_used_more(outcome)}: it {how} at {in_gib(outcome.memory.peak)}{at}{_doing(events)}"
    return ""


def _doing(events: tuple[dict[str, Any], ...]) -> str:
    """What the run was doing when it stopped: building a base (and its weights), or a fit."""
    last = next((e for e in reversed(events) if e.get("kind") in ("application_start", "application", "fit_start",
                                                                   "fit")), None)
    if last is None:
        return ""
    if last["kind"] == "application_start":
        return f" while building {last.get('architecture')} and its weights (input {last.get('input_shape')})"
    return _unfinished(events)


def _unfinished(events: tuple[dict[str, Any], ...]) -> str:
    """`` in the first fit (line 40), which had not finished``: the fit the run was in, or ""."""
    started = {e.get("phase"): e for e in events if e.get("kind") == "fit_start"}
    finished = {e.get("phase") for e in events if e.get("kind") == "fit"}
    open_fits = [phase for phase in started if phase not in finished]
    building = [e for e in events if e.get("kind") in ("application_start", "application")]
    if not open_fits:
        if building and building[-1]["kind"] == "application_start":
            return f"; it was building {building[-1].get('architecture')} and its weights"
        return ""
    phase = open_fits[-1]
    ordinal = {1: "first", 2: "second", 3: "third"}.get(phase, f"{phase}th")
    budget = started[phase].get("budget") or {}
    steps = f", at the grading budget of {budget.get('steps_per_epoch')} steps" if budget.get("steps_per_epoch") else ""
    line = f" (line {started[phase]['line']})" if started[phase].get("line") else ""
    return f"; the {ordinal} fit{line} had not finished{steps}"


def _limit_reached(exception: dict[str, Any] | None) -> str:
    """The limit an exception shows the run reached (file size, processes), or ""."""
    if exception is None:
        return ""
    if "File too large" in str(exception.get("message")):
        return f"file size limit reached (output or files too large){_at(exception)}"
    if exception.get("type") == "BlockingIOError" and "fork" in str(exception.get("traceback")):
        return f"process limit reached{_at(exception)}"
    return ""


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
