"""Grading on a Dask cluster: parcels, worker refusals, and a real scheduler with two workers
(each with its own HOME and cache, unable to see the class folder), one of them killed mid-grade."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader import cluster
from grader.cluster import ClusterError, Parcel, grade_parcel, pack, unpack
from grader.discover import discover

from conftest import REPOSITORY, SUBMISSIONS

TINY_RUN = "[run]\nepochs = 1\nsteps_per_epoch = 2\nfine_tune_steps_per_epoch = 1\neval_steps = 1\n"


def _class(root: Path, names: dict[str, str]) -> Path:
    for student, fixture in names.items():
        shutil.copytree(SUBMISSIONS / fixture, root / student)
    return root


def test_a_parcel_carries_a_submission_to_another_folder(tmp_path: Path) -> None:
    folder = _class(tmp_path / "class", {"alice": "tutorial"})
    (folder / "alice" / "data").mkdir()
    (folder / "alice" / "data" / "labels.csv").write_text("a,b\n")
    submission = discover(folder).submissions[0]
    parcel = pack(submission)
    copy = unpack(parcel, tmp_path / "worker")
    assert copy.id == "alice" and copy.code.read_bytes() == submission.code.read_bytes()
    assert (copy.folder / "data" / "labels.csv").read_text() == "a,b\n"
    assert copy.folder == (tmp_path / "worker").resolve()


def test_a_parcel_path_cannot_leave_the_worker_scratch(tmp_path: Path) -> None:
    parcel = Parcel("eve", (("../../escaped.txt", b"x"),), None, None, (), True, ())
    with pytest.raises(ClusterError, match="leaves"):
        unpack(parcel, tmp_path / "scratch" / "submission")
    assert not (tmp_path / "escaped.txt").exists()


def test_a_worker_without_bubblewrap_refuses_and_names_itself(tmp_path: Path, rubric, monkeypatch) -> None:  # noqa: ANN001
    from grader.run import sandbox
    from grader.run.settings import RunSettings

    monkeypatch.setattr(sandbox, "available_isolation", lambda prefer=None: "process")
    submission = discover(_class(tmp_path / "class", {"alice": "tutorial"})).submissions[0]
    grade, run = grade_parcel(pack(submission), rubric, RunSettings(budget=rubric.budget))
    assert grade.status.value == "internal_error" and run is None
    assert "bubblewrap" in grade.reason and "worker " in grade.reason and grade.score == 0


def test_a_cluster_flag_without_dask_names_the_extra(monkeypatch) -> None:  # noqa: ANN001
    import builtins

    real_import = builtins.__import__

    def no_dask(name, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        if name.startswith(("distributed", "dask")):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_dask)
    with pytest.raises(ClusterError, match=re.escape("dl-lab-grader[cluster]")):
        cluster.DaskGrader.connect(kind="local")


@pytest.mark.parametrize("address", ["/tmp/no-such-scheduler.json", "scheduler.json", "not an address"])
def test_a_bad_scheduler_is_one_clear_error(tmp_path: Path, address: str) -> None:
    folder = _class(tmp_path / "class", {"alice": "tutorial"})
    result = subprocess.run([sys.executable, "-m", "grader", "class", str(folder), "--out", str(tmp_path / "out"),
                             "--scheduler", address], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "scheduler" in result.stderr and address in result.stderr
    assert not (tmp_path / "out" / "results.json").exists()


def test_unknown_job_queue_settings_are_named(monkeypatch) -> None:  # noqa: ANN001
    with pytest.raises(ClusterError, match="walltme"):
        cluster._jobqueue_cluster("slurm", 1, {"walltme": "01:00:00"})


# ------------------------------------------------------------------ a real cluster on this machine

def _scores(out: Path) -> dict[str, tuple[str, float, tuple]]:
    document = json.loads((out / "results.json").read_text())
    return {grade["id"]: (grade["status"], grade["score"],
                          tuple((check["id"], check["status"], check["points"]) for check in grade["checks"]))
            for grade in document["submissions"]}


class LocalDask:
    """A `dask scheduler` and `dask worker` processes; each worker has its own HOME (so its own
    cache of stand-in weights and synthetic data) and TMPDIR, and sees an empty folder where the
    class is (bubblewrap mounts a tmpfs over it)."""

    def __init__(self, root: Path, hidden: Path) -> None:
        self.root, self.hidden = root, hidden
        root.mkdir(parents=True, exist_ok=True)
        self.file = root / "scheduler.json"
        self.env = {**os.environ, "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "1"}
        self.processes: list[subprocess.Popen] = []
        self.workers: dict[str, subprocess.Popen] = {}
        bin_dir = Path(sys.executable).parent
        self.scheduler = self._start([str(bin_dir / "dask"), "scheduler", "--scheduler-file", str(self.file),
                                      "--port", "0", "--no-dashboard"], self.env, root / "scheduler.log")
        deadline = time.monotonic() + 60
        while not self.file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert self.file.exists(), (root / "scheduler.log").read_text()

    def _start(self, command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
        process = subprocess.Popen(command, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
                                   start_new_session=True)
        self.processes.append(process)
        return process

    def add_worker(self, name: str) -> None:
        home, tmp = self.root / name / "home", self.root / name / "tmp"
        home.mkdir(parents=True), tmp.mkdir(parents=True)
        env = {key: value for key, value in self.env.items() if key != "GRADER_CACHE"}  # its own cache, in its HOME
        env |= {"HOME": str(home), "TMPDIR": str(tmp), "XDG_CACHE_HOME": str(home / ".cache")}
        command = ["bwrap", "--dev-bind", "/", "/", "--tmpfs", str(self.hidden), "--die-with-parent", "--",
                   str(Path(sys.executable).parent / "dask"), "worker", "--scheduler-file", str(self.file),
                   "--nthreads", "1", "--resources", "grade=1", "--no-nanny", "--no-dashboard", "--name", name]
        self.workers[name] = self._start(command, env, self.root / f"{name}.log")

    def wait_for_workers(self, count: int) -> None:
        from distributed import Client

        with Client(scheduler_file=str(self.file), timeout="60s") as client:
            client.wait_for_workers(count, timeout=120)

    def grade_in_background(self, folder: Path, rubric: Path, out: Path) -> subprocess.Popen:
        """Two workers joined, then `grade` started on the class through this scheduler."""
        self.add_worker("w1"), self.add_worker("w2")
        self.wait_for_workers(2)
        command = [sys.executable, "-m", "grader", "class", str(folder), "--rubric", str(rubric),
                   "--out", str(out), "--scheduler", str(self.file)]
        return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                env={**os.environ, "NO_COLOR": "1"})

    def close(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture()
def small_class(tmp_path: Path) -> tuple[Path, Path]:
    rubric = tmp_path / "rubric.toml"
    text = (REPOSITORY / "rubrics" / "transfer_learning.toml").read_text()
    rubric.write_text(re.sub(r"\[run\]\n(?:[a-z_]+ = [0-9.]+\n)+", TINY_RUN, text, count=1))
    return _class(tmp_path / "class", {"alice": "tutorial", "bob": "mutant_no_flip"}), rubric


def _grade(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grader", "class", *args], capture_output=True, text=True,
                          env={**os.environ, "NO_COLOR": "1"}, timeout=900)


@pytest.mark.slow
def test_a_class_graded_through_a_scheduler_gets_the_local_grades(tmp_path: Path, small_class) -> None:  # noqa: ANN001
    folder, rubric = small_class
    local = _grade(str(folder), "--rubric", str(rubric), "--out", str(tmp_path / "local"), "--jobs", "1")
    assert local.returncode == 0, local.stdout + local.stderr
    dask = LocalDask(tmp_path / "dask", folder)
    try:
        dask.add_worker("w1"), dask.add_worker("w2")
        dask.wait_for_workers(2)
        remote = _grade(str(folder), "--rubric", str(rubric), "--out", str(tmp_path / "remote"),
                        "--scheduler", str(dask.file))
    finally:
        dask.close()
    assert remote.returncode == 0, remote.stdout + remote.stderr
    assert "2 worker(s), 2 grade slot(s)" in remote.stdout
    assert _scores(tmp_path / "remote") == _scores(tmp_path / "local")
    saved = [json.loads(path.read_text()) for path in (tmp_path / "remote").rglob("*.json")
             if "fingerprints" in path.read_text()[:200]]
    assert saved and all(document["environment"].get("isolation") == "bwrap" for document in saved)
    # Each worker built its own offline assets in its own HOME: nothing came from the client's cache.
    assert any(any((tmp_path / "dask" / name / "home").rglob("*")) for name in ("w1", "w2"))


def _kill_the_grading_worker(dask: LocalDask, root: Path, spared: set[str], timeout: float = 300) -> str:
    """Wait until a worker not in ``spared`` holds a parcel in its scratch, kill it, return its name."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, process in dask.workers.items():
            if name not in spared and process.poll() is None and any((root / name / "tmp").glob("grade-parcel-*")):
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                return name
        time.sleep(0.2)
    raise AssertionError("no worker started a grade")


@pytest.mark.slow
def test_a_worker_killed_mid_grade_loses_nothing(tmp_path: Path, small_class) -> None:  # noqa: ANN001
    folder, rubric = small_class
    dask = LocalDask(tmp_path / "dask", folder)
    try:
        grading = dask.grade_in_background(folder, rubric, tmp_path / "out")
        _kill_the_grading_worker(dask, tmp_path / "dask", spared=set())
        output, _ = grading.communicate(timeout=900)
    finally:
        dask.close()
    assert grading.returncode == 0, output
    scores = _scores(tmp_path / "out")
    assert sorted(scores) == ["alice", "bob"]
    assert all(status == "graded" for status, _, _ in scores.values()), scores
    assert "ran 2, rescored 0, reused 0" in output


@pytest.mark.slow
def test_a_submission_that_ends_two_workers_is_a_limit_not_retried_forever(tmp_path: Path, small_class) -> None:  # noqa: ANN001
    folder, rubric = small_class
    shutil.rmtree(folder / "bob")
    dask = LocalDask(tmp_path / "dask", folder)
    try:
        grading = dask.grade_in_background(folder, rubric, tmp_path / "out")
        first = _kill_the_grading_worker(dask, tmp_path / "dask", spared=set())
        _kill_the_grading_worker(dask, tmp_path / "dask", spared={first})  # the retry, on the other worker
        output, _ = grading.communicate(timeout=300)
    finally:
        dask.close()
    assert grading.returncode == 0, output
    status, score, _ = _scores(tmp_path / "out")["alice"]
    assert status == "limit" and score == 0
    saved = json.loads(next((tmp_path / "out").rglob("alice.json")).read_text())
    assert "ended 2 workers" in saved["grade"]["reason"]


def test_a_rerun_with_nothing_to_run_starts_no_cluster(monkeypatch) -> None:  # noqa: ANN001
    def refuse(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("connected with nothing to grade")

    monkeypatch.setattr(cluster.DaskGrader, "connect", refuse)
    said: list[str] = []
    remote = cluster.OnDemand(None, "slurm", 4, {}, said.append)
    assert list(remote.grade([], None, None)) == [] and said == []  # type: ignore[arg-type]
    assert remote.workers() == (0, 0) and remote.in_flight == 0
    remote.close()
