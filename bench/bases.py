"""Every base of the matrix (tests/fixtures/bases/write.py), graded as an instructor and a student would:
``grade rubric init`` on the correct solution, then ``grade check`` on it and on its one-defect mutant
(inputs scaled twice) under the rubric written. For each command: wall time, the peak resident memory
of its whole process tree (the grader, the stand-in maker and the sandboxed run, sampled), and whether it did as
expected (the rubric written with nothing left out but what the lab lacks; the solution at full marks;
the mutant failing input.range). A stand-in made during the command is named: its first use costs more.

    python bench/bases.py [--only resnet50_224 ...] [--timeout SECONDS]

Runs one command at a time (figures of memory and time mean nothing otherwise). On a quiet machine
with two cores a base takes 1 to 3 minutes (ConvNeXtTiny about 9), the whole matrix about 40.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "fixtures" / "bases"))

from write import HERE, MATRIX, Base  # noqa: E402


@dataclass(frozen=True)
class Measured:
    seconds: float
    peak_gib: float
    returncode: int
    output: str


def measured(command: list[str], cwd: Path) -> Measured:
    """Run ``command``, sampling the resident memory of its whole process tree every 0.2 s."""
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as output:
        process = subprocess.Popen(command, cwd=cwd, stdout=output, stderr=subprocess.STDOUT, text=True)
        peak = 0
        while process.poll() is None:
            peak = max(peak, _tree_resident(process.pid))
            time.sleep(0.2)
        output.seek(0)
        return Measured(time.perf_counter() - started, peak / 2**30, process.returncode, output.read())


def _tree_resident(pid: int) -> int:
    from grader.run.memory import process_tree, resident

    return sum(resident(member)[0] for member in process_tree(pid))


def _grade(*arguments: str) -> list[str]:
    return [sys.executable, "-m", "grader", *arguments]


def _stand_in_made(base: Base) -> bool:
    from grader.cache import cache_root
    from grader.offline.weights import stand_in_path

    kwargs = {"input_shape": (base.size, base.size, 3), "include_top": False}
    return not stand_in_path(base.family, kwargs, cache_root()).is_file()


def _checked(result: Path) -> tuple[float, float, dict[str, str]]:
    checks = json.loads(result.read_text())["submissions"][0]["checks"]
    statuses = {check["id"]: check["status"] for check in checks}
    return sum(check["points"] for check in checks), sum(check["max_points"] for check in checks), statuses


def bench(base: Base, folder: Path, timeout: float | None) -> list[str]:
    """The three commands on ``base``; returns the failures (empty when the row passes)."""
    failures: list[str] = []
    rubric, solution = folder / f"{base.name}.toml", HERE / base.name / "solution.py"
    limits = ["--timeout", str(timeout)] if timeout else []
    made = _stand_in_made(base)
    init = measured(_grade("rubric", "init", str(solution), "--out", str(rubric), "--force"), folder)
    left_out = [line for line in rubric.read_text().splitlines() if line.startswith("# Left out")] \
        if rubric.is_file() else []
    if init.returncode != 0 or not rubric.is_file():
        failures.append(f"rubric init exited {init.returncode}: {init.output.strip().splitlines()[-3:]}")
    elif [line for line in left_out if "not part of this lab" not in line]:
        failures.append(f"rubric init left checks out: {left_out}")
    _row(base, "rubric init", init, "stand-in made" if made else "")
    if failures:
        return failures
    for name, defect in ((base.name, False), (f"{base.name}_double_scaling", True)):
        result = folder / f"{name}.json"
        check = measured(_grade("check", str(HERE / name / "solution.py"), "--rubric", str(rubric), *limits,
                                "--json", str(result), "-q"), folder)
        if not result.is_file():
            failures.append(f"{name}: no result (exit {check.returncode}): {check.output.strip()[-300:]}")
            _row(base, "check " + ("mutant" if defect else "solution"), check, "no result")
            continue
        score, most, statuses = _checked(result)
        failed = sorted(check_id for check_id, status in statuses.items() if status not in ("pass", "skip"))
        if not defect and score != most:
            failures.append(f"{name}: {score:g} of {most:g}, failing {failed}")
        if defect and statuses.get("input.range") != "fail":
            failures.append(f"{name}: input.range is {statuses.get('input.range')}, not fail")
        _row(base, "check " + ("mutant" if defect else "solution"), check,
             f"{score:g}/{most:g}" + (f"; not passed: {', '.join(failed)}" if failed else ""))
    return failures


def _row(base: Base, command: str, run: Measured, note: str) -> None:
    print(f"{base.family:<17}{base.size:>4}  {command:<15}{run.seconds:7.1f} s {run.peak_gib:6.2f} GiB  {note}",
          flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", metavar="NAME", help="rows to run, e.g. resnet50_224 vgg16_224")
    parser.add_argument("--timeout", type=float, help="seconds each check's run may take (default: the rubric's)")
    args = parser.parse_args()
    rows = [base for base in MATRIX if not args.only or base.name in args.only]
    if args.only and len(rows) != len(set(args.only)):
        parser.error(f"unknown rows; the matrix has: {', '.join(base.name for base in MATRIX)}")
    print(f"{'base':<17}{'size':>4}  {'command':<15}{'time':>9} {'peak':>10}  outcome")
    failed = {}
    with tempfile.TemporaryDirectory() as folder:
        for base in rows:
            failures = bench(base, Path(folder), args.timeout)
            if failures:
                failed[base.name] = failures
    print(f"\n{len(rows) - len(failed)} of {len(rows)} rows pass")
    for name, failures in failed.items():
        print(f"  {name}: " + "; ".join(failures))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
