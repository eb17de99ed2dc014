"""Throughput of grading one class three ways: the local pool (`--jobs`), `--cluster local` (a Dask
LocalCluster started by `grade`), and an external `dask scheduler` with `dask worker` processes
(`--scheduler`); and the overhead Dask adds per submission against the local pool.

Each way grades the same class into a fresh output folder (nothing reused). The overhead per
submission is what a submission costs while grading (from the line "grading N submission(s)" to
the last "graded" line, divided by the submissions), against the same for the local pool; the
goal is under 5%. What comes before (start-up, connecting, warming the workers) and after
(reports, closing a cluster) is paid once a run and printed apart. Run on an idle machine:

    python bench/cluster.py                      # the example class, two slots each way
    python bench/cluster.py --class DIR --slots 2
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _grade(folder: Path, out: Path, *extra: str) -> tuple[float, float, float]:
    """Wall seconds of one ``grade`` command: in all, before grading starts (the line "grading N
    submission(s)", or on a cluster the line "cluster ...": the parent's start-up, connecting and
    warming the workers),
    and after the last submission is graded (reports, closing the cluster)."""
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "grader", "class", str(folder), "--out", str(out), "--force",
                                *extra], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, "NO_COLOR": "1"})
    ready = last = 0.0
    lines = []
    for line in process.stdout:  # type: ignore[union-attr]
        lines.append(line)
        if line.startswith("grading ") and not ready:
            ready = time.perf_counter() - started
        if line.startswith("cluster "):  # connected and warmed, once the first submission needs it
            ready = time.perf_counter() - started
        if line.startswith("graded "):
            last = time.perf_counter() - started
    if process.wait() != 0:
        sys.exit(f"grade failed ({' '.join(extra)}):\n{''.join(lines)}")
    wall = time.perf_counter() - started
    return wall, ready, wall - last


def _external(folder: Path, out: Path, slots: int, root: Path) -> tuple[float, float, float]:
    """Start a scheduler and ``slots`` workers, grade through them, stop them."""
    scheduler_file = root / "scheduler.json"
    env = {**os.environ, "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "1",
           "DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED": "False"}  # as docs/scale.md says to start them
    processes = [subprocess.Popen([str(BIN / "dask"), "scheduler", "--scheduler-file", str(scheduler_file),
                                   "--port", "0", "--no-dashboard"], env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, start_new_session=True)]
    try:
        while not scheduler_file.exists():
            time.sleep(0.2)
        for index in range(slots):
            processes.append(subprocess.Popen(
                [str(BIN / "dask"), "worker", "--scheduler-file", str(scheduler_file), "--nthreads", "1",
                 "--resources", "grade=1", "--no-dashboard", "--name", f"w{index}"], env=env,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
        return _grade(folder, out, "--scheduler", str(scheduler_file))
    finally:
        for process in processes:
            os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--class", dest="folder", type=Path, default=REPOSITORY / "examples" / "submissions")
    parser.add_argument("--slots", type=int, default=2, help="parallel grades each way (default 2)")
    args = parser.parse_args()
    count = sum(1 for path in args.folder.iterdir() if path.is_dir())
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        seconds = {
            "local pool": _grade(args.folder, root / "pool", "--jobs", str(args.slots)),
            "--cluster local": _grade(args.folder, root / "cluster", "--cluster", "local", "--jobs", str(args.slots)),
            "--scheduler": _external(args.folder, root / "external", args.slots, root),
        }
    def grading(times: tuple[float, float, float]) -> float:
        wall, startup, teardown = times
        return (wall - startup - teardown) / count  # each submission, from grading's start to its end

    base = grading(seconds["local pool"])
    figures = {}
    for way, (wall, startup, teardown) in seconds.items():
        per = grading((wall, startup, teardown))
        figures[way] = {"seconds": round(wall, 1), "startup": round(startup, 1), "teardown": round(teardown, 1),
                        "per_submission": round(per, 2), "per_hour": round(3600 / per, 1),
                        "overhead_vs_pool": round((per - base) / base, 4)}
        print(f"{way:<16} {wall:6.1f} s for {count} (start {startup:.1f} s, end {teardown:.1f} s): "
              f"{per:6.2f} s a submission while grading, {3600 / per:6.1f} an hour, "
              f"{figures[way]['overhead_vs_pool']:+.1%} against the local pool")
    print(json.dumps({"submissions": count, "slots": args.slots, "ways": figures}))


if __name__ == "__main__":
    main()
