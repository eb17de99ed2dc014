"""What people decide about a graded class, kept like money: one SQLite database per output
folder (``OUT/decisions.sqlite``, WAL mode), one transaction per decision, nothing overwritten.

Every decision is a row that is never changed: an ``override`` (a person's points in place of the
automatic ones), an ``accept`` (a person read the item and the automatic points stand), or a
``withdraw`` (back to the automatic score). The decision in force on a student's item is the
latest; the earlier ones stay as its history. Each row keeps the comment, who, when, the automatic
score it replaced and the fingerprint of the submission it was made on, so that a decision made on
a submission that has changed since is flagged for a second look, never dropped.

``OUT/overrides.csv`` is derived: it is written from the database after every decision (for a
spreadsheet), and read back only when a person has edited it since it was written, so an edit made
there is taken in rather than lost. An ``overrides.csv`` from before the database (grader 0.1) is
taken in once, when the database is made.
"""

from __future__ import annotations

import csv
import fcntl
import getpass
import hashlib
import io
import math
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path
from typing import Any

from grader.atomic import write_text
from grader.errors import GraderError
from grader.results import Grade
from grader.shared.renamed import current_id

DATABASE = "decisions.sqlite"
EXPORT = "overrides.csv"
SCHEMA_VERSION = 1
_COLUMNS = ("student", "item", "kind", "points", "automatic", "comment", "who", "when", "fingerprint")
_BUSY_SECONDS = 90.0  # how long a writer waits for another's transaction (a slow disk's fsync) before giving up


class DecisionError(GraderError):
    """A decision that names no such student or item, gives points out of range, or a store that
    cannot be read."""


OverrideError = DecisionError  # the name grader 0.1 raised


class DecisionKind(str, Enum):
    OVERRIDE = "override"  # a person's points replace the automatic ones
    ACCEPT = "accept"  # a person read it: the automatic points stand (and are kept as decided)
    WITHDRAW = "withdraw"  # the earlier decision no longer holds: back to the automatic score


@dataclass(frozen=True)
class Decision:
    """A person's decision on one check or answer of one student."""

    student: str
    item: str
    kind: DecisionKind
    points: float
    automatic: float | None  # the automatic score it replaced (None: not known, imported from a CSV)
    comment: str = ""
    who: str = ""
    when: str = ""
    fingerprint: str = ""  # the submission's run fingerprint when the decision was made
    number: int = 0  # its row in the store (0: not stored yet)

    def record(self, automatic: float, current: str) -> dict[str, Any]:
        """What a result carries: the decision, the automatic score now, whether to look again (the
        submission changed since, or the automatic score a person accepted is not the one now)."""
        changed = bool(self.fingerprint and current and self.fingerprint != current)
        moved = self.kind is DecisionKind.ACCEPT and not math.isclose(self.points, automatic)
        return {"kind": self.kind.value, "points": self.points, "automatic": automatic, "comment": self.comment,
                "who": self.who, "when": self.when, "stale": changed or moved}

    def to_dict(self) -> dict[str, Any]:
        return {"student": self.student, "item": self.item, "kind": self.kind.value, "points": self.points,
                "automatic": self.automatic, "comment": self.comment, "who": self.who, "when": self.when,
                "fingerprint": self.fingerprint, "number": self.number}


def now() -> str:
    """The time of a decision: UTC, to the second, ISO 8601."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def person() -> str:
    """Who is deciding: the login name of the person running the grader."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS decisions (
    number      INTEGER PRIMARY KEY AUTOINCREMENT,
    student     TEXT NOT NULL,
    item        TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('override', 'accept', 'withdraw')),
    points      REAL NOT NULL,
    automatic   REAL,
    comment     TEXT NOT NULL DEFAULT '',
    who         TEXT NOT NULL DEFAULT '',
    at          TEXT NOT NULL,
    fingerprint TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS decisions_by_item ON decisions (student, item, number);
"""


class DecisionStore:
    """The decisions of the class graded into ``out``. Safe to use from several threads and
    processes at once: each call opens its own connection, and each decision is one transaction."""

    def __init__(self, out: Path, check: Callable[[Decision], None] | None = None) -> None:
        """``check`` raises ``DecisionError`` for a decision that does not fit the class (no such
        student or item, points out of range): rows of a CSV taken in are checked with it first."""
        self.out = Path(out)
        self.path = self.out / DATABASE
        self._check = check
        self._ready = False

    @contextmanager
    def _connection(self, write: bool = False) -> Iterator[sqlite3.Connection]:
        """A connection in autocommit mode; with ``write``, inside one ``BEGIN IMMEDIATE``
        transaction (committed on success, rolled back on any error)."""
        if not self._ready:
            self._prepare()
        connection = sqlite3.connect(self.path, timeout=_BUSY_SECONDS, isolation_level=None)
        try:
            connection.execute("PRAGMA synchronous=FULL")
            if not write:
                yield connection
                return
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")
        except sqlite3.DatabaseError as error:
            raise DecisionError(f"{self.path}: the decisions store cannot be used: {error}") from None
        finally:
            connection.close()

    def _prepare(self) -> None:
        """Make the database (WAL mode, the schema) if needed, and take in a grader 0.1 CSV once."""
        self.out.mkdir(parents=True, exist_ok=True)
        created = not self.path.exists()
        try:
            connection = sqlite3.connect(self.path, timeout=_BUSY_SECONDS, isolation_level=None)
            try:
                _to_wal(connection)
                connection.executescript("BEGIN IMMEDIATE;" + _SCHEMA + "COMMIT;")
                version = connection.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
                if version is None:
                    connection.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
                elif int(version[0]) > SCHEMA_VERSION:
                    raise DecisionError(f"{self.path} was written by a newer grader (schema {version[0]}; this one "
                                        f"reads {SCHEMA_VERSION}): upgrade the grader")
            finally:
                connection.close()
        except sqlite3.DatabaseError as error:
            raise DecisionError(f"{self.path}: the decisions store cannot be used: {error}") from None
        self._ready = True
        legacy = self.out / EXPORT
        if created and legacy.is_file():
            self.take_in(legacy)

    # Reading

    def history(self, student: str | None = None, item: str | None = None) -> list[Decision]:
        """Every decision, oldest first (of one student, or one item, when given)."""
        query, arguments = "SELECT * FROM decisions", []
        conditions = [(column, value) for column, value in (("student", student), ("item", item)) if value is not None]
        if conditions:
            query += " WHERE " + " AND ".join(f"{column} = ?" for column, _ in conditions)
            arguments = [value for _, value in conditions]
        with self._connection() as connection:
            connection.row_factory = sqlite3.Row
            return [_decision(row) for row in connection.execute(query + " ORDER BY number", arguments)]

    def current(self) -> dict[tuple[str, str], Decision]:
        """The decision in force on each (student, item): the latest, unless it withdrew the others."""
        latest: dict[tuple[str, str], Decision] = {}
        for decision in self.history():
            latest[(decision.student, decision.item)] = decision
        return {key: decision for key, decision in latest.items() if decision.kind is not DecisionKind.WITHDRAW}

    # Writing

    def record(self, decisions: Sequence[Decision]) -> list[Decision]:
        """Store ``decisions`` in one transaction (all or none); return them with their numbers.
        (The CSV export is written by ``export``.)"""
        stored = []
        with self._connection(write=True) as connection:
            for decision in decisions:
                cursor = connection.execute(
                    "INSERT INTO decisions (student, item, kind, points, automatic, comment, who, at, fingerprint) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (decision.student, current_id(decision.item), decision.kind.value, float(decision.points),
                     decision.automatic, decision.comment, decision.who or person(), decision.when or now(),
                     decision.fingerprint))
                stored.append(replace(decision, item=current_id(decision.item), number=int(cursor.lastrowid or 0),
                                      who=decision.who or person(), when=decision.when or now()))
        return stored

    # The CSV: an export for a spreadsheet, and an import

    def export(self, destination: Path | None = None) -> Path:
        """Write the decisions in force as CSV (default ``OUT/overrides.csv``) and return its path.
        An ``overrides.csv`` a person edited since it was last written is taken in first."""
        target = destination or self.out / EXPORT
        with _exclusive(self.out / f".{EXPORT}.lock"):
            self._take_in_edits()
            text = decisions_csv(self.current().values())
            write_text(target, text)
            if target == self.out / EXPORT:
                self._set_meta("export", _digest(text.encode()))
        return target

    def take_in_edits(self) -> list[Decision]:
        """Take in ``OUT/overrides.csv`` if a person edited it since it was written (or taken in);
        return the decisions added."""
        with _exclusive(self.out / f".{EXPORT}.lock"):
            return self._take_in_edits()

    def _take_in_edits(self) -> list[Decision]:
        export = self.out / EXPORT
        if not export.is_file():
            return []
        digest = _digest(export.read_bytes())
        if digest in (self._meta("export"), self._meta("imported:" + EXPORT)):
            return []
        return self.take_in(export, edited=True)

    def take_in(self, source: Path, edited: bool = False) -> list[Decision]:
        """Take in the rows of a decisions CSV that differ from the decisions in force (a grader 0.1
        ``overrides.csv``, or one a person edited); return the decisions added. Raises
        ``DecisionError`` naming a bad row (and takes in nothing)."""
        rows = read_csv(source)
        for number, row in enumerate(rows, start=2):
            try:
                if self._check is not None:
                    self._check(row)
            except DecisionError as error:
                raise DecisionError(f"{source}, line {number}: {error}") from None
        found = self.current()
        # A row edited in a spreadsheet is a new decision, by whoever edited it, now.
        added = [replace(row, who=f"{person()} (in {source.name})", when=now()) if edited else row
                 for row in rows if _differs(found.get((row.student, row.item)), row)]
        stored = self.record(added) if added else []
        self._set_meta("imported:" + source.name, _digest(source.read_bytes()))
        return stored

    def _meta(self, key: str) -> str | None:
        with self._connection() as connection:
            row = connection.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def _set_meta(self, key: str, value: str) -> None:
        with self._connection(write=True) as connection:
            connection.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))


def _decision(row: sqlite3.Row) -> Decision:
    return Decision(row["student"], current_id(row["item"]), DecisionKind(row["kind"]), row["points"], row["automatic"],
                    row["comment"], row["who"], row["at"], row["fingerprint"], row["number"])


def _differs(held: Decision | None, row: Decision) -> bool:
    if held is None:
        return True
    return (held.kind, held.points, held.comment) != (row.kind, row.points, row.comment)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@contextmanager
def _exclusive(lock: Path) -> Iterator[None]:
    """One writer of the CSV export at a time, across threads and processes."""
    with open(lock, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def decisions_csv(decisions: Iterable[Decision]) -> str:
    """The decisions as CSV text, one row each, sorted by student and item (opens in a spreadsheet)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(_COLUMNS)
    for each in sorted(decisions, key=lambda d: (d.student, d.item)):
        writer.writerow([each.student, each.item, each.kind.value, f"{each.points:g}",
                         "" if each.automatic is None else f"{each.automatic:g}", each.comment, each.who, each.when,
                         each.fingerprint])
    return buffer.getvalue()


def read_csv(source: Path) -> list[Decision]:
    """The rows of a decisions CSV (grader 0.1's columns or this one's); raises ``DecisionError``
    naming the file, the line and the value received when a row is not a decision."""
    try:
        text = source.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise DecisionError(f"{source}: cannot be read: {error}") from None
    rows = []
    for number, row in enumerate(csv.DictReader(io.StringIO(text)), start=2):
        where = f"{source}, line {number}"
        if not row.get("student") or not row.get("item"):
            raise DecisionError(f"{where}: student and item are required. Received: {dict(row)}")
        try:
            kind = DecisionKind((row.get("kind") or "override").strip())
        except ValueError:
            raise DecisionError(f"{where}: kind must be override, accept or withdraw. "
                                f"Received: {row.get('kind')!r}") from None
        rows.append(Decision(row["student"], current_id(row["item"]), kind, _number(row.get("points"), where, "points"),
                             _number(row.get("automatic"), where, "automatic", optional=True),
                             row.get("comment") or "", row.get("who") or "", row.get("when") or "",
                             row.get("fingerprint") or ""))
    return rows


def _number(text: str | None, where: str, column: str, optional: bool = False) -> float | None:
    if optional and not (text or "").strip():
        return None
    try:
        value = float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise DecisionError(f"{where}: {column} must be a number. Received: {text!r}") from None
    if not math.isfinite(value):
        raise DecisionError(f"{where}: {column} must be a finite number. Received: {text!r}")
    return value


# Applying decisions to grades


def check_decision(grade: Grade, item: str, points: float, where: str = "") -> float:
    """The item's automatic points; ``DecisionError`` unless ``item`` is one of ``grade``'s checks
    or answers and ``points`` within its range."""
    results = {result.id: result for result in (*grade.checks, *grade.answers)}
    if item not in results:
        raise DecisionError(f"{where}{grade.id} has no item {item!r} (items: {', '.join(results)}). Received: {item!r}")
    worth = results[item].max_points
    if not (math.isfinite(points) and 0 <= points <= worth):
        raise DecisionError(f"{where}{grade.id} {item}: points must be between 0 and {worth:g}. Received: {points:g}")
    return automatic_points(results[item])


def automatic_points(result: Any) -> float:
    """The points the grader gave a check or answer, before any person's decision."""
    return result.override["automatic"] if result.override else result.points


def apply_decisions(grade: Grade, decisions: dict[tuple[str, str], Decision], fingerprint: str) -> Grade:
    """``grade`` with the decisions in force in place of the automatic points (and the score summed
    again). A decision that no longer fits (the rubric changed the item's points since) is not
    applied: the item keeps its automatic points and carries the decision with its ``problem``,
    for a person to look at again."""
    mine = {item: each for (student, item), each in decisions.items() if student == grade.id}
    if not mine:
        return grade

    def decided(result: Any) -> Any:
        each = mine.get(result.id)
        if each is None:
            return result
        record = each.record(result.points, fingerprint)
        if not (math.isfinite(each.points) and 0 <= each.points <= result.max_points):
            problem = f"a decision of {each.points:g} points no longer fits (the item is worth {result.max_points:g})"
            return replace(result, override=record | {"stale": True, "problem": problem})
        return replace(result, points=each.points, override=record)

    checks = tuple(decided(check) for check in grade.checks)
    answers = tuple(decided(answer) for answer in grade.answers)
    score = round(sum(c.points for c in checks) + sum(a.points for a in answers), 4)
    return replace(grade, checks=checks, answers=answers, score=score)


def _to_wal(connection: sqlite3.Connection) -> None:
    """Put the database in WAL mode. SQLite does not wait for another process's lock on this step
    (its busy handler is not called), so two processes making the store at once retry it here for
    as long as a transaction may wait."""
    deadline = time.monotonic() + _BUSY_SECONDS
    while True:
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)
