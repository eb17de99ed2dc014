"""The base matrix: the lab on every ``keras.applications`` base a course is likely to pick, at its
usual size. On recordings, ``grade rubric init`` reads each correct solution back into a rubric
under which it earns every point and its mutant (inputs scaled twice) fails ``input.range``; live,
ResNet50 at 224 and InceptionV3 at 299 do the same, within the memory limit, with a costly base's
steps on part of each batch, and the ResNet50 script runs to its end, ``model.save`` included."""

from __future__ import annotations

import sys

import pytest

from conftest import BASES, Recorded, code_file, grade_of
from grader.results import CheckStatus, RunStatus
from grader.rubric import load_rubric
from grader.rubric_init import derive

sys.path.insert(0, str(BASES))
from write import MATRIX, files  # noqa: E402

LIVE = ("resnet50_224", "inceptionv3_299")


def test_the_fixtures_are_what_the_matrix_writes() -> None:
    for path, text in files().items():
        assert path.read_text(encoding="utf-8") == text, f"{path}: run python tests/fixtures/bases/write.py"


def _judged(solution, mutant, name: str) -> None:  # noqa: ANN001
    """The rubric read from ``solution``'s evidence: it describes the base and every check is kept;
    the solution earns every point, the mutant fails input.range."""
    base = next(base for base in MATRIX if base.name == name)
    derived = derive(solution, load_rubric(), "solution.py")
    assert (derived.rubric.lab.base, derived.rubric.lab.input_shape) == (base.family, (base.size, base.size, 3))
    # The cut is the first layer the trace shows trainable in fine-tuning: fine_tune_at or the first
    # layer with weights after it (ConvNeXt's nested blocks read as trainable below it).
    assert derived.left_out == () and derived.rubric.lab.finetune.unfreeze_from is not None
    grades = {label: grade_of(code_file(label, BASES), evidence, derived.rubric)
              for label, evidence in ((name, solution), (f"{name}_double_scaling", mutant))}
    right = grades[name]
    assert [c.id for c in right.checks if c.status is not CheckStatus.PASS] == []
    assert sum(c.points for c in right.checks) == sum(c.max_points for c in right.checks)
    checks = {c.id: c for c in grades[f"{name}_double_scaling"].checks}
    assert checks["input.range"].status is CheckStatus.FAIL


@pytest.mark.parametrize("name", [base.name for base in MATRIX])
def test_each_base_s_solution_and_mutant_are_judged_from_their_recordings(name: str, recorded_bases: Recorded) -> None:
    _judged(recorded_bases.evidence(name), recorded_bases.evidence(f"{name}_double_scaling"), name)


@pytest.mark.slow
@pytest.mark.parametrize("name", LIVE)
def test_a_big_base_is_judged_live_within_the_limits(name: str, live) -> None:  # noqa: ANN001
    for other in LIVE:  # queue all four runs: two run at a time
        live.submit(code_file(other, BASES))
        live.submit(code_file(f"{other}_double_scaling", BASES))
    solution = live.evidence(code_file(name, BASES))
    assert solution.run.status is RunStatus.COMPLETED, solution.run.reason
    assert solution.run.trace[-1]["kind"] == "end"  # model.save, the last line, passed
    fits = [event for event in solution.run.trace if event.get("kind") == "fit_start"]
    assert fits and all(event["budget"]["batch_cap"] < 32 for event in fits)
    _judged(solution, live.evidence(code_file(f"{name}_double_scaling", BASES)), name)
