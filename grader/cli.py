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
    """Entry point that maps library errors to exit code 2 with a one-line message."""
    try:
        main(standalone_mode=True)
    except GraderError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(EXIT_USAGE)
