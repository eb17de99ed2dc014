"""Agreement of the written-answer scorer with human graders on a table of graded answers.

Input: a TSV with columns question_id, question, reference_answer, student_answer, score,
score_max (optional split). Each question's rubric is built from its question and reference
answer alone (``grader.answers.agreement``); only rows whose split is ``train`` fit the linear
calibration and the threshold. Prints per-split figures; the last line is one JSON object.

    python bench/answer_agreement.py ../shared/datasets/scientsbank/scientsbank.tsv
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from grader.answers.agreement import FEATURES, derive_rubric, features, fit_calibration, macro_f1  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("table", type=Path)
    args = parser.parse_args()
    csv.field_size_limit(10**7)
    with open(args.table, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
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
