"""What a training step of each base costs on a CPU, against the lab's MobileNetV2 at 160x160, and
the batch that keeps a budgeted step of a costlier base near the cost of the lab's.

A step of a frozen base is mostly its forward pass, so its cost grows with the images a step takes.
The figures are measured (``python bench/step_cost.py``: seconds of a training step of a frozen base
under a small head, batch 32, two cores, over that of MobileNetV2 at 160) at each family's usual
side, and scaled by the pixel count for other sides. A base missing here is not capped.
"""

from __future__ import annotations

import math

# Per family: (the side measured, the cost of a step at that side relative to MobileNetV2 at 160).
STEP_COST = {
    "MobileNetV2": (160, 1.0),
    "MobileNetV3Small": (224, 0.26),
    "MobileNetV3Large": (224, 0.94),
    "ResNet50": (224, 9.5),
    "ResNet50V2": (224, 5.6),
    "VGG16": (224, 22.0),
    "InceptionV3": (299, 9.9),
    "Xception": (299, 9.5),
    "DenseNet121": (224, 6.5),
    "EfficientNetB0": (224, 4.7),
    "EfficientNetV2B0": (224, 1.1),
    "ConvNeXtTiny": (224, 77.0),
}

MIN_BATCH = 8  # fewer images a step and the head's updates are too noisy to show it learns
_STEP_TIME = 4.0  # a capped step may cost this many of the lab's steps in the budget's wall time
_SLACK = 5.0  # up to this much costlier (MobileNetV2 at 224, EfficientNetB0): whole batches


def step_cost(architecture: str, height: int | None, width: int | None) -> float | None:
    """The cost of a training step of ``architecture`` at ``height`` x ``width`` relative to
    MobileNetV2 at 160x160 (None when not measured, or the size is unknown)."""
    if architecture not in STEP_COST or not height or not width:
        return None
    side, cost = STEP_COST[architecture]
    return cost * (height * width) / (side * side)


def batch_cap(cost: float | None, step_images: int) -> int | None:
    """The most images a training step may take so that it costs about what ``step_images`` images
    of MobileNetV2 at 160 do, never fewer than ``MIN_BATCH``; None when whole batches fit (or the
    cost is unknown, or ``step_images`` is 0: no cap)."""
    if cost is None or step_images <= 0 or cost <= _SLACK:
        return None
    return max(MIN_BATCH, math.floor(step_images / cost))


def time_factor(cost: float | None, step_images: int) -> float:
    """How many times the budget's wall time a run of a base of ``cost`` gets: 1, unless even its
    capped step costs more than 4 of the lab's (ConvNeXtTiny's: 19 of them)."""
    cap = batch_cap(cost, step_images)
    if cost is None or cap is None:
        return 1.0
    return max(1.0, cost * cap / step_images / _STEP_TIME)
