"""The reference-only scorer that bench/answer_agreement.py measures against human graders."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from grader.answers.agreement import FEATURES, derive_rubric, features, fit_calibration, macro_f1

from conftest import REPOSITORY

QUESTION = "How did you separate the salt from the water?"
REFERENCE = "The water was evaporated, leaving the salt."


def _feature(answer: str, name: str) -> float:
    return float(features(derive_rubric(QUESTION, REFERENCE), answer)[FEATURES.index(name)])


def test_key_terms_leave_out_what_the_question_gives_away() -> None:
    rubric = derive_rubric(QUESTION, REFERENCE)
    assert "salt" not in rubric.key_terms and "water" not in rubric.key_terms
    assert _feature("salt water salt water", "key_recall") == 0.0


def test_prefix_recall_catches_inflections_the_stemmer_keeps_apart() -> None:
    answer = "By evaporation: we left it out and the salt stayed."
    # "evaporation" and "evaporated" stem apart but share their first letters; "left" is not "leaving".
    assert _feature(answer, "key_recall") == 0.0
    assert _feature(answer, "key_prefix_recall") == 0.5


def test_negation_mismatch_is_a_feature() -> None:
    assert _feature("The water did not evaporate.", "negation_mismatch") == 1.0
    assert _feature("The water evaporated.", "negation_mismatch") == 0.0


def test_calibration_separates_what_it_was_fitted_on() -> None:
    rubric = derive_rubric(QUESTION, REFERENCE)
    good = ["The water evaporated and left the salt.", "We evaporated the water, the salt stayed behind."]
    bad = ["We used a magnet.", "I poured it through a filter paper.", "By shaking it."]
    rows = np.array([features(rubric, answer) for answer in good * 5 + bad * 5])
    labels = np.array([1.0] * 10 + [0.0] * 15)
    calibration = fit_calibration(rows, labels, steps=500)
    predicted = (calibration.score(rows) >= calibration.threshold).astype(float)
    assert macro_f1(labels, predicted) == 1.0
    assert macro_f1(labels, 1 - labels) == 0.0


def test_bench_prints_figures_per_split_as_its_last_line(tmp_path: Path) -> None:
    header = "question_id\tquestion\treference_answer\tstudent_answer\tscore\tscore_max\tsplit\n"
    answers = [("The water evaporated, the salt was left.", 1), ("Evaporating the water.", 1),
               ("With a magnet.", 0), ("Filter paper.", 0)]
    lines = [f"q1\t{QUESTION}\t{REFERENCE}\t{text}\t{score}\t1\t{split}\n"
             for split in ("train", "test") for text, score in answers]
    table = tmp_path / "graded.tsv"
    table.write_text(header + "".join(lines))
    output = subprocess.run([sys.executable, str(REPOSITORY / "bench" / "answer_agreement.py"), str(table)],
                            capture_output=True, text=True, check=True).stdout
    result = json.loads(output.strip().splitlines()[-1])
    assert result["n"] == 8 and set(result["splits"]) == {"train", "test"}
    assert result["splits"]["test"]["macro_f1"] == 1.0 and result["splits"]["test"]["n"] == 4


def test_bench_scores_the_lab_set_with_the_rubric_per_split() -> None:
    table = REPOSITORY / "tests" / "fixtures" / "answers" / "lab_answers.tsv"
    output = subprocess.run([sys.executable, str(REPOSITORY / "bench" / "answer_agreement.py"), str(table)],
                            capture_output=True, text=True, check=True).stdout
    result = json.loads(output.strip().splitlines()[-1])
    assert result["mode"] == "rubric" and result["n"] >= 120 and set(result["splits"]) == {"dev", "held"}
    for figures in result["splits"].values():
        assert set(figures["by_question"]) == {"q1", "q2", "q3", "q4"} and figures["backwards"]["n"] > 0
    # A guard on the part the scorer was tuned on (the held part is measured, never a target): most
    # backwards answers are caught as contradictions and flagged for a person.
    backwards = result["splits"]["dev"]["backwards"]
    assert backwards["flagged"] >= 0.8 * backwards["n"]
    assert "a class of 30" in output
