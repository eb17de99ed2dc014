"""One view of a grade for every writer: hidden checks stay out of what students see, and advice is
shown as advice (never a failure to fix) in the terminal, feedback, JSON and Gradescope."""

from __future__ import annotations

import json
import os
from dataclasses import replace

import pytest

from grader.report_files import feedback_html, feedback_markdown, gradescope_result
from grader.report_json import results_document
from grader.report_terminal import GradeReport
from grader.results import CheckResult, CheckStatus, Grade, GradeStatus
from grader.view import advisory_checks, view_of

HIDDEN = "head.dropout"
ADVICE = "finetune.bn_inference"


@pytest.fixture()
def hiding(rubric):  # noqa: ANN001, ANN201
    """The default rubric with one check hidden from students."""
    return replace(rubric, checks=tuple(replace(spec, hidden=spec.id == HIDDEN) for spec in rubric.checks))


def _grade(rubric) -> Grade:  # noqa: ANN001
    statuses = {HIDDEN: CheckStatus.FAIL, ADVICE: CheckStatus.FAIL, "input.range": CheckStatus.FAIL}
    checks = tuple(CheckResult(spec.id, statuses.get(spec.id, CheckStatus.PASS), 0.0, spec.points,
                               f"message of {spec.id}", f"hint of {spec.id}") for spec in rubric.checks)
    return Grade("alice", GradeStatus.GRADED, "ran to its end", 50.0, rubric.max_score, checks)


def _terminal(renderable) -> str:  # noqa: ANN001
    from rich.console import Console

    console = Console(width=200, no_color=True, color_system=None, record=True, file=open(os.devnull, "w"))
    console.print(renderable)
    return console.export_text()


def test_advice_is_the_registry_flag() -> None:
    assert advisory_checks() == frozenset({ADVICE})


def test_students_never_see_a_hidden_check(hiding) -> None:  # noqa: ANN001
    view = view_of(_grade(hiding), hiding, "student")
    assert HIDDEN not in [check.id for check in view.shown] and view.hidden_count == 1
    rendered = [_terminal(GradeReport(view)), feedback_markdown(view, hiding), feedback_html(view, hiding),
                json.dumps(results_document(hiding, [view], "bwrap"))]
    for text in rendered:
        assert f"message of {HIDDEN}" not in text
    assert "1 further check(s) are hidden" in rendered[0]


def test_instructors_see_every_check_and_gradescope_publishes_hidden_ones_later(hiding) -> None:  # noqa: ANN001
    view = view_of(_grade(hiding), hiding, "instructor")
    assert len(view.shown) == len(hiding.checks)
    tests = {test["name"]: test for test in gradescope_result(view)["tests"]}
    assert tests[HIDDEN]["visibility"] == "after_published" and tests["input.range"]["visibility"] == "visible"


def test_advice_is_advice_in_every_writer(rubric) -> None:  # noqa: ANN001
    view = view_of(_grade(rubric), rubric, "student")
    assert [check.id for check in view.advice] == [ADVICE]
    assert ADVICE not in [check.id for check in view.problems]
    terminal = _terminal(GradeReport(view))
    assert f"Advice {ADVICE}" in terminal and f"✗ {ADVICE}" not in terminal
    markdown = feedback_markdown(view, rubric)
    assert "## Advice" in markdown and f"❌ **{ADVICE}**" not in markdown
    html = feedback_html(view, rubric)
    assert "<h2>Advice</h2>" in html and f"<td class=fail>fail</td><td><code>{ADVICE}" not in html
    gradescope = gradescope_result(view_of(_grade(rubric), rubric, "instructor"))
    assert ADVICE not in [test["name"] for test in gradescope["tests"]] and f"Advice ({ADVICE})" in gradescope["output"]


def test_grade_check_exit_code_counts_what_the_student_sees_and_not_advice(hiding) -> None:  # noqa: ANN001
    only_hidden_and_advice = replace(_grade(hiding), checks=tuple(
        replace(check, status=CheckStatus.PASS) if check.id == "input.range" else check for check in _grade(hiding).checks))
    assert view_of(only_hidden_and_advice, hiding, "student").all_required_pass()
    assert not view_of(only_hidden_and_advice, hiding, "instructor").all_required_pass()
    assert not view_of(_grade(hiding), hiding, "student").all_required_pass()


def test_partial_credit_is_partial_in_every_writer(recorded_real_world, rubric) -> None:  # noqa: ANN001
    """ImageDataGenerator's flip earns half of augment.flip: every output says partial, none says pass."""
    from grader.report_files import gradebook_rows

    grade = recorded_real_world.grade("keras2_era", rubric)
    view = view_of(grade, rubric, "student")
    flip = next(check for check in grade.checks if check.id == "augment.flip")
    assert flip.status is CheckStatus.PARTIAL and 0 < flip.points < flip.max_points
    document = results_document(rubric, [view], "bwrap")
    assert next(c for c in document["submissions"][0]["checks"] if c["id"] == "augment.flip")["status"] == "partial"
    assert f"🟡 **augment.flip** ({flip.points:g}/{flip.max_points:g})" in feedback_markdown(view, rubric)
    assert ("<td data-label='status' class=partial>partial</td><td data-label='check'><code>augment.flip</code>"
            in feedback_html(view, rubric))
    header, rows = gradebook_rows(rubric, [grade])
    assert f"augment.flip ({flip.points:g}/{flip.max_points:g})" in rows[0][header.index("partial")]
    text = _terminal(GradeReport(view))
    assert "Partial credit (2):" in text and f"◐ augment.flip ({flip.points:g}/{flip.max_points:g})" in text
    assert "augment.flip" not in text.split("Passed (")[1].split("\n")[0]


def test_partial_credit_is_not_a_pass_for_the_exit_code(rubric) -> None:  # noqa: ANN001
    checks = tuple(CheckResult(spec.id, CheckStatus.PASS, spec.points, spec.points, "ok") for spec in rubric.checks)
    grade = Grade("bo", GradeStatus.GRADED, "ran to its end", rubric.max_score, rubric.max_score, checks)
    assert view_of(grade, rubric, "student").all_required_pass()
    first = checks[0]
    partial = replace(first, status=CheckStatus.PARTIAL, points=first.max_points / 2)
    view = view_of(replace(grade, checks=(partial, *checks[1:])), rubric, "student")
    assert not view.all_required_pass() and view.partial == (partial,) and view.failed == ()


def test_a_pass_saved_with_partial_points_reads_back_as_partial() -> None:
    saved = {"id": "augment.flip", "status": "pass", "points": 1.5, "max_points": 3.0, "message": "m"}
    assert CheckResult.from_dict(saved).status is CheckStatus.PARTIAL
    assert CheckResult.from_dict({**saved, "points": 3.0}).status is CheckStatus.PASS
    overridden = {**saved, "points": 3.0, "override": {"automatic": 1.5, "points": 3.0}}
    assert CheckResult.from_dict(overridden).status is CheckStatus.PARTIAL  # the automatic verdict's status
