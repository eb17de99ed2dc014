"""Run one submission's code in the sandbox and return what it built and did as a ``RunResult``.

The parent never unpickles or executes anything the child wrote and never reads results from
the child's stdout: it reads the signed JSON trace (size-capped) and has the saved ``.keras``
models read by the trusted inspector.
"""

from __future__ import annotations

import os
import secrets
import shutil
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from grader.cache import cache_root
from grader.errors import SubmissionError
from grader.intake import Program, read_program
from grader.offline.prepare import Base, ensure_offline_assets
from grader.offline.synthetic import (ensure_dataset, ensure_flowers, ensure_petimages_zip, ensure_tfds_cats_vs_dogs,
                                      ensure_zip)
from grader.results import RunResult, RunStatus
from grader.run.command import child_env, grader_command
from grader.run.inspection import confirm, start_inspector
from grader.run.outcome import classify, missing_module
from grader.run.sandbox import ChildOutcome, Isolation, available_isolation, run_child
from grader.run.scratch import fill_scratch, keep_outputs, make_work_folder
from grader.run.settings import RunSettings
from grader.run.trace import locate_events, read_trace
from grader.shared.budget import HarnessConfig
from grader.shared.cost import step_cost, time_factor
from grader.shared.layout import NOTEBOOK_HOMES, Scratch
from grader.static import scan


def run_submission(code: Path, settings: RunSettings, keep: Path | None = None,
                   files: tuple[Path, ...] | None = None) -> RunResult:
    """Read ``code`` (a ``.py`` or ``.ipynb``) and run it; see ``run_program``. Never raises for a
    bad submission: an unreadable file is a result with status ``error``."""
    try:
        program = read_program(code)
    except SubmissionError as error:
        return not_run(RunStatus.ERROR, str(error))
    return run_program(program, settings, keep, files)


def run_program(program: Program, settings: RunSettings, keep: Path | None = None,
                files: tuple[Path, ...] | None = None) -> RunResult:
    """Run ``program`` in the sandbox, in a scratch copy of its folder.

    ``files``: copy only these beside it (a flat or LMS layout, where the folder holds other
    students' work); by default the code's folder is copied, less data sets and large files.
    ``keep``: a folder where the run's artifacts and logs are kept; without it they are removed.
    Never raises for a bad submission: the problem is in the result's status and reason.
    """
    problem = program.syntax_error()
    if problem is not None:
        cell, line = program.locate(problem.lineno or 0)
        where = f"cell {cell}, line {line}" if cell else f"line {line}"
        return not_run(RunStatus.ERROR, f"SyntaxError at {where}: {problem.msg}",
                       trace=({"kind": "exception", "type": "SyntaxError", "message": problem.msg,
                               "file": program.origin.name, "line": line, "cell": cell},))
    isolation = available_isolation(settings.isolation)
    work = make_work_folder(settings.work_root)
    try:
        return _run_in(work, program, settings, isolation, keep, files)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def not_run(status: RunStatus, reason: str, trace: tuple[dict[str, Any], ...] = ()) -> RunResult:
    """The result of a submission whose code never started."""
    return RunResult(status, reason, None, 0.0, "", "", trace)


@dataclass(frozen=True)
class DataSource:
    """The dataset runs are served: its folder, what to call it in reports, and its archives."""

    root: Path
    kind: str  # "synthetic" or the real folder's path
    zip: Path  # the tutorial's download, cats_and_dogs_filtered/{train,validation}/{cats,dogs}
    petimages: Path | None = None  # Microsoft's PetImages/{Cat,Dog}, made only for scripts that name it
    flowers: Path | None = None  # TensorFlow's flower_photos/{daisy,...}, made only for scripts that name it
    tfds_pets: Path | None = None  # tfds cats_vs_dogs's 23,262 images, made only for scripts that load it


_PETIMAGES_NAMES = ("petimages", "kagglecatsanddogs")
_FLOWERS_NAMES = ("flower_photos", "tf_flowers")
_MAKING = threading.Lock()


def data_source(settings: RunSettings, program: Program, bases: tuple[Base, ...]) -> DataSource:
    """The real folder given with ``--data``, else the synthetic dataset (made once, cached); the
    PetImages archive and the flower photos too when the program names them. The stand-in weights
    of ``bases`` (``run_bases``) are made first, outside the sandbox."""
    ensure_offline_assets(settings.cache, bases)
    archive = ensure_zip(settings.cache)
    source = program.source.lower()
    with _MAKING:  # two runs starting together must not draw one dataset into the same staging folder
        petimages = ensure_petimages_zip(settings.cache) if any(name in source for name in _PETIMAGES_NAMES) else None
        flowers = ensure_flowers(settings.cache) if any(name in source for name in _FLOWERS_NAMES) else None
        if settings.data is not None:  # tfds's cats_vs_dogs is then read from the real folder
            return DataSource(settings.data, str(settings.data), archive, petimages, flowers)
        tfds_pets = (ensure_tfds_cats_vs_dogs(settings.cache)
                     if "cats_vs_dogs" in source and "tensorflow_datasets" in source else None)
    return DataSource(ensure_dataset(settings.cache).root, "synthetic", archive, petimages, flowers, tfds_pets)


_SOURCE_BASES = 2  # the source is untrusted: what it makes the grader build outside the sandbox is bounded
_SOURCE_SIDE = 331  # the largest usual size (NASNetLarge); InceptionV3's and Xception's 299 are within


def run_bases(settings: RunSettings, program: Program) -> tuple[Base, ...]:
    """The bases a run of ``program`` builds as far as is known before it: the lab's, and those
    its source builds (``bases_built``)."""
    return ((settings.base,) if settings.base else ()) + bases_built(program)


def bases_built(program: Program) -> tuple[tuple[str, tuple[int, int, int], bool], ...]:
    """The ``keras.applications`` bases the source builds with ImageNet weights, at an input shape
    written in it (``input_shape=(224, 224, 3)``, or through module constants), with or without
    their top (a top keeps ImageNet's 1,000 classes): at most two, each side at most 331."""
    found = []
    for fact in scan(program).of("application"):
        shape, details = fact.details.get("input_shape"), fact.details
        include_top = details.get("include_top", True)
        if (details.get("weights", "imagenet") == "imagenet" and include_top in (True, False)
                and details.get("classes", 1000) == 1000
                and isinstance(shape, tuple) and len(shape) == 3 and all(isinstance(v, int) for v in shape)
                and shape[2] == 3 and 32 <= min(shape[:2]) and max(shape[:2]) <= _SOURCE_SIDE):
            found.append((fact.name, shape, include_top))
    return tuple(dict.fromkeys(found))[:_SOURCE_BASES]


def _run_in(work: Path, program: Program, settings: RunSettings, isolation: Isolation, keep: Path | None,
            files: tuple[Path, ...] | None) -> RunResult:
    scratch, control, logs = Scratch(work / "scratch"), work / "control", work / "logs"
    bases = run_bases(settings, program)
    settings, notes = _time_for_bases(settings, bases)
    script = fill_scratch(scratch, program, files)
    control.mkdir()
    key = secrets.token_bytes(32)  # signs the trace; only the harness (and this process) know it
    data = data_source(settings, program, bases)
    cache = settings.cache or cache_root()
    config = HarnessConfig(
        script=str(script), workdir=str(scratch.root), data_root=str(data.root), data_kind=data.kind,
        data_zip=str(data.zip), weights_cache=str(cache), seed=settings.seed, budget=settings.budget,
        weights_file=str(settings.weights_file) if settings.weights_file else None,
        petimages_zip=str(data.petimages) if data.petimages else None,
        flowers_root=str(data.flowers) if data.flowers else None,
        tfds_pets_root=str(data.tfds_pets) if data.tfds_pets else None,
        save_models=settings.save_models, key_fd=_key_pipe(key))
    config.write(control / "config.json")
    env = {**child_env(scratch.home, isolation, settings.extra_env), "GRADER_CACHE": str(cache)}
    readable = [control, data.root, data.zip.parent, cache / "weights"]  # the zip's folder holds every dataset
    if settings.weights_file:
        readable.append(settings.weights_file)
    command = grader_command(["grader.harness", str(control / "config.json")], scratch.root, readable, env, isolation,
                             notebook_homes=True)
    inspector = start_inspector(scratch.artifacts, work / "inspect", settings, isolation) if settings.save_models else None
    outcome = run_child(command, scratch.root, env, settings.run_limits(), settings.budget.timeout_seconds, logs,
                        pass_fds=(config.key_fd,))
    result = _result(outcome, scratch, program, isolation, key)
    result = replace(result, accommodations=result.accommodations + tuple(notes))
    if inspector is not None:
        result = confirm(result, scratch.artifacts, inspector)
    if keep is None:
        return replace(result, artifacts=())
    return replace(result, artifacts=keep_outputs(scratch, logs, keep))


def _time_for_bases(settings: RunSettings, bases: tuple[Base, ...]) -> tuple[RunSettings, list[str]]:
    """More wall time for a run building ``bases`` when one's step, cut to the fewest images, still
    costs many of the lab's (``grader.shared.cost.time_factor``), and the note that says so; none
    when the time was given (``--timeout``)."""
    if settings.timeout_fixed:
        return settings, []
    budget = settings.budget
    factors = [(time_factor(step_cost(name, shape[0], shape[1]), budget.step_images), name, shape)
               for name, shape, _ in bases]
    factor, name, shape = max(factors, default=(1.0, "", ()))
    if factor <= 1.0:
        return settings, []
    seconds = round(budget.timeout_seconds * factor)
    return replace(settings, budget=replace(budget, timeout_seconds=float(seconds))), [
        f"{name} at {shape[0]}x{shape[1]} trains slowly even on part of each batch: the run was given "
        f"{seconds} s instead of {budget.timeout_seconds:g} s"]


def _notebook_home_notes(program: Program, isolation: Isolation) -> list[str]:
    """Say where Colab's and Kaggle's folders were, for a script that uses them."""
    used = [home for home in NOTEBOOK_HOMES if home in program.source]
    if not used:
        return []
    if isolation != "bwrap":
        return [f"{', '.join(used)} do not exist here (only the bubblewrap sandbox provides them)"]
    return [f"{home} ({NOTEBOOK_HOMES[home]}'s folder) was this run's own folder" for home in used]


def _key_pipe(key: bytes) -> int:
    """A pipe's read end holding ``key``: the harness reads and closes it before student code runs."""
    read_end, write_end = os.pipe()
    os.write(write_end, key)
    os.close(write_end)
    return read_end


def _result(outcome: ChildOutcome, scratch: Scratch, program: Program, isolation: Isolation, key: bytes) -> RunResult:
    trace = read_trace(scratch.trace, key)
    events = locate_events(trace.events, program)
    status, reason = classify(outcome, events)
    accommodations = [event["message"] for event in events if event.get("kind") == "accommodation"]
    if program.neutralised:
        accommodations.append(f"{len(program.neutralised)} IPython magic or shell line(s) not run")
    if program.encoding_note:
        accommodations.append(program.encoding_note)
    accommodations += _notebook_home_notes(program, isolation)
    artifacts = tuple(str(path) for path in scratch.saved_models())
    missing = missing_module(events)
    return RunResult(status, reason, outcome.returncode, round(outcome.duration, 2), outcome.stdout[-8000:],
                     outcome.stderr[-8000:], events, artifacts, isolation, tuple(accommodations), trace.truncated,
                     trace.forged, missing_module=missing.module if missing else "",
                     missing_package=missing.package if missing else "",
                     peak_memory=outcome.memory.peak if outcome.memory is not None else 0)
