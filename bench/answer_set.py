"""The lab's hand-graded answer set (``tests/fixtures/answers/lab_answers.tsv``), as the benches read it.

Columns: id, question_id, split (dev: what the scorer and the review model may be tuned and fitted
on; held: what they are measured on, never tuned on), kind, score, score_max, student_answer (a
``\\n`` in it is a line break).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

TABLE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "answers" / "lab_answers.tsv"


@dataclass(frozen=True)
class GradedAnswer:
    """One answer of the set with its hand grade as a share of full marks."""

    id: str
    question: str
    split: str
    kind: str
    hand: float
    text: str


def unescape(text: str) -> str:
    return text.replace("\\\\", "\0").replace("\\n", "\n").replace("\0", "\\")


def read_rows(table: Path) -> list[dict[str, str]]:
    """The table's rows as dictionaries (tab-separated, no quoting)."""
    csv.field_size_limit(10**7)
    with open(table, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))


def read_answers(table: Path = TABLE) -> list[GradedAnswer]:
    """Every answer of a lab answer table."""
    return [GradedAnswer(row.get("id", ""), row["question_id"], row.get("split") or "all", row.get("kind", ""),
                         float(row["score"]) / float(row["score_max"]), unescape(row["student_answer"]))
            for row in read_rows(table)]
