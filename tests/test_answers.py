"""Written answers: splitting documents into items, and scoring them against the rubric."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from grader.answers.extract import read_document, split_items
from grader.answers.score import score_answer
from grader.answers.text import find_phrase, stems
from grader.rubric import Concept, load_rubric

# A copy of ../shared/lab/sample_answer_sheet.txt, so that the suite needs nothing outside the repository.
SAMPLE = Path(__file__).parent / "fixtures" / "lab" / "sample_answer_sheet.txt"
SHEET = "Answer 1: Transfer learning reuses a pretrained model.\nAnswer 2: Fine-tuning unfreezes top layers.\n"


@pytest.fixture(scope="module")
def questions():
    return {question.id: question for question in load_rubric().questions}


def test_sample_sheet_splits_into_its_eight_answers() -> None:
    items = split_items(read_document(SAMPLE))
    assert list(items) == [f"q{n}" for n in range(1, 9)]
    assert items["q1"].text.startswith("Transfer Learning involves")
    assert items["q6"].text.count("base_model.trainable = False") == 1
    assert "Epoch" not in items["q8"].text  # the run log after "Outputs:" is not part of answer 8


def test_sample_sheet_written_answers_get_points_with_evidence(questions) -> None:  # noqa: ANN001
    items = split_items(read_document(SAMPLE))
    for item in ("q1", "q2", "q3", "q4"):
        score = score_answer(questions[item], items[item].text)
        assert score.points >= 0.7 * score.max_points, (item, score.missing)
        assert all(found["sentence"] in items[item].text for found in score.found)


@pytest.mark.parametrize("text", ["", "   ", "?", "Why do we freeze the base model during the first phase of training?"])
def test_blank_and_restated_answers_score_nothing_without_calling_for_a_person(questions, text: str) -> None:  # noqa: ANN001
    # Their zero is certain: a reviewer's time goes to the answers whose score is in doubt.
    score = score_answer(questions["q3"], text)
    assert score.points == 0 and not score.needs_review
    assert score.reason in {"the answer is blank", "restates the question"}


@pytest.mark.parametrize("text", [
    "Freezing lets the base weights update so the model learns the new data.",
    "We freeze the base so that its weights can adapt faster to our dataset while the classifier stays fixed.",
])
def test_backwards_answers_earn_at_most_forty_percent_and_are_flagged(questions, text: str) -> None:  # noqa: ANN001
    score = score_answer(questions["q3"], text)
    assert score.points <= 0.4 * score.max_points
    assert score.needs_review and "wrong way round" in score.reason
    # The backwards sentence is near its concept by construction: that is not a second doubt.
    assert "nearly states" not in score.reason


def test_reordered_and_missing_items(tmp_path: Path) -> None:
    items = split_items("Q3) third\nsome more\n\nQ1. first\n\nQ4 - fourth")
    assert {key: value.text for key, value in items.items()} == {"q1": "first", "q3": "third\nsome more", "q4": "fourth"}


def test_labelled_answers_win_over_repeated_questions() -> None:
    text = "Question 1: What is transfer learning?\nAnswer 1: Reusing a model.\nQuestion 2: Why?\nAnswer 2: Less data."
    items = split_items(text)
    assert items["q1"].text.startswith("Reusing") and items["q2"].text.startswith("Less data")


def test_numbered_lists_inside_answers_do_not_split_items() -> None:
    items = split_items("## 1\nTwo reasons:\n1. less data\n2. faster\n## 2\nFine-tuning.")
    assert set(items) == {"q1", "q2"}


def _docx(path: Path) -> None:
    import docx

    document = docx.Document()
    for line in SHEET.splitlines():
        document.add_paragraph(line)
    document.save(str(path))


def _pdf(path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with matplotlib.rc_context({"pdf.fonttype": 42}):
        figure = plt.figure()
        for row, line in enumerate(SHEET.splitlines()):
            figure.text(0.05, 0.9 - 0.1 * row, line)
        figure.savefig(path)
        plt.close(figure)


def _notebook(path: Path) -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell("import tensorflow"),
                      *[nbformat.v4.new_markdown_cell(line) for line in SHEET.splitlines()]]
    nbformat.write(notebook, path)


@pytest.mark.parametrize("suffix", [".md", ".txt", ".docx", ".pdf", ".ipynb"])
def test_every_document_format_is_read(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"answers{suffix}"
    {".docx": _docx, ".pdf": _pdf, ".ipynb": _notebook}.get(suffix, lambda p: p.write_text(SHEET))(path)
    items = split_items(read_document(path))
    assert "pretrained" in items["q1"].text and "unfreezes" in items["q2"].text


def test_inflections_match() -> None:
    assert find_phrase("freeze the base", stems("We froze nothing; freezing the base is key")) is not None
    assert find_phrase("learning rate is reduced", stems("the learning rates are reduced")) is not None


def test_negation_blocks_a_match_unless_the_phrase_says_it() -> None:
    negated = find_phrase("preserve the features", stems("Freezing does not preserve the features."))
    assert negated is not None and negated.negated
    assert not find_phrase("not updated", stems("The weights are not updated.")).negated


def test_synonyms_come_from_the_concept_phrases(questions) -> None:  # noqa: ANN001
    concept = Concept("reduces overfitting", 1.0, ("overfitting", "memorise", "regularization"))
    from grader.answers.score import find_concept

    assert find_concept(concept, ["It stops the model from memorising the training set."]) is not None
    assert find_concept(concept, ["It makes the images prettier."]) is None


def test_paraphrases_state_concepts_by_meaning(questions) -> None:  # noqa: ANN001
    # None of these sentences holds one of the rubric's phrases; each says a concept in other words.
    answer = ("Freezing means the base's weights don't move, so everything it learned on ImageNet is kept. "
              "The new head starts random, so its big noisy updates would wreck the pretrained filters.")
    score = score_answer(questions["q3"], answer)
    found = {item["concept"]: item["sentence"] for item in score.found}
    assert "weights are not updated" in found and "don't move" in found["weights are not updated"]
    assert "preserves the learned features" in found
    assert "avoids destroying them with large gradients from the new head" in found
    assert score.points >= 0.7 * score.max_points and not score.needs_review


def test_a_denial_is_not_a_statement(questions) -> None:  # noqa: ANN001
    stated = score_answer(questions["q3"], "Freezing keeps what the base learned on ImageNet intact for later.")
    denied = score_answer(questions["q3"], "Freezing does not keep what the base learned on ImageNet at all.")
    assert "preserves the learned features" in {item["concept"] for item in stated.found}
    assert "preserves the learned features" not in {item["concept"] for item in denied.found}
    assert denied.needs_review and "denies" in denied.reason


def test_what_would_happen_is_not_a_contradiction(questions) -> None:  # noqa: ANN001
    conditional = ("If the base were trainable from the start, the random head would send large updates into it "
                   "and the pretrained weights would be overwritten.")
    assert "wrong way round" not in score_answer(questions["q3"], conditional).reason
    compared = "Fine-tuning unfreezes the top layers and trains them with a much lower learning rate than before."
    assert "wrong way round" not in score_answer(questions["q2"], compared).reason
    backwards = "Fine-tuning trains the bottom layers with a higher learning rate than the first phase."
    assert "wrong way round" in score_answer(questions["q2"], backwards).reason


def test_what_the_head_does_is_no_contradiction_of_what_the_base_does(questions) -> None:  # noqa: ANN001
    # The lab's contradictions say the base trains; said of the new head, the same words are right.
    head = "Freezing keeps the base as it is: only the head's weights change while the head is trained."
    assert "wrong way round" not in score_answer(questions["q3"], head).reason
    base = "Freezing keeps the head as it is: only the base weights change during the first phase."
    assert "wrong way round" in score_answer(questions["q3"], base).reason


def test_a_negation_that_is_the_subject_reaches_its_verb() -> None:
    from grader.answers.meaning import find_meaning
    sentence = "None of the 2.2 million parameters in MobileNetV2 get updated by the optimizer."
    assert not find_meaning("not updated", sentence).negated
    assert find_meaning("updated", sentence).negated
    # A plain negation still reaches only the words just before it.
    plain = "We did not expect that after ten epochs on the small dataset the weights got updated."
    assert not find_meaning("updated", plain).negated


def test_a_thin_on_topic_answer_is_flagged_and_a_clear_one_is_not(questions) -> None:  # noqa: ANN001
    thin = score_answer(questions["q3"], "Freezing is important for transfer learning to work properly, otherwise it is bad.")
    assert thin.points == 0 and thin.needs_review and thin.confidence < 1
    clear = score_answer(questions["q4"], "Random flips and rotations of the training images enlarge the dataset, "
                                          "which reduces overfitting and helps the model generalize to unseen images.")
    assert clear.points == clear.max_points and not clear.needs_review and clear.confidence == 1.0


def test_senses_fold_inflection_synonyms_and_negation() -> None:
    from grader.answers.meaning import find_meaning

    assert find_meaning("weights are not updated", "the parameters stay unchanged") is not None
    assert not find_meaning("weights are not updated", "the parameters stay unchanged").negated
    assert find_meaning("weights are not updated", "the weights keep changing").negated
    assert find_meaning("lower learning rate", "a step size ten times smaller") is not None
    assert find_meaning("lower learning rate", "the step size and the batch") is None
    # Words of the question itself are a restatement, not evidence.
    assert find_meaning("pretrained model", "we use a pretrained model", given=frozenset({"pretrain", "model"})) is None
