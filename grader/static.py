"""Static evidence: facts read from the source's syntax tree, never by running it.

A script that crashes early still gets evidence for what it wrote: the application's arguments,
``trainable`` assignments (and a ``fine_tune_at`` loop), layers, compile and fit calls, and how
images are scaled. Values are read the way Python would see them without running anything:
module constants are substituted (``NUM_CLASSES = 1`` then ``Dense(NUM_CLASSES)``), branches that
can never run (``if False:``) are left out, and each layer says whether it reaches the model
(``reaches_model``: a layer built only to plot augmented samples does not).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any

from grader.intake import Program
from grader.shared.layout import GRADER_DIR, GRADER_MOUNT, TRACE_FILE

APPLICATION_NAMES = frozenset({
    "MobileNetV2", "MobileNet", "MobileNetV3Small", "MobileNetV3Large", "ResNet50", "ResNet50V2",
    "ResNet101", "ResNet152", "VGG16", "VGG19", "InceptionV3", "Xception", "DenseNet121", "DenseNet169",
    "DenseNet201", "EfficientNetB0", "EfficientNetB1", "EfficientNetB2", "EfficientNetV2B0", "NASNetMobile",
    "ConvNeXtTiny", "InceptionResNetV2"})
# Methods the harness wraps: assigning to them replaces the grader's hooks.
HOOKED = frozenset({"fit", "compile", "evaluate", "predict", "fit_generator", "save", "__init__", "call",
                    "__call__", "build", "load_weights"})
# Text that only code reaching for the grader's own record needs.
_TAMPER_TEXT = (TRACE_FILE, GRADER_DIR, "/proc/self/fd", "grader.harness", str(GRADER_MOUNT))
LAYER_NAMES = frozenset({"RandomFlip", "RandomRotation", "RandomZoom", "GlobalAveragePooling2D", "Flatten",
                         "Dense", "Dropout", "Rescaling", "BatchNormalization", "GlobalMaxPooling2D", "Activation",
                         "Lambda"})


@dataclass(frozen=True)
class Fact:
    """One thing found in the source: a kind, the program line, and literal details."""

    kind: str
    line: int
    name: str
    details: dict[str, Any] = field(default_factory=dict)
    target: str | None = None  # the variable it was assigned to, if any

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "line": self.line, "name": self.name, "details": self.details,
                "target": self.target}


@dataclass(frozen=True)
class StaticEvidence:
    """All facts of a program, in source order; empty if it does not parse."""

    facts: tuple[Fact, ...] = ()
    parsed: bool = True

    def of(self, kind: str, name: str | None = None) -> list[Fact]:
        return [f for f in self.facts if f.kind == kind and (name is None or f.name == name)]


def scan(program: Program) -> StaticEvidence:
    """Return the facts in ``program``'s source (``parsed=False`` if it has a syntax error)."""
    try:
        tree = ast.parse(program.source)
    except SyntaxError:
        return StaticEvidence((), parsed=False)
    tree = _Simplify(_module_constants(tree)).visit(tree)
    visitor = _Visitor()
    visitor.visit(tree)
    facts = [visitor.with_reach(fact) for fact in visitor.facts]
    return StaticEvidence(tuple(sorted(facts, key=lambda fact: fact.line)))


_MAX_FOLDED_ITEMS = 64  # a tuple or list longer than this is not a shape or a setting
_MAX_FOLDED_BITS = 64  # nor is a bigger integer: student source must not make the parent compute


def _fold(node: ast.AST, constants: dict[str, Any]) -> Any:
    """The value of a constant expression: literals, known names, + - * / on numbers, ``not``, and
    ``+`` on short tuples and lists; raises ``ValueError`` for anything else, or for a value too
    large to be a setting (the parent never builds big values from student source)."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name) and node.id in constants:
        return constants[node.id]
    if isinstance(node, (ast.Tuple, ast.List)) and len(node.elts) <= _MAX_FOLDED_ITEMS:
        values = [_fold(item, constants) for item in node.elts]
        return tuple(values) if isinstance(node, ast.Tuple) else values
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return not _fold(node.operand, constants)
    if isinstance(node, (ast.UnaryOp, ast.BinOp)):
        return _fold_arithmetic(node, constants)
    raise ValueError(ast.dump(node)[:40])


def _fold_arithmetic(node: ast.UnaryOp | ast.BinOp, constants: dict[str, Any]) -> Any:
    if isinstance(node, ast.UnaryOp):
        inner = _number(_fold(node.operand, constants))
        if isinstance(node.op, ast.USub):
            return -inner
        if isinstance(node.op, ast.UAdd):
            return inner
        raise ValueError("operator")
    left, right = _fold(node.left, constants), _fold(node.right, constants)
    if isinstance(node.op, ast.Add) and isinstance(left, (tuple, list)) and type(left) is type(right) \
            and len(left) + len(right) <= _MAX_FOLDED_ITEMS:
        return left + right
    if type(node.op) not in _OPERATORS:
        raise ValueError("operator")
    folded = _OPERATORS[type(node.op)](_number(left), _number(right))
    if folded is None:
        raise ValueError("division by zero")
    return _number(folded)


def _number(value: Any) -> int | float:
    """``value`` if it is a number of a sensible size, else ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("not a number")
    if isinstance(value, int) and value.bit_length() > _MAX_FOLDED_BITS:
        raise ValueError("too large")
    return value


def _module_constants(tree: ast.Module) -> dict[str, Any]:
    """Names assigned once, at module level, a constant expression, and never assigned again."""
    assigned: dict[str, int] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.arg):  # a parameter shadows the constant inside its function
            assigned[node.arg] = assigned.get(node.arg, 0) + 1
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        for target in targets:
            for name in ast.walk(target) if isinstance(target, ast.AST) else []:
                if isinstance(name, ast.Name) and isinstance(name.ctx, ast.Store):
                    assigned[name.id] = assigned.get(name.id, 0) + 1
    constants: dict[str, Any] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) \
                and assigned.get(node.targets[0].id) == 1:
            try:
                constants[node.targets[0].id] = _fold(node.value, constants)
            except (ValueError, TypeError, ArithmeticError):
                continue
    return constants


class _Simplify(ast.NodeTransformer):
    """Substitute module constants where they are read, and drop branches that can never run."""

    def __init__(self, constants: dict[str, Any]) -> None:
        self._constants = constants

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if isinstance(node.ctx, ast.Load) and node.id in self._constants:
            return ast.copy_location(ast.Constant(self._constants[node.id]), node)
        return node

    def visit_If(self, node: ast.If) -> Any:
        try:
            decided = bool(_fold(node.test, self._constants))
        except (ValueError, TypeError, ArithmeticError):
            return self.generic_visit(node)
        kept = node.body if decided else node.orelse
        return [self.visit(statement) for statement in kept] or ast.copy_location(ast.Pass(), node)

    def visit_While(self, node: ast.While) -> Any:
        try:
            never = not _fold(node.test, self._constants)
        except (ValueError, TypeError, ArithmeticError):
            return self.generic_visit(node)
        return ast.copy_location(ast.Pass(), node) if never else self.generic_visit(node)


def _name(node: ast.AST) -> str:
    """The last component of a called name: ``tf.keras.layers.Dense`` -> ``Dense``."""
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return ""


def _value(node: ast.AST) -> Any:
    """A literal's value, a constant expression's (``1./255``, ``(224, 224) + (3,)``), or the source
    text of anything else (``lr``)."""
    try:
        return ast.literal_eval(node)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        pass
    try:  # names were replaced by their constants: ``IMG_SIZE + (3,)`` is ``(224, 224) + (3,)``
        return _fold(node, {})
    except (ValueError, TypeError, ArithmeticError, RecursionError):
        return ast.unparse(node)[:120]


_OPERATORS = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b,
              ast.Mult: lambda a, b: a * b, ast.Div: lambda a, b: a / b if b else None}


def _arguments(call: ast.Call) -> dict[str, Any]:
    found: dict[str, Any] = {f"arg{i}": _value(arg) for i, arg in enumerate(call.args)}
    found.update({kw.arg: _value(kw.value) for kw in call.keywords if kw.arg})
    for kw in call.keywords:
        if kw.arg in ("optimizer", "loss") and isinstance(kw.value, ast.Call):
            found[kw.arg] = {"call": _name(kw.value.func), **_arguments(kw.value)}
    return found


class _Visitor(ast.NodeVisitor):
    def __init__(self) -> None:
        self.facts: list[Fact] = []
        self._targets: dict[int, str] = {}
        self._loop: ast.For | None = None
        self._loops = 0  # depth of for/while loops around the node being visited
        self._container: str | None = None  # the variable the current statement builds
        self._uses: dict[str, list[int]] = {}  # name -> lines where it is read outside any loop
        self._containers: dict[int, str | None] = {}  # id(layer fact) -> its container

    def with_reach(self, fact: Fact) -> Fact:
        """A layer fact with ``reaches_model``: whether what holds it (the variable it is assigned to,
        or the Sequential or tensor it is built into) is used again outside a loop. Plotting
        samples of an augmentation happens in a loop; building the model does not."""
        if fact.kind != "layer":
            return fact
        container = self._containers.get(id(fact))
        used = container is None or any(line != fact.line for line in self._uses.get(container.split(".")[0], []))
        return Fact(fact.kind, fact.line, fact.name, {**fact.details, "reaches_model": used}, fact.target)

    def _tamper(self, node: ast.AST, why: str) -> None:
        self.facts.append(Fact("tamper", node.lineno, why, {"code": ast.unparse(node)[:120]}))

    def visit_Import(self, node: ast.Import) -> None:
        if any(_grader_internal(alias.name) for alias in node.names):
            self._tamper(node, "imports the grader's internals")

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if _grader_internal(node.module or ""):
            self._tamper(node, "imports the grader's internals")

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str) and any(text in node.value for text in _TAMPER_TEXT):
            self._tamper(node, f"refers to the grader's record ({node.value[:40]!r})")

    def visit_Assign(self, node: ast.Assign) -> None:
        target = ast.unparse(node.targets[0])[:80]
        for each in node.targets:
            if isinstance(each, ast.Attribute) and each.attr in HOOKED and not isinstance(each.value, ast.Name) \
                    or isinstance(each, ast.Attribute) and each.attr in HOOKED and _names_keras(each.value):
                self._tamper(node, f"replaces {ast.unparse(each)[:60]}, a method the grader watches")
        if isinstance(node.value, ast.Call):
            self._targets[id(node.value)] = target
        outer, self._container = self._container, target
        if isinstance(node.targets[0], ast.Attribute) and node.targets[0].attr == "trainable":
            details = {"value": _value(node.value), "object": ast.unparse(node.targets[0].value)[:80]}
            if self._loop is not None:
                details["loop_over"] = ast.unparse(self._loop.iter)[:120]
            self.facts.append(Fact("trainable", node.lineno, details["object"], details))
        self.generic_visit(node)
        self._container = outer

    def visit_For(self, node: ast.For) -> None:
        outer, self._loop = self._loop, node
        self.visit(node.iter)
        self._loops += 1
        for statement in [node.target, *node.body, *node.orelse]:
            self.visit(statement)
        self._loops -= 1
        self._loop = outer

    def visit_While(self, node: ast.While) -> None:
        self._loops += 1
        self.generic_visit(node)
        self._loops -= 1

    def visit_Expr(self, node: ast.Expr) -> None:
        """``model.add(Dense(...))`` builds ``model``."""
        call = node.value
        adds = isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "add"
        outer, self._container = self._container, (ast.unparse(call.func.value)[:80] if adds else self._container)
        self.generic_visit(node)
        self._container = outer

    def visit_Call(self, node: ast.Call) -> None:
        name = _name(node.func)
        target = self._targets.get(id(node))
        called = ast.unparse(node.func)
        if name == "setattr" and node.args and _names_keras(node.args[0]):
            self._tamper(node, "replaces an attribute of Keras with setattr")
        if called in ("os.write", "os.dup2", "os.fdopen", "gc.get_objects", "gc.get_referrers"):
            self._tamper(node, f"calls {called}, which a lab has no use for")
        if name in APPLICATION_NAMES:
            self.facts.append(Fact("application", node.lineno, name, _arguments(node), target))
        elif name in LAYER_NAMES:
            self.facts.append(Fact("layer", node.lineno, name, _arguments(node), target))
            self._containers[id(self.facts[-1])] = self._container
        elif name in ("compile", "fit", "fit_generator", "evaluate", "predict", "save"):
            self.facts.append(Fact(name, node.lineno, ast.unparse(node.func)[:80], _arguments(node), target))
        elif name in ("ImageDataGenerator", "image_dataset_from_directory", "flow_from_directory", "get_file"):
            self.facts.append(Fact("data", node.lineno, name, _arguments(node), target))
        elif name in ("Sequential", "Model"):
            self.facts.append(Fact("model", node.lineno, name, {"layers": _sequential_layers(node)}, target))
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load) and not self._loops:
            self._uses.setdefault(node.id, []).append(node.lineno)
        if node.id == "preprocess_input":
            self.facts.append(Fact("preprocess_input", node.lineno, node.id))

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr == "preprocess_input":
            self.facts.append(Fact("preprocess_input", node.lineno, node.attr))
        self.generic_visit(node)


def _grader_internal(module: str) -> bool:
    """``grader`` itself or its modules, except the offline layer a lab may use (``grader.offline``)."""
    parts = module.split(".")
    return parts[0] == "grader" and parts[1:2] != ["offline"]


def _names_keras(node: ast.AST) -> bool:
    """Whether an expression names Keras or TensorFlow (``keras.Model``, ``tf.keras.Model``, ``Model``)."""
    text = ast.unparse(node)
    return any(part in ("keras", "tf", "tensorflow", "Model", "Sequential", "Functional") for part in text.split("."))


def _sequential_layers(call: ast.Call) -> list[str]:
    if call.args and isinstance(call.args[0], (ast.List, ast.Tuple)):
        return [_name(item.func) if isinstance(item, ast.Call) else ast.unparse(item)[:40]
                for item in call.args[0].elts]
    return []
