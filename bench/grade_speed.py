"""How long one full run+capture of a submission takes, against the floor of any such run.

For each bundled example submission, the wall time of ``run_submission`` (sandbox, offline harness,
trace, saved models); and, measured in the same session, the floor: a fresh process that imports
TensorFlow, builds MobileNetV2 (stand-in weights from the cache) and runs one training step.
Prints the median of each and their ratio (goal: at most 3x). Run from the repository root:

    python bench/grade_speed.py [--repeat N] [--examples DIR]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

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


def main() -> None:
    from grader.discover import discover
    from grader.rubric import load_rubric
    from grader.run.runner import run_submission
    from grader.run.settings import RunSettings

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3, help="floor measurements")
    parser.add_argument("--examples", type=Path, default=ROOT / "examples" / "submissions")
    args = parser.parse_args()
    settings = RunSettings(budget=load_rubric().budget)
    floors = [floor_seconds() for _ in range(args.repeat)]
    runs = []
    for submission in discover(args.examples).submissions:
        started = time.perf_counter()
        result = run_submission(submission.code, settings)
        runs.append(time.perf_counter() - started)
        print(f"{submission.id:<24}{runs[-1]:>7.1f} s  {result.status.value} ({result.isolation})")
    floor, run = statistics.median(floors), statistics.median(runs)
    print(f"floor (import TF + build MobileNetV2 + one step): median {floor:.1f} s over {len(floors)} runs")
    print(f"run+capture: median {run:.1f} s over {len(runs)} submissions; ratio {run / floor:.2f}x (goal <= 3x)")


if __name__ == "__main__":
    main()
