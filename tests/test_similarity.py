"""Code that students share: a renamed, reworded, reordered copy is found with its line ranges;
students who all started from the TensorFlow tutorial are not; the boilerplate never counts; a
notebook and the script it was exported to are one pair. Classes are files built in tmp_path
(``similarity_class.py``); the grading integration runs on saved results of recorded runs."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.batch import fingerprints, save
from grader.discover import discover
from grader.errors import RubricError
from grader.grading import rescore
from grader.instructor import _write_manifest, open_class, write_reports
from grader.results import RunResult
from grader.rubric import load_rubric
from grader.run.settings import RunSettings
from grader.similarity.fingerprints import K, WINDOW, kgram_hashes, winnow
from grader.similarity.pairs import FLAGGED, similar_code
from grader.similarity.tokens import normalise

from conftest import RECORDINGS, SUBMISSIONS
from similarity_class import TUTORIAL, as_notebook, renamed_copy, student_script, write_class


def _functions(path: Path) -> dict[str, tuple[int, int]]:
    """The top-level functions of a script: name -> (first line, last line)."""
    tree = ast.parse(path.read_text())
    return {node.name: (node.lineno, node.end_lineno or node.lineno) for node in tree.body
            if isinstance(node, ast.FunctionDef)}


def _covers(ranges: list[tuple[int, int]], lines: tuple[int, int], share: float = 0.7) -> bool:
    """Whether ``ranges`` cover at least ``share`` of the lines ``lines``."""
    wanted = set(range(lines[0], lines[1] + 1))
    covered = {line for start, end in ranges for line in range(start, end + 1)}
    return len(wanted & covered) >= share * len(wanted)


@pytest.fixture()
def tutorial_class(tmp_path: Path) -> dict[str, Path]:
    """Ten students who each started from the tutorial and changed it their own way."""
    return write_class(tmp_path / "class", 10)


# The token stream


def test_renaming_reformatting_and_comments_leave_the_tokens_as_they_were() -> None:
    original = ("def build(units):\n    '''The head.'''\n    x = tf.keras.layers.Dense(units, activation='relu')(inputs)"
                "  # hidden\n    return x\n")
    disguised = ("def make_head(n):\n    # a comment of my own\n    hidden = tf.keras.layers.Dense(\n        n,\n"
                 "        activation=\"relu\",\n    )(inputs)\n\n\n    return hidden\n")
    assert normalise(original)[0] == normalise(disguised)[0]
    tokens = normalise(original)[0]
    assert {"Dense", "layers", "activation", "def", "return"} <= set(tokens)  # what a student cannot rename stays
    assert not {"build", "units", "x", "relu"} & set(tokens)


def test_a_broken_file_still_compares_and_lines_are_counted_through_strings() -> None:
    tokens, lines = normalise("s = '''one\ntwo'''\nx = (1,\n")  # an unclosed bracket: tokenize would give up
    assert tokens == ("N", "=", "S", "N", "=", "(", "0", ",")
    assert lines[3] == 3


def test_winnowing_finds_every_run_as_long_as_its_guarantee() -> None:
    shared = [f"t{i % 7}" for i in range(K + WINDOW - 1)]
    first = ["a", "b", "c", *shared, "d"]
    second = ["x", *shared, "y", "z", "w", "v"]
    prints = [{value for value, _ in winnow(kgram_hashes(tokens))} for tokens in (first, second)]
    assert prints[0] & prints[1]
    assert not {value for value, _ in winnow(kgram_hashes(["a"] * 3))} & prints[1]


# Pairs


def test_a_renamed_reworded_reordered_copy_is_found_with_its_line_ranges(tutorial_class, tmp_path: Path) -> None:
    original = tutorial_class["student_0003"]
    copy = tmp_path / "class" / "zed" / "transfer.py"
    copy.parent.mkdir()
    copy.write_text(renamed_copy(original.read_text()))
    assert copy.read_text() != original.read_text()
    theirs, copied = _functions(original), _functions(copy)
    assert len(theirs) == 2 and not set(theirs) & set(copied)  # every name changed

    pairs = similar_code({**tutorial_class, "zed": copy})

    assert [(pair.first, pair.second) for pair in pairs] == [("student_0003", "zed")]
    pair = pairs[0]
    assert pair.similarity >= FLAGGED and pair.first_file == pair.second_file == "transfer.py"
    # Each of the student's own functions is marked in both files, wherever the copy moved it.
    moved = {name: next(lines for renamed, lines in copied.items() if renamed.endswith("_" + name[::-1]))
             for name in theirs}
    assert sorted(theirs, key=lambda name: theirs[name]) == sorted(theirs, key=lambda name: -moved[name][0])
    for name, lines in theirs.items():
        assert _covers([(p.first.start, p.first.end) for p in pair.passages], lines), name
        assert _covers([(p.second.start, p.second.end) for p in pair.passages], moved[name]), name


def test_students_who_started_from_the_tutorial_and_changed_different_things_are_not_flagged(tutorial_class) -> None:
    assert similar_code(tutorial_class) == ()
    assert similar_code(tutorial_class, [TUTORIAL]) == ()
    # They do share the tutorial: without it as boilerplate, two of them alone would light up.
    two = {student: tutorial_class[student] for student in ("student_0001", "student_0002")}
    assert [pair.first for pair in similar_code(two)] == ["student_0001"]
    assert similar_code(two, [TUTORIAL]) == ()
    starter = tutorial_class["student_0001"].parent.parent / "starter.ipynb"  # the tutorial handed out as a notebook
    starter.write_text(as_notebook(TUTORIAL.read_text()))
    assert similar_code(two, [starter]) == ()


def test_a_passage_in_the_boilerplate_never_counts(tmp_path: Path) -> None:
    files = write_class(tmp_path / "class", 2, seed=7)
    copy = tmp_path / "class" / "zed" / "transfer.py"
    copy.parent.mkdir()
    copy.write_text(renamed_copy(files["student_0000"].read_text()))
    files["zed"] = copy
    (helper, lines), *_ = sorted(_functions(files["student_0000"]).items(), key=lambda item: item[1])
    starter = tmp_path / "starter.py"  # the lab handed out the tutorial and this helper (its own names)
    starter.write_text(TUTORIAL.read_text() + "\n\n" + "".join(
        files["student_0000"].read_text().splitlines(keepends=True)[lines[0] - 1:lines[1]]))

    before = [pair for pair in similar_code(files, [TUTORIAL]) if pair.second == "zed"][0]
    after = [pair for pair in similar_code(files, [starter]) if pair.second == "zed"]

    assert _covers([(p.first.start, p.first.end) for p in before.passages], lines)
    assert after, "the other helper is still shared"
    assert not any(p.first.start <= line <= p.first.end for p in after[0].passages for line in range(lines[0] + 1, lines[1]))
    assert after[0].matched[0] < before.matched[0]
    only = {student: files[student] for student in ("student_0000", "zed")}
    everything = tmp_path / "everything.py"
    everything.write_text(files["student_0000"].read_text())
    assert similar_code(only, [everything]) == ()


def test_a_notebook_and_the_script_it_was_exported_to_are_one_pair(tutorial_class, tmp_path: Path) -> None:
    notebook = tmp_path / "class" / "nora" / "Lab6.ipynb"
    notebook.parent.mkdir()
    notebook.write_text(as_notebook(tutorial_class["student_0004"].read_text()))

    pairs = similar_code({**tutorial_class, "nora": notebook})

    assert [(pair.first, pair.second) for pair in pairs] == [("nora", "student_0004")]
    pair = pairs[0]
    assert pair.similarity > 0.9 and pair.first_file == "Lab6.ipynb"
    assert all(p.first.start_cell is not None and p.second.start_cell is None for p in pair.passages)
    assert "cell" in pair.passages[0].first.shown and "cell" in json.dumps(pair.to_dict())


def test_an_unreadable_or_missing_file_compares_with_nothing(tutorial_class, tmp_path: Path) -> None:
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{not json")
    files = {**tutorial_class, "broken": broken, "gone": tmp_path / "gone.py", "none": None}
    assert similar_code(files) == ()


# In the graded class


def _graded_class(root: Path, rubric, scripts: dict[str, str]) -> tuple[Path, Path]:  # noqa: ANN001
    """A class whose students hand in ``scripts``, graded as `grade` leaves it from the tutorial
    fixture's recorded run (no code runs); returns the class folder and the output folder."""
    run = json.loads((RECORDINGS / "tutorial.json").read_text())["run"]
    for student, text in scripts.items():
        shutil.copytree(SUBMISSIONS / "tutorial", root / "class" / student)
        (root / "class" / student / "transfer.py").write_text(text)
    out, settings = root / "out", RunSettings(budget=rubric.budget)
    submissions = discover(root / "class").submissions
    for submission in submissions:
        grade = rescore(submission, RunResult.from_dict(run), rubric, settings)
        save(out, submission, grade, run, fingerprints(submission, rubric, settings))
    _write_manifest(out, rubric, submissions, root / "class")
    return root / "class", out


def _grade(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grader", *args], capture_output=True, text=True,
                          env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"})


def test_the_graded_class_shows_code_pairs_in_review_results_and_report(tmp_path: Path, rubric) -> None:  # noqa: ANN001
    scripts = {f"s{index}": student_script(100 + index) for index in range(6)}
    scripts["s6"] = renamed_copy(scripts["s2"])
    _, out = _graded_class(tmp_path, rubric, scripts)

    graded = open_class(out, rubric)
    write_reports(graded)

    assert [(pair.first, pair.second) for pair in graded.similar_code] == [("s2", "s6")]
    items = [item for item in graded.review() if item.kind == "similar" and item.item == "code"]
    assert [item.student for item in items] == ["s2, s6"] and "lines" in items[0].reason
    document = json.loads((out / "results.json").read_text())
    [entry] = document["similar_code"]
    assert entry["students"] == ["s2", "s6"] and entry["passages"][0]["first"]["start"] >= 1
    report = (out / "report.html").read_text()
    assert "Code that matches beyond the boilerplate" in report and "s2 and s6" in report
    # Similarity is evidence for a person: every score is the one scored from the run.
    assert {grade.id: grade.score for grade in graded.grades} == \
        {student: saved.grade.score for student, saved in graded.saved.items()}


def test_grade_prints_the_pairs_and_takes_boilerplate_from_the_command_line(tmp_path: Path, rubric) -> None:  # noqa: ANN001
    scripts = {f"s{index}": student_script(200 + index) for index in range(4)}
    scripts["s4"] = renamed_copy(scripts["s1"])
    folder, out = _graded_class(tmp_path, rubric, scripts)
    handed_out = tmp_path / "handed_out.py"
    handed_out.write_text(scripts["s1"])  # say the lab handed out all of s1's code

    shown = _grade(str(folder), "--out", str(out))
    assert shown.returncode == 0 and "reused 5" in shown.stdout, shown.stdout + shown.stderr
    assert "Code matching beyond the boilerplate: s1 and s4" in shown.stdout
    assert len(json.loads((out / "results.json").read_text())["similar_code"]) == 1

    left_out = _grade(str(folder), "--out", str(out), "--boilerplate", str(handed_out))
    assert left_out.returncode == 0 and "reused 5" in left_out.stdout, left_out.stdout + left_out.stderr
    assert "Code matching" not in left_out.stdout
    assert json.loads((out / "results.json").read_text())["similar_code"] == []


def test_boilerplate_given_to_grade_is_remembered_and_the_rubric_names_its_own(tmp_path: Path, rubric) -> None:  # noqa: ANN001
    from grader.bundled import default_rubric
    from grader.instructor import boilerplate_of

    starter = tmp_path / "lab" / "starter.py"
    starter.parent.mkdir()
    starter.write_text("print('hello')\n")
    text = default_rubric().read_text().replace("[lab]\n", "[lab]\nboilerplate = [\"starter.py\"]\n", 1)
    (tmp_path / "lab" / "rubric.toml").write_text(text)
    mine = load_rubric(tmp_path / "lab" / "rubric.toml")
    assert mine.lab.boilerplate == (str(starter.resolve()),)
    assert mine.lab.summary.endswith("; boilerplate starter.py")
    files = boilerplate_of(mine, [tmp_path / "given.py"])
    assert starter.resolve() in files and tmp_path / "given.py" in files
    assert any(path.name == "transfer.py" and "reference" in str(path) for path in files)

    (tmp_path / "lab" / "rubric.toml").write_text(text.replace("starter.py", "startr.py"))
    with pytest.raises(RubricError, match="boilerplate.*startr.py"):
        load_rubric(tmp_path / "lab" / "rubric.toml")

    out = tmp_path / "out"
    _write_manifest(out, rubric, [], None, [starter])
    _write_manifest(out, rubric, [], None)  # a later run without --boilerplate keeps it
    assert json.loads((out / "class.json").read_text())["boilerplate"] == [str(starter.resolve())]


# On the review page


def test_the_review_page_shows_a_pair_side_by_side_with_the_passages_marked_and_escaped(tmp_path: Path, rubric) -> None:  # noqa: ANN001
    from starlette.testclient import TestClient

    from grader.desk import student_key
    from grader.web.app import create_app

    scripts = {f"s{index}": student_script(300 + index) for index in range(4)}
    hostile = "def shout():\n    print('<script>alert(1)</script>')\n    print(len(model.layers), model.name)\n"
    scripts["s2"] = scripts["s2"].replace("def helper_", hostile + "\n\ndef helper_", 1)
    scripts["s4"] = renamed_copy(scripts["s2"])
    _, out = _graded_class(tmp_path, rubric, scripts)
    client = TestClient(create_app(out, "secret"), follow_redirects=False)
    assert client.get("/api/similar").status_code == 403  # the page's token guards these too
    client.get("/?token=secret")

    listed = client.get("/api/similar").json()["pairs"]
    assert [(pair["first"], pair["second"]) for pair in listed] == [(student_key("s2"), student_key("s4"))]
    assert "s2" not in json.dumps(listed)  # anonymous unless names are asked for
    shown = client.get(f"/api/similar/{student_key('s2')}/{student_key('s4')}").json()
    first, second = shown["first"], shown["second"]
    marked = [[line["number"] for line in side["lines"] if line["passage"] == 1] for side in (first, second)]
    pair = open_class(out, rubric).similar_code[0]
    assert marked[0][0] == pair.passages[0].first.start and marked[0][-1] == pair.passages[0].first.end
    assert marked[1][0] == pair.passages[0].second.start and marked[1][-1] == pair.passages[0].second.end
    assert "student" not in first and first["label"].startswith("Student")

    page = client.get(f"/similar/{student_key('s2')}/{student_key('s4')}")
    assert page.status_code == 200 and page.text.count("class=\"line shared\"") == sum(map(len, (
        [line for line in first["lines"] if line["passage"]], [line for line in second["lines"] if line["passage"]])))
    assert "<script>alert(1)" not in page.text and "&lt;script&gt;alert(1)" in page.text
    assert "Similar code (1)" in client.get("/similar").text
    assert client.get(f"/similar/{student_key('s2')}/{student_key('s1')}").status_code == 404
