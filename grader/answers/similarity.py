"""Class-level: pairs of students whose written answers are near-identical."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

from grader.answers.text import tokens

NEAR_IDENTICAL = 0.8
_MIN_WORDS = 12  # short answers ("Dense layers") are alike by chance


@dataclass(frozen=True)
class SimilarPair:
    """Two students' answers to one item, and how alike they are (Jaccard of word 3-grams)."""

    item: str
    first: str
    second: str
    similarity: float

    def to_dict(self) -> dict[str, object]:
        return {"item": self.item, "students": [self.first, self.second], "similarity": round(self.similarity, 3)}


def _shingles(text: str) -> set[tuple[str, ...]]:
    words = tokens(text)
    return {tuple(words[i:i + 3]) for i in range(len(words) - 2)}


def similar_pairs(answers: dict[str, dict[str, str]], threshold: float = NEAR_IDENTICAL) -> list[SimilarPair]:
    """``answers`` maps student -> item -> text; return the pairs at or above ``threshold``."""
    pairs = []
    items = sorted({item for by_item in answers.values() for item in by_item})
    for item in items:
        texts = {student: _shingles(by_item[item]) for student, by_item in answers.items()
                 if item in by_item and len(tokens(by_item[item])) >= _MIN_WORDS}
        for first, second in combinations(sorted(texts), 2):
            union = texts[first] | texts[second]
            similarity = len(texts[first] & texts[second]) / len(union) if union else 0.0
            if similarity >= threshold:
                pairs.append(SimilarPair(item, first, second, similarity))
    return sorted(pairs, key=lambda pair: -pair.similarity)
