"""Terminal reports (rich renderables): one student's grade, and a class summary.

Reporters only consume ``GradeView`` objects; they never run or decide anything.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.table import Table
from rich.text import Text

from grader.answers.similarity import SimilarPair
from grader.results import CheckResult, CheckStatus, Grade, GradeStatus, ImportStops
from grader.review import ReviewItem
from grader.similarity.pairs import CodePair
from grader.view import GradeView

_STYLE = {CheckStatus.PASS: "green", CheckStatus.PARTIAL: "yellow", CheckStatus.FAIL: "red",
          CheckStatus.ERROR: "yellow", CheckStatus.SKIP: "dim"}
_MARK = {CheckStatus.PASS: "✓", CheckStatus.PARTIAL: "◐", CheckStatus.FAIL: "✗", CheckStatus.ERROR: "?",
         CheckStatus.SKIP: "-"}


def _location(check: CheckResult) -> str:
    return f" ({check.location})" if check.location else ""


@dataclass(frozen=True)
class GradeReport:
    """One submission, written for its student: what to fix first, then what passed."""

    view: GradeView
    verbose: bool = False  # also each passed check's message

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        view, grade = self.view, self.view.grade
        yield Text.assemble((f"{grade.id}: ", "bold"), (f"{grade.score:g} / {grade.max_score:g}", "bold cyan"),
                            f"  [{grade.status.value}] {grade.reason}")
        if grade.files_note():
            yield Text(grade.files_note(), style="yellow")
        if view.failed:
            yield Text("\nTo fix, in this order:", style="bold")
            for number, check in enumerate(view.failed, start=1):
                yield Text.assemble(f" {number}. ", (f"{_MARK[check.status]} {check.id}", _STYLE[check.status]),
                                    f": {check.message}{_location(check)}")
                if check.hint:
                    yield Text(f"      → {check.hint}", style="italic")
        if view.partial:
            yield Text(f"\nPartial credit ({len(view.partial)}):", style="bold")
            for check in view.partial:
                yield Text.assemble("  ", (f"{_MARK[check.status]} {check.id}", _STYLE[check.status]),
                                    f" ({check.points:g}/{check.max_points:g}): {check.message}{_location(check)}")
                if check.hint:
                    yield Text(f"      → {check.hint}", style="italic")
        if view.skipped:
            yield Text(f"\nNot judged until those are fixed ({len(view.skipped)}): "
                       + ", ".join(check.id for check in view.skipped), style="dim")
        for check in view.advice:
            yield Text.assemble("\nAdvice ", (check.id, "yellow"), f": {check.message}")
            if check.hint:
                yield Text(f"      → {check.hint}", style="italic")
        passed = view.passed
        if passed and self.verbose:
            yield Text(f"\nPassed ({len(passed)}):", style="green")
            for check in passed:
                yield Text(f"  ✓ {check.id}: {check.message}", style="green")
        elif passed:
            yield Text(f"\nPassed ({len(passed)}): " + ", ".join(c.id for c in passed), style="green")
        yield from self._answers()
        warning = grade.integrity_warning()
        if warning:
            yield Text(f"\nIntegrity: {warning}", style="bold yellow")
        notes = grade.environment.get("accommodations") or []
        if notes:
            yield Text("\nRun here with:", style="dim")
            for note in notes:
                yield Text(f"  • {note}", style="dim")
        if view.hidden_count:
            yield Text(f"\n{view.hidden_count} further check(s) are hidden until grading.", style="dim")

    def _answers(self) -> RenderResult:
        if not self.view.grade.answers:
            return
        written = [a for a in self.view.grade.answers if a.max_points > 0]
        if written:
            total = sum(a.points for a in written)
            yield Text(f"\nWritten answers: {total:g} / {sum(a.max_points for a in written):g}", style="bold")
        for answer in written:
            line = f"  {answer.id}: {answer.points:g}/{answer.max_points:g}"
            if answer.missing:
                line += f"; missing: {', '.join(answer.missing)}"
            if answer.needs_review:
                line += f" (a person will read it: {answer.reason})"
            yield Text(line)


@dataclass(frozen=True)
class ClassSummary:
    """A class at a glance: one row per student, per-check pass rates, the commonest mistakes."""

    views: Sequence[GradeView]  # the instructor's views
    max_score: float
    similar: Sequence[SimilarPair] = ()
    review: Sequence[ReviewItem] = ()
    similar_code: Sequence[CodePair] = ()  # strongest first

    @property
    def grades(self) -> list[Grade]:
        return [view.grade for view in self.views]

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        table = Table(title="Class results", title_justify="left")
        table.add_column("student")
        table.add_column("score", justify="right")
        table.add_column("status")
        table.add_column("failed checks")
        for view in self.views:
            grade, failed = view.grade, [check.id for check in view.failed]
            style = "green" if grade.status is GradeStatus.GRADED else "red"
            table.add_row(grade.id, f"{grade.score:g}/{grade.max_score:g}", Text(grade.status.value, style=style),
                          ", ".join(failed[:6]) + (f" (+{len(failed) - 6})" if len(failed) > 6 else ""))
        yield table
        yield self._pass_rates()
        mistakes = Counter(check.id for view in self.views for check in view.failed
                           if check.status is CheckStatus.FAIL)
        if mistakes:
            common = ", ".join(f"{check} ({count})" for check, count in mistakes.most_common(5))
            yield Text(f"Most common mistakes: {common}")
        for pair in self.similar:
            yield Text(f"Near-identical answers to {pair.item}: {pair.first} and {pair.second} "
                       f"({pair.similarity:.0%} alike)", style="yellow")
        for pair in self.similar_code[:5]:
            yield Text(f"Code matching beyond the boilerplate: {pair.first} and {pair.second} "
                       f"({pair.similarity:.0%}; evidence for a person, no score changed)", style="yellow")
        if len(self.similar_code) > 5:
            yield Text(f"... and {len(self.similar_code) - 5} more pairs (grade review OUT, results.json)",
                       style="yellow")
        yield from self._environment_stops()
        flagged = [g.id for g in self.grades if g.integrity_warning()]
        if flagged:
            yield Text(f"Record disagreed with saved models (read their reports): {', '.join(flagged)}", style="yellow")
        if self.review:
            students = sorted({item.student for item in self.review})
            yield Text(f"{len(self.review)} item(s) for a person to review, most likely scored wrong first "
                       f"({', '.join(students[:6])}" + (", ..." if len(students) > 6 else "")
                       + "): run `grade review OUT`, or `grade review OUT --serve` for the review page")
        graded = [g for g in self.grades if g.status is GradeStatus.GRADED]
        mean = sum(g.score for g in self.grades) / len(self.grades) if self.grades else 0.0
        stops = ImportStops.of(self.grades)
        environment = sum(len(ids) for ids in stops.by_package.values())
        in_code = sum(len(ids) for ids in stops.in_code.values())
        stopped = (f", {environment} stopped by the environment" if environment else "") + \
            (f", {in_code} stopped at an import their code must change" if in_code else "")
        yield Text(f"{len(self.grades)} submissions, {len(graded)} ran to completion{stopped}; mean score "
                   f"{mean:.1f} / {self.max_score:g}", style="bold")

    def _environment_stops(self) -> RenderResult:
        """Runs stopped by what the grading environment lacks, apart from the students' own bugs."""
        stops = ImportStops.of(self.grades)
        for package, students in stops.by_package.items():
            yield Text(f"Stopped by the grading environment: {len(students)} submission(s) need `{package}` "
                       f"({', '.join(students)}); add it to the environment and grade again", style="yellow")
        for module, students in stops.in_code.items():
            yield Text(f"Stopped at an import: {len(students)} submission(s) import `{module}`, which no installed "
                       f"package has now ({', '.join(students)}); nothing to install: the fix is in their code "
                       "(see each report)", style="yellow")

    def _pass_rates(self) -> Group:
        counts: dict[str, list[int]] = {}
        for grade in self.grades:
            for check in grade.checks:
                tally = counts.setdefault(check.id, [0, 0])
                tally[0] += check.status is CheckStatus.PASS
                tally[1] += 1
        rates = Table(title="Pass rate per check", title_justify="left", show_header=False, box=None)
        for check_id, (passed, total) in counts.items():
            rates.add_row(check_id, f"{passed}/{total}")
        return Group(rates)
