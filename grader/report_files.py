"""Files for instructors: gradebook CSV, per-student feedback (Markdown and HTML), a class report
(HTML, self-contained), and Gradescope results. Every writer renders ``GradeView`` objects (what
each audience sees is decided there) and decides nothing itself."""

from __future__ import annotations

import base64
import csv
import html
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from grader.answers.similarity import SimilarPair
from grader.atomic import write_text
from grader.results import AnswerScore, CheckResult, CheckStatus, Grade
from grader.rubric import Rubric
from grader.view import GradeView, views_of


def overridden(result: CheckResult | AnswerScore) -> str:
    """``overridden by tim: "says it in other words" (automatic 2)``, or "" for an automatic score."""
    decision = result.override
    if not decision:
        return ""
    stale = "; the submission changed since: look again" if decision.get("stale") else ""
    comment = f': "{decision["comment"]}"' if decision.get("comment") else ""
    return f"overridden by {decision.get('who') or 'a person'}{comment} (automatic {decision['automatic']:g}{stale})"


def gradebook_rows(rubric: Rubric, grades: Sequence[Grade]) -> tuple[list[str], list[list[Any]]]:
    """Header and one row per student: id, score, max, status, points of each check and question,
    and which items a person overrode."""
    items = [s.id for s in rubric.checks] + [q.id for q in rubric.questions]
    header = ["id", "score", "max_score", "status", *items, "overridden"]
    rows = []
    for grade in grades:
        results = {r.id: r for r in (*grade.checks, *grade.answers)}
        decided = "; ".join(f"{r.id} (automatic {r.override['automatic']:g})" for r in results.values() if r.override)
        rows.append([grade.id, grade.score, grade.max_score, grade.status.value]
                    + [results[column].points if column in results else "" for column in items] + [decided])
    return header, rows


def write_csv(path: Path, rubric: Rubric, grades: Sequence[Grade]) -> None:
    header, rows = gradebook_rows(rubric, grades)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    write_text(path, buffer.getvalue())


_MARK = {CheckStatus.PASS: "✅", CheckStatus.FAIL: "❌", CheckStatus.ERROR: "❓", CheckStatus.SKIP: "⏭"}


def feedback_markdown(view: GradeView, rubric: Rubric) -> str:
    """A student's feedback: score, each check with message, hint and lines, advice, each answer
    with its evidence."""
    grade = view.grade
    lines = [f"# Feedback for {grade.id}", "", f"**Score: {grade.score:g} / {grade.max_score:g}** ({grade.status.value}: "
             f"{grade.reason})", "", *([grade.files_note(), ""] if grade.files_note() else []), "## Code", ""]
    for check in view.required:
        lines.append(f"- {_MARK[check.status]} **{check.id}** ({check.points:g}/{check.max_points:g}): {check.message}"
                     + (f" — {check.location}" if check.location else "")
                     + (f" — {overridden(check)}" if check.override else ""))
        if check.hint and check.status is not CheckStatus.PASS:
            lines.append(f"  - How to fix: {check.hint}")
    if view.advice:
        lines += ["", "## Advice", ""]
        for check in view.advice:
            lines.append(f"- **{check.id}**: {check.message}" + (f" — {check.hint}" if check.hint else ""))
    lines += ["", "## Written answers", ""]
    titles = {q.id: q.title for q in rubric.questions}
    for answer in grade.answers:
        lines.append(f"- **{answer.id}. {titles.get(answer.id, '')}** ({answer.points:g}/{answer.max_points:g})"
                     + (f": {answer.reason}" if answer.reason else "")
                     + (f" — {overridden(answer)}" if answer.override else ""))
        for found in answer.found:
            lines.append(f"  - found *{found['concept']}*: \"{found['sentence'][:200]}\"")
        if answer.missing:
            lines.append(f"  - missing: {', '.join(answer.missing)}")
    warning = grade.integrity_warning()
    if warning:
        lines += ["", "## Integrity", "", f"- {warning}"]
    notes = grade.environment.get("accommodations") or []
    if notes:
        lines += ["", "## How your code was run", ""] + [f"- {note}" for note in notes]
    return "\n".join(lines) + "\n"


_STYLE = ("body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}"
          "table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.3rem .5rem;"
          "text-align:left}th{cursor:pointer;background:#f4f4f4}.pass{color:#176c2e}.fail{color:#b3261e}"
          ".error{color:#8a6d00}.skip{color:#777}code{background:#f4f4f4;padding:0 .2rem}")


def _page(title: str, body: str, script: str = "") -> str:
    return (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{html.escape(title)}</title>"
            f"<style>{_STYLE}</style></head><body>{body}{script}</body></html>\n")


def _check_row(check: CheckResult) -> str:
    return (f"<tr><td class={check.status.value}>{check.status.value}</td><td><code>{html.escape(check.id)}</code></td>"
            f"<td>{check.points:g}/{check.max_points:g}</td><td>{html.escape(check.message)}"
            + (f"<br><em>{html.escape(check.hint)}</em>" if check.hint and check.status is not CheckStatus.PASS else "")
            + (f"<br><small>{html.escape(str(check.location))}</small>" if check.location else "")
            + (f"<br><strong>{html.escape(overridden(check))}</strong>" if check.override else "")
            + "</td></tr>")


def feedback_html(view: GradeView, rubric: Rubric) -> str:
    """The same feedback as a self-contained HTML page."""
    grade = view.grade
    rows = "".join(_check_row(check) for check in view.required)
    advice = "".join(f"<li><code>{html.escape(c.id)}</code>: {html.escape(c.message)}"
                     + (f" <em>{html.escape(c.hint)}</em>" if c.hint else "") + "</li>" for c in view.advice)
    answers = "".join(
        f"<tr><td>{html.escape(a.id)}</td><td>{a.points:g}/{a.max_points:g}</td><td>{html.escape(a.reason)}"
        + "".join(f"<br>✓ {html.escape(f['concept'])}: “{html.escape(f['sentence'][:200])}”" for f in a.found)
        + (f"<br>missing: {html.escape(', '.join(a.missing))}" if a.missing else "")
        + (f"<br><strong>{html.escape(overridden(a))}</strong>" if a.override else "") + "</td></tr>"
        for a in grade.answers)
    body = (f"<h1>Feedback for {html.escape(grade.id)}</h1><p><strong>Score {grade.score:g} / {grade.max_score:g}"
            f"</strong> ({html.escape(grade.status.value)}: {html.escape(grade.reason)})</p>"
            + (f"<p>{html.escape(grade.files_note())}</p>" if grade.files_note() else "")
            + f"<h2>Code</h2><table>{rows}</table>" + (f"<h2>Advice</h2><ul>{advice}</ul>" if advice else "")
            + f"<h2>Written answers</h2><table>{answers}</table>")
    return _page(f"Feedback: {grade.id}", body)


def _figure_png(draw: Any) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 3.2))
    draw(axis)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


_SORT_SCRIPT = """<script>
document.querySelectorAll('th').forEach((th, column) => th.addEventListener('click', () => {
  const body = th.closest('table').tBodies[0];
  const rows = Array.from(body.rows);
  const number = (row) => parseFloat(row.cells[column].dataset.sort ?? row.cells[column].textContent);
  const numeric = rows.every((row) => !isNaN(number(row)));
  const ascending = th.dataset.ascending !== 'true';
  th.dataset.ascending = ascending;
  rows.sort((a, b) => (numeric ? number(a) - number(b)
      : a.cells[column].textContent.localeCompare(b.cells[column].textContent)) * (ascending ? 1 : -1));
  rows.forEach((row) => body.appendChild(row));
}));
</script>"""


def class_report_html(rubric: Rubric, views: Sequence[GradeView], pairs: Sequence[SimilarPair]) -> str:
    """The class at a glance (instructor's views): score histogram, pass rate per check, sortable
    table, links to feedback."""
    grades = [view.grade for view in views]
    scores = [grade.score for grade in grades]
    histogram = _figure_png(lambda axis: (axis.hist(scores, bins=10, range=(0, rubric.max_score), color="#4a78b5"),
                                          axis.set_xlabel("score"), axis.set_ylabel("students")))
    rates = {spec.id: sum(c.status is CheckStatus.PASS for g in grades for c in g.checks if c.id == spec.id)
             / max(len(grades), 1) for spec in rubric.checks}
    pass_rates = _figure_png(lambda axis: (axis.barh(list(rates), list(rates.values()), color="#5a9b5a"),
                                           axis.set_xlim(0, 1), axis.set_xlabel("pass rate"),
                                           axis.tick_params(axis="y", labelsize=6)))
    rows = "".join(
        f"<tr><td><a href='feedback/{html.escape(v.grade.id)}.html'>{html.escape(v.grade.id)}</a></td>"
        f"<td data-sort={v.grade.score}>{v.grade.score:g}</td><td>{html.escape(v.grade.status.value)}</td><td>"
        + html.escape(", ".join(c.id for c in v.failed if c.status is CheckStatus.FAIL)) + "</td></tr>"
        for v in views)
    similar = "".join(f"<li>{html.escape(p.first)} and {html.escape(p.second)}, {p.item}: {p.similarity:.0%} alike</li>"
                      for p in pairs)
    body = (f"<h1>{html.escape(rubric.name)}</h1><p>{len(grades)} submissions, max score {rubric.max_score:g}</p>"
            f"<h2>Scores</h2><img alt='score histogram' src='{histogram}'>"
            f"<h2>Pass rate per check</h2><img alt='pass rates' src='{pass_rates}'>"
            "<h2>Students</h2><table><thead><tr><th>student</th><th>score</th><th>status</th><th>failed checks</th>"
            f"</tr></thead><tbody>{rows}</tbody></table>"
            + (f"<h2>Near-identical written answers</h2><ul>{similar}</ul>" if similar else ""))
    return _page(f"Class report: {rubric.name}", body, _SORT_SCRIPT)


def gradescope_result(view: GradeView, execution_time: float = 0.0) -> dict[str, Any]:
    """One submission in Gradescope's autograder ``results.json`` format (the instructor's view:
    checks the rubric hides are published after grading; advice goes into the output, not the tests)."""
    grade = view.grade
    tests = [{"name": check.id, "number": str(number), "score": check.points, "max_score": check.max_points,
              "status": "passed" if check.status is CheckStatus.PASS else "failed",
              "output": check.message + (f"\n{check.hint}" if check.hint else "")
              + (f"\n{overridden(check)}" if check.override else ""),
              "visibility": "after_published" if view.is_hidden(check.id) else "visible"}
             for number, check in enumerate(view.required, start=1)]
    tests += [{"name": f"{answer.id} (written)", "number": str(len(tests) + number), "score": answer.points,
               "max_score": answer.max_points, "status": "passed" if answer.points >= answer.max_points else "failed",
               "output": (answer.reason or "") + (f"\n{overridden(answer)}" if answer.override else ""),
               "visibility": "visible"}
              for number, answer in enumerate(grade.answers, start=1)]
    advice = "".join(f"\nAdvice ({check.id}): {check.message}" for check in view.advice)
    files = f"\n{grade.files_note()}" if grade.files_note() else ""
    return {"score": grade.score, "execution_time": execution_time,
            "output": f"{grade.status.value}: {grade.reason}{files}{advice}", "tests": tests}


def write_feedback(out: Path, student: GradeView, rubric: Rubric) -> list[Path]:
    """Write one student's feedback, Markdown and HTML, into ``out/feedback``; return the paths."""
    written = []
    for suffix, render in ((".md", feedback_markdown), (".html", feedback_html)):
        path = out / "feedback" / f"{student.grade.id}{suffix}"
        write_text(path, render(student, rubric))
        written.append(path)
    return written


def write_all(out: Path, rubric: Rubric, grades: Sequence[Grade], document: dict[str, Any],
              pairs: Sequence[SimilarPair], gradescope: bool = False) -> list[Path]:
    """Write every file into ``out``; return their paths."""
    written = [out / "results.json", out / "grades.csv", out / "report.html"]
    write_text(out / "results.json", json.dumps({**document, "similar_answers": [p.to_dict() for p in pairs]},
                                                   indent=2) + "\n")
    write_csv(out / "grades.csv", rubric, grades)
    instructor = views_of(grades, rubric, "instructor")
    for student in views_of(grades, rubric, "student"):
        written += write_feedback(out, student, rubric)
    for view in instructor if gradescope else []:
        path = out / "gradescope" / view.grade.id / "results.json"
        write_text(path, json.dumps(gradescope_result(view), indent=2) + "\n")
        written.append(path)
    write_text(out / "report.html", class_report_html(rubric, instructor, pairs))
    return written
