"""Fit the review model (the expected error of an answer's automatic score) on the ``dev`` answers of
the lab's hand-graded set, and write it to ``grader/answers/review_model.toml``.

The ridge penalty is chosen by five-fold cross-validation on ``dev`` (the figure each candidate
reaches is printed: r with the hand grades after a person corrects the top 20% of each fold's
order). The ``held`` answers are never read here.

    python bench/fit_review_model.py            # fit, print, write the model
    python bench/fit_review_model.py --dry-run  # fit and print only
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from answer_set import TABLE, read_answers  # noqa: E402
from grader.answers.doubt import MODEL_FILE, fit_review_model, signals  # noqa: E402
from grader.answers.score import assess  # noqa: E402
from grader.bundled import default_rubric  # noqa: E402
from grader.rubric import load_rubric  # noqa: E402

ALPHAS = (0.3, 1.0, 3.0, 10.0, 30.0)
FOLDS = 5


def corrected_r(automatic: np.ndarray, hand: np.ndarray, order: np.ndarray, share: float) -> float:
    """Pearson's r with the hand grades after a person corrects the first ``share`` of ``order``."""
    corrected = automatic.copy()
    chosen = order[:round(share * len(order))]
    corrected[chosen] = hand[chosen]
    return float(np.corrcoef(corrected, hand)[0, 1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--table", type=Path, default=TABLE)
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args()
    questions = {question.id: question for question in load_rubric(default_rubric()).questions}
    rows, automatic, hand = [], [], []
    for answer in read_answers(args.table):
        if answer.split != "dev":
            continue  # held answers measure the model: they never shape it
        score, facts = assess(questions[answer.question], answer.text)
        if facts is None:
            continue  # a blank answer's 0 is certain: nothing to estimate
        rows.append(signals(questions[answer.question], answer.text, facts))
        automatic.append(score.points / score.max_points)
        hand.append(answer.hand)
    automatic_a, hand_a = np.array(automatic), np.array(hand)
    errors = np.abs(hand_a - automatic_a)
    folds = np.random.default_rng(0).permutation(len(rows)) % FOLDS
    best = None
    for alpha in ALPHAS:
        predicted = np.zeros(len(rows))
        for fold in range(FOLDS):
            train, test = np.where(folds != fold)[0], np.where(folds == fold)[0]
            model = fit_review_model([rows[i] for i in train], errors[train], alpha)
            predicted[test] = [model.predict(rows[i]) for i in test]
        figure = corrected_r(automatic_a, hand_a, np.argsort(-predicted, kind="stable"), 0.2)
        print(f"alpha {alpha:>5}: dev cross-validated r after reviewing 20%: {figure:.3f}")
        if best is None or figure > best[1]:
            best = (alpha, figure)
    alpha = best[0]
    model = fit_review_model(rows, errors, alpha, fitted_on=f"{len(rows)} dev answers of {args.table.name}, "
                                                            f"ridge alpha {alpha}")
    print(f"chosen alpha {alpha}; weights (per standard deviation):")
    for name, weight in sorted(zip(model.names, model.weights), key=lambda item: -abs(item[1])):
        print(f"  {name:<18} {weight:+.3f}")
    if not args.dry_run:
        target = Path(__file__).resolve().parent.parent / "grader" / "answers" / MODEL_FILE
        target.write_text(model.to_toml(), encoding="utf-8")
        print(f"wrote {target}")


if __name__ == "__main__":
    main()
