"""Score a submission's answer sheet: written items against their concepts, code items by the
code checks that verify the same thing (their text kept as evidence)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from grader.answers.extract import AnswerText, read_document, split_items
from grader.answers.score import missing_answer, score_answer
from grader.errors import SubmissionError
from grader.results import AnswerScore, AnswerStatus, CheckResult, Submission
from grader.rubric import QuestionSpec, Rubric


def answer_source(submission: Submission) -> Path | None:
    """The document holding the answers: the answers file, else the notebook's Markdown cells."""
    if submission.answers is not None:
        return submission.answers
    if submission.code is not None and submission.code.suffix.lower() == ".ipynb":
        return submission.code
    return None


def read_items(submission: Submission) -> tuple[dict[str, AnswerText], str]:
    """The answer items of a submission, and a note when there is no readable document."""
    source = answer_source(submission)
    if source is None:
        return {}, "no answers document in the submission"
    try:
        return split_items(read_document(source)), ""
    except SubmissionError as error:
        return {}, str(error)


def score_sheet(rubric: Rubric, submission: Submission, checks: Sequence[CheckResult]) -> tuple[AnswerScore, ...]:
    """One ``AnswerScore`` per rubric question, in the rubric's order."""
    items, note = read_items(submission)
    results = []
    for question in rubric.questions:
        item = items.get(question.id)
        if question.kind == "code":
            results.append(linked_code_item(question, item, checks))
        elif item is None or not item.text.strip():
            missing = missing_answer(question)
            results.append(missing if not note else _with_reason(missing, note))
        else:
            results.append(score_answer(question, item.text))
    return tuple(results)


def _with_reason(score: AnswerScore, reason: str) -> AnswerScore:
    from dataclasses import replace

    return replace(score, reason=reason)


def linked_code_item(question: QuestionSpec, item: AnswerText | None, checks: Sequence[CheckResult]) -> AnswerScore:
    """A "show the code" item: judged by the code checks it names; its excerpt is kept as evidence."""
    by_id = {check.id: check for check in checks}
    verdicts = ", ".join(f"{check_id} {by_id[check_id].status.value}" for check_id in question.checks if check_id in by_id)
    excerpt = (item.text.strip()[:600] if item else "")
    return AnswerScore(
        id=question.id, points=0.0, max_points=question.points, status=AnswerStatus.LINKED if excerpt else AnswerStatus.MISSING,
        found=({"concept": "code excerpt", "sentence": excerpt},) if excerpt else (),
        missing=() if excerpt else ("code excerpt",), confidence=1.0, needs_review=False,
        reason=f"verified by the code checks: {verdicts}" + ("" if excerpt else "; no excerpt in the answers"))
