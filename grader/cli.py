"""The ``grade`` command. The only place that turns ``GraderError`` into messages and exit codes.

Exit codes: 0 all graded, 1 some submission could not be graded, 2 bad usage or rubric.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click

from grader.errors import GraderError, RubricError

EXIT_OK, EXIT_UNGRADED, EXIT_USAGE = 0, 1, 2
REPOSITORY = Path(__file__).resolve().parent.parent


class GradeGroup(click.Group):
    """``grade DIR`` is short for ``grade class DIR``: a first argument that is no command is a folder."""

    def resolve_command(self, ctx: click.Context, args: list[str]):  # type: ignore[override]
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["class", *args]
        return super().resolve_command(ctx, args)


@click.group(cls=GradeGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="dl-lab-grader")
def main() -> None:
    """Grade the transfer-learning lab (MobileNetV2, cats vs dogs), offline.

    \b
    Examples:
      grade reference --out /tmp/ref      run the reference solution
      grade rubric validate my.toml       check a rubric file
    """


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
    """Run the reference lab (reference/transfer.py) on offline data and weights.

    \b
    Example:
      grade reference --out /tmp/ref
    """
    script = REPOSITORY / "reference" / "transfer.py"
    if not script.is_file():
        raise click.ClickException(f"reference lab not found at {script}: install the grader "
                                   "from its repository (pip install -e .)")
    command = [sys.executable, str(script), "--out", str(out), "--initial-epochs", str(initial_epochs),
               "--fine-tune-epochs", str(fine_tune_epochs)]
    command += ["--data", str(data)] if data else []
    command += ["--weights", str(weights)] if weights else []
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPOSITORY), os.environ.get("PYTHONPATH")]))}
    sys.exit(subprocess.call(command, env=env))


def _settings(rubric_budget, timeout: float | None, data: Path | None, weights: Path | None,
              isolation: str | None):
    from dataclasses import replace

    from grader.runner import RunSettings

    budget = replace(rubric_budget, timeout_seconds=timeout) if timeout else rubric_budget
    return RunSettings(budget=budget, data=data, weights_file=weights,
                       isolation=None if isolation == "auto" else isolation)


def _load(rubric_path: Path | None):
    from grader.rubric import load_rubric

    return load_rubric(rubric_path)


_RUN_OPTIONS = [
    click.option("--rubric", "rubric_path", type=click.Path(dir_okay=False, path_type=Path),
                 help="Rubric TOML (default: the bundled transfer-learning rubric)."),
    click.option("--data", type=click.Path(exists=True, file_okay=False, path_type=Path),
                 help="A real cats-vs-dogs folder to run students' code on (default: synthetic data)."),
    click.option("--weights", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                 help="MobileNetV2 ImageNet weights (.h5) if they are not in ~/.keras/models."),
    click.option("--timeout", type=click.FloatRange(min=1), help="Seconds each run may take (default: from the rubric)."),
    click.option("--isolation", type=click.Choice(["auto", "bwrap", "process"]), default="auto", show_default=True,
                 help="bwrap: bubblewrap sandbox (Linux); process: resource limits only."),
    click.option("--json", "json_out", help="Write the results JSON to this file ('-' for standard output)."),
]


def _run_options(function):
    for option in reversed(_RUN_OPTIONS):
        function = option(function)
    return function


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_run_options
def check(file: Path, rubric_path: Path | None, data: Path | None, weights: Path | None, timeout: float | None,
          isolation: str, json_out: str | None) -> None:
    """Check your own lab before handing it in: what passes, what to fix first, and how.

    Exit code 0 only when every check passes.

    \b
    Examples:
      grade check transfer.py
      grade check Lab6.ipynb --json -
    """
    from grader.grading import grade_submission
    from grader.report_json import results_document, write_json
    from grader.report_terminal import GradeReport
    from grader.results import CheckStatus, Submission
    from grader.checks import REGISTRY

    loaded = _load(rubric_path)
    settings = _settings(loaded.budget, timeout, data, weights, isolation)
    console = _console(json_out == "-")
    with console.status(f"running {file.name} offline (about half a minute)..."):
        grade = grade_submission(Submission(file.stem, file, file.parent), loaded, settings)
    if json_out:
        write_json(results_document(loaded, [grade], grade.environment.get("isolation", "")), json_out)
    if json_out != "-":
        hidden = frozenset(spec.id for spec in loaded.checks if spec.hidden)
        advisory = frozenset(i for i, d in REGISTRY.items() if d.advisory)
        console.print(GradeReport(grade, hidden, advisory))
    scored = [c for c in grade.checks if c.max_points > 0]
    sys.exit(EXIT_OK if all(c.status is CheckStatus.PASS for c in scored) else EXIT_UNGRADED)


@main.command("class")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@_run_options
def grade_class(folder: Path, rubric_path: Path | None, data: Path | None, weights: Path | None,
                timeout: float | None, isolation: str, json_out: str | None) -> None:
    """Grade every submission in FOLDER (also: `grade FOLDER`).

    \b
    Examples:
      grade submissions/
      grade submissions/ --json results.json
    """
    from grader.discover import discover
    from grader.grading import grade_submission
    from grader.report_json import results_document, write_json
    from grader.report_terminal import ClassSummary
    from grader.results import GradeStatus

    loaded = _load(rubric_path)
    settings = _settings(loaded.budget, timeout, data, weights, isolation)
    found = discover(folder)
    console = _console(json_out == "-")
    for path, why in found.unrecognised:
        console.print(f"[yellow]not graded:[/] {path.name}: {why}")
    grades = []
    for number, submission in enumerate(found.submissions, start=1):
        with console.status(f"[{number}/{len(found.submissions)}] {submission.id}"):
            grades.append(grade_submission(submission, loaded, settings))
    if json_out:
        isolation_used = grades[0].environment.get("isolation", "") if grades else ""
        write_json(results_document(loaded, grades, isolation_used), json_out)
    if json_out != "-":
        console.print(ClassSummary(grades, loaded.max_score))
    sys.exit(EXIT_OK if all(g.status is GradeStatus.GRADED for g in grades) else EXIT_UNGRADED)


def _console(to_stderr: bool):
    from rich.console import Console

    return Console(stderr=to_stderr, highlight=False)


@main.group()
def rubric() -> None:
    """Work with rubric files."""


@rubric.command("validate")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def rubric_validate(path: Path) -> None:
    """Check a rubric file and print what it weighs; exit 2 if it is invalid.

    \b
    Example:
      grade rubric validate rubrics/transfer_learning.toml
    """
    from grader.rubric import load_rubric

    try:
        loaded = load_rubric(path)
    except RubricError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(EXIT_USAGE)
    code_points = sum(spec.points for spec in loaded.checks)
    click.echo(f"{path}: valid. {loaded.name}: {len(loaded.checks)} checks ({code_points:g} points), "
               f"{len(loaded.questions)} questions ({loaded.max_score - code_points:g} points), "
               f"{loaded.max_score:g} in all.")


def run() -> None:
    """Entry point (the ``grade`` script): library errors become one line and exit code 2."""
    try:
        main(standalone_mode=True)
    except GraderError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(EXIT_USAGE)
