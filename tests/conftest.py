"""Shared, session-scoped fixtures: one rubric, recorded evidence of every fixture submission, and
a live corpus that runs a submission at most once per session (two at a time).

Test tiers: checks, diagnosis and scoring are tested on *recorded* evidence (each fixture's run,
saved as JSON under ``fixtures/evidence/``; the static facts are read again from the source), in
milliseconds. Tests marked ``slow`` run code in the sandbox: a handful prove that live runs still
match their recordings. ``pytest --update-traces`` re-records every fixture (about an hour on two cores;
``--update-base-traces`` only the base matrix's, about half of it).
"""

from __future__ import annotations

import json
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

FIXTURES = Path(__file__).parent / "fixtures"
SUBMISSIONS = FIXTURES / "submissions"
REAL_WORLD = FIXTURES / "real_world"  # written the ways real students write the lab (Colab, Kaggle, ...)
LABS = FIXTURES / "labs"  # per shipped lab other than the first: its reference and its mutants
BASES = FIXTURES / "bases"  # the lab on each base of the matrix, and its mutant (fixtures/bases/write.py)
RECORDINGS = FIXTURES / "evidence"
# Each corpus of fixture submissions and where its recordings live.
SHIPPED_LABS = ("tf_tutorial", "flowers")  # rubrics/<lab>.toml, reference/<lab>/, fixtures/labs/<lab>/
CORPORA = {SUBMISSIONS: RECORDINGS, REAL_WORLD: RECORDINGS / "real_world",
           BASES: RECORDINGS / "bases", **{LABS / lab: RECORDINGS / "labs" / lab for lab in SHIPPED_LABS}}
REPOSITORY = Path(__file__).parent.parent


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-goldens", action="store_true", help="rewrite golden files from current output")
    parser.addoption("--update-traces", action="store_true",
                     help="re-run every fixture submission and rewrite its recorded evidence")
    parser.addoption("--update-base-traces", action="store_true",
                     help="only those of the base matrix (fixtures/bases), which take longest")


@pytest.fixture(scope="session")
def update_goldens(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-goldens"))


@pytest.fixture(scope="session")
def rubric():
    from grader.rubric import load_rubric

    return load_rubric()


def code_file(name: str, corpus: Path = SUBMISSIONS) -> Path:
    """The code file of fixture submission ``name`` (a folder under ``corpus``)."""
    folder = corpus / name
    files = sorted(p for p in folder.iterdir() if p.suffix in (".py", ".ipynb"))
    assert files, f"fixture {name} has no code file"
    return files[0]


def fixture_names(corpus: Path = SUBMISSIONS) -> list[str]:
    return sorted(p.name for p in corpus.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))


def live_settings(rubric):  # noqa: ANN001, ANN201
    """How fixtures are run, live and for their recordings: the rubric's budget, models saved and
    cross-checked, as a real grading does."""
    from grader.run.settings import RunSettings

    return RunSettings(budget=rubric.budget)


class LiveCorpus:
    """Runs fixture submissions on demand, each once per session; up to two at a time."""

    def __init__(self, rubric) -> None:  # noqa: ANN001
        self._rubric = rubric
        self._settings = live_settings(rubric)
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
        return grade_of(code, self.evidence(code), self._rubric)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def grade_of(code: Path, evidence, rubric):  # noqa: ANN001, ANN201
    """Score ``evidence`` of fixture ``code`` as grading would (no answers document)."""
    from grader.grading import grade_evidence
    from grader.run.settings import RunSettings
    from grader.results import Submission

    submission = Submission(code.parent.name, code, code.parent)
    return grade_evidence(code.parent.name, evidence, rubric, RunSettings(budget=rubric.budget), submission)


@pytest.fixture(scope="session")
def live(rubric):
    corpus = LiveCorpus(rubric)
    yield corpus
    corpus.close()


def record(live: LiveCorpus, corpora: dict[Path, Path] = CORPORA) -> None:
    """Run every fixture of ``corpora`` (two at a time) and write its recording."""
    import grader

    codes = {corpus: {name: code_file(name, corpus) for name in fixture_names(corpus)} for corpus in corpora}
    for corpus in corpora:
        for code in codes[corpus].values():
            live.submit(code)
    for corpus, recordings in corpora.items():
        recordings.mkdir(parents=True, exist_ok=True)
        for name, code in codes[corpus].items():
            run = live.evidence(code).run
            document = {"fixture": name, "code": code.name, "grader": grader.__version__, "run": run.to_dict()}
            (recordings / f"{name}.json").write_text(json.dumps(document, indent=None, sort_keys=True) + "\n")


class Recorded:
    """Each fixture's evidence as recorded: its run read from JSON, its static facts from the source."""

    def __init__(self, corpus: Path = SUBMISSIONS) -> None:
        self.corpus, self.recordings = corpus, CORPORA[corpus]
        self._cache: dict[str, object] = {}

    def evidence(self, name: str):  # noqa: ANN201
        from grader.evidence import evidence_of
        from grader.results import RunResult

        if name not in self._cache:
            path = self.recordings / f"{name}.json"
            assert path.is_file(), f"no recording for {name}: run pytest --update-traces"
            run = RunResult.from_dict(json.loads(path.read_text())["run"])
            self._cache[name] = evidence_of(run, code_file(name, self.corpus))
        return self._cache[name]

    def grade(self, name: str, rubric):  # noqa: ANN001, ANN201
        return grade_of(code_file(name, self.corpus), self.evidence(name), rubric)


def lab_rubric(lab: str):  # noqa: ANN201
    """The shipped rubric of ``lab``: its budget runs the lab's fixtures, its checks judge them."""
    from grader.rubric import load_rubric

    return load_rubric(REPOSITORY / "rubrics" / f"{lab}.toml")


@pytest.fixture(scope="session")
def recordings_made(request: pytest.FixtureRequest) -> bool:
    if request.config.getoption("--update-base-traces") and not request.config.getoption("--update-traces"):
        record(request.getfixturevalue("live"), {BASES: CORPORA[BASES]})
    elif request.config.getoption("--update-traces"):
        record(request.getfixturevalue("live"), {SUBMISSIONS: RECORDINGS, REAL_WORLD: CORPORA[REAL_WORLD],
                                                 BASES: CORPORA[BASES]})
        for lab in SHIPPED_LABS:
            corpus = LiveCorpus(lab_rubric(lab))
            record(corpus, {LABS / lab: CORPORA[LABS / lab]})
            corpus.close()
    return True


@pytest.fixture(scope="session")
def recorded(recordings_made: bool) -> Recorded:
    return Recorded(SUBMISSIONS)


@pytest.fixture(scope="session")
def recorded_real_world(recordings_made: bool) -> Recorded:
    return Recorded(REAL_WORLD)


@pytest.fixture(scope="session")
def recorded_bases(recordings_made: bool) -> Recorded:
    return Recorded(BASES)
