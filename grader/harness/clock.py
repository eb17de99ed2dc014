"""Where a ``fit`` spends its time, measured from inside it (the bench's breakdown reads it).

Keras's callbacks bracket each training batch and, during ``fit``'s validation, each
validation batch. The first batch of a phase also traces its function (the first batch minus
a typical one is that cost, an estimate). Keras runs every pipeline (tf.data, a ``PyDataset``
such as ``ImageDataGenerator``'s iterators, arrays) as tf.data inside the traced step, so its
waits are part of the steps' time; the batches Keras reads from a generator only to learn their
shapes are timed apart (``harness.generators``).
"""

from __future__ import annotations

import statistics
import time
from typing import Any


class GeneratorClock:
    """Seconds Keras spent reading a generator's batches to learn their shapes, and how many, since ``reset``."""

    seconds = 0.0
    batches = 0

    @classmethod
    def reset(cls) -> None:
        cls.seconds, cls.batches = 0.0, 0

    @classmethod
    def add(cls, seconds: float, batches: int = 1) -> None:
        cls.seconds += seconds
        cls.batches += batches


class PhaseClock:
    """Collects one ``fit``'s times; ``callback()`` goes in its callbacks, ``seconds()`` reads them."""

    def __init__(self, entered: float) -> None:
        self.entered = entered  # when the harness's fit began (budget, model described, weights read)
        self.started = time.perf_counter()
        self.train_began: float | None = None
        self.train_ended: float | None = None
        self.steps: list[float] = []
        self.validation: list[float] = []  # each validation's seconds, from the epoch's last step
        self.validation_batches: list[float] = []
        self.first_batch: float | None = None  # when the first training batch began
        self._batch_started = self._batch_ended = 0.0
        GeneratorClock.reset()

    def prepared(self) -> None:
        """Keras's own fit starts now."""
        self.started = time.perf_counter()

    def callback(self) -> Any:
        import keras

        clock = self

        class Timing(keras.callbacks.Callback):
            def on_train_begin(self, logs: Any = None) -> None:
                clock.train_began = time.perf_counter()

            def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
                clock._batch_started = time.perf_counter()
                clock.first_batch = clock.first_batch or clock._batch_started

            def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
                clock._batch_ended = time.perf_counter()
                clock.steps.append(clock._batch_ended - clock._batch_started)

            def on_test_batch_begin(self, batch: int, logs: Any = None) -> None:
                clock._batch_started = time.perf_counter()

            def on_test_batch_end(self, batch: int, logs: Any = None) -> None:
                clock.validation_batches.append(time.perf_counter() - clock._batch_started)

            def on_test_end(self, logs: Any = None) -> None:
                # From the epoch's last step: Keras makes the validation's pipeline first.
                clock.validation.append(time.perf_counter() - clock._batch_ended)

            def on_train_end(self, logs: Any = None) -> None:
                clock.train_ended = time.perf_counter()

        return Timing()

    def seconds(self, ended: float, compared: float, save: float) -> dict[str, Any]:
        """The fit's time in parts, rounded to milliseconds: ``ended`` is when Keras's fit
        returned, ``compared`` how long the weights' comparison took after it, ``save`` the artifact."""
        began = self.train_began or ended
        finished = self.train_ended or ended
        steps, validation = sum(self.steps), sum(self.validation)
        return {key: round(value, 3) if isinstance(value, float) else value for key, value in {
            "prepare": self.started - self.entered,
            "total": ended - self.started,
            # The data adapter (a generator's first batches, to learn their shapes), the optimizer's
            # and metrics' variables, callbacks.
            "setup": began - self.started,
            "steps": steps, "step_count": len(self.steps),
            "first_step": self.steps[0] if self.steps else 0.0,
            "tracing": _first_minus_typical(self.steps),
            "validation": validation, "validation_batches": len(self.validation_batches),
            "validation_tracing": _first_minus_typical(self.validation_batches),
            # From the start of training to its first batch: the epoch's iterator made.
            "first_batch_wait": (self.first_batch or began) - began,
            # The rest: the epochs' ends (history, metrics, callbacks), the iterators let go.
            "epoch_ends": max(finished - (self.first_batch or began) - steps - validation, 0.0),
            "after": ended - finished,
            "generator": GeneratorClock.seconds, "generator_batches": GeneratorClock.batches,
            "weights_compared": compared, "save": save,
        }.items()}


def _first_minus_typical(batches: list[float]) -> float:
    """The first batch's time beyond a typical one's (its function's tracing), 0 when unknown."""
    if len(batches) < 2:
        return 0.0
    return max(batches[0] - statistics.median(batches[1:]), 0.0)
