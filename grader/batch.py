"""Grade a class: one self-contained function per submission, handed to an executor.

Each result is saved atomically as soon as it is known, with the run's record it was scored from
and two fingerprints: of what the run depends on (files, run settings, grader version) and of
the rubric. Running the batch again reuses what is unchanged, rescores from the saved evidence
what only the rubric changed for (no code runs), and runs the rest (``force`` runs everything):
a batch killed at any moment loses nothing and runs nothing twice. A failed submission never
stops the batch. The executor is a local thread pool (the work happens in
child processes); another executor with ``submit`` can take its place, or a ``RemoteGrader``
(``cluster.DaskGrader``) that runs the submissions on other machines.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Literal, Protocol

import grader
from grader.atomic import write_text
from grader.grading import grade_and_record, rescore
from grader.results import Grade, RunResult, Submission
from grader.rubric import Rubric
from grader.run.scratch import sweep_stale_scratch
from grader.run.settings import RunSettings

Outcome = Literal["ran", "rescored", "reused"]
# How evidence is turned into scores, beside the rubric: raised when scoring changes without a new
# grader version (3: answers keep their text and expected error), so saved results are rescored (no runs).
SCORING = 3
Progress = Callable[[str, Grade, Outcome], None]  # (submission id, its grade, how it was obtained)


def default_jobs() -> int:
    """Parallel runs the machine allows: one per two cores, and one per 6 GiB of memory, at least one."""
    cores = os.cpu_count() or 1
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        memory = 8 * 2**30
    return max(1, min(cores // 2, memory // (6 * 2**30)))


@dataclass(frozen=True)
class Fingerprints:
    """What a saved result depends on. ``run``: the submission's files, the run settings (the
    rubric's ``[run]`` budget among them) and the grader's version: the evidence. ``rubric``: the
    rubric's contents: the scores, given the evidence."""

    run: str
    rubric: str

    def to_dict(self) -> dict[str, str]:
        return {"run": self.run, "rubric": self.rubric}


def fingerprints(submission: Submission, rubric: Rubric, settings: RunSettings) -> Fingerprints:
    """The fingerprints of ``submission`` graded with ``rubric`` and ``settings``."""
    # The stand-ins made in advance for the lab's base change no run: a rubric naming another base reruns nothing.
    run = hashlib.sha256(f"{grader.__version__}\n{asdict(replace(settings, base=None))!r}".encode())
    for path in (submission.code, submission.answers, *submission.extra_files):
        if path is not None and path.is_file():
            run.update(path.name.encode() + b"\0" + path.read_bytes())
    scores = hashlib.sha256(f"{grader.__version__}\n{SCORING}\n{rubric.source}".encode())
    if rubric.source and Path(rubric.source).is_file():
        scores.update(Path(rubric.source).read_bytes())
    return Fingerprints(run.hexdigest(), scores.hexdigest())


def _result_path(out: Path, submission: Submission) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in submission.id)
    return out / "submissions" / f"{safe}.json"


@dataclass(frozen=True)
class Saved:
    """A submission's saved result: its grade, the run's record it was scored from, the fingerprints."""

    grade: Grade
    run: dict[str, Any] | None
    fingerprints: Fingerprints


def load_saved(out: Path, submission: Submission) -> Saved | None:
    """The saved result of ``submission``, or None (absent, unreadable, or saved by an older grader)."""
    return _read_saved(_result_path(out, submission))


def load_all_saved(out: Path) -> dict[str, Saved]:
    """Every saved result in ``out``, by student id (unreadable files left out)."""
    found = (_read_saved(path) for path in sorted((out / "submissions").glob("*.json")))
    return {saved.grade.id: saved for saved in found if saved is not None}


def _read_saved(path: Path) -> Saved | None:
    try:
        saved = json.loads(path.read_text())
        prints = Fingerprints(**saved["fingerprints"])
        return Saved(Grade.from_dict(saved["grade"], saved.get("environment")), saved.get("evidence"), prints)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def reusable(saved: Saved | None, expected: Fingerprints) -> Outcome | None:
    """How a saved result can serve: ``reused`` as it is, ``rescored`` from its evidence (only the
    rubric changed), or None (run again: the files, the run settings or the grader changed, or a
    module the run lacked is installed now)."""
    if saved is None or saved.fingerprints.run != expected.run:
        return None
    module, package = saved.grade.stopped_at_import()
    if package and _installed(module.split(".")[0]):
        return None
    if saved.fingerprints.rubric == expected.rubric:
        return "reused"
    return "rescored" if saved.run is not None else None


def _installed(module: str) -> bool:
    """Whether ``module`` can be imported here now (the child runs with this Python environment)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def save(out: Path, submission: Submission, grade: Grade, run: dict[str, Any] | None, prints: Fingerprints) -> None:
    """Write one submission's grade and the run's record it was scored from, atomically (a kill
    leaves the old file or the new, never half)."""
    document = {"fingerprints": prints.to_dict(), "grade": grade.to_dict(), "environment": grade.environment,
                "evidence": run}
    write_text(_result_path(out, submission), json.dumps(document))


class RemoteGrader(Protocol):
    """Grades submissions elsewhere (``cluster.DaskGrader``), yielding each result as it ends."""

    def grade(self, submissions: list[Submission], rubric: Rubric,
              settings: RunSettings) -> Iterator[tuple[Submission, Grade, dict[str, Any] | None]]: ...


def grade_batch(submissions: Iterable[Submission], rubric: Rubric, settings: RunSettings, out: Path, *,
                jobs: int = 1, force: bool = False, progress: Progress | None = None,
                executor: Executor | None = None, remote: RemoteGrader | None = None) -> list[Grade]:
    """Grade every submission, in the given order: run what is new or changed (everything with
    ``force``), rescore from saved evidence what only the rubric changed for, reuse the rest. The
    runs happen in a local pool of ``jobs`` (or ``executor``), or on ``remote``; either way each
    result is saved here as soon as it is known."""
    sweep_stale_scratch(settings.work_root)  # an earlier grader killed mid-run could not clean up
    submissions = list(submissions)
    results: dict[str, Grade] = {}
    pending: list[tuple[Submission, Fingerprints]] = []
    for submission in submissions:
        expected = fingerprints(submission, rubric, settings)
        saved = None if force else load_saved(out, submission)
        outcome = reusable(saved, expected)
        if saved is None or outcome is None:
            pending.append((submission, expected))
            continue
        grade = saved.grade
        if outcome == "rescored":
            grade = rescore(submission, RunResult.from_dict(saved.run), rubric, settings)
            save(out, submission, grade, saved.run, expected)
        results[submission.id] = grade
        if progress:
            progress(submission.id, grade, outcome)
    if remote is not None:
        expected_of = {submission.id: expected for submission, expected in pending}
        for submission, grade, run in remote.grade([submission for submission, _ in pending], rubric, settings):
            _record(out, submission, grade, run, expected_of[submission.id], results, progress)
    else:
        results.update(_run_pending(pending, rubric, settings, out, jobs, progress, executor))
    return [results[s.id] for s in submissions if s.id in results]


def _record(out: Path, submission: Submission, grade: Grade, run: dict[str, Any] | None, expected: Fingerprints,
            results: dict[str, Grade], progress: Progress | None) -> None:
    """Save a result that has just been run, and report it."""
    save(out, submission, grade, run, expected)
    results[submission.id] = grade
    if progress:
        progress(submission.id, grade, "ran")


def _run_pending(pending: list[tuple[Submission, Fingerprints]], rubric: Rubric, settings: RunSettings, out: Path,
                 jobs: int, progress: Progress | None, executor: Executor | None) -> dict[str, Grade]:
    """Run the submissions that need it, saving each result as soon as it is known."""
    results: dict[str, Grade] = {}
    own = executor is None
    pool = executor or ThreadPoolExecutor(max_workers=max(1, jobs))
    try:
        futures: dict[Future, tuple[Submission, Fingerprints]] = {
            pool.submit(grade_and_record, submission, rubric, settings): (submission, expected)
            for submission, expected in pending}
        for future in as_completed(futures):
            submission, expected = futures[future]
            grade, run = future.result()  # grade_and_record never raises
            _record(out, submission, grade, run, expected, results, progress)
    finally:
        if own:
            pool.shutdown(wait=True, cancel_futures=True)
    return results
