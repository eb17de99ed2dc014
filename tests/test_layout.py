"""The trust boundary in the layout, and the package's file list.

``grader.harness`` runs only inside the sandbox, beside student code: no module of the trusted
side may import it. ``grader.shared`` is what both sides use and imports no TensorFlow."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
import textwrap
from pathlib import Path

import grader
from grader.rubric import tomllib

from conftest import REPOSITORY

CHILD_ONLY = "grader.harness"


def _modules() -> list[str]:
    """Every module of the package but ``__main__`` ones (importing those runs a command)."""
    return sorted(info.name for info in pkgutil.walk_packages(grader.__path__, "grader.")
                  if not info.name.endswith("__main__"))


def _import_in_fresh_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          cwd=REPOSITORY, timeout=300)


def test_parent_side_modules_import_without_the_harness() -> None:
    parent = [name for name in _modules() if not name.startswith(CHILD_ONLY)]
    assert "grader.run.runner" in parent and "grader.run.inspector" in parent and "grader.cli" in parent
    result = _import_in_fresh_python(f"""
        import importlib, sys

        class Refuse:
            def find_spec(self, name, path=None, target=None):
                if name == {CHILD_ONLY!r} or name.startswith({CHILD_ONLY!r} + "."):
                    raise ImportError(name + " runs only inside the sandbox")
                return None

        sys.meta_path.insert(0, Refuse())
        for name in {parent!r}:
            importlib.import_module(name)
        print("IMPORTED", len({parent!r}))
        """)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"IMPORTED {len(parent)}" in result.stdout


def test_the_refusal_is_real() -> None:
    """The same guard stops a module that does import the harness (so the test above can fail)."""
    result = _import_in_fresh_python(f"""
        import sys

        class Refuse:
            def find_spec(self, name, path=None, target=None):
                if name.startswith({CHILD_ONLY!r}):
                    raise ImportError(name)
                return None

        sys.meta_path.insert(0, Refuse())
        import grader.harness.training
        """)
    assert result.returncode != 0 and "ImportError" in result.stderr


def test_shared_modules_import_no_tensorflow() -> None:
    shared = [name for name in _modules() if name.startswith("grader.shared")]
    assert len(shared) >= 5
    result = _import_in_fresh_python(f"""
        import importlib, sys
        for name in {shared!r}:
            importlib.import_module(name)
        print(sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras")))
        """)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"


def test_pyproject_lists_every_package() -> None:
    """Packages are listed (the data folders are mapped in): a new subpackage must be added there."""
    listed = tomllib.loads((REPOSITORY / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    found = sorted(str(path.parent.relative_to(REPOSITORY)).replace("/", ".")
                   for path in (REPOSITORY / "grader").rglob("__init__.py"))
    assert sorted(p for p in listed if p.startswith("grader")) == found
    mapped = tomllib.loads((REPOSITORY / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    for package, folder in mapped.items():
        assert package in listed and (REPOSITORY / folder / "__init__.py").is_file()
        assert not Path(folder).is_relative_to("grader")


def test_the_sandbox_hides_shipped_data_installed_inside_the_python_environment(monkeypatch, tmp_path: Path) -> None:  # noqa: ANN001
    from grader.run import command

    inside = Path(sys.prefix).resolve() / "lib" / "dl_lab_rubrics"
    outside = tmp_path / "rubrics"
    monkeypatch.setattr(command, "bundled_folders", lambda: [inside, outside])
    argv = command._with_grader_mount(["bwrap", "--ro-bind", "/usr", "/usr", "--clearenv", "--", "python"])
    assert argv[argv.index("--tmpfs") + 1] == str(inside)
    assert str(outside) not in argv  # never bound, nothing to hide
    assert argv.index("--tmpfs") < argv.index("--clearenv")
