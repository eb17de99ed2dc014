"""How likely an answer's automatic score is wrong, and by how much: what a person should read first.

The scorer knows more than its points: concepts it nearly found, denials and contradictions, how
much of the model answer's meaning the answer carries against the points it earned, which concepts
it found only by meaning (no phrase of the rubric), how much of the answer is about things neither
the rubric nor the model answer mention, hedges, length. ``signals`` puts those in numbers;
``estimate`` turns them into the expected error (a share of the question's points) with a linear
model fitted on the ``dev`` answers of the lab's hand-graded set (never on ``held``:
``bench/fit_review_model.py`` fits it and writes ``review_model.toml``), and names the signals that
weigh most as its reason.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

from grader.answers.meaning import reference_share, senses_of
from grader.answers.text import NEGATIONS, content_stems, tokens
from grader.rubric import QuestionSpec

MODEL_FILE = "review_model.toml"
_HEDGES = frozenset({"maybe", "think", "probably", "perhaps", "guess", "might", "possibly", "unsure"})


@dataclass(frozen=True)
class ScoringFacts:
    """What ``score_answer`` found in an answer, beside its points: the raw material of doubt."""

    share: float  # points earned / points of the question
    confidence: float
    flagged: bool
    contradicted: bool
    denials: int
    near: float  # share of the points in concepts nearly stated
    thin: bool
    restated: bool
    words: int
    sentences: int
    concepts_found: int
    meaning_only: float  # share of the points found only by meaning, by no phrase of the rubric
    uncredited_sentences: int  # sentences no concept was found in


SIGNALS = ("share", "confidence", "flagged", "contradicted", "denials", "near", "thin", "restated", "short",
           "log_words", "reference_share", "reference_overlap", "concepts", "meaning_only", "hedged",
           "question_overlap", "negations", "density", "meaning_gap", "sentences", "foreign", "uncredited",
           "foreign_credited")


def signals(question: QuestionSpec, text: str, facts: ScoringFacts) -> dict[str, float]:
    """The answer's signals by name (``SIGNALS``), each a number."""
    words = tokens(text)
    carried = reference_share(text, question.reference, question.prompt) if question.reference else 0.0
    named = senses_of(question.reference) | senses_of(question.prompt) | senses_of(
        " ".join(phrase for concept in question.concepts for phrase in concept.phrases))
    mine = senses_of(text)
    foreign = len(mine - named) / len(mine) if mine else 0.0
    wanted = content_stems(question.reference)
    return {
        "share": facts.share, "confidence": facts.confidence, "flagged": float(facts.flagged),
        "contradicted": float(facts.contradicted), "denials": float(facts.denials), "near": facts.near,
        "thin": float(facts.thin), "restated": float(facts.restated), "short": float(facts.words < 8),
        "log_words": math.log1p(facts.words), "reference_share": carried,
        "reference_overlap": len(wanted & content_stems(text)) / len(wanted) if wanted else 0.0,
        "concepts": facts.concepts_found / max(1, len(question.concepts)), "meaning_only": facts.meaning_only,
        "hedged": float(bool(_HEDGES & set(words))),
        "question_overlap": _share_of(content_stems(question.prompt), content_stems(text)),
        "negations": sum(word in NEGATIONS for word in words) / max(1, len(words)),
        "density": 10 * facts.concepts_found / max(1, len(words)),
        "meaning_gap": carried - facts.share, "sentences": float(facts.sentences), "foreign": foreign,
        "uncredited": facts.uncredited_sentences / max(1, facts.sentences),
        "foreign_credited": foreign * facts.share,
    }


def _share_of(whole: set[str], part: set[str]) -> float:
    return len(whole & part) / len(whole) if whole else 0.0


@dataclass(frozen=True)
class ReviewModel:
    """A linear model of the absolute error of an answer's share of points, over standardised
    signals: ``bias + sum(weight * (signal - mean) / scale)``, clipped to [0, 1]."""

    names: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float
    fitted_on: str = ""

    def contributions(self, values: Mapping[str, float]) -> dict[str, float]:
        """Each signal's part of the estimate above the average answer's."""
        return {name: weight * (values[name] - mean) / scale
                for name, mean, scale, weight in zip(self.names, self.mean, self.scale, self.weights)}

    def predict(self, values: Mapping[str, float]) -> float:
        return min(1.0, max(0.0, self.bias + sum(self.contributions(values).values())))

    def to_toml(self) -> str:
        """The model as TOML, as ``review_model.toml`` holds it."""
        rows = "\n".join(f"{name} = {{ mean = {mean!r}, scale = {scale!r}, weight = {weight!r} }}"
                         for name, mean, scale, weight in zip(self.names, self.mean, self.scale, self.weights))
        return (f"# The expected error of an answer's automatic score: written by bench/fit_review_model.py.\n"
                f"fitted_on = {self.fitted_on!r}\nbias = {self.bias!r}\n\n[signals]\n{rows}\n")


@cache
def review_model() -> ReviewModel:
    """The shipped model, read once."""
    data = tomllib.loads(resources.files("grader.answers").joinpath(MODEL_FILE).read_text(encoding="utf-8"))
    names = tuple(data["signals"])
    column = lambda key: tuple(float(data["signals"][name][key]) for name in names)  # noqa: E731
    return ReviewModel(names, column("mean"), column("scale"), column("weight"), float(data["bias"]),
                       data.get("fitted_on", ""))


def fit_review_model(rows: Sequence[Mapping[str, float]], errors: Sequence[float], alpha: float = 1.0,
                     fitted_on: str = "") -> ReviewModel:
    """Ridge regression of ``errors`` (absolute, as shares of full marks) on the signals of ``rows``."""
    import numpy as np

    x = np.array([[row[name] for name in SIGNALS] for row in rows], dtype=float)
    y = np.array(errors, dtype=float)
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    z = (x - mean) / scale
    bias = float(y.mean())
    weights = np.linalg.solve(z.T @ z + alpha * np.eye(z.shape[1]), z.T @ (y - bias))
    return ReviewModel(SIGNALS, tuple(map(float, mean)), tuple(map(float, scale)), tuple(map(float, weights)), bias,
                       fitted_on)


@dataclass(frozen=True)
class Doubt:
    """How far an automatic score is likely off (a share of full marks) and why, in words."""

    expected_error: float
    reason: str


def estimate(question: QuestionSpec, text: str, facts: ScoringFacts, model: ReviewModel | None = None) -> Doubt:
    """The expected error of an answer's automatic score, with the signals that weigh most in words."""
    model = model or review_model()
    values = signals(question, text, facts)
    parts = sorted(model.contributions(values).items(), key=lambda item: -item[1])
    said = [words for name, part in parts if part > 0.01 and (words := _in_words(name, values))][:2]
    return Doubt(round(model.predict(values), 3), "; ".join(said))


def _in_words(name: str, values: Mapping[str, float]) -> str:
    """A signal that raised the estimate, said as a reader would check it; "" when its value is
    unremarkable (a linear model also raises an estimate for a signal's absence)."""
    carried, share, foreign = values["reference_share"], values["share"], values["foreign"]
    notable = {
        "near": (values["near"] > 0, f"nearly states concepts worth {values['near']:.0%} of the points"),
        "thin": (values["thin"] > 0, "says little the rubric names"),
        "contradicted": (values["contradicted"] > 0, "says an idea the wrong way round"),
        "denials": (values["denials"] > 0, "denies a concept"),
        "meaning_gap": (abs(carried - share) >= 0.25,
                        f"carries {carried:.0%} of the model answer's meaning but earned {share:.0%}" if carried > share
                        else f"earned {share:.0%} while carrying {carried:.0%} of the model answer's meaning"),
        "reference_share": (carried < 0.15, f"carries only {carried:.0%} of the model answer's meaning"),
        "foreign": (foreign >= 0.4, f"{foreign:.0%} of what it says is in neither the rubric nor the model answer"),
        "foreign_credited": (foreign >= 0.4 and share >= 0.5,
                             f"earned {share:.0%}, yet {foreign:.0%} of it is in neither the rubric nor the model answer"),
        "meaning_only": (values["meaning_only"] > 0, "concepts found by meaning only, by no phrase of the rubric"),
        "hedged": (values["hedged"] > 0, "hedged"),
        "uncredited": (values["uncredited"] >= 0.5, f"{values['uncredited']:.0%} of its sentences earned nothing"),
        "short": (values["short"] > 0, "very short"),
        "restated": (values["restated"] > 0, "restates the question"),
        "density": (values["density"] >= 2, "many concepts in few words"),
    }
    shown, words = notable.get(name, (False, ""))
    return words if shown else ""
