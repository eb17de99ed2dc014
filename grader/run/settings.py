"""How to run submissions: one frozen value shared by a batch."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from grader.run.memory import memory_limit_bytes
from grader.run.sandbox import Isolation, Limits
from grader.shared.budget import RunBudget


@dataclass(frozen=True)
class RunSettings:
    """Training budget (with the wall time), process limits, isolation, data, weights and seed."""

    budget: RunBudget = RunBudget()
    limits: Limits | None = None  # None: the defaults, with the budget's memory_gib (within the machine's)
    isolation: Isolation | None = None  # None: the strongest available
    data: Path | None = None  # a real dataset folder; None: the synthetic one
    weights_file: Path | None = None
    cache: Path | None = None
    seed: int = 1234
    save_models: bool = True
    work_root: Path | None = None  # where scratch folders are made (default: the system temp)
    extra_env: dict[str, str] = field(default_factory=dict)
    # The lab's pretrained base, input size and top: its stand-in weights are made before any run, as the
    # sandbox cannot keep what a run builds. MobileNetV2's usual sizes are always made.
    base: tuple[str, tuple[int, int, int], bool] | None = None  # with include_top
    # The budget's timeout_seconds was given (``--timeout``): a slow base does not raise it.
    timeout_fixed: bool = False

    def run_limits(self) -> Limits:
        """The limits of a run: those given, or the defaults with the budget's memory (a rubric's
        ``[run] memory_gib``); either way never more memory than the machine has."""
        limits = self.limits or replace(Limits(), memory_bytes=int(self.budget.memory_gib * 2**30))
        return replace(limits, memory_bytes=memory_limit_bytes(limits.memory_bytes / 2**30))
