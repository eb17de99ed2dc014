"""What a training step of each base of the matrix costs against the lab's MobileNetV2 at 160x160:
the figures of grader/shared/cost.py. Each base is built with weights=None (the cost does not depend
on the weights), frozen under GlobalAveragePooling2D and a Dense(1) head, and trained on a batch of 32
(one step to trace, then the mean of three); the reference step is timed before and after each base,
so a busy moment slows both alike.

    python bench/step_cost.py [--only resnet50_224 ...]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "fixtures" / "bases"))

from write import MATRIX  # noqa: E402


def stepper(family: str, side: int):  # noqa: ANN201
    """A function that trains one step of a frozen ``family`` at ``side`` and returns its seconds."""
    import keras
    import numpy as np

    base = getattr(keras.applications, family)(input_shape=(side, side, 3), include_top=False, weights=None)
    base.trainable = False
    model = keras.Sequential([keras.Input((side, side, 3)), base, keras.layers.GlobalAveragePooling2D(),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile("adam", "binary_crossentropy")
    images = np.random.default_rng(0).uniform(0, 255, (32, side, side, 3)).astype("float32")
    labels = np.zeros((32, 1), "float32")
    model.train_on_batch(images, labels)  # traced here

    def step() -> float:
        started = time.perf_counter()
        model.train_on_batch(images, labels)
        return time.perf_counter() - started

    return step


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", metavar="NAME", help="rows to time, e.g. resnet50_224")
    args = parser.parse_args()
    reference = stepper("MobileNetV2", 160)
    print(f"{'base':<24}{'s a step':>10}{'relative':>10}")
    for base in MATRIX:
        if args.only and base.name not in args.only:
            continue
        step = stepper(base.family, base.size)
        ours, theirs = [], []
        for _ in range(3):
            theirs.append(reference())
            ours.append(step())
        theirs.append(reference())
        seconds, relative = statistics.mean(ours), statistics.mean(ours) / statistics.mean(theirs)
        print(f"{base.name:<24}{seconds:10.2f}{relative:10.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
