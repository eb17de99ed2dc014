"""Fingerprints of a token stream: hashes of its k-grams, winnowed (Schleimer, Wilkerson and Aiken,
"Winnowing: local algorithms for document fingerprinting", 2003, the method of MOSS).

Every window of ``window`` consecutive k-gram hashes keeps its smallest (the rightmost on a tie),
so two files that share a run of at least ``k + window - 1`` tokens share at least one
fingerprint, and the fingerprints of a passage are the same in every file that holds it. Hashes
are stable across processes (a token's CRC-32, then the tuple of a k-gram's: integers only, which
Python does not salt), so fingerprints can be kept and compared later.
"""

from __future__ import annotations

import zlib
from collections import deque
from collections.abc import Sequence
from functools import lru_cache

K = 12  # tokens in a k-gram: shorter runs (one ordinary line) are noise
WINDOW = 6  # a shared run of K + WINDOW - 1 = 17 tokens (two lines or so) is always seen


@lru_cache(maxsize=4096)
def _token_id(text: str) -> int:
    return zlib.crc32(text.encode("utf-8"))


def kgram_hashes(tokens: Sequence[str], k: int = K) -> list[int]:
    """The hash of every k-gram of ``tokens``, in order (none for fewer than ``k`` tokens)."""
    ids = [_token_id(text) for text in tokens]
    return [hash(tuple(ids[start:start + k])) for start in range(len(ids) - k + 1)]


def winnow(hashes: Sequence[int], window: int = WINDOW) -> list[tuple[int, int]]:
    """The fingerprints of ``hashes``: (hash, position of its k-gram), each selected once, in order.
    Fewer hashes than a window: their smallest."""
    if not hashes:
        return []
    if len(hashes) < window:
        smallest = min(range(len(hashes)), key=lambda at: (hashes[at], -at))
        return [(hashes[smallest], smallest)]
    chosen: list[tuple[int, int]] = []
    candidates: deque[int] = deque()  # positions whose hashes increase: the window's minimum first
    for position, value in enumerate(hashes):
        while candidates and hashes[candidates[-1]] >= value:
            candidates.pop()  # the rightmost minimum wins a tie
        candidates.append(position)
        if candidates[0] <= position - window:
            candidates.popleft()
        if position >= window - 1 and (not chosen or chosen[-1][1] != candidates[0]):
            chosen.append((hashes[candidates[0]], candidates[0]))
    return chosen
