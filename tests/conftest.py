"""Shared, session-scoped fixtures: one rubric, one synthetic dataset, one stand-in weights file,
and each fixture submission graded at most once per session (in parallel, two at a time)."""

from __future__ import annotations

import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

FIXTURES = Path(__file__).parent / "fixtures"
SUBMISSIONS = FIXTURES / "submissions"
REPOSITORY = Path(__file__).parent.parent


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-goldens", action="store_true", help="rewrite golden files from current output")


@pytest.fixture(scope="session")
def update_goldens(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-goldens"))


@pytest.fixture(scope="session")
def rubric():
    from grader.rubric import load_rubric

    return load_rubric()


class GradedCorpus:
    """Grades submissions on demand, each once per session; runs up to two at a time."""

    def __init__(self, rubric) -> None:  # noqa: ANN001
        from grader.runner import RunSettings

        self._rubric = rubric
        # Saved models are not needed to judge checks; leaving them out keeps the suite faster.
        self._settings = RunSettings(budget=rubric.budget, save_models=False)
        self._pool = ThreadPoolExecutor(max_workers=2)
        self._futures: dict[Path, Future] = {}
        self._lock = threading.Lock()

    def submit(self, code: Path) -> Future:
        """Start collecting the evidence of ``code`` (once per session)."""
        from grader.grading import collect_evidence
        from grader.results import Submission

        with self._lock:
            if code not in self._futures:
                submission = Submission(code.parent.name, code, code.parent)
                self._futures[code] = self._pool.submit(collect_evidence, submission, self._settings)
            return self._futures[code]

    def evidence(self, code: Path):  # noqa: ANN201
        return self.submit(code).result()

    def grade(self, code: Path):  # noqa: ANN201
        from grader.grading import grade_evidence
        from grader.results import Submission

        submission = Submission(code.parent.name, code, code.parent)
        return grade_evidence(code.parent.name, self.evidence(code), self._rubric, self._settings, submission)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


@pytest.fixture(scope="session")
def corpus(rubric):
    graded = GradedCorpus(rubric)
    yield graded
    graded.close()


def code_file(name: str) -> Path:
    """The code file of fixture submission ``name`` (a folder under fixtures/submissions)."""
    folder = SUBMISSIONS / name
    files = sorted(p for p in folder.iterdir() if p.suffix in (".py", ".ipynb"))
    assert files, f"fixture {name} has no code file"
    return files[0]
