"""Static evidence: facts from the syntax tree, with lines, never by running the code."""

from __future__ import annotations

from pathlib import Path

from grader.intake import read_program
from grader.static import scan

from conftest import code_file


def test_facts_of_the_sample_sheet_style_lab() -> None:
    evidence = scan(read_program(code_file("sequential_idg")))
    application = evidence.of("application")[0]
    assert application.name == "MobileNetV2"
    assert application.details["input_shape"] == (160, 160, 3)
    assert application.details["include_top"] is False and application.target == "base_model"
    frozen = [f for f in evidence.of("trainable") if f.details["value"] is False and "loop_over" not in f.details]
    assert frozen[0].name == "base_model"
    loop = [f for f in evidence.of("trainable") if "loop_over" in f.details]
    assert loop[0].details["loop_over"] == "base_model.layers[:100]"  # the module constant fine_tune_at = 100, read
    assert [f.name for f in evidence.of("layer", "RandomRotation")] == ["RandomRotation"]
    assert evidence.of("model", "Sequential")[-1].details["layers"][:4] == ["Input", "data_augmentation", "base_model",
                                                                             "GlobalAveragePooling2D"]


def test_constant_arithmetic_is_folded_but_nothing_runs(tmp_path: Path) -> None:
    path = tmp_path / "lab.py"
    path.write_text("gen = ImageDataGenerator(rescale=1./255)\nx = Dense(2 ** 1000 ** 1000)\n")
    evidence = scan(read_program(path))
    assert evidence.of("data")[0].details["rescale"] == 1 / 255
    assert evidence.of("layer")[0].details["arg0"] == "2 ** 1000 ** 1000"  # kept as text, not computed


def test_unparsable_source_gives_no_facts(tmp_path: Path) -> None:
    path = tmp_path / "lab.py"
    path.write_text("model = (\n")
    evidence = scan(read_program(path))
    assert not evidence.parsed and evidence.facts == ()
