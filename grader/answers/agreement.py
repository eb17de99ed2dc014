"""Score answers against a rubric built from a question and its reference answer alone.

This is what ``bench/answer_agreement.py`` measures against human graders (SciEntsBank): each
answer gets a few interpretable features, and a logistic calibration fitted only on training rows
turns them into a score in [0, 1]. The lab's own questions are scored by hand-written concepts
(``score.py``); of these features, the product uses reference recall as the similarity that
sets an answer's confidence. A calibration fitted on SciEntsBank's short references rates good
paraphrases of the lab's longer model answers too low to stand in for it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from grader.answers.text import NEGATIONS, STOPWORDS, content_stems, stem, tokens

FEATURES = ("key_recall", "reference_recall", "precision", "question_overlap", "negation_mismatch",
            "length_ratio", "bigram_recall", "key_prefix_recall")
_PREFIX = 4  # "evaporate" and "evaporation", "heat" and "heated": the same first letters


@dataclass(frozen=True)
class DerivedRubric:
    """What an answer should contain, derived from the question and its reference answer."""

    key_terms: frozenset[str]  # reference content words the question does not already give away
    reference_terms: frozenset[str]
    question_terms: frozenset[str]
    reference_bigrams: frozenset[tuple[str, str]]
    reference_negated: bool
    reference_length: int


def derive_rubric(question: str, reference: str) -> DerivedRubric:
    """Build the rubric of one question from its text and its reference answer."""
    reference_terms = frozenset(content_stems(reference))
    question_terms = frozenset(content_stems(question))
    key_terms = reference_terms - question_terms or reference_terms
    return DerivedRubric(key_terms, reference_terms, question_terms, frozenset(_bigrams(reference)),
                         _negated(reference), len(tokens(reference)))


def _bigrams(text: str) -> list[tuple[str, str]]:
    """Consecutive content words (stop words and negations left out), stemmed."""
    stemmed = [stem(word) for word in tokens(text) if word not in NEGATIONS and word not in STOPWORDS]
    return list(zip(stemmed, stemmed[1:]))


def _negated(text: str) -> bool:
    return any(word in NEGATIONS for word in tokens(text))


def features(rubric: DerivedRubric, answer: str) -> np.ndarray:
    """The answer's features, in the order of ``FEATURES``."""
    answer_terms = content_stems(answer)
    length = max(len(tokens(answer)), 1)
    bigrams = set(_bigrams(answer))

    def share(part: set[str] | frozenset[str], whole: set[str] | frozenset[str]) -> float:
        return len(part & whole) / len(whole) if whole else 0.0

    return np.array([
        share(answer_terms, rubric.key_terms),
        share(answer_terms, rubric.reference_terms),
        share(answer_terms, rubric.reference_terms | rubric.question_terms) if answer_terms else 0.0,
        share(answer_terms, rubric.question_terms),
        float(_negated(answer) != rubric.reference_negated),
        math.log(length / max(rubric.reference_length, 1)),
        share(bigrams, rubric.reference_bigrams) if rubric.reference_bigrams else 0.0,
        share({term[:_PREFIX] for term in answer_terms}, {term[:_PREFIX] for term in rubric.key_terms}),
    ])


@dataclass(frozen=True)
class Calibration:
    """A logistic model over ``FEATURES`` and the decision threshold on its output."""

    weights: np.ndarray
    bias: float
    mean: np.ndarray
    scale: np.ndarray
    threshold: float = 0.5

    def score(self, rows: np.ndarray) -> np.ndarray:
        """Calibrated scores in [0, 1] for feature rows."""
        z = ((rows - self.mean) / self.scale) @ self.weights + self.bias
        return 1.0 / (1.0 + np.exp(-z))


def fit_calibration(rows: np.ndarray, labels: np.ndarray, steps: int = 3000, rate: float = 0.1,
                    l2: float = 1e-3) -> Calibration:
    """Fit a logistic calibration by gradient descent, then the threshold that maximises macro-F1."""
    mean, scale = rows.mean(axis=0), rows.std(axis=0) + 1e-9
    x = (rows - mean) / scale
    weights, bias = np.zeros(x.shape[1]), 0.0
    for _ in range(steps):
        predicted = 1.0 / (1.0 + np.exp(-(x @ weights + bias)))
        error = predicted - labels
        weights -= rate * (x.T @ error / len(x) + l2 * weights)
        bias -= rate * float(error.mean())
    calibration = Calibration(weights, bias, mean, scale)
    scores = calibration.score(rows)
    threshold = max(np.linspace(0.2, 0.8, 61), key=lambda t: macro_f1(labels, scores >= t))
    return Calibration(weights, bias, mean, scale, float(threshold))


def macro_f1(labels: np.ndarray, predicted: np.ndarray) -> float:
    """Mean F1 of the two classes (1 = correct, 0 = not)."""
    scores = []
    for positive in (1, 0):
        truth, guess = labels == positive, predicted == positive
        true_positive = float(np.sum(truth & guess))
        precision = true_positive / max(float(np.sum(guess)), 1.0)
        recall = true_positive / max(float(np.sum(truth)), 1.0)
        scores.append(0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall))
    return float(np.mean(scores))
