"""Training steps of a costly base take part of each batch, so a budgeted step costs about what a
step of the lab's MobileNetV2 does (``grader.shared.cost``); the student's pipeline is not changed,
only what ``fit`` reads of it, and the trace says how many images a step took and why."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from grader.shared.cost import batch_cap, step_cost


def costliest(bases: list[Any], architectures: dict[int, str]) -> tuple[str, tuple[int, int], float] | None:
    """The costliest measured base of ``bases``: its name, input side and step cost."""
    found = []
    for base in bases:
        name = architectures.get(id(base), "")
        height, width = (tuple(getattr(base, "input_shape", ()) or ())[1:3] + (None, None))[:2]
        cost = step_cost(name, height, width)
        if cost is not None:
            found.append((name, (height, width), cost))
    return max(found, key=lambda entry: entry[2], default=None)


@contextmanager
def capped(arguments: dict[str, Any], cap: int) -> Iterator[str | None]:
    """Within the block, ``arguments["x"]`` (fit's training data) yields at most ``cap`` images a
    batch; yields how (None when the data's kind cannot be cut: it trains whole)."""
    x = arguments.get("x")
    if isinstance(x, np.ndarray):
        batch = arguments.get("batch_size") or 32
        arguments["batch_size"] = min(int(batch), cap)
        if arguments.get("validation_batch_size") is None:  # validation keeps whole batches
            arguments["validation_batch_size"] = batch
        yield "batch_size"
        return
    if hasattr(x, "element_spec") and hasattr(x, "map"):
        if not _batched(x.element_spec):
            yield None
            return
        arguments["x"] = x.map(_first(cap))
        yield "dataset"
        return
    if hasattr(x, "batch_size") and hasattr(x, "__getitem__") and hasattr(x, "n"):  # Keras' image iterators
        saved = x.batch_size
        x.batch_size = min(int(saved), cap)
        try:
            yield "iterator"
        finally:
            x.batch_size = saved
        return
    yield None


def _batched(spec: Any) -> bool:
    """Whether every tensor of a dataset's elements has an unknown first dimension (a batch)."""
    import tensorflow as tf

    parts = tf.nest.flatten(spec)
    return bool(parts) and all(getattr(part, "shape", None) is not None and part.shape.rank
                               and part.shape[0] is None for part in parts)


def _first(cap: int) -> Callable[..., Any]:
    import tensorflow as tf

    def first(*element: Any) -> Any:
        parts = element if len(element) > 1 else element[0]
        return tf.nest.map_structure(lambda tensor: tensor[:cap], parts)

    return first


@dataclass(frozen=True)
class BatchCap:
    """At most ``images`` images a training step, and why (for the report)."""

    images: int
    reason: str


def plan(bases: list[Any], architectures: dict[int, str], step_images: int) -> BatchCap | None:
    """The cap for a fit of a model holding ``bases``, or None when whole batches fit."""
    found = costliest(bases, architectures)
    if found is None:
        return None
    name, (height, width), cost = found
    cap = batch_cap(cost, step_images)
    if cap is None:
        return None
    return BatchCap(cap, f"{name} at {height}x{width} costs about {cost:.1f} times the lab's MobileNetV2 at "
                         f"160x160 a step: each training step took at most {cap} images of its batch (the "
                         f"budget's step_images = {step_images}); validation read whole batches")
