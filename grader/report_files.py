"""Files for instructors: gradebook CSV, per-student feedback (Markdown and HTML), a class report
(HTML, self-contained), and Gradescope results. Every writer renders ``GradeView`` objects (what
each audience sees is decided there) and decides nothing itself."""

from __future__ import annotations

import base64
import csv
import html
import io
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.answers.similarity import SimilarPair
from grader.similarity.pairs import CodePair
from grader.atomic import write_text
from grader.results import AnswerScore, CheckResult, CheckStatus, Grade, GradeStatus, ImportStops
from grader.review import ReviewItem
from grader.rubric import Rubric
from grader.view import GradeView, views_of


def overridden(result: CheckResult | AnswerScore) -> str:
    """``overridden by tim: "says it in other words" (automatic 2)``, or "" for an automatic score."""
    decision = result.override
    if not decision:
        return ""
    if decision.get("problem"):
        return f"{decision['problem']}: the automatic score stands; look again"
    stale = "; the submission changed since: look again" if decision.get("stale") else ""
    comment = f': "{decision["comment"]}"' if decision.get("comment") else ""
    verb = "accepted" if decision.get("kind") == "accept" else "overridden"
    return f"{verb} by {decision.get('who') or 'a person'}{comment} (automatic {decision['automatic']:g}{stale})"


def gradebook_rows(rubric: Rubric, grades: Sequence[Grade]) -> tuple[list[str], list[list[Any]]]:
    """Header and one row per student: id, score, max, status, points of each check and question,
    which items a person overrode, and which checks earned partial credit."""
    items = [s.id for s in rubric.checks] + [q.id for q in rubric.questions]
    identity = [key for key in _LMS_COLUMNS if any(key in (g.environment.get("lms") or {}) for g in grades)]
    header = ["id", *identity, "score", "max_score", "status", *items, "overridden", "partial"]
    rows = []
    for grade in grades:
        results = {r.id: r for r in (*grade.checks, *grade.answers)}
        decided = "; ".join(f"{r.id} (automatic {r.override['automatic']:g})" for r in results.values() if r.override)
        partial = "; ".join(f"{c.id} ({c.points:g}/{c.max_points:g})" for c in grade.checks
                            if c.status is CheckStatus.PARTIAL)
        lms = grade.environment.get("lms") or {}
        rows.append([grade.id, *(lms.get(key, "") for key in identity), grade.score, grade.max_score,
                     grade.status.value] + [results[column].points if column in results else "" for column in items]
                    + [decided, partial])
    return header, rows


_LMS_COLUMNS = ("name", "user_id", "late")  # kept from an LMS download, when it says them


def write_csv(path: Path, rubric: Rubric, grades: Sequence[Grade]) -> None:
    header, rows = gradebook_rows(rubric, grades)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    write_text(path, buffer.getvalue())


_MARK = {CheckStatus.PASS: "✅", CheckStatus.PARTIAL: "🟡", CheckStatus.FAIL: "❌", CheckStatus.ERROR: "❓",
         CheckStatus.SKIP: "⏭"}


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


_STYLE = ("body{font-family:system-ui,sans-serif;max-width:72rem;margin:1.5rem auto;padding:0 1rem;color:#222;"
          "overflow-wrap:break-word;line-height:1.4}h1{font-size:1.6rem}table{border-collapse:collapse;width:100%}"
          "td,th{border-bottom:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}th{cursor:pointer;background:#f4f4f4}.pass{color:#176c2e}.partial{color:#8a5a00}.fail{color:#b3261e}"
          ".error{color:#8a6d00}.skip{color:#777}code{background:#f4f4f4;padding:0 .2rem}"
          "img{max-width:100%;height:auto}.charts{display:grid;gap:1rem;"
          "grid-template-columns:repeat(auto-fit,minmax(min(100%,30rem),1fr))}.charts figure{margin:0}"
          ".charts>*{min-width:0}figcaption{font-weight:600;margin-bottom:.3rem}.num{text-align:right}.muted{color:#666}"
          # On a phone each row is a card, each cell labelled with its column; long ids may break.
          "@media (max-width:40rem){body{padding:0 .5rem;overflow-wrap:anywhere}thead{display:none}"
          "table,tbody,tr,td{display:block;width:auto}tr{border-bottom:1px solid #ccc;padding:.4rem 0}"
          "td,td.num{border:0;padding:.1rem 0;text-align:left}td[data-label]::before{content:attr(data-label) ': ';"
          "font-weight:600;color:#555}}")


def _page(title: str, body: str, script: str = "") -> str:
    return (f"<!doctype html><html lang=en><head><meta charset=utf-8>"
            f"<meta name=viewport content='width=device-width, initial-scale=1'><title>{html.escape(title)}</title>"
            f"<style>{_STYLE}</style></head><body>{body}{script}</body></html>\n")


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], identifier: str = "") -> str:
    """A table of already-escaped cells; each cell carries its column's name (shown on a phone,
    where rows become cards). A cell may be a ``(attributes, html)`` pair."""
    head = "".join(f"<th>{html.escape(name)}</th>" for name in header)
    body = "".join("<tr>" + "".join(_cell(name, cell) for name, cell in zip(header, row)) + "</tr>" for row in rows)
    return (f"<table{f' id={identifier}' if identifier else ''}><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table>")


def _cell(name: str, cell: str | tuple[str, str]) -> str:
    attributes, content = cell if isinstance(cell, tuple) else ("", cell)
    return f"<td data-label='{html.escape(name)}'{attributes}>{content}</td>"


def _check_cells(check: CheckResult) -> list[str | tuple[str, str]]:
    message = (html.escape(check.message)
               + (f"<br><em>{html.escape(check.hint)}</em>" if check.hint and check.status is not CheckStatus.PASS else "")
               + (f"<br><small>{html.escape(str(check.location))}</small>" if check.location else "")
               + (f"<br><strong>{html.escape(overridden(check))}</strong>" if check.override else ""))
    return [(f" class={check.status.value}", check.status.value), f"<code>{html.escape(check.id)}</code>",
            f"{check.points:g}/{check.max_points:g}", message]


def feedback_html(view: GradeView, rubric: Rubric) -> str:
    """The same feedback as a self-contained HTML page."""
    grade = view.grade
    rows = _table(("status", "check", "points", "what and how to fix"), [_check_cells(c) for c in view.required])
    advice = "".join(f"<li><code>{html.escape(c.id)}</code>: {html.escape(c.message)}"
                     + (f" <em>{html.escape(c.hint)}</em>" if c.hint else "") + "</li>" for c in view.advice)
    titles = {q.id: q.title for q in rubric.questions}
    answers = _table(("question", "points", "what was found"), [
        [f"{html.escape(a.id)}. {html.escape(titles.get(a.id, ''))}", f"{a.points:g}/{a.max_points:g}",
         html.escape(a.reason)
         + "".join(f"<br>✓ {html.escape(f['concept'])}: “{html.escape(f['sentence'][:200])}”" for f in a.found)
         + (f"<br>missing: {html.escape(', '.join(a.missing))}" if a.missing else "")
         + (f"<br><strong>{html.escape(overridden(a))}</strong>" if a.override else "")] for a in grade.answers])
    body = (f"<h1>Feedback for {html.escape(grade.id)}</h1><p><strong>Score {grade.score:g} / {grade.max_score:g}"
            f"</strong> ({html.escape(grade.status.value)}: {html.escape(grade.reason)})</p>"
            + (f"<p>{html.escape(grade.files_note())}</p>" if grade.files_note() else "")
            + f"<h2>Code</h2>{rows}" + (f"<h2>Advice</h2><ul>{advice}</ul>" if advice else "")
            + f"<h2>Written answers</h2>{answers}")
    return _page(f"Feedback: {grade.id}", body)


def _figure_png(draw: Any, height: float = 3.4) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, height))
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


@dataclass(frozen=True)
class ClassData:
    """What the class report draws beyond the grades: the review queue, each student's validation
    curve (from the saved evidence), the reference's, near-identical answers, and pairs of students
    whose code matches beyond the boilerplate (strongest first)."""

    review: Sequence[ReviewItem] = ()
    curves: Mapping[str, Sequence[float]] = field(default_factory=dict)
    reference_curve: Sequence[float] = ()
    pairs: Sequence[SimilarPair] = ()
    code_pairs: Sequence[CodePair] = ()


def _score_chart(grades: Sequence[Grade], max_score: float) -> str:
    from matplotlib.ticker import MaxNLocator

    def draw(axis: Any) -> None:
        axis.hist([g.score for g in grades], bins=10, range=(0, max_score), color="#4a78b5", edgecolor="white")
        axis.set_xlabel("score")
        axis.set_ylabel("students")
        axis.yaxis.set_major_locator(MaxNLocator(integer=True))  # whole students

    return _figure_png(draw)


def _curves_chart(curves: Mapping[str, Sequence[float]], reference: Sequence[float]) -> str:
    def draw(axis: Any) -> None:
        for curve in curves.values():
            axis.plot(range(1, len(curve) + 1), curve, color="#4a78b5", alpha=0.45, linewidth=1.2, marker="o",
                      markersize=3)
        if reference:
            axis.plot(range(1, len(reference) + 1), reference, color="#222", linewidth=2.4, linestyle="--",
                      label="reference solution")
            axis.legend(loc="lower right", fontsize=9)
        from matplotlib.ticker import MaxNLocator

        axis.set_ylim(0, 1.02)
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.set_xlabel("epoch (all phases, under the grading budget)")
        axis.set_ylabel("validation accuracy")
        axis.axhline(0.5, color="#b3261e", linewidth=0.8, linestyle=":")

    return _figure_png(draw)


def _pass_rate_chart(rubric: Rubric, grades: Sequence[Grade]) -> str:
    rates = {spec.id: sum(c.status is CheckStatus.PASS for g in grades for c in g.checks if c.id == spec.id)
             / max(len(grades), 1) for spec in rubric.checks}

    def draw(axis: Any) -> None:
        axis.barh(list(rates)[::-1], list(rates.values())[::-1], color="#5a9b5a")
        axis.set_xlim(0, 1)
        axis.set_xlabel("share of students passing")
        axis.tick_params(axis="y", labelsize=10)

    return _figure_png(draw, height=0.3 * len(rates) + 1.2)


def _common_failures(views: Sequence[GradeView]) -> str:
    """The checks failed most often, each with its commonest explanation and the students concerned."""
    failures: dict[str, list[CheckResult]] = {}
    students: dict[str, list[str]] = {}
    for view in views:
        for check in view.failed:
            failures.setdefault(check.id, []).append(check)
            students.setdefault(check.id, []).append(view.grade.id)
    ranked = sorted(failures.items(), key=lambda item: -len(item[1]))[:8]
    rows = [[f"<code>{html.escape(check_id)}</code>", (" class=num", str(len(checks))),
             html.escape(Counter(c.message for c in checks).most_common(1)[0][0][:300]),
             html.escape(", ".join(students[check_id]))] for check_id, checks in ranked]
    return (_table(("check", "students", "most common reason", "who"), rows) if rows
            else "<p class=muted>No check failed.</p>")


def _review_list(review: Sequence[ReviewItem]) -> str:
    if not review:
        return "<p id=review class=muted>Nothing to review.</p>"
    rows = [[html.escape(item.student), html.escape(item.item),
             (" class=num", "" if item.automatic is None else f"{item.automatic:g}/{item.max_points:g}"),
             (" class=num", f"{item.expected_error:.1f}"), html.escape(item.reason), html.escape(item.text[:300])]
            for item in review]
    return (_table(("student", "item", "points", "likely off by", "why", "text"), rows, "review")
            + "<p class=muted>The items most likely scored wrong first. Review them on the review page "
            "(<code>grade review OUT --serve</code>) or record a decision with "
            "<code>grade override OUT STUDENT ITEM POINTS --comment ...</code>.</p>")


def _integrity_and_environment(grades: Sequence[Grade]) -> str:
    integrity = Counter(str((g.environment.get("integrity") or {}).get("status", "not checked")) for g in grades)
    stops = ImportStops.of(grades)
    weights = Counter(str(g.environment.get("weights")) for g in grades)
    parts = [f"Saved models vs record: {', '.join(f'{status} {count}' for status, count in integrity.most_common())}.",
             f"Weights: {', '.join(f'{kind} {count}' for kind, count in weights.most_common())}."]
    if stops.by_package:
        parts.append("Stopped by the grading environment: "
                     + ", ".join(f"{len(ids)} need <code>{html.escape(package)}</code>"
                                 for package, ids in stops.by_package.items()))
    if stops.in_code:
        parts.append("Stopped at an import their code must change (nothing to install): "
                     + ", ".join(f"{len(ids)} import <code>{html.escape(module)}</code>"
                                 for module, ids in stops.in_code.items()))
    return "".join(f"<p>{part}</p>" for part in parts)


def class_report_html(rubric: Rubric, views: Sequence[GradeView], data: ClassData = ClassData()) -> str:
    """The class at a glance (instructor's views): scores, training curves beside the reference's,
    the review queue, the commonest failures and why, pass rates, integrity and environment, and a
    sortable table of students with links to their feedback. Readable from 390 px wide."""
    grades = [view.grade for view in views]
    mean = sum(g.score for g in grades) / max(len(grades), 1)
    code_max = sum(spec.points for spec in rubric.checks)
    students = _table(("student", "score", "code", "answers", "status", "failed checks", "to review"), [
        [f"<a href='feedback/{html.escape(v.grade.id)}.html'>{html.escape(v.grade.id)}</a>"
         + (f"<br><small>{html.escape(v.grade.files_note())}</small>" if v.grade.files_note() else "")
         + "".join(f"<br><small>{html.escape(r.id)}: {html.escape(overridden(r))}</small>"
                   for r in (*v.grade.checks, *v.grade.answers) if r.override),
         (f" class=num data-sort={v.grade.score}", f"{v.grade.score:g}"),
         (" class=num", f"{sum(c.points for c in v.grade.checks):g}"),
         (" class=num", f"{sum(a.points for a in v.grade.answers):g}"), html.escape(v.grade.status.value),
         html.escape(", ".join(c.id for c in v.failed if c.status is CheckStatus.FAIL)),
         (" class=num", str(sum(1 for item in data.review if v.grade.id in item.student)))] for v in views])
    similar = "".join(f"<li>{html.escape(p.first)} and {html.escape(p.second)}, {p.item}: {p.similarity:.0%} alike</li>"
                      for p in data.pairs)
    body = (f"<h1>{html.escape(rubric.name)}</h1>"
            f"<p>{len(grades)} submissions; mean {mean:.1f} / {rubric.max_score:g} (code {code_max:g}, answers "
            f"{rubric.max_score - code_max:g}); {sum(g.status is GradeStatus.GRADED for g in grades)} ran to their end.</p>"
            "<div class=charts>"
            f"<figure><figcaption>Scores</figcaption><img alt='score distribution' src='{_score_chart(grades, rubric.max_score)}'></figure>"
            f"<figure><figcaption>Training curves</figcaption><img alt='training curves' "
            f"src='{_curves_chart(data.curves, data.reference_curve)}'></figure></div>"
            f"<h2>To review ({len(data.review)})</h2>{_review_list(data.review)}"
            f"<h2>Most common failures</h2>{_common_failures(views)}"
            f"<h2>Students</h2>{students}"
            f"<h2>Pass rate per check</h2><img alt='pass rate per check' src='{_pass_rate_chart(rubric, grades)}'>"
            f"<h2>Integrity and environment</h2>{_integrity_and_environment(grades)}"
            + (f"<h2>Near-identical written answers</h2><ul>{similar}</ul>" if similar else "")
            + _similar_code_table(data.code_pairs))
    return _page(f"Class report: {rubric.name}", body, _SORT_SCRIPT)


SHOWN_CODE_PAIRS = 10  # the class report's table; results.json and grade review have them all


def _similar_code_table(pairs: Sequence[CodePair]) -> str:
    """The strongest pairs of students whose code matches beyond the boilerplate, as a short table."""
    if not pairs:
        return ""
    rows = [[f"{html.escape(pair.first)} and {html.escape(pair.second)}", (" class=num", f"{pair.similarity:.0%}"),
             html.escape(f"{pair.first_file} / {pair.second_file}"),
             html.escape("; ".join(f"{p.first.shown} ~ {p.second.shown}"
                                   for p in sorted(pair.passages, key=lambda p: -p.tokens)[:3]))]
            for pair in pairs[:SHOWN_CODE_PAIRS]]
    more = f"<p>{len(pairs) - SHOWN_CODE_PAIRS} more in results.json.</p>" if len(pairs) > SHOWN_CODE_PAIRS else ""
    return ("<h2>Code that matches beyond the boilerplate</h2><p>Evidence for a person, not a verdict: "
            "no score changes.</p>" + _table(("students", "similarity", "files", "longest passages"), rows) + more)


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
              data: ClassData = ClassData(), gradescope: bool = False) -> list[Path]:
    """Write every file into ``out``; return their paths."""
    written = [out / "results.json", out / "grades.csv", out / "report.html"]
    write_text(out / "results.json", json.dumps({**document, "similar_answers": [p.to_dict() for p in data.pairs],
                                                 "similar_code": [p.to_dict() for p in data.code_pairs]},
                                                indent=2) + "\n")
    write_csv(out / "grades.csv", rubric, grades)
    instructor = views_of(grades, rubric, "instructor")
    for student in views_of(grades, rubric, "student"):
        written += write_feedback(out, student, rubric)
    for view in instructor if gradescope else []:
        path = out / "gradescope" / view.grade.id / "results.json"
        write_text(path, json.dumps(gradescope_result(view), indent=2) + "\n")
        written.append(path)
    write_text(out / "report.html", class_report_html(rubric, instructor, data))
    return written
