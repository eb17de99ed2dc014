"""LMS bulk downloads as .zip: the three layouts found after a safe unpack; hostile archives refused."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from grader.discover import discover
from grader.lms import LMSError, unpack

LAB = "import tensorflow as tf\nprint('lab')\n"
LAYOUTS = {
    "canvas": {"smithjane_12345_678901_transfer.py": LAB, "smithjane_12345_678902_answers.md": "Answer 1: x",
               "doejohn_late_23456_678903_Lab6.py": LAB},
    "moodle": {"Jane Smith_12345_assignsubmission_file_/transfer.py": LAB,
               "Jane Smith_12345_assignsubmission_file_/answers.docx": "x",
               "John Doe_23456_assignsubmission_file_/lab6.py": LAB},
    "blackboard": {"Lab 6_jsmith_attempt_2026-11-30-10-00-00_transfer.py": LAB,
                   "Lab 6_jsmith_attempt_2026-11-30-10-00-00_answers.md": "Answer 1: x",
                   "Lab 6_jsmith_attempt_2026-11-30-10-00-00.txt": "Name: Jane Smith\nSubmission Field: ...",
                   "Lab 6_jdoe_attempt_2026-11-30-11-00-00_lab6.py": LAB},
}
EXPECTED = {"canvas": {"smithjane_12345": "answers.md", "doejohn_23456": None},
            "moodle": {"jane_smith_12345": "answers.docx", "john_doe_23456": None},
            "blackboard": {"jsmith": "answers.md", "jdoe": None}}


def _zip(path: Path, members: dict[str, str | bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for name, content in members.items():
            bundle.writestr(name, content)
    return path


@pytest.mark.parametrize("lms", sorted(LAYOUTS))
def test_each_lms_download_unpacks_into_its_students(tmp_path: Path, lms: str) -> None:
    unpacked = unpack(_zip(tmp_path / f"{lms}.zip", LAYOUTS[lms]), tmp_path / "intake" / lms)
    assert unpacked.files == len(LAYOUTS[lms])
    found = discover(unpacked.folder)
    students = {s.id: (s.answers.name.rsplit("_", 1)[-1] if s.answers else None) for s in found.submissions}
    assert students == EXPECTED[lms]
    assert all(s.code is not None for s in found.submissions)
    if lms == "blackboard":  # its receipt is said, not taken for answers
        assert any("receipt" in why for _, why in found.unrecognised)


def _link_member(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as bundle:
        info = zipfile.ZipInfo("alice/transfer.py")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        bundle.writestr(info, "/etc/passwd")
    return path


@pytest.mark.parametrize(("members", "why"), [
    ({"../escaped.py": LAB}, "outside the folder"),
    ({"/tmp/absolute-escape.py": LAB}, "outside the folder"),
    ({"alice\\..\\..\\escaped.py": LAB}, "outside the folder"),
    ({"C:/Users/escaped.py": LAB}, "outside the folder"),
    ({"alice/bomb.bin": bytes(64 * 2**20)}, "zip bomb"),
], ids=["dotdot", "absolute", "backslashes", "drive", "bomb"])
def test_a_hostile_archive_is_a_clear_error_and_writes_nothing(tmp_path: Path, members: dict, why: str) -> None:
    archive = _zip(tmp_path / "download.zip", {"bob/transfer.py": LAB, **members})
    with pytest.raises(LMSError, match=why):
        unpack(archive, tmp_path / "out" / "intake" / "download")
    assert not (tmp_path / "out" / "intake" / "download").exists()
    assert not (tmp_path / "escaped.py").exists() and not Path("/tmp/absolute-escape.py").exists()
    assert not list((tmp_path / "out" / "intake").glob("*"))  # no half-unpacked folder either


def test_a_link_in_an_archive_is_refused(tmp_path: Path) -> None:
    with pytest.raises(LMSError, match="is a link"):
        unpack(_link_member(tmp_path / "download.zip"), tmp_path / "intake")


def test_not_a_zip_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "download.zip").write_text("not a zip")
    with pytest.raises(LMSError, match="not a readable zip"):
        unpack(tmp_path / "download.zip", tmp_path / "intake")


def test_grade_takes_the_zip_or_a_folder_holding_it(tmp_path: Path) -> None:
    (tmp_path / "downloads").mkdir()
    archive = _zip(tmp_path / "downloads" / "submissions.zip", LAYOUTS["canvas"])
    out = tmp_path / "out"
    for given in (archive, archive.parent):
        result = subprocess.run([sys.executable, "-m", "grader", str(given), "--out", str(out), "--student", "nobody"],
                                capture_output=True, text=True, env={**os.environ, "NO_COLOR": "1"})
        assert "Unpacked submissions.zip (3 files)" in result.stdout
        assert result.returncode == 2 and "no student 'nobody'" in result.stderr  # resolved before grading
    assert sorted(p.name for p in (out / "intake" / "submissions").iterdir())[0] == "doejohn_late_23456_678903_Lab6.py"
    bad = tmp_path / "notes.txt"
    bad.write_text("x")
    result = subprocess.run([sys.executable, "-m", "grader", str(bad)], capture_output=True, text=True)
    assert result.returncode == 2 and "neither a folder of submissions nor an LMS .zip" in result.stderr


CANVAS_EXPORT = Path(__file__).parent / "fixtures" / "lms" / "canvas_gradebook_export.csv"


def test_canvas_import_fills_the_assignment_matched_on_user_id() -> None:
    import csv
    import io

    from grader.lms import canvas_import

    scores = {"smithjane_12345": 87.5, "doejohn_23456": 40.0, "flatfile_student": 99.0}
    filled = canvas_import(CANVAS_EXPORT.read_text(), scores, "Lab 6")
    rows = list(csv.reader(io.StringIO(filled.text)))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Lab 6: Transfer Learning (88002)"]
    assert rows[1][0].strip() == "Points Possible" and rows[1][-1] == "100.00"
    by_id = {row[1]: row for row in rows[2:]}
    assert by_id["12345"][0] == "Smith, Jane" and by_id["12345"][-1] == "87.5" and by_id["23456"][-1] == "40"
    assert by_id["34567"][-1] == ""  # no submission: left for the instructor
    assert (filled.filled, filled.unmatched_grades) == (2, ("flatfile_student",))
    with pytest.raises(LMSError, match="Lab 5 \\(88001\\), Lab 6: Transfer Learning \\(88002\\)"):
        canvas_import(CANVAS_EXPORT.read_text(), scores)  # two assignments: say which
    with pytest.raises(LMSError, match="not a Canvas gradebook"):
        canvas_import("name,score\nalice,3\n", scores)


def test_the_lms_identity_is_kept_and_becomes_gradebook_columns(tmp_path: Path, rubric) -> None:  # noqa: ANN001
    from grader.report_files import gradebook_rows
    from grader.results import Grade, GradeStatus

    canvas = discover(unpack(_zip(tmp_path / "c.zip", LAYOUTS["canvas"]), tmp_path / "c").folder).submissions
    assert {s.id: dict(s.lms) for s in canvas} == {
        "doejohn_23456": {"name": "doejohn", "user_id": "23456", "late": "yes"},
        "smithjane_12345": {"name": "smithjane", "user_id": "12345", "late": "no"}}
    moodle = discover(unpack(_zip(tmp_path / "m.zip", LAYOUTS["moodle"]), tmp_path / "m").folder).submissions
    assert dict(moodle[0].lms) == {"name": "Jane Smith", "user_id": "12345"}
    grades = [Grade(s.id, GradeStatus.GRADED, "", 1.0, 100.0, environment={"lms": dict(s.lms)}) for s in canvas]
    header, rows = gradebook_rows(rubric, grades)
    assert header[:5] == ["id", "name", "user_id", "late", "score"]
    assert rows[0][:4] == ["doejohn_23456", "doejohn", "23456", "yes"]
