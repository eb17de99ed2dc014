"""The memory limit measures what a run uses: its limit follows the rubric and the machine, a run
that passes it ends as ``limit`` saying so (with the tensor TensorFlow could not allocate), never
as the student's bug, and ``grade rubric init`` writes no rubric from a run a limit stopped."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from grader.errors import UnfinishedRunError
from grader.evidence import Evidence
from grader.results import RunResult, RunStatus
from grader.rubric import load_rubric
from grader.rubric_init import derive
from grader.run.memory import GIB, MemoryUse, memory_limit_bytes, process_tree, resident
from grader.run.outcome import classify
from grader.run.sandbox import ChildOutcome
from grader.run.settings import RunSettings
from grader.shared.budget import RunBudget
from grader.static import StaticEvidence

_STARTED = ({"kind": "harness_start"},)


def _ended(memory: MemoryUse | None, signal_name: str | None = None, returncode: int | None = 1) -> ChildOutcome:
    return ChildOutcome(returncode, False, 3.0, "", "", signal_name, memory)


def _raised(kind: str, message: str) -> tuple[dict, ...]:
    return (*_STARTED, {"kind": "application_start", "architecture": "ResNet50", "input_shape": [224, 224, 3]},
            {"kind": "exception", "type": kind, "message": message, "file": "solution.py", "line": 21})


def test_the_limit_follows_the_rubric_and_never_passes_the_machine() -> None:
    assert memory_limit_bytes(8, machine=64 * GIB) == 8 * GIB
    assert memory_limit_bytes(24, machine=16 * GIB) == 15 * GIB  # a reserve is left to the system
    settings = RunSettings(budget=RunBudget(memory_gib=2.5))
    assert settings.run_limits().memory_bytes == min(int(2.5 * GIB), memory_limit_bytes(2.5))


def test_a_rubric_s_run_table_may_raise_the_limit(tmp_path: Path) -> None:
    start = Path(load_rubric().source).read_text(encoding="utf-8")
    raised = tmp_path / "big.toml"
    raised.write_text(start.replace("[run]\n", "[run]\nmemory_gib = 14\n", 1), encoding="utf-8")
    assert load_rubric(raised).budget.memory_gib == 14.0


def test_the_watch_reads_this_process_s_memory() -> None:
    assert os.getpid() in process_tree(os.getpid())
    used, mark = resident(os.getpid())
    assert 0 < used <= mark * 2 and mark > 1 << 20


def test_tensorflow_refusing_a_tensor_is_the_memory_limit_with_the_tensor_s_shape() -> None:
    status, reason = classify(_ended(MemoryUse(12 * GIB, 11 * GIB)), _raised(
        "ResourceExhaustedError", "{{function_node __wrapped__Relu}} OOM when allocating tensor with "
        "shape[96,28,28,512] and type float on /job:localhost/replica:0/task:0/device:CPU:0 [Op:Relu]"))
    assert status is RunStatus.LIMIT
    assert reason.startswith("the run used more than 12 GiB of memory (the limit) at solution.py, line 21")
    assert "shape [96,28,28,512]" in reason and "while building ResNet50" in reason


def test_a_run_the_watch_stopped_ended_at_the_limit() -> None:
    status, reason = classify(_ended(MemoryUse(3 * GIB, int(3.2 * GIB), exceeded=True), "SIGKILL", -9), _STARTED)
    assert (status, reason) == (RunStatus.LIMIT, "the run used more than 3 GiB of memory (the limit)")


def test_a_crash_is_the_limit_only_near_the_limit() -> None:
    events = (*_STARTED, {"kind": "application_start", "architecture": "Xception", "input_shape": [299, 299, 3]})
    near, _ = classify(_ended(MemoryUse(8 * GIB, int(7.5 * GIB)), "SIGSEGV", -11), events)
    far, reason = classify(_ended(MemoryUse(8 * GIB, 2 * GIB), "SIGSEGV", -11), events)
    assert near is RunStatus.LIMIT and far is RunStatus.ERROR and "segmentation fault" in reason


def _evidence(status: RunStatus, reason: str) -> Evidence:
    return Evidence(RunResult(status, reason, None, 240.0, "", "", ()), StaticEvidence((), parsed=True), None, "s.py")


@pytest.mark.parametrize(("status", "reason", "named"), [
    (RunStatus.TIMEOUT, "did not finish within the time limit (1155 s); the first fit (line 40) had not finished",
     r"run did not finish within the time limit \(1155 s\)"),
    (RunStatus.LIMIT, "the run used more than 12 GiB of memory (the limit) while building ResNet50 and its weights",
     "stopped at the memory limit"),
    (RunStatus.INTERNAL_ERROR, "the grader's harness did not start: ...", "grading environment"),
])
def test_rubric_init_derives_nothing_from_a_run_a_limit_stopped(status: RunStatus, reason: str, named: str) -> None:
    with pytest.raises(UnfinishedRunError, match=named) as raised:
        derive(_evidence(status, reason), load_rubric(), "s.py")
    assert "no rubric was written" in str(raised.value) and reason in str(raised.value)


# ---------------------------------------------------------------- live, in the sandbox

_ALLOCATES = """\
import numpy as np
kept = []
while True:
    kept.append(np.ones(1 << 27))  # 1 GiB, written
"""
_FORKS = """\
import os, time
import numpy as np
for _ in range(3):
    if os.fork() == 0:  # each under the per-process limit, together over it
        block = np.ones(1 << 27)
        time.sleep(60)
        os._exit(0)
os.wait()
"""
_TENSORS = """\
import tensorflow as tf
kept = [tf.ones([256, 1024, 1024]) for _ in range(8)]  # 1 GiB each
"""


@pytest.mark.slow
@pytest.mark.parametrize(("script", "where"), [(_ALLOCATES, "line 4"), (_FORKS, ""),
                                                (_TENSORS, "line 2, allocating a tensor of shape [256,1024,1024]")])
def test_a_run_that_really_exhausts_memory_ends_at_the_limit(script: str, where: str, tmp_path: Path) -> None:
    from grader.run.runner import run_submission

    code = tmp_path / "hog.py"
    code.write_text(script)
    settings = RunSettings(budget=RunBudget(memory_gib=2.5, timeout_seconds=120), save_models=False)
    run = run_submission(code, settings)
    assert run.status is RunStatus.LIMIT, run.reason
    assert run.reason.startswith("the run used more than 2.5 GiB of memory (the limit)") and where in run.reason
    assert 1.5 * GIB < run.peak_memory < 4 * GIB


@pytest.mark.slow
def test_rubric_init_on_a_run_a_limit_stops_writes_no_rubric_and_names_it(tmp_path: Path) -> None:
    start = Path(load_rubric().source).read_text(encoding="utf-8")
    small = tmp_path / "small.toml"
    small.write_text(start.replace("[run]\n", "[run]\nmemory_gib = 2.0\n", 1), encoding="utf-8")
    solution = tmp_path / "solution.py"
    solution.write_text(textwrap.dedent(_ALLOCATES))
    out = tmp_path / "lab.toml"
    made = subprocess.run([sys.executable, "-m", "grader", "rubric", "init", str(solution), "--out", str(out),
                           "--rubric", str(small)], capture_output=True, text=True, cwd=tmp_path,
                          env={**os.environ, "NO_COLOR": "1"})
    assert made.returncode == 2 and not out.exists()
    assert "stopped at the memory limit (the run used more than 2 GiB" in made.stderr
    assert "raises memory_gib" in made.stderr



def test_the_bases_a_source_builds_are_known_before_the_run_with_or_without_their_top(tmp_path: Path) -> None:
    from grader.intake import read_program
    from grader.offline.prepare import _request_text, _requests
    from grader.run.runner import bases_built

    code = tmp_path / "lab.py"
    code.write_text(textwrap.dedent("""\
        import tensorflow as tf
        SIZE = 224
        a = tf.keras.applications.ResNet50(input_shape=(SIZE, SIZE, 3), include_top=False, weights="imagenet")
        b = tf.keras.applications.MobileNetV2(input_shape=(160, 160, 3), include_top=True)
        c = tf.keras.applications.VGG16(input_shape=(224, 224, 3), include_top=False, weights=None)
        """))
    built = bases_built(read_program(code))
    # The top is made (a calibration of MobileNetV2 with its top in the sandbox took 6 GiB resident);
    # a base without ImageNet weights needs no stand-in.
    assert built == (("ResNet50", (224, 224, 3), False), ("MobileNetV2", (160, 160, 3), True))
    requests = _requests(built)
    assert [_request_text(*request) for request in requests[-2:]] == ["ResNet50:224x224", "MobileNetV2:160x160:top"]
