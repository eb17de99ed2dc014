"""Throughput of grading one class three ways: the local pool (`--jobs`), `--cluster local` (a Dask
LocalCluster started by `grade`), and an external `dask scheduler` with `dask worker` processes
(`--scheduler`); and the overhead Dask adds per submission against the local pool.

Each way grades the same class into a fresh output folder (nothing reused). The overhead per
submission is what a submission costs once the cluster offers its slots ((Dask wall time - its
start-up) / submissions) against the local pool's time per submission; the goal is under 5%. The
start-up (a LocalCluster's processes, or workers joining) is printed apart: it is paid once a run. Run on an idle machine:

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


def _grade(folder: Path, out: Path, *extra: str) -> tuple[float, float]:
    """Wall seconds of one ``grade`` command, and of its start until the cluster offered its slots
    (the line "cluster ...: N worker(s)"; 0 for the local pool)."""
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "grader", "class", str(folder), "--out", str(out), "--force",
                                *extra], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, "NO_COLOR": "1"})
    ready, lines = 0.0, []
    for line in process.stdout:  # type: ignore[union-attr]
        lines.append(line)
        if line.startswith("cluster ") and not ready:
            ready = time.perf_counter() - started
    if process.wait() != 0:
        sys.exit(f"grade failed ({' '.join(extra)}):\n{''.join(lines)}")
    return time.perf_counter() - started, ready


def _external(folder: Path, out: Path, slots: int, root: Path) -> tuple[float, float]:
    """Start a scheduler and ``slots`` workers, grade through them, stop them."""
    scheduler_file = root / "scheduler.json"
    env = {**os.environ, "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "1"}
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
    base = seconds["local pool"][0] / count
    figures = {}
    for way, (wall, startup) in seconds.items():
        per = wall / count
        per_grading = (wall - startup) / count  # once the cluster is up: what each submission costs
        figures[way] = {"seconds": round(wall, 1), "startup": round(startup, 1), "per_submission": round(per, 2),
                        "per_hour": round(3600 / per, 1),
                        "overhead_vs_pool": round((per_grading - base) / base, 4)}
        print(f"{way:<16} {wall:7.1f} s for {count} ({startup:.1f} s to start): {per:6.2f} s each, "
              f"{3600 / per:6.1f} an hour; per submission once started {figures[way]['overhead_vs_pool']:+.1%} "
              "against the local pool")
    print(json.dumps({"submissions": count, "slots": args.slots, "ways": figures}))


if __name__ == "__main__":
    main()
