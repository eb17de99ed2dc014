"""Text normalisation for matching concepts: tokens, a light stemmer, sentences, negation."""

from __future__ import annotations

import re
from dataclasses import dataclass

_TOKEN = re.compile(r"[a-z0-9]+")
_SENTENCE = re.compile(r"(?<=[.!?;])\s+|\n\s*[-*•]\s+|\n{2,}|\s+[-–]\s+")
NEGATIONS = frozenset({"not", "no", "never", "without", "cannot", "cant", "dont", "doesnt", "isnt", "arent",
                       "wont", "shouldnt", "neither", "nor", "nothing", "none", "didnt", "wasnt", "werent"})
STOPWORDS = frozenset("""a an the of to in on for and or is are was were be been being it its this that these those
with as by at from into than then so such can could will would should may might do does did has have had we you
i they he she our your their them us my me what which who whom how why when where there here also just only very
more most much many some any each other about over under up down out if but because while all both""".split())
_SUFFIXES = ("izations", "ization", "isations", "isation", "ational", "fulness", "iveness", "ations", "ation",
             "ments", "ment", "ness", "ings", "ing", "edly", "ied", "ies", "ied", "ed", "es", "ly", "s")


def stem(token: str) -> str:
    """A light, consistent suffix stripper: "freezing"/"freezes" -> "freez", "updated" -> "updat"."""
    for suffix in _SUFFIXES:
        if suffix == "es" and not token[:-2].endswith(("s", "x", "z", "ch", "sh")):
            continue  # "rates" -> "rate" (then "rat" like "rate"), but "boxes" -> "box"
        if token.endswith(suffix) and len(token) - len(suffix) >= 3:
            token = token[: -len(suffix)]
            break
    if token.endswith("e") and len(token) >= 4:
        token = token[:-1]
    return token


def tokens(text: str) -> list[str]:
    """Lower-case word tokens, with contractions folded ("doesn't" -> "doesnt")."""
    return _TOKEN.findall(text.lower().replace("n't", "nt").replace("’", "'").replace("'", ""))


def stems(text: str) -> list[str]:
    return [stem(token) for token in tokens(text)]


def content_stems(text: str) -> set[str]:
    """Stems of the words that carry meaning (stop words left out)."""
    return {stem(token) for token in tokens(text) if token not in STOPWORDS}


def sentences(text: str) -> list[str]:
    """Split an answer into sentences (and bullet points)."""
    return [part.strip() for part in _SENTENCE.split(text) if part and part.strip()]


@dataclass(frozen=True)
class Match:
    """A phrase found in a sentence: where it starts and ends (token positions), and if negated."""

    start: int
    end: int
    negated: bool


_NEGATION_STEMS = frozenset(stem(word) for word in NEGATIONS) | NEGATIONS


def find_phrase(phrase: str, sentence_stems: list[str], max_gap: int = 2, window: int = 4) -> Match | None:
    """Find ``phrase`` in a sentence's stems, allowing up to ``max_gap`` extra words between its words.

    The match is negated when a negation word stands within ``window`` words before it or inside
    it, unless the phrase itself says the negation ("not updated").
    """
    wanted = [stem(word) for word in tokens(phrase) if word not in STOPWORDS] or stems(phrase)
    if not wanted:
        return None
    phrase_negates = any(word in _NEGATION_STEMS for word in wanted)
    best: Match | None = None
    for start, word in enumerate(sentence_stems):
        if word != wanted[0]:
            continue
        end = _match_rest(wanted, sentence_stems, start, max_gap)
        if end is None:
            continue
        span = sentence_stems[max(0, start - window):end]
        negated = not phrase_negates and any(w in _NEGATION_STEMS for w in span if w not in wanted)
        match = Match(start, end, negated)
        if best is None or (best.negated and not negated):
            best = match
    return best


def _match_rest(wanted: list[str], words: list[str], start: int, max_gap: int) -> int | None:
    position = start + 1
    for target in wanted[1:]:
        for offset in range(max_gap + 1):
            if position + offset < len(words) and words[position + offset] == target:
                position += offset + 1
                break
        else:
            return None
    return position
