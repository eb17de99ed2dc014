"""Pairs of submissions whose code matches beyond the boilerplate and what most of the class shares.

Each submission is fingerprinted once (``fingerprints``); an inverted index maps a fingerprint to
the submissions holding it, so only submissions that share something are ever compared (a class
of 2,000 is not 2 million comparisons). A fingerprint is left out when the boilerplate holds its
k-gram (the lab's reference solution, the rubric's starter or tutorial files, ``--boilerplate``)
or when it is common: found in at least ``common_at`` submissions (half the class, at least 3 and
at most ``COMMON_MOST``), since code most students share is no evidence of copying.

A pair's similarity is the share of the two files' own code (what is neither boilerplate nor
common) that the other file holds too: ``(matched_1 + matched_2) / (own_1 + own_2)``, in tokens.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any

from grader.similarity.fingerprints import K, WINDOW, kgram_hashes, winnow
from grader.similarity.tokens import CodeTokens, read_tokens_or_none

FLAGGED = 0.5  # the similarity from which a pair is shown to a person
MIN_MATCHED = 60  # tokens (about six lines) each file must share beyond the boilerplate to count
MIN_PASSAGE = 30  # tokens (about three lines): a shorter shared run is one ordinary statement, noise
COMMON_SHARE = 0.5  # a passage in half the class is common...
COMMON_LEAST, COMMON_MOST = 3, 20  # ...but never one of two students only, and always one of 20
_MERGED_GAP = K  # matches closer than this (in both files) are one passage
_OPEN_RUNS = 4  # how many of the latest passages a match may continue


@dataclass(frozen=True)
class LineRange:
    """Lines ``start``-``end`` of a file (of its code cells ``start_cell``-``end_cell`` in a notebook)."""

    start: int
    end: int
    start_cell: int | None = None
    end_cell: int | None = None

    def to_dict(self) -> dict[str, int | None]:
        cells = {"start_cell": self.start_cell, "end_cell": self.end_cell} if self.start_cell is not None else {}
        return {"start": self.start, "end": self.end, **cells}

    @property
    def shown(self) -> str:
        """``lines 3-10``; ``cell 2 line 3 - cell 4 line 1`` in a notebook."""
        if self.start_cell is None:
            return f"line {self.start}" if self.start == self.end else f"lines {self.start}-{self.end}"
        if self.start_cell == self.end_cell:
            return f"cell {self.start_cell} lines {self.start}-{self.end}"
        return f"cell {self.start_cell} line {self.start} - cell {self.end_cell} line {self.end}"


@dataclass(frozen=True)
class Passage:
    """One passage the two files share: where it is in each, and how many tokens it spans in the first."""

    first: LineRange
    second: LineRange
    tokens: int

    def to_dict(self) -> dict[str, Any]:
        return {"first": self.first.to_dict(), "second": self.second.to_dict(), "tokens": self.tokens}


@dataclass(frozen=True)
class CodePair:
    """Two students whose code matches beyond what the lab hands out: how much (``similarity``, 0-1),
    the files compared, the tokens of own code each holds and shares, and the passages side by side."""

    first: str
    second: str
    similarity: float
    first_file: str
    second_file: str
    matched: tuple[int, int]
    own: tuple[int, int]
    passages: tuple[Passage, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"students": [self.first, self.second], "similarity": round(self.similarity, 3),
                "files": [self.first_file, self.second_file], "matched_tokens": list(self.matched),
                "own_tokens": list(self.own), "passages": [passage.to_dict() for passage in self.passages]}

    @property
    def summary(self) -> str:
        """``code 87% alike: lines 12-40 ~ lines 3-31, ...`` (the three longest passages)."""
        longest = sorted(self.passages, key=lambda passage: -passage.tokens)[:3]
        shown = ", ".join(f"{p.first.shown} ~ {p.second.shown}" for p in longest)
        return f"code {self.similarity:.0%} alike" + (f": {shown}" if shown else "")


@dataclass(frozen=True)
class Printed:
    """A code file fingerprinted: its tokens, every k-gram's hash, the winnowed fingerprints, and
    where each fingerprint's k-gram is in the file."""

    code: CodeTokens
    hashes: tuple[int, ...]
    fingerprints: tuple[tuple[int, int], ...]
    positions: Mapping[int, tuple[int, ...]]

    @classmethod
    def of(cls, code: CodeTokens) -> Printed:
        hashes = tuple(kgram_hashes(code.tokens))
        fingerprints = tuple(winnow(hashes, WINDOW))
        positions: dict[int, list[int]] = defaultdict(list)
        for value, position in fingerprints:
            positions[value].append(position)
        return cls(code, hashes, fingerprints, {value: tuple(at) for value, at in positions.items()})


FileKey = tuple[str, int, int]  # a version of a file: its path, modification time and size
_PRINTED: dict[FileKey, Printed | None] = {}
_PAIRS: dict[tuple[object, ...], tuple[CodePair, ...]] = {}


def _version(path: Path | None) -> FileKey | None:
    if path is None:
        return None
    try:
        stat = path.stat()
    except OSError:
        return None
    return (str(path.resolve()), stat.st_mtime_ns, stat.st_size)


def printed(path: Path | None) -> Printed | None:
    """The fingerprints of the code file at ``path`` (None for no file, or one that cannot be
    read), computed once per version of the file."""
    key = _version(path)
    if key is None or path is None:
        return None
    if key not in _PRINTED:
        code = read_tokens_or_none(path)
        _PRINTED[key] = Printed.of(code) if code else None
    return _PRINTED[key]


def boilerplate_hashes(paths: Iterable[Path]) -> frozenset[int]:
    """Every k-gram hash of the boilerplate files (all of them, not only fingerprints: a passage of
    the boilerplate never counts, wherever a submission's winnowing happens to select)."""
    found: set[int] = set()
    for path in paths:
        prints = printed(path)
        if prints is not None:
            found.update(prints.hashes)
    return frozenset(found)


def common_at(students: int) -> int:
    """How many submissions a fingerprint must be in to be common in a class of ``students``."""
    return max(COMMON_LEAST, min(COMMON_MOST, math.ceil(COMMON_SHARE * students)))


def similar_code(files: Mapping[str, Path | None], boilerplate: Sequence[Path] = (), *,
                 threshold: float = FLAGGED) -> tuple[CodePair, ...]:
    """The pairs of ``files`` (student -> their code file) whose similarity is at least ``threshold``
    and who each share at least ``MIN_MATCHED`` tokens of own code, strongest first. A file that
    cannot be read compares with nothing; nothing here raises for a student's file. Computed once
    per version of the files (the review page opens the class at every request)."""
    key = (tuple((student, _version(path)) for student, path in sorted(files.items())),
           tuple(_version(path) for path in boilerplate), threshold)
    if key not in _PAIRS:
        if len(_PAIRS) > 8:
            _PAIRS.clear()
        _PAIRS[key] = _similar_code(files, boilerplate, threshold)
    return _PAIRS[key]


def _similar_code(files: Mapping[str, Path | None], boilerplate: Sequence[Path],
                  threshold: float) -> tuple[CodePair, ...]:
    prints = {student: found for student, path in sorted(files.items()) if (found := printed(path)) is not None}
    base = boilerplate_hashes(boilerplate)
    holders = _holders(prints, base)
    limit = common_at(len(prints))
    common = frozenset(value for value, students in holders.items() if len(students) >= limit)
    candidates = _candidates(holders, limit)
    own = {student: _own(prints[student], base, common) for student in {s for pair in candidates for s in pair}}
    excluded = base | common
    pairs = [pair for first, second in candidates
             if (pair := _compare(first, second, prints, own, excluded)) and pair.similarity >= threshold]
    return tuple(sorted(pairs, key=lambda pair: (-pair.similarity, pair.first, pair.second)))


def _holders(prints: Mapping[str, Printed], base: frozenset[int]) -> dict[int, list[str]]:
    """The inverted index: each fingerprint that is not boilerplate -> the students whose file holds it."""
    holders: dict[int, list[str]] = defaultdict(list)
    for student, found in prints.items():
        for value in found.positions.keys() - base:
            holders[value].append(student)
    return holders


def _candidates(holders: Mapping[int, list[str]], limit: int) -> list[tuple[str, str]]:
    """The pairs of students who share enough fingerprints that are not common to be compared:
    fewer than ``MIN_MATCHED / K`` cannot cover ``MIN_MATCHED`` tokens."""
    shared: dict[tuple[str, str], int] = defaultdict(int)
    for students in holders.values():
        if 2 <= len(students) < limit:
            for pair in combinations(students, 2):
                shared[pair] += 1
    least = math.ceil(MIN_MATCHED / K)
    return [pair for pair, count in shared.items() if count >= least]


def _own(found: Printed, base: frozenset[int], common: frozenset[int]) -> int:
    """Tokens of the file that are neither boilerplate (any k-gram of it) nor common (a common fingerprint)."""
    starts = [at for at, value in enumerate(found.hashes) if value in base]
    starts += [at for value, at in found.fingerprints if value in common]
    return len(found.code.tokens) - _covered(starts, len(found.code.tokens))


def _covered(starts: Iterable[int], length: int) -> int:
    """How many of ``length`` tokens the k-grams starting at ``starts`` cover."""
    mask = bytearray(length)
    for start in starts:
        mask[start:start + K] = b"\x01" * len(mask[start:start + K])
    return sum(mask)


def _compare(first: str, second: str, prints: Mapping[str, Printed], own: Mapping[str, int],
             excluded: frozenset[int]) -> CodePair | None:
    a, b = prints[first], prints[second]
    at_a, at_b = a.positions, b.positions
    matches = sorted((pa, pb) for value in at_a.keys() & at_b.keys() if value not in excluded
                     for pa, pb in zip(at_a[value], at_b[value]))
    runs = [run for run in _runs(matches) if min(run[1] - run[0], run[3] - run[2]) >= MIN_PASSAGE]
    kept = [(pa, pb) for pa, pb in matches if any(run[0] <= pa < run[1] and run[2] <= pb < run[3] for run in runs)]
    matched = (_covered((pa for pa, _ in kept), len(a.code.tokens)),
               _covered((pb for _, pb in kept), len(b.code.tokens)))
    if min(matched) < MIN_MATCHED:
        return None
    owned = (max(own[first], matched[0]), max(own[second], matched[1]))
    similarity = sum(matched) / sum(owned)
    passages = tuple(_passage(a.code, b.code, run) for run in runs)
    return CodePair(first, second, similarity, a.code.path.name, b.code.path.name, matched, owned, passages)


def _runs(matches: Sequence[tuple[int, int]]) -> list[tuple[int, int, int, int]]:
    """Matches (position in the first file, in the second) merged into passages that advance in
    both files together: (start, end) in the first, (start, end) in the second, in tokens."""
    runs: list[list[int]] = []
    for pa, pb in matches:
        # The latest run this match continues: a stray match between two (a k-gram found twice in a
        # file) starts a run of its own without cutting the one it interrupts.
        run = next((run for run in reversed(runs[-_OPEN_RUNS:])
                    if pa <= run[1] + _MERGED_GAP and run[2] <= pb <= run[3] + _MERGED_GAP), None)
        if run is None:
            runs.append([pa, pa + K, pb, pb + K])
        else:
            run[1], run[3] = max(run[1], pa + K), max(run[3], pb + K)
    return sorted((run[0], run[1], run[2], run[3]) for run in runs)


def _passage(a: CodeTokens, b: CodeTokens, run: tuple[int, int, int, int]) -> Passage:
    return Passage(_lines(a, run[0], run[1]), _lines(b, run[2], run[3]), run[1] - run[0])


def _lines(code: CodeTokens, start: int, end: int) -> LineRange:
    (first_cell, first_line) = code.where(code.lines[start])
    (last_cell, last_line) = code.where(code.lines[min(end, len(code.lines)) - 1])
    return LineRange(first_line, last_line, first_cell, last_cell)
