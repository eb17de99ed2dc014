"""Agreement of the written-answer scorer with human graders on a table of graded answers.

Two kinds of table (TSV, columns question_id, student_answer, score, score_max, optional split):

- With ``question`` and ``reference_answer`` columns (SciEntsBank): each question's rubric is built
  from its question and reference answer alone (``grader.answers.agreement``); only rows whose split
  is ``train`` fit the linear calibration and the threshold. Prints macro-F1 (or r) per split.
- Without them (the lab's own set, ``tests/fixtures/answers/lab_answers.tsv``): each answer is
  scored by the rubric's concepts exactly as ``grade`` scores it (``--rubric``, default the bundled
  one). Prints per split: Pearson's r with the hand grade overall and per question, the backwards
  answers' worst share of points and how many are flagged, how many answers are flagged, and how
  many of the big errors (0.3 of full marks or more from the hand grade) the flags catch; and the
  time to score the answers of a class of 30 (four questions each).

A ``\\n`` in an answer is a line break. Prints per-split lines; the last line is one JSON object.

    python bench/answer_agreement.py ../shared/datasets/scientsbank/scientsbank.tsv
    python bench/answer_agreement.py tests/fixtures/answers/lab_answers.tsv
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import defaultdict
from pathlib import Path

import time

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from grader.answers.agreement import FEATURES, derive_rubric, features, fit_calibration, macro_f1  # noqa: E402
from grader.answers.score import score_answer  # noqa: E402
from grader.bundled import default_rubric  # noqa: E402
from grader.rubric import load_rubric  # noqa: E402

BIG_ERROR = 0.3  # of full marks: an answer scored this far from its hand grade is a big error
CLASS_ANSWERS = 30 * 4


def _unescape(text: str) -> str:
    return text.replace("\\\\", "\0").replace("\\n", "\n").replace("\0", "\\")


def lab_figures(rows: list[dict[str, str]], rubric_path: Path | None) -> None:
    """Score every row with the rubric's concepts and print agreement, backwards and flag figures."""
    rubric = load_rubric(rubric_path or default_rubric())
    questions = {question.id: question for question in rubric.questions}
    started = time.perf_counter()
    scored = [score_answer(questions[row["question_id"]], _unescape(row["student_answer"])) for row in rows]
    seconds = time.perf_counter() - started
    given = np.array([s.points / s.max_points for s in scored])
    hand = np.array([float(row["score"]) / float(row["score_max"]) for row in rows])
    flagged = np.array([s.needs_review for s in scored])
    splits = np.array([row.get("split") or "all" for row in rows])
    question_ids = np.array([row["question_id"] for row in rows])
    backwards = np.array([row.get("kind") == "backwards" for row in rows])

    def r(chosen: np.ndarray) -> float:
        return round(float(np.corrcoef(given[chosen], hand[chosen])[0, 1]), 3)

    by_split: dict[str, dict[str, object]] = {}
    for split in sorted(set(splits)):
        chosen = splits == split
        big = chosen & (np.abs(given - hand) >= BIG_ERROR)
        back = chosen & backwards
        by_split[split] = {
            "n": int(chosen.sum()), "pearson_r": r(chosen),
            "by_question": {q: {"r": r(chosen & (question_ids == q)),
                                "mean_given": round(float(given[chosen & (question_ids == q)].mean()), 3),
                                "mean_hand": round(float(hand[chosen & (question_ids == q)].mean()), 3)}
                            for q in sorted(set(question_ids[chosen]))},
            "backwards": {"n": int(back.sum()), "max_share": round(float(given[back].max()), 3) if back.any() else None,
                          "flagged": int((back & flagged).sum())},
            "flagged_share": round(float(flagged[chosen].mean()), 3),
            "big_errors": {"n": int(big.sum()), "flagged": int((big & flagged).sum())},
        }
        figures = by_split[split]
        print(f"{split:<6} n={figures['n']} r={figures['pearson_r']} "
              + " ".join(f"{q}:r={v['r']}" for q, v in figures["by_question"].items())  # type: ignore[union-attr]
              + f" flagged={figures['flagged_share']} big_errors={figures['big_errors']} backwards={figures['backwards']}")
    per_class = seconds / len(rows) * CLASS_ANSWERS
    print(f"scoring: {len(rows)} answers in {seconds:.2f} s; a class of 30 (120 answers): {per_class:.2f} s")
    print(json.dumps({"n": len(rows), "mode": "rubric", "splits": by_split, "class_of_30_seconds": round(per_class, 3)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("table", type=Path)
    parser.add_argument("--rubric", type=Path, help="rubric for a table without reference answers (default: bundled)")
    args = parser.parse_args()
    csv.field_size_limit(10**7)
    with open(args.table, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    if rows and "reference_answer" not in rows[0]:
        lab_figures(rows, args.rubric)
        return
    rubrics = {}
    for row in rows:
        if row["question_id"] not in rubrics:
            rubrics[row["question_id"]] = derive_rubric(row["question"], row["reference_answer"])
    x = np.array([features(rubrics[row["question_id"]], row["student_answer"]) for row in rows])
    y = np.array([float(row["score"]) / float(row["score_max"]) for row in rows])
    splits = np.array([row.get("split") or "all" for row in rows])
    binary = set(np.unique(y)) <= {0.0, 1.0}
    train = splits == "train"
    if not train.any():
        train = np.ones(len(rows), dtype=bool)  # no split column: fit and report on all rows
    calibration = fit_calibration(x[train], (y[train] >= 0.5).astype(float) if binary else y[train])
    scores = calibration.score(x)
    result: dict[str, object] = {"n": len(rows), "features": list(FEATURES), "threshold": round(calibration.threshold, 3)}
    by_split: dict[str, dict[str, float]] = defaultdict(dict)
    for split in sorted(set(splits)):
        chosen = splits == split
        if binary:
            predicted = (scores[chosen] >= calibration.threshold).astype(float)
            by_split[split] = {"n": int(chosen.sum()), "macro_f1": round(macro_f1(y[chosen], predicted), 4),
                               "accuracy": round(float(np.mean(predicted == y[chosen])), 4)}
        else:
            by_split[split] = {"n": int(chosen.sum()),
                               "pearson_r": round(float(np.corrcoef(scores[chosen], y[chosen])[0, 1]), 4),
                               "rmse": round(float(np.sqrt(np.mean((scores[chosen] - y[chosen]) ** 2))), 4)}
        print(f"{split:<24}" + "  ".join(f"{k}={v}" for k, v in by_split[split].items()))
    result["splits"] = by_split
    print(json.dumps(result))


if __name__ == "__main__":
    main()
