"""Match a rubric phrase to a sentence by meaning: words read as senses (``thesaurus.toml``),
negation folded, order free.

A sentence is read into units, one per word or expression ("learning rate"), each carrying its
senses: "move", "change" and "adjust" all carry ``update``; a word the thesaurus does not know
carries itself. A phrase matches a sentence when every content unit of the phrase finds a unit
sharing a sense close together. Negation is a unit too ("not", "never", "stop", "prevent"), so
"the weights don't move" states "weights are not updated", and "the features are not kept" denies
"preserve the features".
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources

from grader.answers.text import NEGATIONS, STOPWORDS, stem, tokens

NOT = "not"
NONE = "none"  # a negation that is the subject ("none of its weights ... get updated"): it reaches its verb
# Words that deny the subject they stand for, and so the clause's verb however far it is.
_QUANTIFIERS = frozenset({"none", "nothing", "neither", "nobody"})
# Words that deny what follows them, beside the negations proper.
_DENIERS = frozenset({"stop", "prevent", "avoid", "instead", "rather", "block", "unable"})
# Before a statement, these make it what would happen, or what it is compared with: "if the base
# were trainable", "than training from scratch". After it, "would" and "could" do.
_HYPOTHETICAL_BEFORE = frozenset(stem(word) for word in ("if", "otherwise", "would", "without", "else", "unless",
                                                          "instead", "could", "than", "compared", "unlike",
                                                          "versus", "vs", "rather", "whether"))
_HYPOTHETICAL_AFTER = frozenset({"would", "could", "might"})
_CLAUSE = 6  # words before a statement that can make it hypothetical
_IRREGULAR = {"taught": "teach", "kept": "keep", "frozen": "freeze", "froze": "freeze", "learnt": "learn",
              "seen": "see", "saw": "see", "lost": "lose", "made": "make", "held": "hold", "got": "get",
              "given": "give", "gave": "give", "took": "take", "taken": "take", "broken": "break", "broke": "break",
              "ran": "run", "done": "do", "did": "do", "bigger": "big", "larger": "large", "smaller": "small",
              "lower": "low", "higher": "high", "fewer": "few", "better": "better", "thrown": "throw",
              "deeper": "deep", "went": "go", "gone": "go", "knew": "know", "known": "know"}
_LONGEST = 4  # words in the longest expression


def norm(word: str) -> str:
    """A word folded to its lemma-like stem: "kept" -> "keep", "updated" -> "updat"."""
    if word in _QUANTIFIERS:
        return NONE
    if word in NEGATIONS or word in _DENIERS:
        return NOT
    return stem(_IRREGULAR.get(word, word))


@dataclass(frozen=True)
class Thesaurus:
    """Senses by folded expression, and rewrites ("unchanged" -> "not change")."""

    senses: dict[tuple[str, ...], frozenset[str]]
    rewrites: dict[tuple[str, ...], tuple[str, ...]]


def _key(text: str) -> tuple[str, ...]:
    return tuple(norm(word) for word in tokens(text))


@cache
def thesaurus() -> Thesaurus:
    """The shipped thesaurus, read once."""
    data = tomllib.loads(resources.files("grader.answers").joinpath("thesaurus.toml").read_text(encoding="utf-8"))
    senses: dict[tuple[str, ...], set[str]] = {}
    for sense, words in data["senses"].items():
        for word in words:
            senses.setdefault(_key(word), set()).add(sense)
    rewrites = {_key(source): _key(target) for source, target in data.get("rewrites", {}).items()}
    return Thesaurus({key: frozenset(value) for key, value in senses.items()}, rewrites)


@dataclass(frozen=True)
class Unit:
    """A word or expression of a sentence: its folded text and its senses (the thesaurus's; a word
    it does not know is its own sense)."""

    text: str
    senses: frozenset[str]

    @property
    def negates(self) -> bool:
        return self.text in (NOT, NONE)

    @property
    def content(self) -> bool:
        return not self.negates and self.text not in _STOP_STEMS


_STOP_STEMS = frozenset(norm(word) for word in STOPWORDS)


def _chunks(words: list[str], table: Mapping[tuple[str, ...], object]) -> Iterator[tuple[tuple[str, ...], bool]]:
    """``words`` cut into the longest expressions ``table`` knows (True) and single words (False)."""
    position = 0
    while position < len(words):
        for length in range(min(_LONGEST, len(words) - position), 0, -1):
            key = tuple(words[position:position + length])
            if key in table:
                yield key, True
                break
        else:
            key = (words[position],)
            yield key, False
        position += len(key)


@cache
def read(text: str) -> tuple[Unit, ...]:
    """A sentence (or phrase) read into units with their senses: rewrites first ("unchanged" ->
    "not change"), then the thesaurus's expressions; a word it does not know is its own sense."""
    book = thesaurus()
    words = [word for key, known in _chunks([norm(word) for word in tokens(text)], book.rewrites)
             for word in (book.rewrites[key] if known else key)]
    return tuple(Unit(" ".join(key), book.senses[key] if known else frozenset(key))
                 for key, known in _chunks(words, book.senses))


def words_of(text: str) -> frozenset[str]:
    """The folded content words and expressions of ``text``."""
    return frozenset(unit.text for unit in read(text) if unit.content)


def hypothetical(words: list[str], start: int, end: int) -> bool:
    """Whether the statement at ``words[start:end]`` (folded words) says what would happen ("if it
    were trainable, the head would ...") or what something is compared with ("than training from
    scratch"), rather than what is."""
    return (any(word in _HYPOTHETICAL_BEFORE for word in words[max(0, start - _CLAUSE):start])
            or any(word in _HYPOTHETICAL_AFTER for word in words[start:end + 3]))


@dataclass(frozen=True)
class MeaningMatch:
    """A phrase found by meaning: its first and last unit in the sentence, and whether the sentence
    denies it."""

    start: int
    end: int
    negated: bool


def find_meaning(phrase: str, sentence: str, given: frozenset[str] = frozenset(), slack: int = 4,
                 window: int = 3, least: int = 1, ordered: bool = False) -> MeaningMatch | None:
    """Find ``phrase`` in ``sentence`` by senses, in any order, each unit of the phrase at its own
    unit of the sentence, all within ``slack`` extra units; a phrase of fewer than ``least``
    content units is not looked for. ``ordered`` keeps the phrase's order, for statements whose
    roles matter ("train the base" is not "what the base learned").

    ``given`` holds the folded words of the question: a match made only of words the question
    already says is a restatement, not evidence, and does not count. The match is negated
    when a negation stands within ``window`` units before it or inside it, unless the phrase itself
    says the negation; a phrase that says it ("not updated") matches only a sentence that does.
    """
    wanted = [unit for unit in read(phrase) if unit.content]
    if len(wanted) < max(least, 1):
        return None
    phrase_negates = any(unit.negates for unit in read(phrase))
    units = read(sentence)
    places = [[i for i, unit in enumerate(units) if unit.senses & want.senses] for want in wanted]
    if any(not found for found in places):
        return None
    best: MeaningMatch | None = None
    for anchor in places[0]:
        chosen = _closest(anchor, places[1:], len(wanted) + slack, ordered)
        if chosen is None or all(units[place].text in given for place in chosen):
            continue
        start, end = min(chosen), max(chosen)
        around = units[max(0, start - window):end + 1]
        subject = units[max(0, start - _CLAUSE * 2):max(0, start - window)]
        negated = (sum(unit.negates for unit in around) + sum(unit.text == NONE for unit in subject)) % 2 == 1
        match = MeaningMatch(start, end, negated != phrase_negates)
        if best is None or (best.negated and not match.negated):
            best = match
    return best


def _closest(anchor: int, others: list[list[int]], width: int, ordered: bool = False) -> list[int] | None:
    """The places from ``anchor`` taking, for each other unit, its nearest free place (after the
    one before, when ``ordered``); None if a unit finds none or they spread too wide."""
    chosen = [anchor]
    for found in others:
        free = [place for place in found if place not in chosen and (not ordered or place > chosen[-1])]
        if not free:
            return None
        chosen.append(min(free, key=lambda place: abs(place - anchor)))
    return chosen if max(chosen) - min(chosen) < width else None


def near_share(phrase: str, sentence: str, given: frozenset[str] = frozenset()) -> float:
    """The share of ``phrase``'s content units that ``sentence`` carries anywhere, counting only
    words the question does not already say: how near the sentence comes to stating it."""
    wanted = [unit for unit in read(phrase) if unit.content]
    if not wanted:
        return 0.0
    units = [unit for unit in read(sentence) if unit.content and unit.text not in given]
    return sum(any(unit.senses & want.senses for unit in units) for want in wanted) / len(wanted)


def senses_of(text: str) -> frozenset[str]:
    """Every sense the content words of ``text`` carry."""
    return frozenset(sense for unit in read(text) if unit.content for sense in unit.senses)


def reference_share(answer: str, reference: str, question: str) -> float:
    """The share of the model answer's senses, beyond those of the question, that ``answer`` carries."""
    wanted = senses_of(reference) - senses_of(question)
    return len(wanted & senses_of(answer)) / len(wanted) if wanted else 0.0
