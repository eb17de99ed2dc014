"""Grade a class: one self-contained function per submission, handed to an executor.

Each result is saved atomically as soon as it is known, with a fingerprint of the submission's
files, the rubric and the settings; running the batch again skips what is unchanged (``force``
re-runs), so a batch killed at any moment loses nothing and grades nothing twice. A failed
submission never stops the batch. The executor is a local thread pool (the work happens in
child processes); another executor with ``submit`` can take its place.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, Future, ThreadPoolExecutor, as_completed
from dataclasses import asdict
from pathlib import Path

import grader
from grader.atomic import write_text
from grader.grading import grade_submission
from grader.results import Grade, Submission
from grader.rubric import Rubric
from grader.run.scratch import sweep_stale_scratch
from grader.run.settings import RunSettings

Progress = Callable[[str, Grade | None], None]  # (submission id, grade when finished)


def default_jobs() -> int:
    """Parallel runs the machine allows: one per two cores, and one per 6 GiB of memory, at least one."""
    cores = os.cpu_count() or 1
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        memory = 8 * 2**30
    return max(1, min(cores // 2, memory // (6 * 2**30)))


def fingerprint(submission: Submission, rubric: Rubric, settings: RunSettings) -> str:
    """A hash of everything a grade depends on: files, rubric, settings, grader version."""
    digest = hashlib.sha256(f"{grader.__version__}\n{rubric.source}\n{asdict(settings)!r}".encode())
    if rubric.source and Path(rubric.source).is_file():
        digest.update(Path(rubric.source).read_bytes())
    for path in (submission.code, submission.answers, *submission.extra_files):
        if path is not None and path.is_file():
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _result_path(out: Path, submission: Submission) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in submission.id)
    return out / "submissions" / f"{safe}.json"


def load_saved(out: Path, submission: Submission, expected: str) -> Grade | None:
    """The saved grade of ``submission`` if its fingerprint still matches, else None. A grade of a
    run the environment stopped (a module it lacked) is not reused once that module is installed."""
    path = _result_path(out, submission)
    try:
        saved = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if saved.get("fingerprint") != expected:
        return None
    missing = (saved.get("environment") or {}).get("missing_module")
    if missing and _installed(str(missing)):
        return None
    return Grade.from_dict(saved["grade"], saved.get("environment"))


def _installed(module: str) -> bool:
    """Whether ``module`` can be imported here now (the child runs with this Python environment)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def save(out: Path, submission: Submission, grade: Grade, digest: str) -> None:
    """Write one submission's grade atomically (a kill leaves the old file or the new, never half)."""
    document = {"fingerprint": digest, "grade": grade.to_dict(), "environment": grade.environment}
    write_text(_result_path(out, submission), json.dumps(document))


def grade_batch(submissions: Iterable[Submission], rubric: Rubric, settings: RunSettings, out: Path, *,
                jobs: int = 1, force: bool = False, progress: Progress | None = None,
                executor: Executor | None = None) -> list[Grade]:
    """Grade every submission (reusing unchanged saved results unless ``force``); keep their order."""
    sweep_stale_scratch(settings.work_root)  # an earlier grader killed mid-run could not clean up
    submissions = list(submissions)
    results: dict[str, Grade] = {}
    pending: list[tuple[Submission, str]] = []  # with their fingerprints
    for submission in submissions:
        expected = fingerprint(submission, rubric, settings)
        saved = None if force else load_saved(out, submission, expected)
        if saved is not None:
            results[submission.id] = saved
            if progress:
                progress(submission.id, saved)
        else:
            pending.append((submission, expected))
    own = executor is None
    pool = executor or ThreadPoolExecutor(max_workers=max(1, jobs))
    try:
        futures: dict[Future, tuple[Submission, str]] = {
            pool.submit(grade_submission, submission, rubric, settings): (submission, expected)
            for submission, expected in pending}
        for future in as_completed(futures):
            submission, expected = futures[future]
            grade = future.result()  # grade_submission never raises
            save(out, submission, grade, expected)
            results[submission.id] = grade
            if progress:
                progress(submission.id, grade)
    finally:
        if own:
            pool.shutdown(wait=True, cancel_futures=True)
    return [results[s.id] for s in submissions if s.id in results]
