"""Read and validate a rubric (TOML): which checks and questions count, and for how much.

A bad rubric fails here, at load time, with a message that names the key and echoes what was
received, never later in the middle of grading a class.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from grader.bundled import default_rubric, shipped_rubrics
from grader.errors import RubricError
from grader.lab import DEFAULT_LAB, Lab
from grader.lab_table import read_lab, with_legacy
from grader.shared.budget import RunBudget
from grader.shared.renamed import RENAMED
from grader.tables import Where, only_keys, points_of, table_of, typed

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

# The lab's answer sheet numbers its items 1-8: four written questions, four code excerpts.
LAB_ITEMS = ("q1", "q2", "q3", "q4", "q5", "q6", "q7", "q8")
QuestionKind = Literal["written", "code"]


@dataclass(frozen=True)
class CheckSpec:
    """One code check as the rubric weighs it."""

    id: str
    points: float
    params: Mapping[str, Any] = field(default_factory=dict)
    hidden: bool = False


@dataclass(frozen=True)
class Concept:
    """A key idea a written answer should contain, and the ways students say it."""

    name: str
    points: float
    phrases: tuple[str, ...]
    any_polarity: bool = False  # a risk avoided: "not destroyed" states it as well as "destroys"


@dataclass(frozen=True)
class QuestionSpec:
    """One answer-sheet item: a written question with concepts, or a code excerpt tied to checks."""

    id: str
    title: str
    kind: QuestionKind
    points: float
    prompt: str = ""
    reference: str = ""
    concepts: tuple[Concept, ...] = ()
    checks: tuple[str, ...] = ()
    contradictions: tuple[str, ...] = ()  # statements that say the opposite of the expected answer


@dataclass(frozen=True)
class Rubric:
    """A validated rubric. ``max_score`` equals the sum of all points."""

    name: str
    max_score: float
    checks: tuple[CheckSpec, ...]
    questions: tuple[QuestionSpec, ...]
    budget: RunBudget = RunBudget()
    source: str = ""
    code_file: str = ""  # the file name students are asked to hand in, if the lab names one
    lab: Lab = DEFAULT_LAB
    notes: tuple[str, ...] = ()  # what a person should change in the file (old check ids), not errors


def load_rubric(path: str | Path | None = None, known_checks: Mapping[str, Any] | None = None) -> Rubric:
    """Read and validate the rubric at ``path`` (default: the bundled transfer-learning rubric), or
    the shipped rubric named ``path`` (``tf_tutorial``; ``grade rubric list`` lists them).

    ``known_checks`` maps check ids to their definitions (default: the check registry). Raises
    ``RubricError`` naming the offending key and the value received.
    """
    path = Path(path) if path is not None else default_rubric()
    if not path.exists() and path.suffix == "" and len(path.parts) == 1:  # a shipped rubric, by name
        shipped = shipped_rubrics()
        if str(path) not in shipped:
            raise RubricError(f"rubric not found: {path} (neither a file nor a shipped rubric: "
                              f"{', '.join(shipped)})")
        path = shipped[str(path)]
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RubricError(f"rubric not found: {path}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise RubricError(f"{path}: not valid TOML: {error}") from None
    if known_checks is None:
        from grader.checks import REGISTRY as known_checks
    return parse_rubric(document, known_checks, source=str(path))


def parse_rubric(document: Mapping[str, Any], known_checks: Mapping[str, Any], source: str = "<rubric>") -> Rubric:
    """Validate an already-parsed TOML document; see ``load_rubric``."""
    where = Where(source)
    only_keys(document, {"rubric", "run", "lab", "checks", "questions"}, where, "top level")
    header = table_of(document, "rubric", where)
    only_keys(header, {"name", "max_score", "code_file"}, where, "rubric")
    name = typed(header, "name", str, where.at("rubric"))
    code_file = typed(header, "code_file", str, where.at("rubric"), "")
    max_score = points_of(header, "max_score", where.at("rubric"))
    lab = read_lab(document.get("lab", {}), where.at("lab"))
    notes: list[str] = []
    legacy: dict[str, Any] = {}
    checks = tuple(_check(check_id, body, known_checks, where, notes, legacy, lab)
                   for check_id, body in table_of(document, "checks", where).items())
    lab = with_legacy(lab, legacy, "lab" in document, where)
    _lab_serves(checks, lab, known_checks, where)
    questions = _questions(table_of(document, "questions", where), known_checks, where, notes)
    budget = _budget(document.get("run", {}), where)
    total = sum(spec.points for spec in checks) + sum(spec.points for spec in questions)
    if abs(total - max_score) > 1e-9:
        raise RubricError(f"{source}: rubric.max_score is {max_score:g} but the checks and questions "
                          f"add up to {total:g}. Received: max_score={max_score!r}")
    return Rubric(name, max_score, checks, questions, budget, source, code_file, lab, tuple(dict.fromkeys(notes)))


def _renamed(check_id: str, known: Mapping[str, Any], notes: list[str]) -> str:
    """A check's current id: an old id (``head.dense128``) is read as its new one, with a note."""
    new = RENAMED.get(check_id)
    if new is None or new not in known:
        return check_id
    notes.append(f"check id {check_id!r} is now {new!r}: rename it in the rubric (the old id is read for one "
                 "more release; see docs/checks.md, 'Migrating a rubric')")
    return new


# Check parameters that described the lab before the [lab] table did: read for one more release.
_LEGACY_PARAMS = {"augment.rotation": "factor", "base.input_shape": "size"}
_LEGACY_LAB_KEY = {"factor": "augment: RandomRotation's factor", "size": "input_shape"}


def _check(check_id: str, body: Any, known: Mapping[str, Any], where: Where, notes: list[str],
           legacy: dict[str, Any], lab: Lab) -> CheckSpec:
    here = where.at(f'checks."{check_id}"')
    check_id = _renamed(check_id, known, notes)
    if check_id not in known:
        raise RubricError(f"{where.source}: checks: unknown check id {check_id!r} "
                          f"(known: {', '.join(sorted(known))}). Received: {check_id!r}")
    if not isinstance(body, Mapping):
        raise here.fail("must be a table with at least `points`", body)
    only_keys(body, {"points", "params", "hidden"}, where, here.key)
    given = body.get("params", {})
    if isinstance(given, Mapping) and _LEGACY_PARAMS.get(check_id, "") in given:
        old = _LEGACY_PARAMS[check_id]
        notes.append(f"checks.\"{check_id}\".params.{old} now belongs in the [lab] table "
                     f"({_LEGACY_LAB_KEY[old]}); it is read from the check for one more release")
        legacy[old] = given[old]
        given = {key: value for key, value in given.items() if key != old}
    params = _params(given, known[check_id].defaults(lab), here.at("params"))
    return CheckSpec(check_id, points_of(body, "points", here), params, typed(body, "hidden", bool, here, False))


def _params(given: Any, defaults: Mapping[str, Any], where: Where) -> Mapping[str, Any]:
    if not isinstance(given, Mapping):
        raise where.fail("must be a table", given)
    merged = dict(defaults)
    for key, value in given.items():
        if key not in defaults:
            raise RubricError(f"{where.source}: {where.key}: unknown parameter {key!r} "
                              f"(this check takes: {', '.join(defaults) or 'none'}). Received: {key}={value!r}")
        expected = type(defaults[key])
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, expected):
            raise where.at(key).fail(f"must be {expected.__name__}", value)
        merged[key] = value
    return MappingProxyType(merged)


def _questions(table: Mapping[str, Any], known: Mapping[str, Any], where: Where,
               notes: list[str]) -> tuple[QuestionSpec, ...]:
    for item in LAB_ITEMS:
        if item not in table:
            raise RubricError(f"{where.source}: questions: missing question {item!r}; the answer sheet "
                              f"has items {', '.join(LAB_ITEMS)}. Received: {sorted(table)}")
    extra = sorted(set(table) - set(LAB_ITEMS))
    if extra:
        raise RubricError(f"{where.source}: questions: unknown question id {extra[0]!r} "
                          f"(the lab's items are {', '.join(LAB_ITEMS)}). Received: {extra}")
    return tuple(_question(item, table[item], known, where.at(f"questions.{item}"), notes) for item in LAB_ITEMS)


def _question(item: str, body: Any, known: Mapping[str, Any], here: Where, notes: list[str]) -> QuestionSpec:
    if not isinstance(body, Mapping):
        raise here.fail("must be a table", body)
    only_keys(body, {"title", "kind", "points", "prompt", "reference", "concepts", "checks", "contradictions"},
               here, here.key)
    kind = typed(body, "kind", str, here)
    if kind not in ("written", "code"):
        raise here.at("kind").fail("must be 'written' or 'code'", kind)
    points = points_of(body, "points", here)
    concepts = tuple(_concept(i, c, here.at(f"concepts[{i}]")) for i, c in enumerate(body.get("concepts", [])))
    checks = tuple(_renamed(check_id, known, notes) for check_id in body.get("checks", []))
    for check_id in checks:
        if check_id not in known:
            raise here.at("checks").fail(f"unknown check id {check_id!r}", list(checks))
    if kind == "written" and not concepts:
        raise here.at("concepts").fail("a written question needs at least one concept", [])
    if kind == "written" and abs(sum(c.points for c in concepts) - points) > 1e-9:
        raise here.at("points").fail(f"the concepts add up to {sum(c.points for c in concepts):g}", points)
    contradictions = body.get("contradictions", [])
    if not isinstance(contradictions, list) or not all(isinstance(c, str) and c.strip() for c in contradictions):
        raise here.at("contradictions").fail("must be a list of phrases", contradictions)
    return QuestionSpec(item, typed(body, "title", str, here), kind, points,
                        typed(body, "prompt", str, here, ""), typed(body, "reference", str, here, ""),
                        concepts, checks, tuple(contradictions))


def _concept(index: int, body: Any, here: Where) -> Concept:
    if not isinstance(body, Mapping):
        raise here.fail("must be a table", body)
    phrases = body.get("phrases", [])
    if not phrases or not all(isinstance(p, str) and p.strip() for p in phrases):
        raise here.at("phrases").fail("must be a non-empty list of phrases", phrases)
    only_keys(body, {"name", "points", "phrases", "any_polarity"}, here, here.key)
    return Concept(typed(body, "name", str, here), points_of(body, "points", here), tuple(phrases),
                   typed(body, "any_polarity", bool, here, False))


def _budget(table: Any, where: Where) -> RunBudget:
    here = where.at("run")
    if not isinstance(table, Mapping):
        raise here.fail("must be a table", table)
    keys = tuple(entry.name for entry in fields(RunBudget))
    only_keys(table, set(keys), where, "run")
    defaults = RunBudget()
    values = {key: typed(table, key, type(getattr(defaults, key)), here, getattr(defaults, key)) for key in keys}
    for key, value in values.items():
        if key == "step_images" and value < 0:  # 0: whole batches whatever the base
            raise here.at(key).fail("must be 0 or more", value)
        if key != "step_images" and value <= 0:
            raise here.at(key).fail("must be positive", value)
    return RunBudget(**values)


def _lab_serves(checks: tuple[CheckSpec, ...], lab: Lab, known: Mapping[str, Any], where: Where) -> None:
    """A check that judges a part of the lab the ``[lab]`` table does not ask for is a mistake."""
    for spec in checks:
        needs = known[spec.id].needs
        problem = needs(lab) if needs else ""
        if problem:
            raise RubricError(f"{where.source}: checks.\"{spec.id}\": {problem}; remove the check or describe "
                              f"it in [lab]. Received: {spec.id!r}")
