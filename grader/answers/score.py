"""Score a written answer against its rubric question: concepts found (with the sentence showing
each), concepts missing, similarity to the reference answer, a confidence, and when a person
should read it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from grader.answers.doubt import ScoringFacts, estimate
from grader.answers.meaning import Unit, find_meaning, hypothetical, near_share, read, reference_share, senses_of, words_of
from grader.answers.text import content_stems, find_phrase, sentences, stems, tokens
from grader.results import AnswerScore, AnswerStatus
from grader.rubric import Concept, QuestionSpec

MIN_WORDS, MAX_WORDS = 8, 400
NEAR = 0.6  # share of a phrase's senses a sentence carries for its concept to be nearly stated
AT_STAKE = 0.3  # share of a question's points nearly stated that calls for a person
THIN = 0.1  # share of the model answer's senses under which an on-topic answer says too little to trust
CONTRADICTED_SHARE = 0.4  # the most an answer that says the idea the wrong way round can earn


@dataclass(frozen=True)
class ConceptHit:
    """A concept and the sentence that shows it (or, if negated, the sentence that denies it)."""

    concept: Concept
    sentence: str
    negated: bool
    by_meaning: bool = False  # found by the meaning route only, by no phrase of the rubric


def find_concept(concept: Concept, answer_sentences: Sequence[str], given: frozenset[str] = frozenset()) -> ConceptHit | None:
    """The first sentence that states ``concept`` (not negated), by a phrase, else by meaning; else
    one that denies it; else None. ``given``: the words of the question (restating them is no evidence)."""
    denied: ConceptHit | None = None
    for by_meaning in (False, True):
        for sentence in answer_sentences:
            words = stems(sentence)
            for phrase in concept.phrases:
                match = find_meaning(phrase, sentence, given) if by_meaning else find_phrase(phrase, words)
                if match is None:
                    continue
                if not match.negated or concept.any_polarity:
                    return ConceptHit(concept, sentence, False, by_meaning)
                denied = denied or ConceptHit(concept, sentence, True, by_meaning)
    return denied


def overlap(answer: str, reference: str) -> float:
    """Share of the reference's content words that the answer uses (0 when there is no reference)."""
    wanted = content_stems(reference)
    return len(wanted & content_stems(answer)) / len(wanted) if wanted else 0.0


def contradiction(question: QuestionSpec, answer_sentences: Sequence[str]) -> str | None:
    """A sentence that states what the question's ``contradictions`` list as wrong, by a phrase or
    by meaning, if any. Stricter than concepts (a false alarm costs points): the words must stand
    close together and in the phrase's order, and a statement of what would happen ("if the base
    were trainable, ...") or of what something is compared with ("than training from scratch")
    contradicts nothing."""
    for sentence in answer_sentences:
        plain = tokens(sentence)
        words = stems(sentence)
        read_units = read(sentence)
        units = [unit.text for unit in read_units]
        for phrase in question.contradictions:
            exact = find_phrase(phrase, words, max_gap=1)
            if (exact is not None and not exact.negated and not hypothetical(words, exact.start, exact.end)
                    and not said_of_head(phrase, read(" ".join(plain[max(0, exact.start - 2):exact.start])))):
                return sentence
            meant = find_meaning(phrase, sentence, slack=1, least=2, ordered=True)
            if (meant is not None and not meant.negated and not hypothetical(units, meant.start, meant.end + 1)
                    and not said_of_head(phrase, read_units[max(0, meant.start - 2):meant.start])):
                return sentence
    return None


def said_of_head(phrase: str, before: Sequence[Unit]) -> bool:
    """Whether a statement the phrase calls wrong is said of the new head ("only the head's weights
    change"), which is where it is right: the lab's contradictions are about what the base does.
    A phrase that itself names the head ("the head is frozen") is never excused."""
    return (not any("head" in unit.senses for unit in read(phrase))
            and any("head" in unit.senses for unit in before))


_EXCERPT = 600  # characters of a flagged answer kept for its reviewer


def at_stake(question: QuestionSpec, missing: Sequence[Concept], answer_sentences: Sequence[str],
             given: frozenset[str]) -> list[Concept]:
    """The missing concepts an answer nearly states: a sentence carries most senses of one of
    their phrases, just not close enough or not all. Were a person to read them as stated, the
    score would change by their points."""
    return [concept for concept in missing
            if any(near_share(phrase, sentence, given) >= NEAR for phrase in concept.phrases for sentence in answer_sentences)]


def score_answer(question: QuestionSpec, text: str) -> AnswerScore:
    """Score one written answer (``assess``) with its expected error (``doubt.estimate``)."""
    score, facts = assess(question, text)
    if facts is None:
        return score
    doubt = estimate(question, text, facts)
    return replace(score, expected_error=doubt.expected_error, doubt=doubt.reason)


def assess(question: QuestionSpec, text: str) -> tuple[AnswerScore, ScoringFacts | None]:
    """Score one written answer, and say what the scoring found beside the points (None for a
    blank answer, whose 0 is certain). Points come from the concepts found; an answer is flagged for a
    person when its score is most likely wrong: it says an idea the wrong way round, denies one,
    or nearly states concepts worth ``AT_STAKE`` of the points or more. The confidence is the
    share of the points not in doubt."""
    words = tokens(text)
    if not words:
        return AnswerScore(question.id, 0.0, question.points, AnswerStatus.MISSING, (),
                           tuple(c.name for c in question.concepts), 1.0, False, "the answer is blank"), None
    answer_sentences = sentences(text)
    given = words_of(question.prompt)
    hits = [hit for concept in question.concepts if (hit := find_concept(concept, answer_sentences, given))]
    opposite = contradiction(question, answer_sentences)
    stated = [hit for hit in hits if not hit.negated and hit.sentence != opposite]
    stated_names = {hit.concept.name for hit in stated}
    missing = [concept for concept in question.concepts if concept.name not in stated_names]
    points = sum(hit.concept.points for hit in stated)
    flags, notes = [], []
    if opposite:
        points = min(points, CONTRADICTED_SHARE * question.points)
        flags.append(f"says the idea the wrong way round: \"{opposite[:120]}\"")
    denials = [f"denies \"{hit.concept.name}\": \"{hit.sentence[:100]}\"" for hit in hits
               if hit.negated and hit.concept.name not in stated_names]
    flags.extend(denials)
    # A sentence that says the idea the wrong way round is near its concept by construction: not a doubt.
    others = [sentence for sentence in answer_sentences if sentence != opposite]
    doubtful = at_stake(question, missing, others, given) if question.points else []
    stake = sum(concept.points for concept in doubtful) / question.points if question.points else 0.0
    if stake >= AT_STAKE:
        flags.append("nearly states " + ", ".join(f"\"{concept.name}\"" for concept in doubtful)
                     + f" ({stake:.0%} of the points): a person should decide")
    if len(words) > MAX_WORDS:
        flags.append(f"very long ({len(words)} words)")
    restated = bool(question.prompt) and overlap(question.prompt, text) >= 0.8 and overlap(text, question.prompt) >= 0.6
    if restated:
        notes.append("restates the question")
        points = 0.0
    # An attempt on the topic that names almost nothing of the rubric or the model answer: the vague
    # answers, where graders give some credit and the concepts give none, and the ones that say the
    # idea in words too far from both.
    thin = (len(words) >= MIN_WORDS and len(stated) <= 1 and not opposite and not restated and bool(question.reference)
            and bool(senses_of(text) & senses_of(question.prompt))
            and reference_share(text, question.reference, question.prompt) < THIN)
    if len(words) < MIN_WORDS:
        notes.append(f"very short ({len(words)} words)")
    if thin:
        flags.append("says little the rubric or the model answer name: a person should read it")
    confidence = 1.0 - stake if not (opposite or denials or thin) else min(0.5, 1.0 - stake)
    credited = {hit.sentence for hit in stated}
    facts = ScoringFacts(
        share=points / question.points if question.points else 0.0, confidence=confidence, flagged=bool(flags),
        contradicted=bool(opposite), denials=len(denials), near=stake, thin=thin, restated=restated,
        words=len(words), sentences=len(answer_sentences), concepts_found=len(stated),
        meaning_only=(sum(hit.concept.points for hit in stated if hit.by_meaning) / question.points
                      if question.points else 0.0),
        uncredited_sentences=sum(sentence not in credited for sentence in answer_sentences))
    return AnswerScore(
        id=question.id, points=round(points, 2), max_points=question.points, status=AnswerStatus.ANSWERED,
        found=tuple({"concept": hit.concept.name, "sentence": hit.sentence} for hit in stated),
        missing=tuple(concept.name for concept in missing),
        confidence=round(confidence, 2), needs_review=bool(flags), reason="; ".join(flags + notes),
        excerpt=text.strip()[:_EXCERPT] if flags else "", text=text), facts


def missing_answer(question: QuestionSpec) -> AnswerScore:
    """The score of an item the document does not contain."""
    return AnswerScore(question.id, 0.0, question.points, AnswerStatus.MISSING, (), tuple(c.name for c in question.concepts),
                       1.0, True, "no answer found for this item")
