"""The trusted cross-check: the run's record against the models it saved (the trace loses)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from grader.evidence import Evidence
from grader.shared.describe import file_digest
from grader.run.integrity import artifact_digests, inspection_mismatches, reconcile
from grader.results import Integrity, RunResult, RunStatus
from grader.scoring import score_checks
from grader.static import StaticEvidence


def _model(base_trainable: list[int]) -> dict:
    return {"name": "m", "trainable": True, "trainable_weights": 4 + 2 * len(base_trainable), "layers": [
        {"index": 0, "path": "mobilenetv2_1.00_160", "class": "Functional", "trainable": bool(base_trainable),
         "base": {"trainable_layer_indices": base_trainable, "layer_count": 154}},
        {"index": 1, "path": "dense", "class": "Dense", "trainable": True, "config": {"units": 1}}]}


def _weights(base: str, dense: str, mean: str = "m0") -> dict:
    return {"mobilenetv2_1.00_160/Conv1": {"kernel": base},
            "mobilenetv2_1.00_160/bn_Conv1": {"gamma": "g0", "beta": "b0", "moving_mean": mean, "moving_variance": "v0"},
            "dense": {"kernel": dense, "bias": dense}}


def _events(recorded_start: dict, claim: dict) -> tuple[dict, ...]:
    return ({"seq": 1, "kind": "compile", "line": 10, "model_id": 7, "model": recorded_start,
             "artifact": {"file": "01-compile.keras", "sha256": "x"}},
            {"seq": 2, "kind": "fit_start", "phase": 1, "line": 11, "model_id": 7, "model": recorded_start},
            {"seq": 3, "kind": "fit", "phase": 1, "line": 11, "model_id": 7, "weights": claim,
             "artifact": {"file": "02-fit1.keras", "sha256": "y"}})


FROZEN_CLAIM = {"changed": ["dense"], "unchanged": ["mobilenetv2_1.00_160/Conv1", "mobilenetv2_1.00_160/bn_Conv1"],
                "statistics_changed": [], "created_during_fit": []}


def _inspected(base_trainable: list[int], base_after: str, mean_after: str = "m0") -> dict:
    return {"01-compile.keras": {"file": "01-compile.keras", "model": _model(base_trainable),
                                 "weights": _weights("k0", "d0")},
            "02-fit1.keras": {"file": "02-fit1.keras", "model": _model(base_trainable),
                              "weights": _weights(base_after, "d1", mean_after)}}


def test_a_record_that_matches_its_saved_models_is_confirmed_and_untouched() -> None:
    events = _events(_model([]), FROZEN_CLAIM)
    corrected, integrity = reconcile(events, _inspected([], "k0"))
    assert integrity == Integrity("confirmed", (), 2)
    assert corrected == events


def test_a_record_claiming_a_frozen_base_loses_to_the_saved_models() -> None:
    # The run trained the whole base but its record says frozen and unchanged.
    corrected, integrity = reconcile(_events(_model([]), FROZEN_CLAIM), _inspected([1, 2, 3], "k1"))
    assert integrity.status == "corrected"
    assert any("base.trainable_layer_indices" in note and "[1, 2, 3]" in note for note in integrity.notes)
    assert any("weights changed" in note and "mobilenetv2_1.00_160/Conv1" in note for note in integrity.notes)
    start, fit = corrected[1], corrected[2]
    assert start["model"]["layers"][0]["base"]["trainable_layer_indices"] == [1, 2, 3]
    assert "mobilenetv2_1.00_160/Conv1" in fit["weights"]["changed"]
    assert "mobilenetv2_1.00_160/Conv1" not in fit["weights"]["unchanged"]


def test_batchnorm_statistics_are_compared_apart_from_parameters() -> None:
    corrected, integrity = reconcile(_events(_model([]), FROZEN_CLAIM), _inspected([], "k0", mean_after="m1"))
    assert integrity.status == "corrected"
    assert corrected[2]["weights"]["statistics_changed"] == ["mobilenetv2_1.00_160/bn_Conv1"]
    assert "mobilenetv2_1.00_160/bn_Conv1" in corrected[2]["weights"]["unchanged"]  # its parameters did not move


def test_models_that_cannot_be_loaded_safely_leave_the_record_unverified() -> None:
    inspected = {name: {"file": name, "error": "ValueError: Requested the deserialization of a `Lambda` layer"}
                 for name in ("01-compile.keras", "02-fit1.keras")}
    events = _events(_model([]), FROZEN_CLAIM)
    corrected, integrity = reconcile(events, inspected)
    assert integrity.status == "unverified" and "Lambda" in integrity.notes[0]
    assert corrected == events


def test_a_saved_model_replaced_after_saving_is_tampering(tmp_path: Path) -> None:
    (tmp_path / "01-compile.keras").write_bytes(b"first")
    (tmp_path / "02-fit1.keras").write_bytes(b"second")
    events = ({"kind": "compile", "artifact": {"file": "01-compile.keras", "sha256": file_digest(tmp_path / "01-compile.keras")}},
              {"kind": "fit", "artifact": {"file": "02-fit1.keras", "sha256": file_digest(tmp_path / "02-fit1.keras")}})
    assert artifact_digests(tmp_path, events) == ([tmp_path / "01-compile.keras", tmp_path / "02-fit1.keras"], [])
    (tmp_path / "02-fit1.keras").write_bytes(b"first")
    intact, notes = artifact_digests(tmp_path, events)
    assert intact == [tmp_path / "01-compile.keras"]
    assert notes == ["the saved model 02-fit1.keras was replaced after the grader saved it"]
    (tmp_path / "01-compile.keras").unlink()
    (tmp_path / "01-compile.keras").symlink_to("/dev/zero")  # never read through a link
    assert artifact_digests(tmp_path, events)[0] == []


def test_tampered_saved_models_earn_no_code_points(rubric) -> None:  # noqa: ANN001
    _, integrity = reconcile((), {}, ["the saved model 02-fit1.keras was replaced after the grader saved it"])
    run = RunResult(RunStatus.COMPLETED, "ran to its end", 0, 1.0, "", "", (), integrity=integrity)
    checks = score_checks(Evidence(run, StaticEvidence((), parsed=True), None, "transfer.py"), rubric)
    assert sum(check.points for check in checks) == 0
    assert all("replaced after the grader saved it" in check.message for check in checks)


@pytest.fixture(scope="module")
def saved_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two tiny models saved by Keras: a plain one, and one with a Lambda layer (unsafe to load)."""
    import keras

    folder = tmp_path_factory.mktemp("saved")
    inputs = keras.Input((4,))
    plain = keras.Model(inputs, keras.layers.Dense(1, name="out")(keras.layers.Dense(3, name="hidden")(inputs)))
    plain.get_layer("hidden").trainable = False
    plain.save(folder / "01-compile.keras")
    lam = keras.Sequential([keras.Input((4,)), keras.layers.Lambda(lambda x: x * 2), keras.layers.Dense(1)])
    lam.save(folder / "02-compile.keras")
    return folder


@pytest.mark.slow
def test_the_inspector_derives_layers_and_flags_itself_and_refuses_unsafe_files(saved_models: Path,
                                                                                 tmp_path: Path) -> None:
    request = {"artifacts": ["01-compile.keras", "02-compile.keras", "03-fit1.keras"], "bases": {}}
    subprocess.run([sys.executable, "-m", "grader.run.inspector", str(saved_models), str(tmp_path), str(tmp_path / "out.json")],
                   input=json.dumps(request), text=True, check=True, timeout=300)
    plain, unsafe, missing = json.loads((tmp_path / "out.json").read_text())["models"]
    assert [(layer["path"], layer["trainable"]) for layer in plain["model"]["layers"]] == [("hidden", False), ("out", True)]
    assert set(plain["weights"]) == {"hidden", "out"} and set(plain["weights"]["out"]) == {"kernel", "bias"}
    assert plain["sha256"] == file_digest(saved_models / "01-compile.keras")
    assert "error" in unsafe and "`Lambda` layer" in unsafe["error"]
    assert missing == {"file": "03-fit1.keras", "error": "not found"}


def test_a_model_the_inspector_read_differently_is_tampering() -> None:
    events = ({"kind": "compile", "artifact": {"file": "01-compile.keras", "sha256": "aaa"}},
              {"kind": "fit", "artifact": {"file": "02-fit1.keras", "sha256": "bbb"}})
    inspected = {"01-compile.keras": {"file": "01-compile.keras", "sha256": "zzz", "model": {}, "weights": {}},
                 "02-fit1.keras": {"file": "02-fit1.keras", "error": "not found"}}
    assert inspection_mismatches(events, inspected) == [
        "the saved model 01-compile.keras was changed after the grader saved it",
        "the saved model 02-fit1.keras was moved away while the run went on"]
    inspected["01-compile.keras"]["sha256"] = "aaa"
    del inspected["02-fit1.keras"]
    assert inspection_mismatches(events, inspected) == []
