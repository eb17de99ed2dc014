"""Grade a class on a Dask cluster: an existing scheduler, a ``LocalCluster``, or Slurm/PBS/SGE/LSF
through dask-jobqueue.

No shared filesystem is assumed. The client packs each submission's files into a ``Parcel`` (bytes);
a worker unpacks it into its own scratch, grades it with its own offline assets (stand-in weights
and synthetic data built once in the worker machine's cache) and sends back the grade and the run's
record; the client saves each result as it arrives (``batch``), so resuming, rescoring and every
report work as with local grading.

A worker that cannot isolate a run (no working bubblewrap, unless the instructor chose
``--isolation process``) refuses: the grade is ``internal_error`` naming the machine. A grade needs
the worker resource ``grade=1``: a worker runs no more grades at once than it declares slots. A
submission whose grading killed its worker is run again on another (the scheduler's
``allowed-failures``, set to 1 here); one that kills a second is recorded as ``limit``.

Dask is imported only here, and only when a cluster is asked for (``pip install 'dl-lab-grader[cluster]'``).
"""

from __future__ import annotations

import os
import socket
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from grader.errors import GraderError
from grader.results import Grade, GradeStatus, Submission
from grader.rubric import Rubric
from grader.run.settings import RunSettings

JOBQUEUE = ("slurm", "pbs", "sge", "lsf")
CLUSTER_KINDS = ("local", *JOBQUEUE)
RESOURCE = "grade"  # the worker resource a grade takes one of
ALLOWED_FAILURES = 1  # worker deaths a grade may cause and still be retried
# Dask settings for grading: one death retried, and no sampling profiler in the workers (it reads
# every thread's stack each 10 ms, CPU the two cores of a grade are short of). An external
# scheduler and its workers take the same from the environment: DASK_DISTRIBUTED__... (docs/scale.md).
DASK_CONFIG = {"distributed.scheduler.allowed-failures": ALLOWED_FAILURES,
               "distributed.worker.profile.enabled": False}
MAX_PARCEL = 512 * 2**20  # bytes of files a submission may send to a worker
# Keys of [tool.grader.cluster] and the dask-jobqueue arguments they set.
JOBQUEUE_KEYS = {"queue": "queue", "cores": "cores", "memory": "memory", "walltime": "walltime",
                 "processes": "processes", "account": "account", "env": "job_script_prologue",
                 "interface": "interface", "local_directory": "local_directory"}
CLUSTER_KEYS = frozenset({*JOBQUEUE_KEYS, "jobs"})


class ClusterError(GraderError):
    """The cluster cannot be used: Dask is missing, the scheduler is unreachable, bad settings."""


@dataclass(frozen=True)
class Parcel:
    """A submission as bytes: its files by path relative to its folder, and what ``Submission`` says
    of them. What a worker needs to grade it without the client's filesystem."""

    id: str
    files: tuple[tuple[str, bytes], ...]
    code: str | None
    answers: str | None
    extra_files: tuple[str, ...]
    own_folder: bool
    lms: tuple[tuple[str, str], ...]


def _files_of(submission: Submission) -> list[Path]:
    """The files the run of ``submission`` may see: its folder's (its own), else its own files."""
    if submission.own_folder:
        return sorted(path for path in submission.folder.rglob("*") if path.is_file() and not path.is_symlink())
    return [path for path in (submission.code, submission.answers, *submission.extra_files) if path is not None]


def pack(submission: Submission) -> Parcel:
    """``submission`` as a ``Parcel``; raises ``ClusterError`` when its files exceed ``MAX_PARCEL``."""
    root = submission.folder.resolve()
    files, size = [], 0
    for path in _files_of(submission):
        data = path.read_bytes()
        size += len(data)
        if size > MAX_PARCEL:
            raise ClusterError(f"{submission.id}: its files are over {MAX_PARCEL // 2**20} MiB; "
                               "grade it locally or remove large files")
        files.append((path.resolve().relative_to(root).as_posix(), data))

    def relative(path: Path | None) -> str | None:
        return None if path is None else path.resolve().relative_to(root).as_posix()

    return Parcel(submission.id, tuple(files), relative(submission.code), relative(submission.answers),
                  tuple(path.resolve().relative_to(root).as_posix() for path in submission.extra_files),
                  submission.own_folder, submission.lms)


def unpack(parcel: Parcel, root: Path) -> Submission:
    """Write a parcel's files under ``root`` (no path may leave it) and return its ``Submission``."""
    base = root.resolve()
    for name, data in parcel.files:
        target = (base / name).resolve()
        if not target.is_relative_to(base):
            raise ClusterError(f"{parcel.id}: a file path leaves the submission's folder: {name!r}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)

    def path(name: str | None) -> Path | None:
        return None if name is None else base / name

    return Submission(parcel.id, path(parcel.code), base, path(parcel.answers),
                      tuple(base / name for name in parcel.extra_files), parcel.own_folder, parcel.lms)


def portable(settings: RunSettings) -> RunSettings:
    """The settings a worker grades with: its own cache and scratch, not the client's."""
    return replace(settings, cache=None, work_root=None)


def _refusal(settings: RunSettings) -> str | None:
    """Why this worker must not grade, or None: no working bubblewrap (unless the instructor chose
    process isolation), or a --data or --weights path the worker's machine does not have."""
    from grader.run.sandbox import available_isolation

    if settings.isolation != "process" and available_isolation() != "bwrap":
        return "bubblewrap is not installed or does not work here; this worker does not grade unisolated"
    for name, path in (("--data", settings.data), ("--weights", settings.weights_file)):
        if path is not None and not Path(path).exists():
            return f"{name} {path} does not exist on this worker's machine"
    return None


def grade_parcel(parcel: Parcel, rubric: Rubric, settings: RunSettings) -> tuple[Grade, dict[str, Any] | None]:
    """Run on a worker: grade one parcel in a scratch folder of this machine. Never raises."""
    from grader.grading import grade_and_record

    machine = socket.gethostname()
    try:
        refusal = _refusal(settings)
        if refusal:
            return Grade(parcel.id, GradeStatus.INTERNAL_ERROR, f"worker {machine} (pid {os.getpid()}): {refusal}",
                         0.0, rubric.max_score), None
        with tempfile.TemporaryDirectory(prefix="grade-parcel-") as scratch:
            grade, run = grade_and_record(unpack(parcel, Path(scratch) / "submission"), rubric, settings)
        return replace(grade, environment={**grade.environment, "worker": machine}), run
    except Exception as error:  # noqa: BLE001 - one bad submission never stops a batch
        return Grade.from_error(parcel.id, error, rubric.max_score), None


def _warm() -> bool:
    import grader.answers.sheet  # noqa: F401
    import grader.checks  # noqa: F401
    import grader.grading  # noqa: F401

    return True


def _dask():  # noqa: ANN202
    try:
        import distributed
    except ImportError:
        raise ClusterError("grading on a cluster needs Dask: pip install 'dl-lab-grader[cluster]'") from None
    return distributed


@dataclass
class DaskGrader:
    """Grades submissions on a Dask cluster, yielding each result as it arrives."""

    client: Any
    cluster: Any = None  # a cluster this grader started (and closes)
    in_flight: int = 0  # submissions sent and not yet back

    @classmethod
    def connect(cls, scheduler: str | None = None, kind: str | None = None, jobs: int = 1,
                options: Mapping[str, Any] | None = None) -> DaskGrader:
        """Connect to ``scheduler`` (an address or a scheduler file), or start a cluster of ``kind``."""
        distributed = _dask()
        import dask

        dask.config.set(DASK_CONFIG)
        cluster = None
        try:
            if scheduler:
                target: Any = scheduler
                if Path(scheduler).is_file():
                    return cls(distributed.Client(scheduler_file=scheduler, timeout="30s"))
                if "://" not in scheduler and (scheduler.endswith(".json") or "/" in scheduler):
                    raise ClusterError(f"--scheduler {scheduler}: no such scheduler file (an address looks like "
                                       "tcp://host:8786)")
            elif kind == "local":
                cluster = target = distributed.LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True,
                                                            resources={RESOURCE: 1}, dashboard_address=None)
            elif kind in JOBQUEUE:
                cluster = target = _jobqueue_cluster(kind, jobs, options or {})
            else:
                raise ClusterError(f"unknown cluster kind {kind!r}; choose one of {', '.join(CLUSTER_KINDS)}")
            return cls(distributed.Client(target, timeout="30s"), cluster)
        except (OSError, TimeoutError, ValueError) as error:
            if cluster is not None:
                cluster.close()
            raise ClusterError(f"cannot reach the Dask scheduler {scheduler or kind}: {error}") from None

    def workers(self) -> tuple[int, int]:
        """Workers connected, and the grade slots they declare."""
        info = self.client.scheduler_info()["workers"]
        return len(info), int(sum(worker.get("resources", {}).get(RESOURCE, 0) for worker in info.values()))

    def wait_for_slots(self, timeout: float = 120.0) -> int:
        """Wait until some worker declares a grade slot; raise ``ClusterError`` when none does."""
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            workers, slots = self.workers()
            if slots:
                return slots
            time.sleep(0.5)
        workers, _ = self.workers()
        raise ClusterError(f"no worker offers a '{RESOURCE}' slot ({workers} connected): start workers with "
                           f"`dask worker ADDRESS --nthreads 1 --resources {RESOURCE}=1`")

    def warm(self) -> None:
        """Import the grading code on every connected worker now, while nothing waits for it,
        rather than in each worker's first grade."""
        self.client.run(_warm)

    def grade(self, submissions: list[Submission], rubric: Rubric,
              settings: RunSettings) -> Iterator[tuple[Submission, Grade, dict[str, Any] | None]]:
        """Send each submission to the cluster; yield (submission, grade, run record) as each ends."""
        distributed = _dask()
        # Rubric and settings go inside each task (a few KB), not scattered once: scattered data
        # lives on the workers that held it, and a killed worker that alone held it (the only one
        # up when grading began) took it along, and every grade with it ("already forgotten").
        moved = portable(settings)
        futures = {}
        for submission in submissions:
            try:
                parcel = pack(submission)
            except (ClusterError, OSError) as error:
                yield submission, Grade.from_error(submission.id, error, rubric.max_score), None
                continue
            future = self.client.submit(grade_parcel, parcel, rubric, moved, pure=False,
                                        resources={RESOURCE: 1}, key=f"grade-{submission.id}-{os.urandom(4).hex()}")
            futures[future] = submission
        self.in_flight = len(futures)
        for future in distributed.as_completed(futures):
            submission = futures[future]
            self.in_flight -= 1
            try:
                grade, run = future.result()
            except distributed.KilledWorker as error:
                yield submission, Grade(submission.id, GradeStatus.LIMIT,
                                        f"grading this submission ended {ALLOWED_FAILURES + 1} workers (a crash or "
                                        f"memory beyond what the machine has); not retried again: {error}",
                                        0.0, rubric.max_score), None
                continue
            except Exception as error:  # noqa: BLE001 - a lost scheduler or a failed transfer: one grade
                yield submission, Grade.from_error(submission.id, error, rubric.max_score), None
                continue
            yield submission, grade, run

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


@dataclass
class OnDemand:
    """A ``DaskGrader`` connected only when there is something to run: a rerun that reuses or
    rescores every result starts no cluster and submits no job to a queue."""

    scheduler: str | None
    kind: str | None
    jobs: int
    options: Mapping[str, Any]
    announce: Callable[[str], None]
    grader: DaskGrader | None = None

    def grade(self, submissions: list[Submission], rubric: Rubric,
              settings: RunSettings) -> Iterator[tuple[Submission, Grade, dict[str, Any] | None]]:
        if not submissions:
            return
        if self.grader is None:
            self.grader = DaskGrader.connect(self.scheduler, self.kind, self.jobs, self.options)
            slots = self.grader.wait_for_slots()
            self.grader.warm()
            workers, _ = self.grader.workers()
            self.announce(f"cluster {self.scheduler or self.kind}: {workers} worker(s), {slots} grade slot(s)")
        yield from self.grader.grade(submissions, rubric, settings)

    @property
    def in_flight(self) -> int:
        return self.grader.in_flight if self.grader else 0

    def workers(self) -> tuple[int, int]:
        return self.grader.workers() if self.grader else (0, 0)

    def close(self) -> None:
        if self.grader is not None:
            self.grader.close()


def _jobqueue_cluster(kind: str, jobs: int, options: Mapping[str, Any]):  # noqa: ANN202
    """A dask-jobqueue cluster of ``kind`` scaled to ``jobs`` jobs, from ``[tool.grader.cluster]``."""
    try:
        import dask_jobqueue
    except ImportError:
        raise ClusterError("--cluster slurm|pbs|sge|lsf needs dask-jobqueue: pip install 'dl-lab-grader[cluster]'") from None
    unknown = set(options) - CLUSTER_KEYS
    if unknown:
        raise ClusterError(f"[tool.grader.cluster]: unknown key(s) {', '.join(sorted(unknown))}; "
                           f"known: {', '.join(sorted(CLUSTER_KEYS))}")
    arguments: dict[str, Any] = {JOBQUEUE_KEYS[key]: value for key, value in options.items() if key in JOBQUEUE_KEYS}
    arguments.setdefault("cores", 2)
    arguments.setdefault("memory", "6GiB")
    if isinstance(arguments.get("job_script_prologue"), str):
        arguments["job_script_prologue"] = [arguments["job_script_prologue"]]
    # One grade per worker process: a grade uses the two cores a run's TensorFlow is given.
    arguments["worker_extra_args"] = [*arguments.get("worker_extra_args", []), "--resources", f"{RESOURCE}=1"]
    cluster_class = {"slurm": "SLURMCluster", "pbs": "PBSCluster", "sge": "SGECluster", "lsf": "LSFCluster"}[kind]
    cluster = getattr(dask_jobqueue, cluster_class)(**arguments)
    cluster.scale(jobs=int(options.get("jobs", jobs)))
    return cluster
