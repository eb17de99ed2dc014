"""The results document (the contract other tools read): rubric, environment, submissions."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from grader.atomic import write_text
from grader.results import Grade
from grader.rubric import Rubric
from grader.view import GradeView


def environment_summary(grades: Sequence[Grade], isolation: str) -> dict[str, str]:
    """What the whole run used: ``weights`` imagenet|stand-in, ``data`` synthetic|path, ``isolation``."""
    weights = {grade.environment.get("weights") for grade in grades}
    data = {grade.environment.get("data") for grade in grades} - {None}
    return {"weights": "stand-in" if "stand-in" in weights else ("imagenet" if "imagenet" in weights else "none"),
            "data": next(iter(data)) if len(data) == 1 else "synthetic",
            "isolation": isolation}


def results_document(rubric: Rubric, views: Sequence[GradeView], isolation: str) -> dict[str, Any]:
    """The JSON results document for ``views`` (each submission with the checks its audience sees)."""
    return {"rubric": {"name": rubric.name, "max_score": rubric.max_score},
            "environment": environment_summary([view.grade for view in views], isolation),
            "submissions": [view.to_dict() for view in views]}


def write_json(document: dict[str, Any], destination: str) -> None:
    """Write to a path atomically, or to standard output for ``-``."""
    text = json.dumps(document, indent=2)
    if destination == "-":
        print(text)
        return
    write_text(Path(destination), text + "\n")
