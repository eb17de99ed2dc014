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


def _facts(tmp_path: Path, source: str):  # noqa: ANN202
    path = tmp_path / "lab.py"
    path.write_text(source)
    return scan(read_program(path))


def test_module_constants_are_followed_and_dead_branches_left_out(tmp_path: Path) -> None:
    evidence = _facts(tmp_path, "NUM_CLASSES = 1\nIMG = (160, 160)\nSHAPE = IMG + (3,)\nTRAIN = False\n"
                                "base = MobileNetV2(input_shape=SHAPE)\nout = Dense(NUM_CLASSES)\n"
                                "if TRAIN:\n    extra = Dense(64)\nif not TRAIN:\n    kept = Dropout(0.5)\n"
                                "RATE = 0.2\ndef head(RATE=0.5):\n    return Dropout(RATE)\n")
    assert evidence.of("application")[0].details["input_shape"] == (160, 160, 3)
    assert [fact.details["arg0"] for fact in evidence.of("layer", "Dense")] == [1]  # Dense(64) never runs
    # A parameter of the same name makes RATE ambiguous: it is left as written, never guessed.
    assert [fact.details["arg0"] for fact in evidence.of("layer", "Dropout")] == [0.5, "RATE"]


def test_folding_never_builds_big_values_from_student_source(tmp_path: Path) -> None:
    evidence = _facts(tmp_path, 'PAD = "a" * 10000000000\nA = 4294967296\nB = A * A\nC = B * B\nD = C * C\n'
                                "x = Dense(D)\ny = Dense(len(PAD))\n")
    assert [fact.details["arg0"] for fact in evidence.of("layer", "Dense")] == ["D", "len(PAD)"]


def test_a_layer_only_used_in_a_loop_does_not_reach_the_model(tmp_path: Path) -> None:
    evidence = _facts(tmp_path, "augment = Sequential([RandomFlip('horizontal')])\n"
                                "for image in images:\n    shown = augment(image)\n"
                                "flip = RandomFlip('horizontal')\nx = flip(inputs)\nmodel = Model(inputs, x)\n")
    reach = [fact.details["reaches_model"] for fact in evidence.of("layer", "RandomFlip")]
    assert reach == [False, True]
