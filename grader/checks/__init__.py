"""The check catalogue. Importing this package registers every check in ``REGISTRY``."""

from __future__ import annotations

from grader.checks import (augmentation, base_model, compiling, finetuning, head,  # noqa: F401
                           preprocessing, training)
from grader.checks.registry import REGISTRY, CheckDefinition, Verdict, register

__all__ = ["REGISTRY", "CheckDefinition", "Verdict", "register"]
