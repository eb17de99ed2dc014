"""Seconds to rescore a class of 100 recorded submissions after a rubric change (goal: under 10 s).

Builds a class of N copies of a fixture submission (each with the example answers), saves for each
the grade and the run's record as a real grading would (from the fixture's recording under
tests/fixtures/evidence/), then grades the class again with a rubric whose weights changed: every
submission is rescored from its saved evidence and no code runs.

    python bench/rescore.py [--students 100] [--fixture tutorial]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    from grader.batch import fingerprints, grade_batch, save
    from grader.bundled import default_rubric
    from grader.discover import discover
    from grader.grading import rescore
    from grader.results import RunResult
    from grader.rubric import load_rubric
    from grader.run.settings import RunSettings

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=100)
    parser.add_argument("--fixture", default="tutorial")
    args = parser.parse_args()
    fixture = ROOT / "tests" / "fixtures" / "submissions" / args.fixture
    record = json.loads((ROOT / "tests" / "fixtures" / "evidence" / f"{args.fixture}.json").read_text())["run"]
    answers = ROOT / "examples" / "submissions" / "alice_correct" / "answers.md"
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        for number in range(args.students):
            student = work / "class" / f"student{number:03d}"
            shutil.copytree(fixture, student)
            shutil.copy(answers, student / "answers.md")
        rubric, out = load_rubric(), work / "out"
        settings = RunSettings(budget=rubric.budget)
        submissions = discover(work / "class").submissions
        run = RunResult.from_dict(record)
        for submission in submissions:  # what a first grading saves
            save(out, submission, rescore(submission, run, rubric, settings), record,
                 fingerprints(submission, rubric, settings))
        text = default_rubric().read_text()
        text = re.sub(r'(\[checks\."script\.runs"\]\npoints = )(\d+)', lambda m: f"{m[1]}{int(m[2]) + 1}", text)
        text = re.sub(r'(\[checks\."base\.frozen"\]\npoints = )(\d+)', lambda m: f"{m[1]}{int(m[2]) - 1}", text)
        (work / "moved.toml").write_text(text)
        changed = load_rubric(work / "moved.toml")
        outcomes: Counter[str] = Counter()
        started = time.perf_counter()
        grade_batch(submissions, changed, RunSettings(budget=changed.budget), out,
                    progress=lambda submission_id, grade, outcome: outcomes.update([outcome]))
        seconds = time.perf_counter() - started
    print(f"{dict(outcomes)}")
    print(f"rescored {len(submissions)} recorded submissions in {seconds:.2f} s "
          f"({seconds / len(submissions) * 1000:.0f} ms each; goal: under 10 s for 100)")


if __name__ == "__main__":
    main()
