"""The review page in a real browser (Debian's chromium through chromedriver and Selenium): a person
grades one answer with the keyboard, accepts a group, reloads and finds both kept; `grade` run
afterwards writes them into grades.csv and results.json without running anything. Screenshots at a
laptop's and a phone's width (``--update-goldens`` copies them into docs/ for the README)."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from grader.desk import lay_out, student_key
from grader.instructor import open_class
from grader.web.app import create_app
from grader.web.serve import free_port

from classroom import MODEL_ANSWERS, grade_class, with_answer
from conftest import REPOSITORY

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(CHROMIUM is None or DRIVER is None,
                                reason="chromium and chromium-driver are not installed (.ci/run installs them)")
TOKEN = "a-secret-for-the-browser"
BACKWARDS = "Freezing lets the base weights update while the classifier stays fixed."


@pytest.fixture()
def graded(tmp_path: Path, rubric):  # noqa: ANN001, ANN201
    plan = {"alice": ("tutorial", MODEL_ANSWERS), "carol": ("tutorial", MODEL_ANSWERS),
            "erin": ("mutant_crash_halfway", MODEL_ANSWERS), "bob": ("tutorial", with_answer(3, BACKWARDS)),
            "dave": ("mutant_double_scaling", with_answer(4, "It makes more pictures so the model sees more."))}
    return grade_class(tmp_path, rubric, plan)


@pytest.fixture()
def page(graded) -> Iterator[str]:  # noqa: ANN001
    """The review page served on a free loopback port for the test's length; its first address."""
    import uvicorn

    _, out = graded
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(out, TOKEN), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def _browser(tmp_path: Path, width: int = 1280, phone: bool = False):  # noqa: ANN202
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-dev-shm-usage",
                 f"--user-data-dir={tmp_path / f'profile-{width}'}", f"--window-size={width},1100"):
        options.add_argument(flag)
    if phone:
        options.add_experimental_option("mobileEmulation", {"deviceMetrics": {"width": width, "height": 844,
                                                                              "pixelRatio": 1}})
    return webdriver.Chrome(service=Service(DRIVER), options=options)


def _wait(browser, condition, seconds: float = 15):  # noqa: ANN001, ANN202
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, seconds).until(condition)


def _status(browser) -> str:  # noqa: ANN001
    return browser.find_element("id", "status").text


def test_grade_with_the_keyboard_accept_a_group_reload_and_regrade(graded, page, tmp_path: Path,  # noqa: ANN001
                                                                  update_goldens: bool) -> None:
    from selenium.webdriver.common.keys import Keys

    folder, out = graded
    laid = lay_out(open_class(out))
    group = next(g for g in laid.groups if g.item == "q3")
    browser = _browser(tmp_path)
    try:
        browser.get(f"{page}/?token={TOKEN}")  # the address grade review --serve prints
        _wait(browser, lambda b: "/item/" in b.current_url)
        browser.get(f"{page}/item/{student_key('bob')}/q3")
        body = browser.find_element("tag name", "body")
        body.send_keys("s")  # to the score box
        points = browser.switch_to.active_element
        assert points.get_attribute("id") == "points"
        points.send_keys(Keys.CONTROL, "a")
        points.send_keys("3", Keys.ENTER)  # save: recorded without a reload, then on to the next item
        _wait(browser, lambda b: "/item/" in b.current_url and student_key("bob") not in b.current_url)
        browser.get(f"{page}/item/{student_key(group.students[0])}/q3")
        assert len(browser.find_elements("css selector", "#group input.member:checked")) == len(group.students) - 1
        browser.find_element("tag name", "body").send_keys("a")  # accept, for the whole group
        _wait(browser, lambda b: student_key(group.students[0]) not in b.current_url)
        browser.get(f"{page}/item/{student_key('bob')}/q3")
        browser.refresh()  # a reload shows what was kept
        assert _status(browser).startswith("Decided: 3") and browser.find_element("id", "points").get_attribute(
            "value") == "3"
        for student in group.students:
            browser.get(f"{page}/item/{student_key(student)}/q3")
            assert _status(browser).startswith("Accepted"), student
        assert browser.find_element("id", "decided").text == str(1 + len(group.students))
        browser.get(f"{page}/item/{student_key('dave')}/q4")
        _shoot(browser, tmp_path / "review.png", update_goldens, "review.png")
    finally:
        browser.quit()
    result = subprocess.run([sys.executable, "-m", "grader", str(folder), "--out", str(out)], capture_output=True,
                            text=True, env={**os.environ, "NO_COLOR": "1"})
    assert result.returncode == 0 and "ran 0," in result.stdout, result.stdout + result.stderr
    rows = {row["id"]: row for row in csv.DictReader((out / "grades.csv").open())}
    assert rows["bob"]["q3"] == "3.0" and "q3 (automatic" in rows["bob"]["overridden"]
    results = {s["id"]: s for s in json.loads((out / "results.json").read_text())["submissions"]}
    for student in group.students:
        q3 = next(a for a in results[student]["answers"] if a["id"] == "q3")
        assert q3["override"]["kind"] == "accept" and q3["points"] == q3["override"]["automatic"]


@pytest.mark.parametrize("width", (1280, 390))
def test_the_page_fits_a_laptop_and_a_phone(graded, page, tmp_path: Path, width: int,  # noqa: ANN001
                                            update_goldens: bool) -> None:
    _, out = graded
    browser = _browser(tmp_path, width, phone=width < 500)
    try:
        browser.get(f"{page}/?token={TOKEN}")
        _wait(browser, lambda b: "/item/" in b.current_url)
        browser.get(f"{page}/item/{student_key('erin')}/q3")
        layout = browser.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
        assert layout[0] <= layout[1], f"the page is wider than the screen at {width} px: {layout}"
        for control in ("points", "comment", "accept", "save", "next"):
            assert browser.find_element("id", control).is_displayed()
        _shoot(browser, tmp_path / f"review-{width}.png", update_goldens and width < 500, "review-phone.png")
    finally:
        browser.quit()


def _shoot(browser, path: Path, keep: bool, name: str) -> None:  # noqa: ANN001
    """A screenshot of the page; with ``--update-goldens`` it replaces the README's."""
    browser.save_screenshot(str(path))
    assert path.stat().st_size > 10_000
    if keep:
        shutil.copyfile(path, REPOSITORY / "docs" / name)
