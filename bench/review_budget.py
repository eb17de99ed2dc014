"""How much a person's review, in the grader's order, brings the written answers' scores to the
hand grades: the figure behind ``grade review --budget``.

For each split of a lab answer table (``tests/fixtures/answers/lab_answers.tsv``: the review model is
fitted on ``dev`` only, so ``held`` is the honest figure), the answers are scored as ``grade``
scores them and put in the review order (expected error, highest first). A person is simulated by
the hand grades: correcting the top 10%, 20% and 30% of the order. Printed per split: Pearson's r
with the hand grades before review and after each budget, the same for the other orders a person
could follow (the flags, lowest confidence first, and the oracle that knows the errors), and the
share of the big errors (0.3 of full marks or more) in the top 20%. The last line is JSON.

    python bench/review_budget.py tests/fixtures/answers/lab_answers.tsv
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from answer_set import TABLE, read_answers  # noqa: E402
from fit_review_model import corrected_r  # noqa: E402
from grader.answers.score import score_answer  # noqa: E402
from grader.bundled import default_rubric  # noqa: E402
from grader.rubric import load_rubric  # noqa: E402

BUDGETS = (0.1, 0.2, 0.3)
BIG_ERROR = 0.3


def figures(automatic: np.ndarray, hand: np.ndarray, orders: dict[str, np.ndarray]) -> dict[str, object]:
    """r before review, after each budget in each order, and the big errors the top 20% holds."""
    big = np.abs(automatic - hand) >= BIG_ERROR
    top = orders["review order"][:round(0.2 * len(hand))]
    return {"n": len(hand), "r_before": round(float(np.corrcoef(automatic, hand)[0, 1]), 3),
            "after": {name: {f"{budget:.0%}": round(corrected_r(automatic, hand, order, budget), 3)
                             for budget in BUDGETS} for name, order in orders.items()},
            "big_errors": int(big.sum()), "big_errors_in_top_20%": int(big[top].sum())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("table", type=Path, nargs="?", default=TABLE)
    parser.add_argument("--rubric", type=Path, help="rubric to score with (default: the bundled one)")
    args = parser.parse_args()
    questions = {question.id: question for question in load_rubric(args.rubric or default_rubric()).questions}
    answers = read_answers(args.table)
    scored = [score_answer(questions[answer.question], answer.text) for answer in answers]
    results = {}
    for split in sorted({answer.split for answer in answers}):
        chosen = [i for i, answer in enumerate(answers) if answer.split == split]
        automatic = np.array([scored[i].points / scored[i].max_points for i in chosen])
        hand = np.array([answers[i].hand for i in chosen])
        expected = np.array([scored[i].expected_error for i in chosen])
        orders = {"review order": np.argsort(-expected, kind="stable"),
                  "flags": np.argsort([not scored[i].needs_review for i in chosen], kind="stable"),
                  "lowest confidence": np.argsort([scored[i].confidence for i in chosen], kind="stable"),
                  "oracle": np.argsort(-np.abs(automatic - hand), kind="stable")}
        results[split] = figures(automatic, hand, orders)
        split_figures = results[split]
        print(f"{split}: n={split_figures['n']} r before review {split_figures['r_before']}; "
              f"big errors {split_figures['big_errors']}, in the top 20% of the review order "
              f"{split_figures['big_errors_in_top_20%']}")
        for name, after in split_figures["after"].items():  # type: ignore[union-attr]
            print(f"  after reviewing, in the {name:<17}: " + "  ".join(f"{k} r {v}" for k, v in after.items()))
    print(json.dumps({"table": str(args.table), "splits": results}))


if __name__ == "__main__":
    main()
