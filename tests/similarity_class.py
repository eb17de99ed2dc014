"""Synthetic classes for the code-similarity tests and bench: students who each start from the
TensorFlow tutorial (``fixtures/similarity/tf_tutorial.py``) and change it their own way, and
copies of a classmate with every name renamed, the comments rewritten and the functions reordered."""

from __future__ import annotations

import ast
import builtins
import io
import json
import keyword
import random
import re
import tokenize
from pathlib import Path

TUTORIAL = Path(__file__).parent / "fixtures" / "similarity" / "tf_tutorial.py"
TUTORIAL_TEXT = TUTORIAL.read_text()

# Statements a student writes in helpers of their own; each helper strings several together.
_STATEMENTS = (
    "history_frame = pd.DataFrame({key}.history)",
    "print('best epoch:', int(np.argmax({key}.history['val_accuracy'])) + 1)",
    "callbacks = [tf.keras.callbacks.EarlyStopping(monitor='val_loss', patience={n}, restore_best_weights=True)]",
    "checkpoint = tf.keras.callbacks.ModelCheckpoint('best_{n}.keras', save_best_only=True)",
    "fig, axes = plt.subplots(1, {n}, figsize=(12, 4))",
    "for axis, name in zip(axes, ['accuracy', 'loss']):\n        axis.plot({key}.history[name])\n        axis.set_title(name)",
    "labels_all = np.concatenate([y for _, y in {key}], axis=0)",
    "scores = model.predict({key}, verbose=0).ravel()",
    "matrix = tf.math.confusion_matrix(labels_all, scores > 0)",
    "print(matrix.numpy())",
    "for row in range(matrix.shape[0]):\n        print(' '.join(str(value) for value in matrix[row].numpy()))",
    "wrong = [i for i, (p, t) in enumerate(zip(scores > 0, labels_all)) if p != t]",
    "print(f'{{len(wrong)}} of {{len(labels_all)}} wrong')",
    "schedule = tf.keras.optimizers.schedules.ExponentialDecay({lr}, decay_steps={n}, decay_rate=0.9)",
    "optimizer = tf.keras.optimizers.Adam(learning_rate=schedule)",
    "model.save('cats_dogs_{n}.keras')",
    "restored = tf.keras.models.load_model('cats_dogs_{n}.keras')",
    "assert restored.count_params() == model.count_params()",
    "trainable = sum(int(np.prod(v.shape)) for v in model.trainable_weights)",
    "print('trainable parameters:', trainable, 'of', model.count_params())",
    "for index, layer in enumerate(base_model.layers[-{n}:]):\n        print(index, layer.name, layer.trainable)",
    "steps = tf.data.experimental.cardinality({key}).numpy()",
    "print('steps per epoch:', steps)",
    "plt.savefig('curves_{n}.png', dpi=150)",
    "plt.close('all')",
    "np.random.seed({n})\n    tf.random.set_seed({n})",
    "with open('history_{n}.json', 'w') as handle:\n        json.dump({{k: [float(v) for v in vs] for k, vs in {key}.history.items()}}, handle)",
    "precision = tf.keras.metrics.Precision()\n    precision.update_state(labels_all, scores > 0)",
    "recall = tf.keras.metrics.Recall()\n    recall.update_state(labels_all, scores > 0)",
    "print('precision', precision.result().numpy(), 'recall', recall.result().numpy())",
    "images, targets = next(iter({key}))",
    "print(images.shape, targets.shape, images.dtype)",
    "if steps < {n}:\n        print('few batches: the curves will be noisy')",
    "while len(wrong) > {n}:\n        wrong.pop()",
    "summary_lines = []\n    model.summary(print_fn=summary_lines.append)",
    "print('\\n'.join(summary_lines[-{n}:]))",
    "ratio = float(np.mean(labels_all))",
    "print('share of dogs: %.2f' % ratio)",
    "try:\n        tf.keras.utils.plot_model(model, 'model_{n}.png', show_shapes=True)\n    except ImportError:\n        pass",
    "elapsed = [round(v, 3) for v in {key}.history.get('loss', [])]",
)
_TUTORIAL_NAMES = ("base_model", "history", "train_dataset", "validation_dataset", "test_dataset",
                   "data_augmentation", "prediction_layer", "global_average_layer", "fine_tune_at", "model")
_OTHER_NAMES = ("net", "backbone", "hist", "train_ds", "val_ds", "test_ds", "augment", "head", "pool", "cut", "clf")
_COMMENTS = ("# my own step", "# TODO tidy", "# as in the lecture", "# check this", "# step {n}",
             "# tried other values here", "# from the lab sheet")


def _expression(rng: random.Random, depth: int = 0) -> str:
    """Arithmetic of a student's own (names and numbers do not matter: their shape does)."""
    if depth >= 2 or rng.random() < 0.25:
        return rng.choice(("scores", "labels_all", "steps", "1", "0.5", "history.history['loss'][-1]", "len(wrong)"))
    kind = rng.randrange(4)
    if kind == 0:
        return f"np.{rng.choice(('mean', 'max', 'min', 'std', 'sum', 'median'))}({_expression(rng, depth + 1)})"
    if kind == 1:
        return f"({_expression(rng, depth + 1)} {rng.choice('+-*/')} {_expression(rng, depth + 1)})"
    if kind == 2:
        return f"[{_expression(rng, depth + 1)} for _ in range({rng.randint(2, 5)})]"
    return f"float({_expression(rng, depth + 1)})"


def own_helper(rng: random.Random, name: str) -> str:
    """A helper function of a student's own: several statements in a random order, some of them
    arithmetic of their own."""
    lines = [statement.format(key=rng.choice(("history", "train_dataset", "test_dataset")), n=rng.randint(2, 9),
                              lr=rng.choice(("0.001", "0.0005", "0.002")))
             if rng.random() < 0.6 else f"value_{index} = {_expression(rng)}"
             for index, statement in enumerate(rng.sample(_STATEMENTS, rng.randint(7, 10)))]
    return f"def {name}():\n" + "".join(f"    {line}\n" for line in lines) + "\n"


def _chunks(text: str) -> list[str]:
    """Top-level paragraphs of a script (split at blank lines outside blocks)."""
    return [chunk for chunk in re.split(r"\n\n(?=\S)", text) if chunk.strip()]


def student_script(seed: int) -> str:
    """The tutorial as one student hands it in: two of its names renamed, a plot left out, the
    numbers changed, comments of their own, and two helpers of their own, called."""
    rng = random.Random(seed)
    chunks = _chunks(TUTORIAL_TEXT)
    plots = [index for index, chunk in enumerate(chunks) if chunk.lstrip().startswith(("plt.figure", "for image"))]
    dropped = rng.choice(plots)
    chunks = [chunk for index, chunk in enumerate(chunks) if index != dropped]
    for _ in range(2):
        at = rng.randrange(3, len(chunks))
        helper = f"helper_{seed}_{at}"
        chunks.insert(at, own_helper(rng, helper).rstrip() + f"\n\n\n{helper}()")
    text = "\n\n".join(chunks) + "\n"
    text = re.sub(r"#[^\n]*", lambda _: rng.choice(_COMMENTS).format(n=rng.randint(1, 9)), text)
    text = re.sub(r"(?<![\w.])(\d+\.?\d*)(?![\w.])", lambda m: str(rng.choice((5, 10, 20, 0.5, 0.001)))
                  if rng.random() < 0.3 else m.group(1), text)
    for old in rng.sample(_TUTORIAL_NAMES, 2):
        text = re.sub(rf"(?<![\w.]){old}\b", rng.choice(_OTHER_NAMES) + f"_{seed}", text)
    return text


def renamed_copy(source: str) -> str:
    """``source`` disguised: every name it binds renamed, comments rewritten, top-level functions
    moved to the top in reverse order."""
    bound = {node.id for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Name)}
    bound |= {node.name for node in ast.walk(ast.parse(source)) if isinstance(node, ast.FunctionDef)}
    bound -= set(dir(builtins)) | set(keyword.kwlist)
    renamed = {name: f"q{index}_{name[::-1]}" for index, name in enumerate(sorted(bound))}
    items = list(tokenize.generate_tokens(io.StringIO(source).readline))
    pieces, depth = [], 0
    for index, item in enumerate(items):
        text = item.string
        depth += text in "([{" and item.type == tokenize.OP
        depth -= text in ")]}" and item.type == tokenize.OP
        before = items[index - 1].string if index else ""
        after = items[index + 1].string if index + 1 < len(items) else ""
        keyword_argument = depth > 0 and after == "="
        if item.type == tokenize.NAME and text in renamed and before != "." and not keyword_argument:
            text = renamed[text]  # attributes and keyword arguments are the library's: renaming them breaks the code
        elif item.type == tokenize.COMMENT:
            text = "# reworded: " + text[::-1].lstrip("# ")
        pieces.append((item.start, item.end, text))
    return _functions_first(_replaced(source, pieces))


def _replaced(source: str, pieces: list) -> list[str]:
    """``source``'s lines with each single-line token replaced by its new text (layout kept)."""
    lines = source.splitlines(keepends=True)
    out = []
    for row, line in enumerate(lines, start=1):
        replaced = [(start, end, text) for start, end, text in pieces if start[0] == row and end[0] == row]
        for start, end, text in sorted(replaced, reverse=True):
            line = line[:start[1]] + text + line[end[1]:]
        out.append(line)
    return out


def _functions_first(lines: list[str]) -> str:
    text = "".join(lines)
    tree = ast.parse(text)
    functions = [node for node in tree.body if isinstance(node, ast.FunctionDef)]
    rows = text.splitlines(keepends=True)
    blocks = ["".join(rows[node.lineno - 1:node.end_lineno]) for node in functions]
    kept = [row for index, row in enumerate(rows, start=1)
            if not any(node.lineno <= index <= node.end_lineno for node in functions)]
    imports = max((node.end_lineno for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))), default=0)
    head = sum(1 for index in range(imports) if not any(node.lineno <= index + 1 <= node.end_lineno for node in functions))
    return "".join(kept[:head]) + "\n" + "\n\n".join(reversed(blocks)) + "\n" + "".join(kept[head:])


def as_notebook(source: str) -> str:
    """``source`` as a Jupyter notebook: a code cell per paragraph, a Markdown cell before each."""
    cells = []
    for number, chunk in enumerate(_chunks(source), start=1):
        cells.append({"cell_type": "markdown", "id": f"m{number}", "metadata": {}, "source": f"## Step {number}"})
        cells.append({"cell_type": "code", "id": f"c{number}", "metadata": {}, "execution_count": None, "outputs": [],
                      "source": chunk.rstrip("\n")})
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


def write_class(root: Path, students: int, *, seed: int = 0) -> dict[str, Path]:
    """``students`` students who each started from the tutorial, as ``root/<student>/transfer.py``."""
    files = {}
    for index in range(students):
        path = root / f"student_{index:04d}" / "transfer.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(student_script(seed * 100_000 + index))
        files[path.parent.name] = path
    return files
