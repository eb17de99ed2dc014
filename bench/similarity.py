"""Time of comparing a class's code (grader/similarity), for synthetic classes of 100, 500 and
2,000 submissions: each student starts from the TensorFlow tutorial and changes it their own way
(tests/similarity_class.py), and 2% hand in a classmate's script with every name renamed, the
comments rewritten and the functions reordered.

Printed per size: the time to fingerprint every file (the first comparison of a class; files are
fingerprinted once per version), the time to compare with every file already fingerprinted (what
a second `grade` or the review page pays once per change), the pairs flagged, how many of the
planted pairs they include (each copy with its original, and two copies of one original), the
pairs flagged beyond those, the weakest planted pair's similarity and the strongest other pair's
(among all pairs sharing 60 tokens or more, flagged or not). With --copydetect (needs
`pip install copydetect`), the same classes compared by copydetect's CopyDetector (every pair of
files, as it works), up to --copydetect-max submissions (100: it takes 9-43 s there, and grows
with the square of the class).

    python bench/similarity.py
    python bench/similarity.py --sizes 100 500 --copydetect
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPOSITORY))
sys.path.insert(0, str(REPOSITORY / "tests"))

from grader.similarity import pairs as similarity  # noqa: E402
from similarity_class import TUTORIAL, renamed_copy, write_class  # noqa: E402

COPIED = 0.02


def planted_class(root: Path, size: int) -> tuple[dict[str, Path], dict[str, str]]:
    """A class of ``size`` with 2% copies of a classmate; returns the files and copier -> original."""
    files = write_class(root, size, seed=size)
    rng = random.Random(size)
    students = sorted(files)
    copiers = rng.sample(students, max(1, int(COPIED * size)))
    originals = [student for student in students if student not in copiers]
    copied = {}
    for copier in copiers:
        copied[copier] = rng.choice(originals)
        files[copier].write_text(renamed_copy(files[copied[copier]].read_text()))
    return files, copied


def copies(copied: dict[str, str]) -> set[tuple[str, str]]:
    """The pairs that share code by construction: each copy and its original, two copies of one original."""
    pairs = {tuple(sorted(pair)) for pair in copied.items()}
    pairs |= {tuple(sorted((a, b))) for a in copied for b in copied if a != b and copied[a] == copied[b]}
    return pairs  # type: ignore[return-value]


def ours(files: dict[str, Path]) -> tuple[float, float, list[similarity.CodePair]]:
    similarity._PRINTED.clear()
    similarity._PAIRS.clear()
    started = time.perf_counter()
    for path in files.values():
        similarity.printed(path)
    printed = time.perf_counter() - started
    started = time.perf_counter()
    found = similarity.similar_code(files)
    compared = time.perf_counter() - started
    return printed, compared, list(found)


def copydetect_time(root: Path) -> float:
    from copydetect import CopyDetector

    started = time.perf_counter()
    detector = CopyDetector(test_dirs=[str(root)], extensions=["py"], display_t=0.5, silent=True)
    detector.run()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 500, 2000])
    parser.add_argument("--copydetect", action="store_true", help="also time copydetect (pip install copydetect)")
    parser.add_argument("--copydetect-max", type=int, default=100, help="the largest class copydetect is timed on")
    arguments = parser.parse_args()
    print(f"tutorial: {TUTORIAL.name}; {COPIED:.0%} of each class copies a classmate (renamed, reworded, reordered)")
    print(f"{'submissions':>11} {'fingerprint':>12} {'compare':>9} {'flagged':>8} {'copies found':>13} "
          f"{'other flagged':>13} {'weakest copy':>12} {'strongest other':>15}"
          + (f" {'copydetect':>11}" if arguments.copydetect else ""))
    for size in arguments.sizes:
        with tempfile.TemporaryDirectory() as folder:
            files, copied = planted_class(Path(folder), size)
            planted = copies(copied)
            printed, compared, found = ours(files)
            flagged = {(pair.first, pair.second) for pair in found}
            weakest = min((pair.similarity for pair in found if (pair.first, pair.second) in planted), default=0.0)
            others = [pair.similarity for pair in similarity.similar_code(files, threshold=0.0)
                      if (pair.first, pair.second) not in planted]
            line = (f"{size:>11} {printed:>11.2f}s {compared:>8.2f}s {len(flagged):>8} "
                    f"{len(flagged & planted):>6} of {len(planted):<4} {len(flagged - planted):>13} "
                    f"{weakest:>12.2f} {max(others, default=0.0):>15.2f}")
            if arguments.copydetect and size <= arguments.copydetect_max:
                line += f" {copydetect_time(Path(folder)):>10.1f}s"
            print(line, flush=True)

if __name__ == "__main__":
    main()
