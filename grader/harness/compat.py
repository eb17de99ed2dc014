"""What scripts written for Colab, Kaggle, laptops and Keras 2 expect, made to work here.

Every accommodation is recorded in the trace, so the environment is never the student's fault
and never silently hidden.
"""

from __future__ import annotations

import builtins
import functools
import sys
import types
from pathlib import Path
from typing import Any

from grader.harness import keras2
from grader.harness.rebind import replace_everywhere
from grader.harness.trace import Trace


def install(trace: Trace, workdir: Path) -> None:
    """Install every accommodation below."""
    _headless_plots(trace)
    _no_input(trace)
    _legacy_optimizer_arguments(trace)
    _experimental_preprocessing(trace)
    keras2.install(trace)
    _colab(trace, workdir)
    _plot_model_without_graphviz(trace)
    builtins.get_ipython = lambda: _IPythonStub(trace)  # type: ignore[attr-defined]


def _headless_plots(trace: Trace) -> None:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    def show(*args: Any, **kwargs: Any) -> None:
        trace.accommodate("plt.show() does nothing here (no screen); figures are drawn off-screen")

    plt.show = show


def _no_input(trace: Trace) -> None:
    def no_input(prompt: str = "") -> str:
        trace.accommodate("input() gets end-of-file: the grader cannot type answers")
        raise EOFError("input() is not available while grading")

    builtins.input = no_input


def _legacy_optimizer_arguments(trace: Trace) -> None:
    """Keras 2's ``lr=`` is read as ``learning_rate=``; ``decay=`` is dropped (Keras 3 ignores it).

    Optimizer subclasses pass their own ``learning_rate`` (a default) and the stray ``lr`` up to
    the base class, so replacing it there covers ``Adam(lr=...)`` and the rest.
    """
    from keras.src.optimizers.base_optimizer import BaseOptimizer

    original = BaseOptimizer.__init__

    @functools.wraps(original)
    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        if "lr" in kwargs:
            rate = kwargs.pop("lr")
            trace.accommodate(f"ran with `lr={rate}` read as `learning_rate={rate}` (Keras 2 spelling)")
            if args:
                args = (rate, *args[1:])
            else:
                kwargs["learning_rate"] = rate
        if "decay" in kwargs:
            trace.accommodate(f"ignored `decay={kwargs.pop('decay')}`: Keras 3 optimizers have no `decay`")
        original(self, *args, **kwargs)

    BaseOptimizer.__init__ = init


def _experimental_preprocessing(trace: Trace) -> None:
    """``layers.experimental.preprocessing.RandomFlip`` (TF 2.3-2.5) is ``layers.RandomFlip`` now.

    Registered as modules too, so ``from tensorflow.keras.layers.experimental import
    preprocessing`` imports.
    """
    import keras

    preprocessing = _ForwardingModule("layers.experimental.preprocessing", keras.layers, trace)
    experimental = types.ModuleType("layers.experimental")
    experimental.preprocessing = preprocessing  # type: ignore[attr-defined]
    for prefix in ("keras.layers", "tensorflow.keras.layers", "keras._tf_keras.keras.layers"):
        sys.modules.setdefault(f"{prefix}.experimental", experimental)
        sys.modules.setdefault(f"{prefix}.experimental.preprocessing", preprocessing)
    layer_modules = [keras.layers]
    try:
        import keras._tf_keras.keras.layers as tf_keras_layers

        layer_modules.append(tf_keras_layers)
    except ImportError:  # pragma: no cover - older TensorFlow
        pass
    for module in layer_modules:
        if not hasattr(module, "experimental"):
            module.experimental = experimental


class _ForwardingModule(types.ModuleType):
    """A module whose attributes are another's, recording each use as an accommodation."""

    def __init__(self, label: str, target: Any, trace: Trace) -> None:
        super().__init__(label)
        self._target, self._trace, self._label = target, trace, label

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        value = getattr(self._target, name)
        self._trace.accommodate(f"`{self._label}.{name}` read as `layers.{name}` (moved in TF 2.6)")
        return value


def _plot_model_without_graphviz(trace: Trace) -> None:
    """``keras.utils.plot_model`` needs pydot and graphviz's ``dot`` program; where either is
    missing it does nothing (and says so) instead of stopping the script between building and
    compiling its model."""
    import shutil

    from keras.src.utils import model_visualization

    original = model_visualization.plot_model

    @functools.wraps(original)
    def plot_model(model: Any, to_file: str = "model.png", *args: Any, **kwargs: Any) -> Any:
        try:
            import pydot  # noqa: F401
        except ImportError:
            missing = "pydot is not installed"
        else:
            missing = "" if shutil.which("dot") else "graphviz's `dot` program is not installed"
        if missing:
            trace.accommodate(f"plot_model({to_file!r}) skipped: {missing} here")
            return None
        return original(model, to_file, *args, **kwargs)

    replace_everywhere({original: plot_model})


def _colab(trace: Trace, workdir: Path) -> None:
    """``google.colab``: ``drive.mount`` makes an empty Drive (its ``MyDrive`` folder, as Colab
    shows it), ``files.upload`` uploads nothing."""
    colab = types.ModuleType("google.colab")

    def mount(mountpoint: str, *args: Any, **kwargs: Any) -> None:
        trace.accommodate(f"google.colab drive.mount({mountpoint!r}) skipped: no Google Drive here "
                          "(an empty MyDrive folder stands for it)")
        try:
            (Path(mountpoint) / "MyDrive").mkdir(parents=True, exist_ok=True)
        except OSError:
            pass

    def upload(*args: Any, **kwargs: Any) -> dict[str, bytes]:
        trace.accommodate("google.colab files.upload() returned no files")
        return {}

    colab.drive = types.SimpleNamespace(mount=mount, flush_and_unmount=lambda *a, **k: None)
    colab.files = types.SimpleNamespace(upload=upload, download=lambda *a, **k: None)
    colab.patches = types.SimpleNamespace(cv2_imshow=lambda *a, **k: None)
    try:
        import google  # a namespace package when protobuf is installed
    except ImportError:
        google = types.ModuleType("google")
        google.__path__ = []  # type: ignore[attr-defined]
        sys.modules["google"] = google
    google.colab = colab  # type: ignore[attr-defined]
    sys.modules["google.colab"] = colab
    for part in ("drive", "files", "patches"):
        sub = types.ModuleType(f"google.colab.{part}")
        sub.__dict__.update(vars(getattr(colab, part)))
        sys.modules[f"google.colab.{part}"] = sub


class _IPythonStub:
    """``get_ipython()`` for notebooks run as scripts: magics and shell commands do nothing."""

    def __init__(self, trace: Trace) -> None:
        self._trace = trace

    def run_line_magic(self, name: str, line: str = "") -> None:
        self._trace.accommodate(f"IPython magic %{name} skipped")

    def run_cell_magic(self, name: str, line: str = "", cell: str = "") -> None:
        self._trace.accommodate(f"IPython cell magic %%{name} skipped")

    def system(self, command: str) -> None:
        self._trace.accommodate(f"shell command !{command[:60]} skipped")

    def getoutput(self, command: str) -> list[str]:
        self.system(command)
        return []
