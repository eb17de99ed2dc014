"""The decisions store: nothing a person decides is lost, whoever writes at the same time."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
from pathlib import Path

import pytest

from grader.decisions import (DATABASE, EXPORT, Decision, DecisionError, DecisionKind, DecisionStore, apply_decisions,
                              read_csv)
from grader.results import AnswerScore, AnswerStatus, Grade, GradeStatus

ITEMS = 93  # decisions each writer makes


def _decision(student: str, item: str, points: float) -> Decision:
    return Decision(student, item, DecisionKind.OVERRIDE, points, 0.0, f"by {student}", "tester")


def _write_many(out: str, writer: str) -> None:
    store = DecisionStore(Path(out))
    for number in range(ITEMS):
        store.record([_decision(f"{writer}-{number}", "q1", number % 10)])
        if number % 10 == 0:
            store.export()  # the CSV export is written by every writer too


def test_the_store_is_sqlite_in_wal_mode_and_keeps_each_decision(tmp_path: Path) -> None:
    store = DecisionStore(tmp_path)
    stored = store.record([_decision("alice", "q3", 6)])
    assert stored[0].number == 1 and stored[0].when
    with sqlite3.connect(tmp_path / DATABASE) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.current()[("alice", "q3")].points == 6


def test_two_threads_deciding_at_once_lose_nothing(tmp_path: Path) -> None:
    failures: list[BaseException] = []

    def write(name: str) -> None:
        try:
            _write_many(str(tmp_path), name)
        except BaseException as error:  # a thread's error does not reach the test by itself
            failures.append(error)

    writers = [threading.Thread(target=write, args=(name,)) for name in ("a", "b")]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    assert not failures, failures
    decided = DecisionStore(tmp_path).current()
    assert len(decided) == 2 * ITEMS
    assert {(d.student, d.points) for d in decided.values()} == {(f"{w}-{n}", n % 10) for w in "ab" for n in range(ITEMS)}


def test_two_processes_deciding_at_once_lose_nothing(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=_write_many, args=(str(tmp_path), name)) for name in ("a", "b")]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=120)
        assert writer.exitcode == 0
    store = DecisionStore(tmp_path)
    assert len(store.current()) == 2 * ITEMS and len(store.history()) == 2 * ITEMS
    store.export()
    assert len(read_csv(tmp_path / EXPORT)) == 2 * ITEMS  # the export, written last, holds them all


def test_a_group_is_recorded_whole_or_not_at_all(tmp_path: Path) -> None:
    store = DecisionStore(tmp_path)
    refused = Decision(None, "q1", DecisionKind.OVERRIDE, 1.0, 0.0)  # type: ignore[arg-type] - NOT NULL
    with pytest.raises(DecisionError, match="cannot be used"):
        store.record([_decision("alice", "q1", 5), refused])
    assert store.history() == []  # alice's went with it: one transaction


def test_a_decision_that_no_longer_fits_keeps_the_automatic_score_and_asks_for_a_look() -> None:
    answer = AnswerScore("q1", 4.0, 5.0, AnswerStatus.ANSWERED)
    grade = Grade("alice", GradeStatus.GRADED, "", 4.0, 5.0, (), (answer,))
    decided = apply_decisions(grade, {("alice", "q1"): _decision("alice", "q1", 8)}, "")
    kept = decided.answers[0]
    assert kept.points == 4.0 and kept.override["stale"] and "no longer fits" in kept.override["problem"]


def test_a_store_written_by_a_newer_grader_is_refused_not_overwritten(tmp_path: Path) -> None:
    DecisionStore(tmp_path).record([_decision("alice", "q1", 1)])
    with sqlite3.connect(tmp_path / DATABASE) as connection:
        connection.execute("UPDATE meta SET value = '99' WHERE key = 'schema'")
    with pytest.raises(DecisionError, match="newer grader"):
        DecisionStore(tmp_path).current()
