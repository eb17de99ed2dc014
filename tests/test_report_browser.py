"""The class report and a feedback page in a real browser (headless Chromium) at a laptop's width
and a phone's: nothing overflows sideways, and the review list and the charts are there."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.batch import fingerprints, save
from grader.discover import discover
from grader.grading import rescore
from grader.results import RunResult
from grader.run.settings import RunSettings

from conftest import RECORDINGS, REPOSITORY, SUBMISSIONS

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (.ci/run installs it)")
WIDTHS = (1280, 390)
# The page in a frame exactly WIDTH px wide (headless windows are at least 500 px wide), measured
# from outside once loaded: the layout's width against the frame's, and the images drawn.
FRAME = ("<!doctype html><html><body style='margin:0'><iframe id=page src='{src}' style='width:{width}px;"
         "height:1800px;border:0'></iframe><script>document.getElementById('page').addEventListener('load', () => {{"
         "const page = document.getElementById('page').contentWindow; document.body.setAttribute('data-probe', "
         "JSON.stringify({{scroll: page.document.documentElement.scrollWidth, window: page.innerWidth, "
         "images: Array.from(page.document.images).filter(i => i.naturalWidth > 0).length}})); "
         "document.body.setAttribute('data-dom', page.document.body.innerText.slice(0, 20000));}});</script></body></html>")


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory, rubric) -> Path:  # noqa: ANN001
    """A class graded from recordings (a correct lab, a double-scaling bug, a long-named student
    with a flagged answer), reported by `grade` as an instructor would get it."""
    root = tmp_path_factory.mktemp("class")
    names = {"alice": "tutorial", "bob_double_scaling": "mutant_double_scaling",
             "a_student_with_an_exceptionally_long_identifier_from_the_lms_12345": "mutant_no_recompile"}
    answers = (REPOSITORY / "examples" / "submissions" / "alice_correct" / "answers.md").read_text()
    settings = RunSettings(budget=rubric.budget)
    for student, fixture in names.items():
        shutil.copytree(SUBMISSIONS / fixture, root / "class" / student)
        text = answers if student == "alice" else answers.replace(answers.split("## Answer 3")[1].split("##")[0],
                                                                  "\nFreezing lets the base weights update while the classifier stays fixed.\n\n")
        (root / "class" / student / "answers.md").write_text(text)
    for submission in discover(root / "class").submissions:
        run = json.loads((RECORDINGS / f"{names[submission.id]}.json").read_text())["run"]
        grade = rescore(submission, RunResult.from_dict(run), rubric, settings)
        save(root / "out", submission, grade, run, fingerprints(submission, rubric, settings))
    result = subprocess.run([sys.executable, "-m", "grader", str(root / "class"), "--out", str(root / "out")],
                            capture_output=True, text=True, env={**os.environ, "NO_COLOR": "1"})
    assert result.returncode == 0 and "reused 3" in result.stdout, result.stdout + result.stderr
    return root / "out"


def _render(page: Path, width: int, tmp_path: Path) -> tuple[dict, str]:
    """The page's measures at ``width`` px, and its text, as Chromium laid it out."""
    frame = page.parent / f".frame-{width}.html"
    frame.write_text(FRAME.format(src=page.name, width=width))
    try:
        dom = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files",
                              "--disable-background-networking", "--disable-component-update", "--no-first-run",
                              f"--user-data-dir={tmp_path / 'profile'}", f"--window-size={max(width, 500) + 40},2000",
                              "--virtual-time-budget=5000", "--dump-dom", frame.as_uri()],
                             capture_output=True, text=True, timeout=120).stdout
    finally:
        frame.unlink()
    probe = re.search(r'data-probe="([^"]+)"', dom)
    assert probe, dom[-500:]
    text = re.search(r'data-dom="([^"]*)"', dom)
    return json.loads(probe.group(1).replace("&quot;", '"')), html.unescape(text.group(1) if text else "")


@pytest.mark.parametrize("width", WIDTHS)
def test_the_class_report_fits_and_shows_the_review_list_and_charts(report: Path, width: int, tmp_path: Path) -> None:
    probe, dom = _render(report / "report.html", width, tmp_path)
    assert probe["scroll"] <= probe["window"], probe  # nothing overflows sideways
    assert probe["images"] >= 3  # scores, training curves, pass rates: all drawn
    assert probe["window"] == width
    assert "To review (" in dom and "a_student_with_an_exceptionally_long_identifier_from_the_lms_12345" in dom
    assert "wrong way round" in dom  # the flagged answer is in the review list, with why


@pytest.mark.parametrize("width", WIDTHS)
def test_a_feedback_page_fits(report: Path, width: int, tmp_path: Path) -> None:
    page = report / "feedback" / "bob_double_scaling.html"
    probe, dom = _render(page, width, tmp_path)
    assert probe["scroll"] <= probe["window"] == width, probe
    assert "q1. " in dom and "input.range" in dom  # questions by their titles; the failing check with its hint
