"""Score a written answer against its rubric question: concepts found (with the sentence showing
each), concepts missing, similarity to the reference answer, a confidence, and when a person
should read it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from grader.answers.text import content_stems, find_phrase, sentences, stems, tokens
from grader.results import AnswerScore, AnswerStatus
from grader.rubric import Concept, QuestionSpec

MIN_WORDS, MAX_WORDS = 8, 400
REVIEW_BELOW = 0.5  # confidence under which a person should read the answer


@dataclass(frozen=True)
class ConceptHit:
    """A concept and the sentence that shows it (or, if negated, the sentence that denies it)."""

    concept: Concept
    sentence: str
    negated: bool


def find_concept(concept: Concept, answer_sentences: Sequence[str]) -> ConceptHit | None:
    """The first sentence that states ``concept`` (not negated); else one that denies it; else None."""
    denied: ConceptHit | None = None
    for sentence in answer_sentences:
        words = stems(sentence)
        for phrase in concept.phrases:
            match = find_phrase(phrase, words)
            if match is None:
                continue
            if not match.negated or concept.any_polarity:
                return ConceptHit(concept, sentence, False)
            denied = denied or ConceptHit(concept, sentence, True)
    return denied


def overlap(answer: str, reference: str) -> float:
    """Share of the reference's content words that the answer uses (0 when there is no reference)."""
    wanted = content_stems(reference)
    return len(wanted & content_stems(answer)) / len(wanted) if wanted else 0.0


def contradiction(question: QuestionSpec, answer_sentences: Sequence[str]) -> str | None:
    """A sentence that states what the question's ``contradictions`` list as wrong, if any."""
    for sentence in answer_sentences:
        words = stems(sentence)
        for phrase in question.contradictions:
            match = find_phrase(phrase, words, max_gap=1)  # stricter: a false alarm costs points
            if match is not None and not match.negated:
                return sentence
    return None


_EXCERPT = 600  # characters of a flagged answer kept for its reviewer


def score_answer(question: QuestionSpec, text: str) -> AnswerScore:
    """Score one written answer. Points come from the concepts found; the reference similarity and
    the answer's shape decide the confidence and whether a person should review it."""
    words = tokens(text)
    answer_sentences = sentences(text)
    hits = [hit for concept in question.concepts if (hit := find_concept(concept, answer_sentences))]
    stated = [hit for hit in hits if not hit.negated]
    points = sum(hit.concept.points for hit in stated)
    coverage = points / question.points if question.points else 0.0
    similarity = overlap(text, question.reference) if question.reference else coverage
    reasons = []
    opposite = contradiction(question, answer_sentences)
    if opposite:
        points /= 2
        reasons.append(f"says the opposite of the expected answer: \"{opposite[:120]}\"")
    if len(words) < MIN_WORDS:
        reasons.append(f"very short ({len(words)} words)")
    if len(words) > MAX_WORDS:
        reasons.append(f"very long ({len(words)} words)")
    if question.prompt and overlap(question.prompt, text) >= 0.8 and overlap(text, question.prompt) >= 0.6:
        reasons.append("restates the question")
        points = 0.0
    for hit in hits:
        if hit.negated:
            reasons.append(f"denies \"{hit.concept.name}\": \"{hit.sentence[:100]}\"")
    # Two measures that agree give confidence; a concept list and a reference answer that
    # disagree (a paraphrase the phrases missed, or keyword stuffing) call for a person.
    confidence = max(0.0, 1.0 - abs(coverage - min(1.0, similarity * 1.6)))
    if confidence < REVIEW_BELOW:
        reasons.append(f"low confidence ({confidence:.2f}): concepts and similarity to the model answer disagree")
    status = AnswerStatus.ANSWERED if words else AnswerStatus.MISSING
    return AnswerScore(
        id=question.id, points=round(points, 2), max_points=question.points, status=status,
        found=tuple({"concept": hit.concept.name, "sentence": hit.sentence} for hit in stated),
        missing=tuple(c.name for c in question.concepts if c.name not in {h.concept.name for h in stated}),
        confidence=round(confidence, 2), needs_review=bool(reasons) or not words,
        reason="; ".join(reasons) if words else "no answer found for this item",
        excerpt=text.strip()[:_EXCERPT] if reasons else "")


def missing_answer(question: QuestionSpec) -> AnswerScore:
    """The score of an item the document does not contain."""
    return AnswerScore(question.id, 0.0, question.points, AnswerStatus.MISSING, (), tuple(c.name for c in question.concepts),
                       1.0, True, "no answer found for this item")
