"""The `grade` command: discovery of class layouts, resumable batches, files and exit codes."""

from __future__ import annotations

import csv
import re
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from grader.discover import discover
from grader.report_files import gradebook_rows, gradescope_result, write_csv
from grader.report_terminal import ClassSummary, GradeReport
from grader.results import AnswerScore, AnswerStatus, CheckResult, CheckStatus, Grade, GradeStatus, Location
from grader.view import GradeView

ADVICE = frozenset({"finetune.bn_inference"})

from conftest import REPOSITORY

GOLDEN = Path(__file__).parent / "golden"


def _touch(path: Path, text: str = "print(1)\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_folder_per_student(tmp_path: Path) -> None:
    _touch(tmp_path / "alice" / "transfer.py")
    _touch(tmp_path / "alice" / "helpers.py")
    _touch(tmp_path / "alice" / "answers.md", "Answer 1: x")
    _touch(tmp_path / "bob" / "Lab6.ipynb", "{}")
    _touch(tmp_path / "carol" / "notes.txt", "no code")
    found = discover(tmp_path)
    by_id = {s.id: s for s in found.submissions}
    assert by_id["alice"].code.name == "transfer.py" and by_id["alice"].answers.name == "answers.md"
    assert [p.name for p in by_id["alice"].extra_files] == ["helpers.py"]
    assert by_id["bob"].code.name == "Lab6.ipynb"
    assert [(p.name, why) for p, why in found.unrecognised] == [("carol", "no .py or .ipynb file inside")]


def test_flat_files_per_student(tmp_path: Path) -> None:
    _touch(tmp_path / "alice.py")
    _touch(tmp_path / "alice_answers.docx", "x")
    _touch(tmp_path / "bob.ipynb", "{}")
    _touch(tmp_path / "stray.md", "x")
    found = discover(tmp_path)
    assert {(s.id, s.answers.name if s.answers else None) for s in found.submissions} == {
        ("alice", "alice_answers.docx"), ("bob", None)}
    assert [p.name for p, _ in found.unrecognised] == ["stray.md"]


def test_canvas_bulk_download_is_grouped_by_student(tmp_path: Path) -> None:
    _touch(tmp_path / "smithjane_12345_678901_transfer.py")
    _touch(tmp_path / "smithjane_12345_678902_answers.docx", "x")
    _touch(tmp_path / "doejohn_late_23456_678903_Lab6-1.ipynb", "{}")
    _touch(tmp_path / "doejohn_late_23456_678904_screenshot.png", "x")
    found = discover(tmp_path)
    by_id = {s.id: s for s in found.submissions}
    assert set(by_id) == {"smithjane_12345", "doejohn_23456"}
    assert by_id["smithjane_12345"].answers.name.endswith("answers.docx")
    assert by_id["doejohn_23456"].code.name.endswith("Lab6-1.ipynb")
    assert [p.name for p, _ in found.unrecognised] == ["doejohn_late_23456_678904_screenshot.png"]


def _sample_grades() -> list[Grade]:
    checks = (CheckResult("base.frozen", CheckStatus.PASS, 4.0, 4.0, "frozen in phase 1"),
              CheckResult("input.range", CheckStatus.FAIL, 0.0, 4.0, "images are scaled twice",
                          "Scale once.", {}, Location("transfer.py", 12)),
              CheckResult("finetune.bn_inference", CheckStatus.FAIL, 0.0, 0.0, "BatchNorm updated", "Freeze BN."))
    answers = (AnswerScore("q1", 7.0, 10.0, AnswerStatus.ANSWERED, ({"concept": "features", "sentence": "It learned edges."},),
                           ("less data",), 0.8, False, ""),)
    return [Grade("alice", GradeStatus.GRADED, "ran to its end", 11.0, 18.0, checks, answers),
            Grade("bob", GradeStatus.ERROR, "NameError at transfer.py, line 3: x", 4.0, 18.0, checks[:1], ())]


def _view(grade: Grade, audience: str = "instructor", hidden: frozenset[str] = frozenset()) -> GradeView:
    return GradeView(grade, audience, hidden, ADVICE)


def _render(renderable) -> str:  # noqa: ANN001
    from rich.console import Console

    console = Console(width=100, no_color=True, color_system=None, record=True, file=open(os.devnull, "w"))
    console.print(renderable)
    return console.export_text()


@pytest.mark.parametrize(("name", "renderable"), [
    ("class_summary", ClassSummary([_view(grade) for grade in _sample_grades()], 18.0)),
    ("grade_report", GradeReport(_view(_sample_grades()[0])))])
def test_terminal_output_matches_golden(name: str, renderable, update_goldens: bool) -> None:  # noqa: ANN001
    text = _render(renderable)
    golden = GOLDEN / f"{name}.txt"
    if update_goldens or not golden.exists():
        golden.write_text(text)
    assert text == golden.read_text()


def test_csv_round_trips(tmp_path: Path, rubric) -> None:  # noqa: ANN001
    grades = _sample_grades()
    write_csv(tmp_path / "grades.csv", rubric, grades)
    with open(tmp_path / "grades.csv", newline="") as handle:
        rows = list(csv.reader(handle))
    header, expected = gradebook_rows(rubric, grades)
    assert rows[0] == header
    assert rows[1:] == [[str(value) for value in row] for row in expected]


def test_gradescope_result_has_its_field_names() -> None:
    result = gradescope_result(_view(_sample_grades()[0], hidden=frozenset({"base.frozen"})), 12.5)
    assert set(result) == {"score", "execution_time", "output", "tests"}
    for test in result["tests"]:
        assert set(test) == {"name", "number", "score", "max_score", "status", "output", "visibility"}
        assert test["status"] in ("passed", "failed") and test["visibility"] in ("visible", "after_published")


def test_grade_from_dict_round_trips() -> None:
    for grade in _sample_grades():
        assert Grade.from_dict(grade.to_dict()).to_dict() == grade.to_dict()


def _grade_command(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grader", *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, "NO_COLOR": "1"})


def test_check_exit_codes(tmp_path: Path) -> None:
    broken = _touch(tmp_path / "transfer.py", "def broken(:\n")
    result = _grade_command("check", str(broken))
    assert result.returncode == 1
    assert "SyntaxError" in result.stdout
    assert _grade_command("check", str(tmp_path / "absent.py")).returncode == 2
    assert _grade_command("check", str(broken), "--rubric", str(_touch(tmp_path / "bad.toml", "[rubric"))).returncode == 2


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package as a wheel installs it (not editable), in a folder of its own."""
    wheels, target = tmp_path_factory.mktemp("wheels"), tmp_path_factory.mktemp("installed")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels),
                    str(REPOSITORY)], check=True, capture_output=True, timeout=300)
    wheel = next(wheels.glob("dl_lab_grader-*.whl"))
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, timeout=300)
    return target


@pytest.mark.slow
def test_the_wheel_ships_the_rubric_and_the_reference_but_no_tests(installed: Path) -> None:
    assert (installed / "dl_lab_rubrics" / "transfer_learning.toml").is_file()
    assert (installed / "dl_lab_reference" / "transfer.py").is_file()
    assert (installed / "dl_lab_reference" / "answers.md").is_file()
    for lab in ("tf_tutorial", "flowers"):  # the other shipped labs, each with its reference
        assert (installed / "dl_lab_rubrics" / f"{lab}.toml").is_file()
        assert {p.name for p in (installed / "dl_lab_reference" / lab).iterdir()} >= {"transfer.py", "answers.md"}
    assert not (installed / "tests").exists() and not (installed / "rubrics").exists()


@pytest.mark.slow
def test_reference_lab_scores_full_marks_on_every_check(installed: Path, tmp_path: Path) -> None:
    """`grade check` on the shipped reference lab, from an empty folder, through the installed wheel:
    exit 0, and every check (the advisory one too) passes."""
    reference = installed / "dl_lab_reference" / "transfer.py"
    result = subprocess.run([sys.executable, "-m", "grader", "check", str(reference), "--json", "-"],
                            capture_output=True, text=True, cwd=tmp_path,
                            env={**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(installed)})
    assert result.returncode == 0, result.stderr[-2000:]
    document = json.loads(result.stdout)
    checks = document["submissions"][0]["checks"]
    assert len(checks) == 23 and [c["id"] for c in checks if c["status"] != "pass"] == []
    assert sum(c["points"] for c in checks) == sum(c["max_points"] for c in checks)
    assert document["environment"]["data"] == "synthetic"
    assert "/installed" in subprocess.run([sys.executable, "-c", "import grader; print(grader.__file__)"],
                                          capture_output=True, text=True, cwd=tmp_path,
                                          env={**os.environ, "PYTHONPATH": str(installed)}).stdout


@pytest.mark.slow
def test_batch_killed_midway_resumes_without_losing_or_repeating(tmp_path: Path) -> None:
    for name in ("a", "b", "c"):
        _touch(tmp_path / "class" / name / "transfer.py", "import time\ntime.sleep(4)\n")
    out = tmp_path / "out"
    command = [sys.executable, "-m", "grader", "class", str(tmp_path / "class"), "--out", str(out), "--jobs", "1", "-q"]
    first = subprocess.Popen(command, start_new_session=True)
    saved = out / "submissions"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(saved.glob("*.json"))) < 1:
        time.sleep(0.2)
    time.sleep(1)  # the next submission's run has started
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    done_before = {p.name: p.stat().st_mtime_ns for p in saved.glob("*.json")}
    assert 1 <= len(done_before) < 3
    left_behind = list(Path(tempfile.gettempdir()).glob(f"grade-{first.pid}-*"))
    assert left_behind  # a killed grader cannot clean up its scratch folder...
    again = subprocess.run(command, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert not any(folder.exists() for folder in left_behind)  # ...so the next batch sweeps it
    assert sorted(p.name for p in saved.glob("*.json")) == ["a.json", "b.json", "c.json"]
    for name, mtime in done_before.items():
        assert (saved / name).stat().st_mtime_ns == mtime  # not graded twice
    results = json.loads((out / "results.json").read_text())
    assert [s["id"] for s in results["submissions"]] == ["a", "b", "c"]
    for name in ("grades.csv", "report.html", "feedback/a.md", "feedback/a.html"):
        assert (out / name).is_file()


def test_a_batch_sweeps_scratch_folders_of_killed_graders(tmp_path: Path) -> None:
    from grader.run.scratch import sweep_stale_scratch

    ended = subprocess.Popen(["true"])
    ended.wait()  # ended and reaped: its pid names a grader that is gone
    stale = tmp_path / f"grade-{ended.pid}-abc123"
    live = tmp_path / f"grade-{os.getpid()}-def456"
    unrelated = tmp_path / "grade-notes"
    for folder in (stale, live, unrelated):
        (folder / "scratch").mkdir(parents=True)
    assert sweep_stale_scratch(tmp_path) == [stale]
    assert not stale.exists() and live.exists() and unrelated.exists()


def test_project_defaults_are_read_strictly(tmp_path: Path) -> None:
    from grader.cli import project_defaults
    from grader.errors import ConfigError

    (tmp_path / "pyproject.toml").write_text('[tool.grader]\nrubric = "my.toml"\njobs = 2\ntime-out = 5\n')
    with pytest.raises(ConfigError, match=r"unknown key 'time-out' \(did you mean 'timeout'\?\).*Received: time-out=5"):
        project_defaults(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[tool.grader]\nrubric = "my.toml"\njobs = 2\n')
    assert project_defaults(tmp_path) == {"rubric_path": "my.toml", "jobs": 2}
    (tmp_path / "pyproject.toml").write_text('[tool.grader\nrubric = "my.toml"\n')
    with pytest.raises(ConfigError, match="not valid TOML"):
        project_defaults(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert project_defaults(tmp_path) == {}


def test_a_bad_project_config_is_a_usage_error_naming_the_key(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.grader]\njbos = 2\n")
    result = _grade_command("rubric", "validate", str(REPOSITORY / "rubrics" / "transfer_learning.toml"), cwd=tmp_path)
    assert result.returncode == 2
    assert "jbos" in result.stderr and "'jobs'" in result.stderr


def test_a_grade_stopped_by_a_missing_module_is_run_again_once_it_is_installed(tmp_path: Path) -> None:
    from grader.batch import fingerprints, load_saved, reusable, save
    from grader.rubric import load_rubric
    from grader.run.settings import RunSettings

    submission = discover(_touch(tmp_path / "class" / "alice" / "transfer.py").parent.parent).submissions[0]
    rubric, settings = load_rubric(), RunSettings()
    expected = fingerprints(submission, rubric, settings)
    for module, outcome in (("no_such_module_anywhere", "reused"), ("json", None)):  # json: "installed" since
        grade = Grade("alice", GradeStatus.ERROR, f"imports `{module}`", 0.0, 100.0,
                      environment={"missing_module": module})
        save(tmp_path / "out", submission, grade, None, expected)
        assert reusable(load_saved(tmp_path / "out", submission), expected) == outcome, module


def test_outputs_are_readable_by_others(tmp_path: Path) -> None:
    from grader.atomic import write_text

    write_text(tmp_path / "report.html", "<p>class</p>")
    assert (tmp_path / "report.html").stat().st_mode & 0o777 == 0o644


def test_a_syntax_error_is_one_finding_and_the_answers_beside_the_script_are_read(tmp_path: Path) -> None:
    long_name = "transfer_learning_lab6_final_version_handed_in_by_a_student_with_a_long_file_name"
    broken = _touch(tmp_path / f"{long_name}.py", "import tensorflow as tf\ndef broken(:\n")
    _touch(tmp_path / "answers.md", (REPOSITORY / "examples" / "submissions" / "alice_correct" / "answers.md").read_text())
    result = _grade_command("check", str(broken))
    assert result.returncode == 1
    findings = [line for line in result.stdout.splitlines() if re.match(r"^ \d+\. ", line)]
    assert len(findings) == 1 and "script.runs" in findings[0] and "line 2" in findings[0]
    assert "Answers read from answers.md" in result.stdout
    written = re.search(r"Written answers: ([\d.]+) / ", result.stdout)
    assert written and float(written.group(1)) > 0  # found beside the script, as class grading finds it
    assert re.search(rf"^{long_name}: 40 / 100 +\[error\] SyntaxError at line 2", result.stdout, re.M)  # unwrapped


def test_grade_check_refuses_what_is_not_code(tmp_path: Path) -> None:
    result = _grade_command("check", str(_touch(tmp_path / "answers.md", "# Answer 1\nText.")))
    assert result.returncode == 2 and "--answers" in result.stderr


def test_a_closed_pipe_ends_the_output_quietly_with_the_normal_exit_code(tmp_path: Path) -> None:
    broken = _touch(tmp_path / "transfer.py", "def broken(:\n")
    reader = subprocess.Popen([sys.executable, "-m", "grader", "check", str(broken)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, env={**os.environ, "NO_COLOR": "1"})
    reader.stdout.close()  # like `| head` that has read what it wanted
    stderr = reader.communicate(timeout=120)[1].decode()
    assert reader.returncode == 1, stderr  # a failing check's code, not "the grader failed" of a traceback
    assert "BrokenPipe" not in stderr and "Traceback" not in stderr


def test_student_is_resolved_before_anything_is_graded(tmp_path: Path) -> None:
    for name in ("smithjohn_12345", "smithjane_23456", "doe_34567"):
        _touch(tmp_path / "class" / name / "transfer.py")
    out = tmp_path / "out"
    result = _grade_command("class", str(tmp_path / "class"), "--out", str(out), "--student", "smithjon")
    assert result.returncode == 2 and "did you mean smithjohn_12345" in result.stderr
    result = _grade_command("class", str(tmp_path / "class"), "--out", str(out), "--student", "smith")
    assert result.returncode == 2 and "begins 2 ids" in result.stderr
    assert not out.exists()  # nothing was graded
    from grader.discover import find_student

    assert find_student("DOE", discover(tmp_path / "class").submissions).id == "doe_34567"


@pytest.mark.slow
def test_student_grades_only_that_student(tmp_path: Path) -> None:
    for name in ("alice_1", "bob_2"):
        _touch(tmp_path / "class" / name / "transfer.py", f"print('{name}')\n")
    out = tmp_path / "out"
    result = _grade_command("class", str(tmp_path / "class"), "--out", str(out), "--student", "ali")
    assert result.returncode == 0, result.stderr
    assert [p.name for p in (out / "submissions").iterdir()] == ["alice_1.json"]
    assert (out / "feedback" / "alice_1.md").is_file() and not (out / "results.json").exists()
    assert "alice_1:" in result.stdout and "ran 1, rescored 0, reused 0" in result.stdout


def test_several_code_files_the_graded_one_follows_the_documented_rule(tmp_path: Path) -> None:
    from grader.discover import choose_code

    lab = "model.compile(optimizer='adam')\nmodel.fit(data)\n"
    old, final = _touch(tmp_path / "a" / "a_old_attempt.py", lab), _touch(tmp_path / "a" / "lab6_final.py", lab)
    os.utime(old, ns=(1_000_000_000, 1_000_000_000))
    helper = _touch(tmp_path / "a" / "zz_plots.py", "import matplotlib\n")  # the newest, but builds no model
    assert choose_code([old, final, helper]) == final  # builds a model, then the newest
    os.utime(final, ns=(500_000_000, 500_000_000))
    assert choose_code([old, final, helper]) == old
    canvas = _touch(tmp_path / "b" / "smithjane_12345_678901_transfer.py", "print(1)\n")
    assert choose_code([old, final, canvas], "transfer.py") == canvas  # the file the rubric names wins
    found = discover(tmp_path, "transfer.py")
    assert {s.id: s.code.name for s in found.submissions}["a"] == "a_old_attempt.py"


def test_every_report_says_which_file_was_graded_and_which_were_not(rubric) -> None:  # noqa: ANN001
    from grader.report_files import feedback_html, feedback_markdown, gradescope_result
    from grader.view import view_of

    files = {"graded": "lab6_final.py", "not_graded": ["a_old_attempt.py"]}
    grade = Grade("alice", GradeStatus.GRADED, "ran to its end", 50.0, 100.0, environment={"files": files})
    note = "Graded lab6_final.py; not graded: a_old_attempt.py"
    student, instructor = view_of(grade, rubric, "student"), view_of(grade, rubric, "instructor")
    assert note in _render(GradeReport(instructor))
    assert note in feedback_markdown(student, rubric) and note in feedback_html(student, rubric)
    assert note in gradescope_result(instructor)["output"]
    assert grade.to_dict()["files"] == files and Grade.from_dict(grade.to_dict(), grade.environment).files_note() == note
