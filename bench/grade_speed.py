"""What a student waits for: the whole `grade check` command against the floor, and where the time goes.

Interleaved rounds (default 3) of: the whole command as a student runs it (process start to exit,
the JSON written), and the floor (a fresh process that imports TensorFlow, builds MobileNetV2 with
cached stand-in weights and trains one step). Prints each median and their
ratio (issue 26's goal: at most 2x). Then one grading of the same lab in this process, timed step
by step: the parent's start-up (a fresh `grade --version`), the run's phases read from its kept
trace (TensorFlow's import and the harness's hooks, building the model, each compile and each
training phase with its saved model; the sandbox's start and exit outside the trace), inside each
training phase what the harness measured (setup, tracing, steps, validation and its batches, the
Python generator's batches, the weights' comparison, the saved model), what the inspector added
after the run ended, and the parent's static scan, checks, answers and reports.

``--pipelines`` does the same for the lab fed four ways (``bench/pipelines/``: tf.data from a
folder, ImageDataGenerator, tensorflow_datasets, NumPy arrays): each round runs the floor and then
each pipeline's whole command; each pipeline's median is divided by the floor's.

    python bench/grade_speed.py [--rounds 3] [FILE]
    python bench/grade_speed.py --pipelines [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FLOOR_SCRIPT = """
import os
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
import numpy as np, keras
from grader.offline.weights import build_application
base, _ = build_application(keras.applications.MobileNetV2, {"input_shape": (160, 160, 3), "include_top": False})
base.trainable = False
model = keras.Sequential([keras.Input((160, 160, 3)), base, keras.layers.GlobalAveragePooling2D(),
                          keras.layers.Dense(1, activation="sigmoid")])
model.compile("adam", "binary_crossentropy")
model.fit(np.zeros((32, 160, 160, 3), "float32"), np.zeros((32, 1)), epochs=1, verbose=0)
"""


def floor_seconds() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", FLOOR_SCRIPT], check=True, cwd=ROOT)
    return time.perf_counter() - started


def whole_command(lab: Path, out: Path) -> float:
    """Seconds from starting `grade check` to its exit, with the results JSON written."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "grader", "check", str(lab), "--json", str(out), "-q"], cwd=lab.parent)
    seconds = time.perf_counter() - started
    assert json.loads(out.read_text())["submissions"], "the command wrote no result"
    return seconds


def _timed(module: Any, name: str, spent: dict[str, float], label: str) -> Callable[[], None]:
    """Wrap ``module.name`` so that its calls add their seconds to ``spent[label]``; return an undo."""
    original = getattr(module, name)

    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent[label] = spent.get(label, 0.0) + time.perf_counter() - started

    setattr(module, name, timed)
    return lambda: setattr(module, name, original)


PIPELINES = ROOT / "bench" / "pipelines"


def _trace_events(trace: Path) -> list[dict[str, Any]]:
    return [json.loads(line.rsplit("\t", 1)[0]) for line in trace.read_text().splitlines() if line.strip()]


def _trace_phases(events: list[dict[str, Any]], run_seconds: float) -> list[tuple[str, float]]:
    """The child's phases from its trace: each event's time since the harness started, as steps."""
    marks = []
    names = {"versions": "TensorFlow import, harness hooks", "application": "building the base (weights)",
             "compile": "up to compile (model built, saved)", "fit": "training phase {phase} (and its saved model)",
             "end": "the rest of the script"}
    previous = 0.0
    for event in events:
        label = names.get(event.get("kind"))
        if label is None:
            continue
        at = float(event.get("t", previous))
        marks.append((label.format(phase=event.get("phase", "?")), at - previous))
        previous = at
    # The trace's clock starts at the harness's first line: the rest of the child's time is the
    # sandbox and Python starting before it, and the process ending after it.
    marks.append(("sandbox + Python start-up, and exit", max(run_seconds - previous, 0.0)))
    return marks


def breakdown(lab: Path) -> None:
    """Grade ``lab`` once here, and print where the time went."""
    import grader.cli  # noqa: F401 - what `grade` imports before it starts
    from grader import grading
    from grader.discover import folder_submission
    from grader.results import Submission
    from grader.rubric import load_rubric
    from grader.run import runner
    from grader.run.settings import RunSettings

    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "grader", "--version"], capture_output=True, check=True)
    startup = time.perf_counter() - started
    spent: dict[str, float] = {}
    undo = [_timed(runner, "run_child", spent, "run"), _timed(grading, "scan", spent, "static scan"),
            _timed(grading, "score_checks", spent, "checks"), _timed(grading, "score_sheet", spent, "answers"),
            _timed(runner, "confirm", spent, "inspector, after the run ended")]
    rubric = load_rubric()
    answers = (folder_submission(lab.parent) or Submission(lab.stem, lab, lab.parent)).answers
    with tempfile.TemporaryDirectory() as kept:
        started = time.perf_counter()
        evidence = grading.collect_evidence(Submission(lab.stem, lab, lab.parent, answers),
                                            RunSettings(budget=rubric.budget), keep=Path(kept))
        grade = grading.grade_evidence(lab.stem, evidence, rubric, RunSettings(budget=rubric.budget),
                                       Submission(lab.stem, lab, lab.parent, answers))
        total = time.perf_counter() - started
        events = _trace_events(Path(kept) / "trace.jsonl")
        phases = _trace_phases(events, spent.get("run", 0.0))
    for step in undo:
        step()
    print(f"\nbreakdown of one grading of {lab.name} (score {grade.score:g}):")
    print(f"  {'parent start-up (grade --version)':<46}{startup:6.1f} s")
    fits = {event.get("phase"): event.get("seconds") or {} for event in events if event.get("kind") == "fit"}
    for label, seconds in phases:
        print(f"  {'run: ' + label:<46}{seconds:6.1f} s")
        phase = label.split()[2] if label.startswith("training phase") else None
        if phase and phase.isdigit():
            _print_fit(fits.get(int(phase), {}), seconds)
    for label in ("inspector, after the run ended", "static scan", "checks", "answers"):
        print(f"  {label:<46}{spent.get(label, 0.0):6.2f} s")
    print(f"  {'in all (in this process, start-up apart)':<46}{total:6.1f} s")


def _print_fit(seconds: dict[str, Any], phase_seconds: float) -> None:
    """One training phase's parts, as the harness measured them (``grader.harness.clock``)."""
    if not seconds:
        return
    steps = seconds.get("step_count", 0)
    typical = (seconds["steps"] - seconds["first_step"]) / (steps - 1) if steps > 1 else 0.0
    measured = seconds.get("prepare", 0.0) + seconds["total"] + seconds.get("weights_compared", 0.0) + seconds["save"]
    rows = [("before: the script, compile's record", max(phase_seconds - measured, 0.0), ""),
            ("harness: budget, model described, weights", seconds.get("prepare", 0.0), ""),
            ("setup (data adapter, variables, callbacks)", seconds.get("setup", 0.0), ""),
            ("the epoch's iterator, before its first step", seconds.get("first_batch_wait", 0.0), ""),
            ("tracing (first step beyond a typical one)", seconds.get("tracing", 0.0), ""),
            (f"{steps} steps", seconds.get("steps", 0.0) - seconds.get("tracing", 0.0), f"{typical:.3f} s a step"),
            (f"validation, {seconds.get('validation_batches', 0)} batches", seconds.get("validation", 0.0),
             f"of which tracing {seconds.get('validation_tracing', 0.0):.2f} s"),
            ("epoch ends (metrics, history, callbacks)", seconds.get("epoch_ends", 0.0) + seconds.get("after", 0.0), ""),
            ("weights compared (harness)", seconds.get("weights_compared", 0.0), ""),
            ("saved model (for the inspector)", seconds.get("save", 0.0), "")]
    for label, value, note in rows:
        print(f"      {label:<42}{value:6.2f} s  {note}".rstrip())
    if seconds.get("generator_batches"):
        print(f"      {'(of the setup: ' + str(seconds['generator_batches']) + ' generator batches':<42}"
              f"{seconds['generator']:6.2f} s  read to learn their shapes)")


def pipelines(rounds: int) -> None:
    """Each pipeline's whole command against the floor, interleaved; then each one's breakdown."""
    labs = sorted(PIPELINES.glob("*.py"))
    commands: dict[str, list[float]] = {lab.stem: [] for lab in labs}
    floors = []
    with tempfile.TemporaryDirectory() as folder:
        for number in range(1, rounds + 1):  # interleaved: a busy moment slows all alike
            floors.append(floor_seconds())
            for lab in labs:
                commands[lab.stem].append(whole_command(lab, Path(folder) / "result.json"))
            print(f"round {number}: floor {floors[-1]:.1f} s, " + ", ".join(
                f"{name} {values[-1]:.1f} s" for name, values in commands.items()), flush=True)
    floor = statistics.median(floors)
    print(f"\nfloor: median {floor:.1f} s ({rounds} rounds)")
    for name, values in commands.items():
        median = statistics.median(values)
        print(f"  {name:<24} median {median:5.1f} s  ratio {median / floor:.2f}x  (goal: at most 2x)")
    for lab in labs:
        breakdown(lab)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", nargs="?", type=Path,
                        default=ROOT / "examples" / "submissions" / "alice_correct" / "transfer.py")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pipelines", action="store_true", help="the lab fed four ways (bench/pipelines/)")
    args = parser.parse_args()
    if args.pipelines:
        pipelines(args.rounds)
        return
    commands, floors = [], []
    with tempfile.TemporaryDirectory() as folder:
        for number in range(1, args.rounds + 1):  # interleaved: a busy moment slows both alike
            commands.append(whole_command(args.file.resolve(), Path(folder) / "result.json"))
            floors.append(floor_seconds())
            print(f"round {number}: grade check {commands[-1]:.1f} s, floor {floors[-1]:.1f} s", flush=True)
    command, floor = statistics.median(commands), statistics.median(floors)
    print(f"grade check (whole command): median {command:.1f} s; floor: median {floor:.1f} s; "
          f"ratio {command / floor:.2f}x (goal: at most 2x)")
    breakdown(args.file.resolve())


if __name__ == "__main__":
    main()
