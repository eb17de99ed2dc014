"""How real student code fares: over a folder of submissions (default: tests/fixtures/real_world),
how many ran to their end, how many were stopped by the grading environment (a module it lacks),
how many at an import their code must change (a Keras 2 module nothing replaces), how many by
their own bug (or a limit), and the time per submission.

    python bench/real_world.py [FOLDER] [--jobs N]

Each submission is run as `grade` runs it (sandbox, offline assets, saved models checked).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _grade_one(submission, settings):  # noqa: ANN001, ANN202
    from grader.grading import collect_evidence

    started = time.perf_counter()
    evidence = collect_evidence(submission, settings)
    return submission.id, evidence.run, time.perf_counter() - started


_OUTCOMES = {"end": "ran to the end", "environment": "stopped by the environment",
             "import": "stopped at an import to change", "own": "stopped by their own bug or a limit"}


def _outcome(run) -> str:  # noqa: ANN001
    if run.status.value == "completed":
        return _OUTCOMES["end"]
    if run.missing_module:
        return _OUTCOMES["environment"] if run.missing_package else _OUTCOMES["import"]
    return _OUTCOMES["own"]


def main() -> None:
    from grader.discover import discover
    from grader.rubric import load_rubric
    from grader.run.settings import RunSettings

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", nargs="?", type=Path, default=ROOT / "tests" / "fixtures" / "real_world")
    parser.add_argument("--jobs", type=int, default=1, help="submissions run at once (default 1: clean timings)")
    args = parser.parse_args()
    submissions = discover(args.folder).submissions
    if not submissions:
        parser.error(f"no submissions found in {args.folder}")
    settings = RunSettings(budget=load_rubric().budget)
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(lambda submission: _grade_one(submission, settings), submissions))
    outcomes = Counter()
    for name, run, seconds in results:
        outcomes[_outcome(run)] += 1
        print(f"{name:<28}{seconds:>7.1f} s  {_outcome(run):<34} {run.reason[:90]}")
    times = [seconds for _, _, seconds in results]
    print(f"{len(results)} submissions: " + ", ".join(f"{count} {what}" for what, count in outcomes.most_common()))
    print(f"time per submission: median {statistics.median(times):.1f} s, max {max(times):.1f} s; "
          f"wall {time.perf_counter() - started:.0f} s with --jobs {args.jobs}")


if __name__ == "__main__":
    main()
