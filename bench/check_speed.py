"""Wall time of a student's self-check, `grade check`, on a correct lab (goal: under a minute).

Runs the command as a student would, end to end (process start, rubric, sandboxed run, checks,
answers, report), a few times, and prints each time and the median. From the repository root:

    python bench/check_speed.py [--repeat N] [FILE]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", nargs="?", type=Path, default=ROOT / "examples" / "submissions" / "alice_correct" / "transfer.py")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    answers = args.file.parent / "answers.md"
    command = [sys.executable, "-m", "grader", "check", str(args.file), "-q"]
    command += ["--answers", str(answers)] if answers.is_file() else []
    times = []
    for attempt in range(1, args.repeat + 1):
        started = time.perf_counter()
        code = subprocess.run(command, cwd=ROOT).returncode
        times.append(time.perf_counter() - started)
        print(f"run {attempt}: {times[-1]:.1f} s (exit code {code})")
    print(f"grade check {args.file.name}: median {statistics.median(times):.1f} s over {len(times)} runs (goal < 60 s)")


if __name__ == "__main__":
    main()
