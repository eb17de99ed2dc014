"""The ``grade`` command. The only place that turns ``GraderError`` into messages and exit codes.

Exit codes: 0 all graded, 1 some submission could not be graded (the grader failed on it; for
``check``: a code check to fix), 2 bad usage or rubric. A student's script that crashes or times
out is still graded, from what it did before it stopped. Defaults for options may be set in ``[tool.grader]`` of a
``pyproject.toml`` in the current folder (keys are option names with ``_``: ``rubric``, ``out``,
``jobs``, ``timeout``, ``data``, ``weights``, ``isolation``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from grader.errors import ConfigError, GraderError

EXIT_OK, EXIT_UNGRADED, EXIT_USAGE = 0, 1, 2
# Keys of [tool.grader] that name an option by another name than its parameter's.
_RENAMED = {"rubric": "rubric_path", "json": "json_out"}


def project_defaults(folder: Path | None = None) -> dict[str, Any]:
    """Option defaults from ``[tool.grader]`` in ``pyproject.toml`` of ``folder`` (or the cwd), by
    parameter name; {} when there is no such file or table.

    Read as strictly as a rubric: raises ``ConfigError`` for TOML that does not parse, a table that
    is not a table, or a key that is no option of ``grade class`` or ``grade check`` (naming the
    nearest option)."""
    import difflib

    from grader.rubric import tomllib

    path = (folder or Path.cwd()) / "pyproject.toml"
    if not path.is_file():
        return {}
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8")).get("tool", {}).get("grader", {})
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.grader] must be a table. Received: {table!r}")
    known = _option_keys()
    defaults = {}
    for key, value in table.items():
        name = key.replace("-", "_")
        if name == "cluster" and isinstance(value, dict):
            defaults["cluster_options"] = value  # [tool.grader.cluster]: the job queue's settings
            continue
        if name not in known:
            near = difflib.get_close_matches(name, sorted(known), n=1)
            raise ConfigError(f"{path}: [tool.grader]: unknown key {key!r}"
                              + (f" (did you mean {near[0]!r}?)" if near else "")
                              + f"; known keys: {', '.join(sorted(known))}. Received: {key}={value!r}")
        defaults[_RENAMED.get(name, name)] = value
    return defaults


def _option_keys() -> set[str]:
    """The keys ``[tool.grader]`` accepts: the options of ``grade class`` and ``grade check``."""
    by_parameter = {parameter: key for key, parameter in _RENAMED.items()}
    names = {parameter.name for command in (grade_class, check) for parameter in command.params
             if isinstance(parameter, click.Option) and parameter.name}
    return {by_parameter.get(name, name) for name in names}


class _QuietPipe:
    """Standard output that stops writing, without an error, once its reader has gone (``| head``):
    the command still runs to its end and exits with its own code."""

    def __init__(self, stream) -> None:  # noqa: ANN001
        self._stream, self._gone = stream, False

    def _guarded(self, action, *args):  # noqa: ANN001, ANN002, ANN202
        if self._gone:
            return None
        try:
            return action(*args)
        except BrokenPipeError:
            self._gone = True  # and the descriptor goes to /dev/null, so the exit's own flush is quiet too
            os.dup2(os.open(os.devnull, os.O_WRONLY), self._stream.fileno())
            return None

    def write(self, text: str) -> int:
        written = self._guarded(self._stream.write, text)
        return len(text) if written is None else written

    def flush(self) -> None:
        self._guarded(self._stream.flush)

    def __getattr__(self, name: str):  # noqa: ANN204 - isatty, fileno, encoding... of the real stream
        return getattr(self._stream, name)


class GradeGroup(click.Group):
    """``grade DIR`` is short for ``grade class DIR``: a first argument that is no command is a folder."""

    def resolve_command(self, ctx: click.Context, args: list[str]):  # type: ignore[override]
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["class", *args]
        return super().resolve_command(ctx, args)


@click.group(cls=GradeGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="dl-lab-grader")
def main() -> None:
    """Grade transfer-learning labs, offline: by default MobileNetV2 on cats vs dogs, or any variant
    a rubric's [lab] table describes.

    \b
    Examples:
      grade examples/submissions          grade a class (same as: grade class DIR)
      grade check transfer.py             check your own lab before handing it in
      grade reference --out /tmp/ref      run the reference solution
      grade rubric init mine.py --out my.toml   a rubric for your own variant, from your solution
      grade rubric validate my.toml       check a rubric file
    """


# How code is run, for every command that runs some (grade, check, rubric init).
_DATA = click.option("--data", type=click.Path(exists=True, file_okay=False, path_type=Path),
                     help="A real cats_and_dogs_filtered folder (train/ and validation/) to run the code on "
                          "(default: synthetic data in that layout).")
_WEIGHTS = click.option("--weights", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                        help="The base's ImageNet weights (.h5) if they are not in ~/.keras/models.")
_ISOLATION = click.option("--isolation", type=click.Choice(["auto", "bwrap", "process"]), default="auto",
                          show_default=True, help="bwrap: bubblewrap sandbox (Linux); process: resource limits only.")
_RUN_OPTIONS = [
    click.option("--rubric", "rubric_path", type=click.Path(dir_okay=False, path_type=Path),
                 help="Rubric TOML, or the name of a shipped one (grade rubric list); default: "
                      "transfer_learning, the bundled transfer-learning rubric."),
    _DATA,
    _WEIGHTS,
    click.option("--timeout", type=click.FloatRange(min=1), help="Seconds each run may take (default: the rubric's, raised for a slow base such as ConvNeXtTiny)."),
    _ISOLATION,
    click.option("--json", "json_out", help="Write the results JSON to this file ('-' for standard output)."),
    click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors (exit code tells the outcome)."),
    click.option("-v", "--verbose", is_flag=True, help="Also show passed checks' messages and each run's details."),
]


def _run_options(function):  # noqa: ANN001, ANN202
    for option in reversed(_RUN_OPTIONS):
        function = option(function)
    return function


def _settings(rubric_budget, timeout: float | None, data: Path | None, weights: Path | None,  # noqa: ANN001
              isolation: str, lab=None):  # noqa: ANN001, ANN202
    from grader.run.sandbox import available_isolation
    from grader.run.settings import RunSettings

    if isolation == "bwrap":
        available_isolation("bwrap")  # fail now, with a message, rather than once per submission
    if data is not None:
        _require_tutorial_layout(data)
    budget = replace(rubric_budget, timeout_seconds=timeout) if timeout else rubric_budget
    return RunSettings(budget=budget, data=data, weights_file=weights, timeout_fixed=bool(timeout),
                       isolation=None if isolation == "auto" else isolation,
                       base=(lab.base, lab.input_shape, lab.include_top) if lab is not None and lab.weights == "imagenet" else None)


def _require_tutorial_layout(data: Path) -> None:
    """Students' paths are mapped onto train/ and validation/: a --data folder must have both."""
    from grader.errors import DatasetError
    from grader.offline.datasets import find_splits

    splits = find_splits(data)
    if splits.validation is None or (splits.train.name, splits.validation.name) != ("train", "validation"):
        raise DatasetError(f"--data {data}: grading needs the cats_and_dogs_filtered layout, train/ and "
                           "validation/ each with one folder per class")


def _console(to_stderr: bool = False, quiet: bool = False):  # noqa: ANN202
    """A rich console; written to a file or a pipe it wraps nothing (paths stay whole for grep)."""
    from rich.console import Console

    console = Console(stderr=to_stderr, quiet=quiet, highlight=False, no_color="NO_COLOR" in os.environ or None)
    if not console.is_terminal:
        console.soft_wrap = True
    return console


@main.command()
@click.argument("file", type=click.Path(exists=True, path_type=Path))
@click.option("--answers", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Your answers document (.md, .txt, .docx, .pdf; default: the one beside FILE, as class grading "
                   "finds it); a notebook's Markdown cells are read anyway.")
@_run_options
@click.option("--gradescope", "gradescope_out", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the result in Gradescope's autograder format (its results.json) to this file.")
def check(file: Path, answers: Path | None, rubric_path: Path | None, data: Path | None, weights: Path | None,
          timeout: float | None, isolation: str, json_out: str | None, quiet: bool, verbose: bool,
          gradescope_out: Path | None) -> None:
    """Check your own lab before handing it in: what passes, what to fix first, and how.

    Runs FILE (a .py script or a .ipynb notebook, or a folder: its code file is chosen as class
    grading chooses it) offline, as the grader will. Checks the rubric
    marks hidden are not shown. Exit code 0 only when every code check passes.

    \b
    Examples:
      grade check transfer.py --answers answers.md
      grade check Lab6.ipynb --json -
    """
    from grader.grading import grade_submission
    from grader.report_json import results_document, write_json
    from grader.report_terminal import GradeReport
    from grader.results import Submission
    from grader.rubric import load_rubric
    from grader.view import view_of

    from grader.discover import ANSWER_SUFFIXES, CODE_SUFFIXES, folder_submission

    rubric = load_rubric(rubric_path)
    _rubric_notes(rubric, quiet or json_out == "-")
    if file.is_dir():  # a folder: its code file, chosen as class grading chooses it
        found = folder_submission(file, rubric.code_file)
        if found is None or found.code is None:
            raise click.UsageError(f"{file} holds no .py script or .ipynb notebook")
        file = found.code
    if file.suffix.lower() not in CODE_SUFFIXES:
        raise click.UsageError(f"grade check runs your code: a .py script or a .ipynb notebook, and {file.name} is "
                               "neither" + (" (give an answers document with --answers)"
                                            if file.suffix.lower() in ANSWER_SUFFIXES else ""))
    settings = _settings(rubric.budget, timeout, data, weights, isolation, rubric.lab)
    console = _console(json_out == "-", quiet)
    if answers is None:  # as class grading finds it: the answers document in the script's folder
        answers = (folder_submission(file.parent) or Submission(file.stem, file, file.parent)).answers
        if answers is not None:
            console.print(f"Answers read from {answers.name} (beside {file.name}; --answers picks another).")
    started = time.monotonic()
    with console.status(f"running {file.name} offline (about half a minute)..."):
        grade = grade_submission(Submission(file.stem, file, file.parent, answers), rubric, settings)
    view = view_of(grade, rubric, "student")
    if json_out:
        write_json(results_document(rubric, [view], grade.environment.get("isolation", "")), json_out)
    if gradescope_out:
        from grader.report_files import gradescope_result

        write_json(gradescope_result(view_of(grade, rubric, "instructor"), round(time.monotonic() - started, 1)),
                   str(gradescope_out))
    console.print(GradeReport(view, verbose))
    sys.exit(EXIT_OK if view.all_required_pass() else EXIT_UNGRADED)


@main.command("class")
@click.argument("folder", type=click.Path(exists=True, path_type=Path))
@_run_options
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("grading-results"),
              show_default=True, help="Where results.json, grades.csv, feedback/ and report.html go.")
@click.option("--jobs", type=click.IntRange(min=1), help="Submissions run in parallel (default: what the machine allows).")
@click.option("--force", is_flag=True, help="Re-run every submission, even those already graded and unchanged.")
@click.option("--student", help="Grade (or reuse) only this student, by id or the start of one, and show their full "
                                "report and write their feedback; the class files are left as they are.")
@click.option("--gradescope", is_flag=True, help="Also write a Gradescope results.json per submission.")
@click.option("--scheduler", metavar="ADDRESS",
              help="Grade on an existing Dask cluster: its scheduler's address (tcp://host:8786) or scheduler file. "
                   "Needs the [cluster] extra; workers need the grader and bubblewrap installed.")
@click.option("--cluster", type=click.Choice(["local", "slurm", "pbs", "sge", "lsf"]),
              help="Start a Dask cluster to grade on: local (one worker per --jobs) or a job queue through "
                   "dask-jobqueue, set up by [tool.grader.cluster] in pyproject.toml (queue, cores, memory, "
                   "walltime, jobs, env). Needs the [cluster] extra.")
@click.option("--boilerplate", type=click.Path(exists=True, dir_okay=False, path_type=Path), multiple=True,
              metavar="FILE", help="Code handed out with the lab (starter code, the tutorial): left out when "
                                   "comparing students' code. Repeat for several; the reference solution always is.")
def grade_class(folder: Path, rubric_path: Path | None, data: Path | None, weights: Path | None,
                timeout: float | None, isolation: str, json_out: str | None, quiet: bool, verbose: bool, out: Path,
                jobs: int | None, force: bool, student: str | None, gradescope: bool, scheduler: str | None,
                cluster: str | None, boilerplate: tuple[Path, ...]) -> None:
    """Grade every submission in FOLDER (also: `grade FOLDER`).

    Finds a folder per student, flat files per student, or an LMS bulk download (Canvas, Moodle,
    Blackboard), also as the .zip the LMS gives (FOLDER may be the .zip, or a folder holding it):
    it is unpacked safely into OUT/intake/. Results
    are saved as each submission finishes: running the same command again resumes, re-running
    only new or changed submissions.

    \b
    Examples:
      grade examples/submissions
      grade submissions/ --out results --jobs 2 --gradescope
      grade submissions/ --student alice
      grade submissions/ --cluster local --jobs 4
      grade submissions/ --scheduler tcp://10.0.0.5:8786
    """
    from grader.batch import default_jobs
    from grader.discover import find_student
    from grader.instructor import find_submissions, grade_class as grade_the_class, take_in
    from grader.report_terminal import ClassSummary, GradeReport
    from grader.report_json import write_json
    from grader.results import GradeStatus
    from grader.review import DEFAULT_BUDGET, within_budget
    from grader.rubric import load_rubric
    from grader.view import views_of

    rubric = load_rubric(rubric_path)
    _rubric_notes(rubric, quiet or json_out == "-")
    settings = _settings(rubric.budget, timeout, data, weights, isolation, rubric.lab)
    console = _console(json_out == "-", quiet)
    intake = take_in(folder, out)
    if intake.archive is not None:
        console.print(f"Unpacked {intake.archive.name} ({intake.files} files) into {intake.folder}.")
    found = find_submissions(intake.folder, rubric)
    for path, why in found.unrecognised:
        console.print(f"[yellow]not graded:[/] {path.name}: {why}")
    if student:
        if scheduler or cluster:
            console.print("[yellow]--student grades one student here, not on the cluster[/]")
        chosen = find_student(student, found.submissions)
        sys.exit(_grade_one_student(chosen, rubric, settings, out, force, console))
    if scheduler and cluster:
        raise click.UsageError("--scheduler and --cluster are two ways to pick a cluster: give one")
    jobs = jobs or default_jobs()
    remote = _remote(scheduler, cluster, jobs, console) if scheduler or cluster else None
    try:
        with _progress(console, len(found.submissions), remote, jobs) as advance:
            run = grade_the_class(found.submissions, rubric, settings, out, jobs=jobs, force=force, progress=advance,
                                  remote=remote, gradescope=gradescope, folder=intake.folder,
                                  boilerplate=boilerplate)
    finally:
        if remote is not None:
            remote.close()
    console.print(f"ran {run.outcomes['ran']}, rescored {run.outcomes['rescored']}, reused {run.outcomes['reused']}")
    graded = run.graded
    if json_out:
        write_json(run.document, json_out)
    views = views_of(list(graded.grades), rubric, "instructor")
    if verbose:
        for view in views:
            console.print(GradeReport(view, verbose=True), "")
    console.print(ClassSummary(views, rubric.max_score, graded.similar_answers,
                               tuple(within_budget(graded.review(), DEFAULT_BUDGET)), graded.similar_code))
    console.print(f"Wrote {out}/results.json, grades.csv, report.html and feedback/ for {len(graded.grades)} students.")
    failed = [g.id for g in graded.grades if g.status is GradeStatus.INTERNAL_ERROR]
    if failed:
        console.print(f"[red]The grader failed on {', '.join(failed)}; see their reason in results.json.[/]")
    sys.exit(EXIT_UNGRADED if failed else EXIT_OK)


def _grade_one_student(submission, rubric, settings, out: Path, force: bool, console) -> int:  # noqa: ANN001
    """``grade DIR --student ID``: grade (or reuse) one student, write their feedback, show their
    report; return the exit code."""
    from grader.instructor import grade_student
    from grader.report_terminal import GradeReport
    from grader.results import GradeStatus
    from grader.view import view_of

    outcomes = {"ran": 0, "rescored": 0, "reused": 0}

    with _progress(console, 1, None, 1) as advance:
        def counted(submission_id: str, grade, outcome: str) -> None:  # noqa: ANN001
            outcomes[outcome] += 1
            advance(submission_id, grade, outcome)

        grade = grade_student(submission, rubric, settings, out, force=force, progress=counted)
    console.print(f"ran {outcomes['ran']}, rescored {outcomes['rescored']}, reused {outcomes['reused']}")
    console.print(GradeReport(view_of(grade, rubric, "instructor"), verbose=True))
    return EXIT_UNGRADED if grade.status is GradeStatus.INTERNAL_ERROR else EXIT_OK


def _remote(scheduler: str | None, cluster: str | None, jobs: int, console):  # noqa: ANN001, ANN202
    """The Dask cluster asked for, connected (and waited for) only once something needs to run."""
    from grader.cluster import OnDemand

    return OnDemand(scheduler, cluster, jobs, project_defaults().get("cluster_options", {}), console.print)


@contextmanager
def _progress(console, total: int, remote, jobs: int):  # noqa: ANN001, ANN202
    """A progress bar on a terminal, or a line per submission; yields the callback to advance it."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()]
    verbs = {"ran": "graded", "rescored": "rescored", "reused": "reused"}
    where = "on the cluster" if remote is not None else f"{jobs} at a time"
    console.print(f"grading {total} submission(s), {where}")
    with Progress(*columns, console=console, disable=console.quiet or not console.is_terminal) as progress:
        task = progress.add_task(f"grading ({where})", total=total)

        def advance(submission_id: str, grade, outcome: str) -> None:  # noqa: ANN001
            cluster = ""
            if remote is not None and outcome == "ran":
                workers, _ = remote.workers()
                cluster = f" [{workers} worker(s), {remote.in_flight} in flight]"
            progress.update(task, advance=1, description=f"{verbs[outcome]} {submission_id}{cluster}")
            if not console.is_terminal and not console.quiet:
                console.print(f"{verbs[outcome]} {submission_id}: {grade.score:g}/{grade.max_score:g} "
                              f"({grade.status.value}){cluster}")

        yield advance


_OUT = click.argument("out", type=click.Path(exists=True, file_okay=False, path_type=Path))


@main.command()
@_OUT
@click.option("--budget", metavar="SHARE|COUNT",
              help="Only the start of the list: a share of the scored items (20%) or a count (30). Items with no "
                   "score of their own (grader failures, runs stopped by the environment) always stay.")
@click.option("--json", "json_out", metavar="FILE", help="Write the ordered list as JSON to FILE ('-': standard output).")
@click.option("--rubric", "rubric_path", type=click.Path(dir_okay=False, path_type=Path),
              help="The rubric the class was graded with, if OUT/class.json does not say (a file or a shipped name).")
@click.option("--serve", is_flag=True, help="Open the review page: a local web app over the class, in the order of "
                                            "this list, where decisions are recorded.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address the page listens on (127.0.0.1: this machine only; 0.0.0.0 to share it on a network).")
@click.option("--port", type=click.IntRange(0, 65535), default=0, help="Port of the page (default: a free one).")
@click.option("--names", is_flag=True, help="Show students' names on the page (hidden by default: anonymous grading).")
def review(out: Path, budget: str | None, json_out: str | None, rubric_path: Path | None, serve: bool, host: str,
           port: int, names: bool) -> None:
    """What a person should look at in a graded class (OUT: the grading's output folder), the
    item most likely scored wrong first.

    Each written answer and each code check a person may judge has an expected error: how far its
    automatic points are likely off, from what the scorer knows of it. Grader failures, runs stopped by
    the environment, records that disagreed with their saved models and decisions to look at again
    come first. Decided items leave the list. Record a decision here with `grade override`, or on
    the review page (--serve), which prints its address with a secret token.

    \b
    Examples:
      grade review grading-results --budget 20%
      grade review grading-results --json - | jq '.[0]'
      grade review grading-results --serve
    """
    from rich.table import Table

    from grader.instructor import open_class
    from grader.report_json import write_json
    from grader.review import within_budget
    from grader.rubric import load_rubric

    graded = open_class(out, load_rubric(rubric_path) if rubric_path else None)
    if serve:
        from grader.web.serve import serve_review

        serve_review(graded, host, port, names, click.echo)
        return
    try:
        queue = within_budget(graded.review(), budget)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--budget") from None
    if json_out:
        write_json([item.to_dict() for item in queue], json_out)  # type: ignore[arg-type]
        if json_out == "-":
            return
    console = _console()
    table = Table(title=f"To review: {len(queue)} item(s) in {out}, most likely wrong first", title_justify="left")
    for column in ("student", "item", "points", "likely off by", "reason", "text"):
        table.add_column(column, overflow="fold")
    for item in queue:
        points = "" if item.automatic is None else f"{item.automatic:g}/{item.max_points:g}"
        table.add_row(item.student, item.item, points, f"{item.expected_error:.1f}", item.reason, item.text[:300])
    console.print(table)
    if queue:
        console.print("Record a decision: grade override OUT STUDENT ITEM POINTS --comment \"...\", "
                      "or on the review page: grade review OUT --serve")


@main.command()
@_OUT
@click.argument("student")
@click.argument("item")
@click.argument("points", type=float, required=False)
@click.option("--comment", default="", help="Why: shown to the student in the feedback, and kept with the decision.")
@click.option("--accept", is_flag=True, help="Keep the automatic points, as read by a person (no POINTS).")
@click.option("--withdraw", is_flag=True, help="Withdraw the decision in force: back to the automatic points.")
def override(out: Path, student: str, item: str, points: float | None, comment: str, accept: bool,
             withdraw: bool) -> None:
    """Record a person's decision on one check or answer: STUDENT's ITEM earns POINTS.

    Kept in OUT/decisions.sqlite (every decision, with who, when and the automatic score it
    replaced; OUT/overrides.csv is its export for a spreadsheet); applied every time reports are
    written, so it survives re-runs and rescoring, and every output shows it. If the submission
    changes later, the decision is flagged for a second look.

    \b
    Examples:
      grade override grading-results alice_12345 q3 5 --comment "says it in other words"
      grade override grading-results alice_12345 q3 --accept
      grade override grading-results alice_12345 q3 --withdraw
    """
    from grader.decisions import DecisionKind
    from grader.instructor import decide, open_class

    if accept and withdraw:
        raise click.UsageError("--accept and --withdraw are two decisions: give one")
    kind = DecisionKind.ACCEPT if accept else DecisionKind.WITHDRAW if withdraw else DecisionKind.OVERRIDE
    if (points is None) == (kind is DecisionKind.OVERRIDE):
        raise click.UsageError("give POINTS to override, or --accept / --withdraw without POINTS")
    decision = decide(open_class(out), student, item, points, comment, kind=kind)
    said = {DecisionKind.OVERRIDE: f"= {decision.points:g}", DecisionKind.ACCEPT: f"accepted at {decision.points:g}",
            DecisionKind.WITHDRAW: f"back to the automatic {decision.points:g}"}[kind]
    click.echo(f"Recorded: {decision.student} {decision.item} {said} (automatic {decision.automatic:g}) in "
               f"{out}/decisions.sqlite. Run `grade` on the class again to rewrite the reports (nothing is run again).")


@main.group()
def decisions() -> None:
    """The decisions people made on a graded class (kept in OUT/decisions.sqlite)."""


@decisions.command("list")
@_OUT
@click.option("--history", is_flag=True, help="Every decision ever made, oldest first, not only those in force.")
def decisions_list(out: Path, history: bool) -> None:
    """List the decisions in force (or their whole history).

    \b
    Example:
      grade decisions list grading-results --history
    """
    from grader.decisions import DecisionStore

    store = DecisionStore(out)
    shown = store.history() if history else sorted(store.current().values(), key=lambda d: (d.student, d.item))
    for each in shown:
        automatic = "" if each.automatic is None else f" (automatic {each.automatic:g})"
        comment = f': "{each.comment}"' if each.comment else ""
        click.echo(f"{each.when} {each.who}: {each.student} {each.item} {each.kind.value} {each.points:g}"
                   f"{automatic}{comment}")
    if not shown:
        click.echo(f"No decisions in {out}.")


@decisions.command("export")
@_OUT
@click.option("--to", "target", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the CSV (default: OUT/overrides.csv).")
def decisions_export(out: Path, target: Path | None) -> None:
    """Write the decisions in force as CSV, for a spreadsheet.

    \b
    Example:
      grade decisions export grading-results --to decisions.csv
    """
    from grader.instructor import export_decisions

    click.echo(f"Wrote {export_decisions(out, target)}.")


@decisions.command("import")
@_OUT
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def decisions_import(out: Path, source: Path) -> None:
    """Take in decisions from a CSV (overrides.csv's columns): rows that differ from the decisions
    in force become new decisions. A bad row is an error naming it, and nothing is taken in.

    \b
    Example:
      grade decisions import grading-results edited.csv
    """
    from grader.instructor import import_decisions, open_class

    added = import_decisions(open_class(out), source)
    click.echo(f"Took in {len(added)} decision(s) from {source}.")


@main.command()
@click.argument("out", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("gradebook", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--assignment", default="", help="The assignment's column (its start is enough); needed when the "
                                                "gradebook has several.")
@click.option("--to", "target", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the import file (default: OUT/canvas_import.csv).")
def canvas(out: Path, gradebook: Path, assignment: str, target: Path | None) -> None:
    """Fill a graded class's scores into a gradebook CSV exported from Canvas, for its import.

    Students are matched on Canvas's user id (kept from Canvas's bulk-download names); overrides
    are applied. Only the assignment's column is filled; the file keeps Canvas's own columns, so
    importing it changes nothing else.

    \b
    Example:
      grade canvas grading-results gradebook_export.csv --assignment "Lab 6"
    """
    from grader.atomic import write_text
    from grader.lms import canvas_import
    from grader.instructor import open_class

    scores = {grade.id: grade.score for grade in open_class(out).grades}
    filled = canvas_import(gradebook.read_text(encoding="utf-8-sig"), scores, assignment)
    target = target or out / "canvas_import.csv"
    write_text(target, filled.text)
    click.echo(f"Wrote {target}: {filled.filled} score(s) in column {filled.column!r}."
               + (f" Not in the gradebook: {', '.join(filled.unmatched_grades)}." if filled.unmatched_grades else ""))


@main.command("gradescope-bundle")
@click.option("--rubric", "rubric_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Rubric TOML, or the name of a shipped one (default: transfer_learning).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=Path("autograder.zip"),
              show_default=True, help="Where the bundle is written.")
def gradescope_bundle(rubric_path: Path | None, out: Path) -> None:
    """Write the Gradescope autograder bundle: the zip to upload as a programming assignment's
    autograder. Each submission is then graded with `grade check`, hidden checks published after
    grading, advice in the output.

    \b
    Example:
      grade gradescope-bundle --out lab6_autograder.zip
    """
    from grader.gradescope import bundle
    from grader.rubric import load_rubric

    loaded = load_rubric(rubric_path)  # a bad rubric fails here, not on Gradescope; a name finds a shipped one
    out.write_bytes(bundle(Path(loaded.source)))
    click.echo(f"Wrote {out}: setup.sh, run_autograder, the rubric and the grader ({out.stat().st_size // 1024} KiB).")


@main.command()
@click.option("--data", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Real cats-vs-dogs folder; default: the synthetic dataset.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("reference-run"),
              show_default=True, help="Where the model, history and curves are written.")
@click.option("--initial-epochs", type=click.IntRange(min=1), default=2, show_default=True)
@click.option("--fine-tune-epochs", type=click.IntRange(min=1), default=2, show_default=True)
@click.option("--weights", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="MobileNetV2 ImageNet weights (.h5) if they are not in ~/.keras/models.")
def reference(data: Path | None, out: Path, initial_epochs: int, fine_tune_epochs: int,
              weights: Path | None) -> None:
    """Run the reference lab (the shipped reference solution) on offline data and weights.

    \b
    Example:
      grade reference --out /tmp/ref
    """
    from grader.bundled import reference_script

    command = [sys.executable, str(reference_script()), "--out", str(out), "--initial-epochs", str(initial_epochs),
               "--fine-tune-epochs", str(fine_tune_epochs)]
    command += ["--data", str(data)] if data else []
    command += ["--weights", str(weights)] if weights else []
    sys.exit(subprocess.call(command))


def _rubric_notes(rubric, quiet: bool) -> None:  # noqa: ANN001
    """What the instructor should change in the rubric file (old check ids), on standard error."""
    if not quiet:
        for note in rubric.notes:
            click.echo(f"rubric note: {note}", err=True)


@main.group()
def rubric() -> None:
    """Work with rubric files."""


@rubric.command("list")
def rubric_list() -> None:
    """List the rubrics shipped with the grader (give a name to --rubric) and the lab each describes.

    \b
    Example:
      grade rubric list
      grade check transfer.py --rubric tf_tutorial
    """
    from grader.bundled import shipped_rubrics
    from grader.rubric import load_rubric

    for name, path in shipped_rubrics().items():
        loaded = load_rubric(path)
        click.echo(f"{name}: {loaded.name}\n    {loaded.lab.summary}")


@rubric.command("init")
@click.argument("solution", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The rubric file to write (TOML).")
@click.option("--rubric", "start_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Rubric whose points, [run] budget and written questions to start from (a file or a shipped "
                   "rubric's name; default: transfer_learning).")
@_DATA
@_WEIGHTS
@_ISOLATION
@click.option("--force", is_flag=True, help="Overwrite --out if it exists.")
def rubric_init(solution: Path, out: Path, start_path: Path | None, data: Path | None, weights: Path | None,
                isolation: str, force: bool) -> None:
    """Write a rubric for your own variant of the lab from your solution (.py or .ipynb).

    Runs SOLUTION under the harness, reads what its model is and does (base, input size, augmentation,
    head, output and loss, classes, fine-tuning plan) into the rubric's [lab] table, and weighs every
    check that applies with the starting rubric's points. A check the solution does not pass is left
    out and named, so the solution scores full marks under the rubric written. Edit points, wording
    and questions afterwards.

    \b
    Example:
      grade rubric init my_solution.py --out my_lab.toml
      grade submissions/ --rubric my_lab.toml
    """
    from grader.atomic import write_text
    from grader.grading import collect_evidence
    from grader.results import Submission
    from grader.rubric import load_rubric
    from grader.errors import UnfinishedRunError
    from grader.rubric_init import derive

    if out.exists() and not force:
        raise click.UsageError(f"{out} exists: give --force to overwrite it, or another --out")
    start = load_rubric(start_path)
    settings = _settings(start.budget, None, data, weights, isolation)
    console = _console(True)
    with console.status(f"running {solution.name} under the harness (about a minute) ..."):
        evidence = collect_evidence(Submission(solution.parent.name, solution, solution.parent), settings)
    try:
        derived = derive(evidence, start, solution.name)
    except (ValueError, UnfinishedRunError) as error:  # nothing is written
        raise GraderError(f"{solution}: {error}") from None
    write_text(out, derived.text)
    code = sum(spec.points for spec in derived.rubric.checks)
    click.echo(f"wrote {out}: {len(derived.rubric.checks)} checks ({code:g} points), "
               f"{derived.rubric.max_score:g} points in all")
    click.echo(f"lab: {derived.rubric.lab.summary}")
    for check_id, why in derived.left_out:
        click.echo(f"left out {check_id}: {why}")
    for said in derived.assumed:
        click.echo(f"assumed: {said}")
    click.echo(f"{solution.name} earns every point of the {len(derived.rubric.checks)} checks kept; "
               f"next: grade rubric validate {out}")


@rubric.command("validate")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def rubric_validate(path: Path) -> None:
    """Check a rubric file and print what it weighs; exit 2 if it is invalid.

    \b
    Example:
      grade rubric validate rubrics/transfer_learning.toml
    """
    from grader.rubric import load_rubric

    loaded = load_rubric(path)
    code_points = sum(spec.points for spec in loaded.checks)
    click.echo(f"{path}: valid. {loaded.name}: {len(loaded.checks)} checks ({code_points:g} points), "
               f"{len(loaded.questions)} questions ({loaded.max_score - code_points:g} points), "
               f"{loaded.max_score:g} in all.")
    click.echo(f"lab: {loaded.lab.summary}")
    for note in loaded.notes:
        click.echo(f"note: {note}")


def run() -> None:
    """Entry point (the ``grade`` script): library errors become one line and exit code 2; a
    reader that stops reading (``| head``) ends the output quietly, not the command."""
    sys.stdout = _QuietPipe(sys.stdout)
    try:
        defaults = project_defaults()
        main(standalone_mode=False, default_map={"class": defaults, "check": defaults})
    except click.exceptions.Exit as stop:
        sys.exit(stop.exit_code)
    except click.ClickException as error:
        error.show()
        sys.exit(EXIT_USAGE)
    except click.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except GraderError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(EXIT_USAGE)
    finally:
        sys.stdout.flush()
