"""How a run ended, told from the process's end and its trace: a missing module is named in full,
a package to install is told apart from a module an installed package lost (or that nothing
replaces), and a class's stops are grouped by what fixes them."""

from __future__ import annotations

import pytest

from grader.results import Grade, GradeStatus, ImportStops, RunResult, RunStatus
from grader.run.outcome import classify, missing_module
from grader.run.sandbox import ChildOutcome

_ENDED = ChildOutcome(returncode=1, timed_out=False, duration=3.0, stdout="", stderr="", signal_name=None)


def _stopped_at(module: str) -> tuple[dict, ...]:
    return ({"kind": "harness_start"},
            {"kind": "exception", "type": "ModuleNotFoundError", "message": f"No module named '{module}'",
             "file": "transfer.py", "line": 3})


def test_a_module_keras_3_dropped_is_named_in_full_with_its_replacement() -> None:
    status, reason = classify(_ENDED, _stopped_at("keras.utils.np_utils"))
    assert status is RunStatus.ERROR
    assert reason.startswith("imports `keras.utils.np_utils` at transfer.py, line 3")
    assert "no longer has" in reason and "`keras.utils`" in reason and "nothing to install" in reason
    assert "add it to the environment" not in reason
    missing = missing_module(_stopped_at("keras.utils.np_utils"))
    assert (missing.module, missing.package) == ("keras.utils.np_utils", "")


def test_a_module_an_installed_package_lacks_is_not_sent_to_the_installer() -> None:
    missing = missing_module(_stopped_at("keras.some_private.thing"))
    assert missing.package == "" and "installed `keras`" in missing.advice and "change the import" in missing.advice


@pytest.mark.parametrize(("module", "package"), [("albumentations", "albumentations"), ("tf_slim.nets", "tf-slim"),
                                                 ("imutils.paths", "imutils")])
def test_a_missing_package_names_the_package_to_install(module: str, package: str) -> None:
    missing = missing_module(_stopped_at(module))
    assert (missing.module, missing.package) == (module, package)
    status, reason = classify(_ENDED, _stopped_at(module))
    assert f"imports `{module}`" in reason and f"package `{package}`" in reason and "add it to the environment" in reason


@pytest.mark.parametrize("module", ["nets", "nets.mobilenet_v2", "keras.backend.tensorflow_backend",
                                    "tensorflow.contrib.slim"])
def test_a_module_nothing_replaces_says_so_plainly(module: str) -> None:
    missing = missing_module(_stopped_at(module))
    assert missing.package == "" and "nothing to install" in missing.advice
    if module.startswith("nets"):
        assert "TF-slim" in missing.advice and "no TensorFlow 2 equivalent" in missing.advice


def test_a_run_that_stopped_otherwise_has_no_missing_module() -> None:
    events = ({"kind": "harness_start"}, {"kind": "exception", "type": "ImportError",
                                          "message": "cannot import name 'Nope' from 'keras.layers'"})
    assert missing_module(events) is None
    assert missing_module(({"kind": "harness_start"}, {"kind": "end"})) is None


def _grade(name: str, module: str = "", package: str | None = None) -> Grade:
    environment = {"missing_module": module} if module else {}
    if module and package is not None:
        environment["missing_package"] = package
    return Grade(name, GradeStatus.GRADED, "", 0.0, 10.0, environment=environment)


def test_the_class_summary_groups_by_package_to_install_and_apart_what_the_code_must_fix() -> None:
    grades = [_grade("ann", "albumentations", "albumentations"), _grade("bo", "keras.backend.tensorflow_backend", ""),
              _grade("cy", "albumentations.augmentations", "albumentations"), _grade("di"),
              _grade("ed", "cv2", "opencv-python")]
    stops = ImportStops.of(grades)
    assert stops.by_package == {"albumentations": ("ann", "cy"), "opencv-python": ("ed",)}
    assert stops.in_code == {"keras.backend.tensorflow_backend": ("bo",)}


def test_a_grade_saved_before_packages_were_told_apart_reads_its_module_as_the_package() -> None:
    assert _grade("old", "albumentations").stopped_at_import() == ("albumentations", "albumentations")
    run = RunResult.from_dict({"status": "error", "reason": "", "returncode": 1, "duration": 1.0, "stdout_tail": "",
                               "stderr_tail": "", "trace": [], "missing_module": "albumentations"})
    assert run.missing_package == "albumentations"


def test_a_timeout_names_the_limit_the_run_had() -> None:
    """A slow base's run gets more than the rubric's seconds: the reason names what it had."""
    stopped = ChildOutcome(returncode=-9, timed_out=True, duration=1155.2, stdout="", stderr="", signal_name="SIGKILL")
    events = ({"kind": "harness_start"}, {"kind": "fit_start", "phase": 1, "line": 40})
    status, reason = classify(stopped, events)
    assert status is RunStatus.TIMEOUT
    assert reason.startswith("did not finish within the time limit (1155 s); last recorded at line 40")
