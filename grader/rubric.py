"""Read and validate a rubric (TOML): which checks and questions count, and for how much.

A bad rubric fails here, at load time, with a message that names the key and echoes what was
received, never later in the middle of grading a class.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from grader.bundled import default_rubric, shipped_rubrics
from grader.errors import RubricError
from grader.families import CONVENTIONS
from grader.lab import (AUGMENTATION, DEFAULT_LAB, HEAD, LAYER_ARGUMENTS, LOGITS, LOSSES, POOLING, FineTuneSpec, Lab,
                        LayerSpec, OutputSpec)
from grader.shared.budget import RunBudget
from grader.shared.renamed import RENAMED

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
    where = _Where(source)
    _only_keys(document, {"rubric", "run", "lab", "checks", "questions"}, where, "top level")
    header = _table(document, "rubric", where)
    _only_keys(header, {"name", "max_score", "code_file"}, where, "rubric")
    name = _typed(header, "name", str, where.at("rubric"))
    code_file = _typed(header, "code_file", str, where.at("rubric"), "")
    max_score = _points(header, "max_score", where.at("rubric"))
    lab = _lab(document.get("lab", {}), where.at("lab"))
    notes: list[str] = []
    legacy: dict[str, Any] = {}
    checks = tuple(_check(check_id, body, known_checks, where, notes, legacy, lab)
                   for check_id, body in _table(document, "checks", where).items())
    lab = _with_legacy(lab, legacy, "lab" in document, where)
    _lab_serves(checks, lab, known_checks, where)
    questions = _questions(_table(document, "questions", where), known_checks, where, notes)
    budget = _budget(document.get("run", {}), where)
    total = sum(spec.points for spec in checks) + sum(spec.points for spec in questions)
    if abs(total - max_score) > 1e-9:
        raise RubricError(f"{source}: rubric.max_score is {max_score:g} but the checks and questions "
                          f"add up to {total:g}. Received: max_score={max_score!r}")
    return Rubric(name, max_score, checks, questions, budget, source, code_file, lab, tuple(dict.fromkeys(notes)))


@dataclass(frozen=True)
class _Where:
    source: str
    key: str = ""

    def at(self, key: str) -> _Where:
        return _Where(self.source, f"{self.key}.{key}" if self.key else key)

    def fail(self, problem: str, received: Any) -> RubricError:
        return RubricError(f"{self.source}: {self.key}: {problem}. Received: {self.key.rsplit('.', 1)[-1]}={received!r}")


def _table(document: Mapping[str, Any], key: str, where: _Where) -> Mapping[str, Any]:
    if key not in document:
        raise RubricError(f"{where.source}: missing [{key}] table")
    value = document[key]
    if not isinstance(value, Mapping):
        raise where.at(key).fail("must be a table", value)
    return value


def _only_keys(table: Mapping[str, Any], allowed: set[str], where: _Where, what: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise RubricError(f"{where.source}: {what}: unknown key {unknown[0]!r} "
                          f"(allowed: {', '.join(sorted(allowed))}). Received: {unknown}")


def _typed(table: Mapping[str, Any], key: str, kind: type, where: _Where, default: Any = ...) -> Any:
    if key not in table:
        if default is ...:
            raise RubricError(f"{where.source}: {where.key}: missing required key {key!r}")
        return default
    value = table[key]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise where.at(key).fail(f"must be {kind.__name__}", value)
    return value


def _points(table: Mapping[str, Any], key: str, where: _Where) -> float:
    value = _typed(table, key, float, where)
    if value < 0:
        raise where.at(key).fail("points must not be negative", table[key])
    return value


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


def _check(check_id: str, body: Any, known: Mapping[str, Any], where: _Where, notes: list[str],
           legacy: dict[str, Any], lab: Lab) -> CheckSpec:
    here = where.at(f'checks."{check_id}"')
    check_id = _renamed(check_id, known, notes)
    if check_id not in known:
        raise RubricError(f"{where.source}: checks: unknown check id {check_id!r} "
                          f"(known: {', '.join(sorted(known))}). Received: {check_id!r}")
    if not isinstance(body, Mapping):
        raise here.fail("must be a table with at least `points`", body)
    _only_keys(body, {"points", "params", "hidden"}, where, here.key)
    given = body.get("params", {})
    if isinstance(given, Mapping) and _LEGACY_PARAMS.get(check_id, "") in given:
        old = _LEGACY_PARAMS[check_id]
        notes.append(f"checks.\"{check_id}\".params.{old} now belongs in the [lab] table "
                     f"({_LEGACY_LAB_KEY[old]}); it is read from the check for one more release")
        legacy[old] = given[old]
        given = {key: value for key, value in given.items() if key != old}
    definition = known[check_id]
    defaults = definition.defaults(lab) if hasattr(definition, "defaults") else getattr(definition, "params", {})
    params = _params(given, defaults, here.at("params"))
    return CheckSpec(check_id, _points(body, "points", here), params, _typed(body, "hidden", bool, here, False))


def _params(given: Any, defaults: Mapping[str, Any], where: _Where) -> Mapping[str, Any]:
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


def _questions(table: Mapping[str, Any], known: Mapping[str, Any], where: _Where,
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


def _question(item: str, body: Any, known: Mapping[str, Any], here: _Where, notes: list[str]) -> QuestionSpec:
    if not isinstance(body, Mapping):
        raise here.fail("must be a table", body)
    _only_keys(body, {"title", "kind", "points", "prompt", "reference", "concepts", "checks", "contradictions"},
               here, here.key)
    kind = _typed(body, "kind", str, here)
    if kind not in ("written", "code"):
        raise here.at("kind").fail("must be 'written' or 'code'", kind)
    points = _points(body, "points", here)
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
    return QuestionSpec(item, _typed(body, "title", str, here), kind, points,
                        _typed(body, "prompt", str, here, ""), _typed(body, "reference", str, here, ""),
                        concepts, checks, tuple(contradictions))


def _concept(index: int, body: Any, here: _Where) -> Concept:
    if not isinstance(body, Mapping):
        raise here.fail("must be a table", body)
    phrases = body.get("phrases", [])
    if not phrases or not all(isinstance(p, str) and p.strip() for p in phrases):
        raise here.at("phrases").fail("must be a non-empty list of phrases", phrases)
    _only_keys(body, {"name", "points", "phrases", "any_polarity"}, here, here.key)
    return Concept(_typed(body, "name", str, here), _points(body, "points", here), tuple(phrases),
                   _typed(body, "any_polarity", bool, here, False))


def _budget(table: Any, where: _Where) -> RunBudget:
    here = where.at("run")
    if not isinstance(table, Mapping):
        raise here.fail("must be a table", table)
    keys = tuple(entry.name for entry in fields(RunBudget))
    _only_keys(table, set(keys), where, "run")
    defaults = RunBudget()
    values = {key: _typed(table, key, type(getattr(defaults, key)), here, getattr(defaults, key)) for key in keys}
    for key, value in values.items():
        if value <= 0:
            raise here.at(key).fail("must be positive", value)
    return RunBudget(**values)


# The datasets served offline (synthetic, in their real layouts and counts) and their classes.
_DATASETS = {"cats_and_dogs_filtered": 2, "PetImages": 2, "cats_vs_dogs": 2, "flower_photos": 5, "tf_flowers": 5}
_LAB_KEYS = {"base", "input_shape", "include_top", "weights", "classes", "dataset", "augment", "head", "output",
             "finetune"}


def _lab(table: Any, here: _Where) -> Lab:
    """The ``[lab]`` table: what the lab asks for (absent: this grader's first lab, field by field)."""
    if not isinstance(table, Mapping):
        raise here.fail("must be a table", table)
    _only_keys(table, _LAB_KEYS, here, "lab")
    default = DEFAULT_LAB
    base = _typed(table, "base", str, here, default.base)
    if base not in CONVENTIONS and not base.startswith("RegNet"):
        raise here.at("base").fail(f"not a keras.applications model this grader knows "
                                   f"({', '.join(sorted(CONVENTIONS))})", base)
    shape = table.get("input_shape", list(default.input_shape))
    if (not isinstance(shape, list) or len(shape) != 3 or not all(isinstance(v, int) and not isinstance(v, bool)
                                                                  and v > 0 for v in shape)
            or shape[2] != 3 or shape[0] < 32 or shape[1] < 32):
        raise here.at("input_shape").fail("must be [height, width, 3], each side at least 32", shape)
    weights = _typed(table, "weights", str, here, default.weights)
    if weights not in ("imagenet", "none"):
        raise here.at("weights").fail("must be 'imagenet' or 'none'", weights)
    dataset = _typed(table, "dataset", str, here, default.dataset)
    if dataset not in _DATASETS:
        raise here.at("dataset").fail(f"offline data exists for {', '.join(_DATASETS)} only", dataset)
    classes = table.get("classes", list(default.classes))
    if not isinstance(classes, list) or len(classes) < 2 or not all(isinstance(c, str) and c for c in classes):
        raise here.at("classes").fail("must list at least two class names", classes)
    if len(classes) != _DATASETS[dataset]:
        raise here.at("classes").fail(f"{dataset} has {_DATASETS[dataset]} classes", classes)
    augment = _layers(table, "augment", AUGMENTATION, here, default.augment)
    head = _layers(table, "head", HEAD, here, default.head)
    if head and head[0].layer not in POOLING and any(spec.layer in POOLING for spec in head):
        raise here.at("head").fail("the pooling layer (or Flatten) comes first", [spec.layer for spec in head])
    output = _output(table.get("output", {}), len(classes), here.at("output"))
    return Lab(base, (shape[0], shape[1], shape[2]), _typed(table, "include_top", bool, here, default.include_top),
               weights, augment, head, output, tuple(classes), dataset, _finetune(table.get("finetune", {}),
                                                                                  here.at("finetune")))


def _layers(table: Mapping[str, Any], key: str, allowed: tuple[str, ...], here: _Where,
            default: tuple[LayerSpec, ...]) -> tuple[LayerSpec, ...]:
    """An ordered list of layers: ``[{ layer = "Dense", units = 128, activation = "relu" }, ...]``."""
    if key not in table:
        return default
    items = table[key]
    if not isinstance(items, list):
        raise here.at(key).fail("must be a list of tables such as { layer = \"Dense\", units = 128 }", items)
    specs = []
    for index, item in enumerate(items):
        at = here.at(f"{key}[{index}]")
        if not isinstance(item, Mapping) or not isinstance(item.get("layer"), str):
            raise at.fail("must be a table with a `layer` (a Keras layer class)", item)
        layer = item["layer"]
        if layer not in allowed:
            raise at.at("layer").fail(f"must be one of {', '.join(allowed)}", layer)
        arguments = {name: value for name, value in item.items() if name != "layer"}
        _only_keys(arguments, set(LAYER_ARGUMENTS[layer]), here, at.key)
        for name, value in arguments.items():
            kind = str if name in ("mode", "activation") else (int if name == "units" else float)
            if kind is float and isinstance(value, int) and not isinstance(value, bool):
                value = arguments[name] = float(value)
            if not isinstance(value, kind) or isinstance(value, bool):
                raise at.at(name).fail(f"must be {kind.__name__}", value)
        if layer == "Dense" and "units" not in arguments:
            raise at.fail("a Dense layer needs `units`", item)
        if layer == "Dropout" and not 0 < arguments.get("rate", -1) < 1:
            raise at.at("rate").fail("a Dropout needs a rate between 0 and 1", arguments.get("rate"))
        specs.append(LayerSpec(layer, MappingProxyType(arguments)))
    return tuple(specs)


def _output(table: Any, classes: int, here: _Where) -> OutputSpec:
    if not isinstance(table, Mapping):
        raise here.fail("must be a table such as { units = 1, activation = \"sigmoid\" }", table)
    _only_keys(table, {"units", "activation", "loss"}, here, here.key)
    units = _typed(table, "units", int, here, 1 if classes == 2 else classes)
    activation = _typed(table, "activation", str, here, "sigmoid" if units == 1 else "softmax")
    binary = units == 1
    loss = _typed(table, "loss", str, here, "binary_crossentropy" if binary else "sparse_categorical_crossentropy")
    if units not in (1, classes) or (binary and classes != 2):
        raise here.at("units").fail(f"must be 1 (two classes, binary) or the number of classes ({classes})", units)
    if activation not in (("sigmoid", LOGITS) if binary else ("softmax", LOGITS)):
        raise here.at("activation").fail(f"must be {'sigmoid' if binary else 'softmax'} or {LOGITS!r} (logits) "
                                         f"for {units} output unit(s)", activation)
    if loss not in LOSSES or (loss == "binary_crossentropy") != binary:
        wanted = "binary_crossentropy" if binary else "sparse_categorical_crossentropy or categorical_crossentropy"
        raise here.at("loss").fail(f"must be {wanted} for {units} output unit(s)", loss)
    return OutputSpec(units, activation, loss)


def _finetune(table: Any, here: _Where) -> FineTuneSpec:
    if not isinstance(table, Mapping):
        raise here.fail("must be a table such as { unfreeze_from = 100, rate_ratio = 10 }", table)
    _only_keys(table, {"unfreeze_from", "rate_ratio", "initial_epoch"}, here, here.key)
    unfreeze_from = _typed(table, "unfreeze_from", int, here, None) if "unfreeze_from" in table else None
    if unfreeze_from is not None and unfreeze_from < 1:
        raise here.at("unfreeze_from").fail("must be a layer index of at least 1", unfreeze_from)
    rate_ratio = _typed(table, "rate_ratio", float, here, 1.0)
    if rate_ratio < 1:
        raise here.at("rate_ratio").fail("must be at least 1 (how many times lower the fine-tuning rate is)",
                                         rate_ratio)
    return FineTuneSpec(unfreeze_from, rate_ratio, _typed(table, "initial_epoch", bool, here, True))


def _lab_serves(checks: tuple[CheckSpec, ...], lab: Lab, known: Mapping[str, Any], where: _Where) -> None:
    """A check that judges a part of the lab the ``[lab]`` table does not ask for is a mistake."""
    for spec in checks:
        needs = getattr(known[spec.id], "needs", None)
        problem = needs(lab) if needs else ""
        if problem:
            raise RubricError(f"{where.source}: checks.\"{spec.id}\": {problem}; remove the check or describe "
                              f"it in [lab]. Received: {spec.id!r}")


def _with_legacy(lab: Lab, legacy: Mapping[str, Any], described: bool, where: _Where) -> Lab:
    """The lab with what older rubrics said in check parameters (a rotation factor, an input size);
    a rubric that says it both there and in [lab] must say the same."""
    changes: dict[str, Any] = {}
    if "size" in legacy:
        size = legacy["size"]
        if not isinstance(size, int) or isinstance(size, bool) or size < 32:
            raise where.at('checks."base.input_shape".params.size').fail("must be an integer of at least 32", size)
        changes["input_shape"] = (size, size, 3)
    if "factor" in legacy:
        factor = legacy["factor"]
        if not isinstance(factor, (int, float)) or isinstance(factor, bool):
            raise where.at('checks."augment.rotation".params.factor').fail("must be float", factor)
        changes["augment"] = tuple(LayerSpec(spec.layer, MappingProxyType({**spec.arguments, "factor": float(factor)}))
                                   if spec.layer == "RandomRotation" else spec for spec in lab.augment)
    if not changes:
        return lab
    updated = replace(lab, **changes)
    if described and updated != lab:
        raise RubricError(f"{where.source}: [lab] and the legacy check parameters "
                          f"({', '.join(f'{key}={value!r}' for key, value in legacy.items())}) disagree: "
                          "keep the [lab] table and remove the parameters")
    return updated
