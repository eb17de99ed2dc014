"""The review page's web adapter and its JSON API, through Starlette's test client (no browser):
who may come in, what a student's text becomes on the page, and what a decision posted does.
A real server on loopback checks where the page listens."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from grader.decisions import DecisionStore
from grader.desk import lay_out, student_key
from grader.instructor import open_class
from grader.web.app import create_app

from classroom import MODEL_ANSWERS, grade_class, with_answer

TOKEN = "a-secret-for-tests"
HOSTILE = 'Freezing matters <script>alert("x")</script> and <img src=x onerror="alert(1)"> " onmouseover="alert(2)'
BACKWARDS = "Freezing lets the base weights update while the classifier stays fixed."


@pytest.fixture()
def graded(tmp_path: Path, rubric):  # noqa: ANN001, ANN201
    """Four students: alice and carol hand in the same answers (a group), bob answers q3 the wrong
    way round, dave writes markup in q3; erin's script crashes halfway (code checks in doubt)."""
    plan = {"alice": ("tutorial", MODEL_ANSWERS), "carol": ("tutorial", MODEL_ANSWERS),
            "bob": ("tutorial", with_answer(3, BACKWARDS)), "dave": ("tutorial", with_answer(3, HOSTILE)),
            "erin": ("mutant_crash_halfway", MODEL_ANSWERS)}
    return grade_class(tmp_path, rubric, plan)


def _client(out: Path, names: bool = False) -> TestClient:
    client = TestClient(create_app(out, TOKEN, names=names), follow_redirects=False)
    response = client.get(f"/?token={TOKEN}")
    assert response.status_code == 303 and "grader_review" in response.headers["set-cookie"]
    assert "httponly" in response.headers["set-cookie"].lower() and "samesite=strict" in response.headers["set-cookie"].lower()
    return client


def _csrf(client: TestClient) -> str:
    page = client.get(client.get("/").headers["location"])
    return re.search(r'name="review-token" content="([0-9a-f]+)"', page.text).group(1)


def test_a_request_without_the_token_is_refused(graded) -> None:  # noqa: ANN001
    _, out = graded
    stranger = TestClient(create_app(out, TOKEN))
    for path in ("/", "/api/queue", f"/item/{student_key('bob')}/q3", "/static/review.js"):
        assert stranger.get(path).status_code == 403
    assert stranger.get("/?token=wrong").status_code == 403
    assert stranger.post("/api/decisions", json={"key": student_key("bob"), "item": "q3", "points": 9}).status_code == 403
    assert stranger.get("/api/queue", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert DecisionStore(out).history() == []


def test_a_change_with_the_cookie_needs_the_pages_token_too(graded) -> None:  # noqa: ANN001
    _, out = graded
    client = _client(out)
    posted = {"key": student_key("bob"), "item": "q3", "kind": "override", "points": 7}
    assert client.post("/api/decisions", json=posted).status_code == 403  # a cross-site form would look so
    assert client.post("/api/decisions", json=posted, headers={"X-Review-Token": _csrf(client)}).status_code == 200
    assert DecisionStore(out).current()[("bob", "q3")].points == 7


def test_a_students_markup_is_shown_as_text(graded) -> None:  # noqa: ANN001
    _, out = graded
    client = _client(out)
    page = client.get(f"/item/{student_key('dave')}/q3")
    assert page.status_code == 200
    assert "<script>alert" not in page.text and "<img src=x" not in page.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page.text or "&lt;script&gt;alert(&quot;x&quot;)" in page.text
    assert 'onmouseover="alert(2)' not in page.text and "onerror=\"alert(1)\"" not in page.text
    assert "script-src" not in page.headers["content-security-policy"] and "default-src 'self'" in \
        page.headers["content-security-policy"]  # and no inline script runs even if one slipped through
    detail = client.get(f"/api/items/{student_key('dave')}/q3").json()
    assert HOSTILE in "".join(segment["text"] for segment in detail["segments"])  # the API keeps the text as it is


def test_names_are_hidden_unless_asked(graded) -> None:  # noqa: ANN001
    _, out = graded
    hidden = _client(out)
    page = hidden.get(f"/item/{student_key('bob')}/q3").text
    queue = hidden.get("/api/queue").json()
    assert "bob" not in page.lower().replace("bobbing", "") and all("student" not in item for item in queue["items"])
    assert re.search(r"Student \d", page)
    shown = _client(out, names=True)
    assert ">bob<" in shown.get(f"/item/{student_key('bob')}/q3").text.replace("</span>", "<")
    assert {item["student"] for item in shown.get("/api/queue").json()["items"]} >= {"alice", "bob", "erin"}


def test_the_queue_is_in_review_order_with_progress(graded) -> None:  # noqa: ANN001
    _, out = graded
    queue = _client(out).get("/api/queue").json()
    errors = [item["expected_error"] for item in queue["items"]]
    assert errors == sorted(errors, reverse=True)
    assert queue["progress"] == {"decided": 0, "total": len(errors), "budget_end": -(-len(errors) // 5)}
    assert {item["kind"] for item in queue["items"]} == {"answer", "check"}  # erin's checks are in doubt


def test_a_failed_code_check_shows_the_lines_it_names(graded) -> None:  # noqa: ANN001
    _, out = graded
    laid = lay_out(open_class(out))
    located = [e for e in laid.entries if e.kind == "check" and e.student == "erin"]
    client = _client(out)
    details = [client.get(f"/api/items/{e.key}/{e.item}").json() for e in located]
    with_code = [d for d in details if d["code"] and d["code"]["lines"]]
    assert with_code, [d["message"] for d in details]
    named = [line for line in with_code[0]["code"]["lines"] if line["named"]]
    source = (out.parent / "class" / "erin" / "transfer.py").read_text().splitlines()
    assert len(named) == 1 and named[0]["text"] == source[named[0]["number"] - 1]


def test_a_group_is_decided_at_once_and_like_answers_are_suggested(graded) -> None:  # noqa: ANN001
    _, out = graded
    client = _client(out, names=True)
    token = _csrf(client)
    laid = lay_out(open_class(out))
    group = next(g for g in laid.groups if g.item == "q3")  # the same model answer, handed in three times
    assert set(group.students) == {"alice", "carol", "erin"}
    leader, *others = group.students
    detail = client.get(f"/api/items/{student_key(leader)}/q3").json()
    assert [member["student"] for member in detail["group"]] == others
    posted = {"key": student_key(leader), "item": "q3", "kind": "accept", "with": [student_key(o) for o in others]}
    answer = client.post("/api/decisions", json=posted, headers={"X-Review-Token": token}).json()
    assert sorted(d["student"] for d in answer["recorded"]) == ["alice", "carol", "erin"]
    decided = DecisionStore(out).current()
    assert {decided[(student, "q3")].kind.value for student in group.students} == {"accept"}
    assert ("bob", "q3") not in decided and ("dave", "q3") not in decided
    # q1 is the same for everyone: lowering bob's suggests the others, and changes none of them.
    lowered = {"key": student_key("bob"), "item": "q1", "kind": "override", "points": 4, "comment": "too vague"}
    answer = client.post("/api/decisions", json=lowered, headers={"X-Review-Token": token}).json()
    assert {s["label"] for s in answer["suggested"]} == {"alice", "carol", "dave", "erin"}
    assert [key for key in DecisionStore(out).current() if key[1] == "q1"] == [("bob", "q1")]


def test_a_bad_decision_is_refused_with_a_reason(graded) -> None:  # noqa: ANN001
    _, out = graded
    client = _client(out)
    headers = {"X-Review-Token": _csrf(client)}
    too_much = client.post("/api/decisions", json={"key": student_key("bob"), "item": "q3", "points": 99},
                           headers=headers)
    assert too_much.status_code == 400 and "between 0 and 10" in too_much.json()["error"]
    nobody = client.post("/api/decisions", json={"key": "0000", "item": "q3", "points": 1}, headers=headers)
    assert nobody.status_code == 404
    not_json = client.post("/api/decisions", content=b"points=1", headers=headers)
    assert not_json.status_code == 400
    assert DecisionStore(out).history() == []


def _addresses() -> list[str]:
    """This machine's addresses other than loopback (none on a machine without a network)."""
    found = subprocess.run(["hostname", "-I"], capture_output=True, text=True).stdout.split()
    return [address for address in found if not address.startswith("127.") and ":" not in address]


def _serve(out: Path, *extra: str) -> tuple[subprocess.Popen, str]:
    server = subprocess.Popen([sys.executable, "-m", "grader", "review", str(out), "--serve", *extra],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in server.stdout:  # type: ignore[union-attr]
        if "?token=" in line:
            return server, line.strip()
    server.kill()
    raise AssertionError("the page printed no address")


def _reachable(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5):
            return True
    except urllib.error.HTTPError:
        return True  # it answered
    except OSError:
        return False


def test_the_page_listens_on_loopback_only_unless_asked(graded) -> None:  # noqa: ANN001
    _, out = graded
    server, url = _serve(out)
    try:
        port = int(re.search(r":(\d+)/", url).group(1))
        assert url.startswith("http://127.0.0.1:") and re.search(r"token=[\w-]{20,}", url)
        deadline = time.monotonic() + 30
        while not _reachable(url) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _reachable(url)
        for address in _addresses():
            with socket.socket() as probe:
                probe.settimeout(2)
                assert probe.connect_ex((address, port)) != 0, f"the page answered on {address}"
    finally:
        server.terminate()
        server.wait(timeout=20)
    if _addresses():
        with socket.socket() as free:
            free.bind(("0.0.0.0", 0))
            port = free.getsockname()[1]
        shared, url = _serve(out, "--host", "0.0.0.0", "--port", str(port))
        try:
            assert "anyone who can reach this machine" in "".join(shared.stdout.readline() for _ in range(1))
            deadline = time.monotonic() + 30
            while not _reachable(f"http://{_addresses()[0]}:{port}/") and time.monotonic() < deadline:
                time.sleep(0.2)
            assert _reachable(f"http://{_addresses()[0]}:{port}/")
        finally:
            shared.terminate()
            shared.wait(timeout=20)


def test_a_grade_run_while_the_page_is_open_loses_nothing(graded, tmp_path: Path) -> None:  # noqa: ANN001
    import json
    import threading

    import uvicorn

    from grader.bundled import default_rubric
    from grader.web.serve import free_port

    folder, out = graded
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(out, TOKEN), host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    entries = lay_out(open_class(out)).entries
    sent: list[tuple[str, str]] = []

    def decide_all() -> None:  # each item twice (a score, then accepted), over the length of two grade runs
        for entry in (*entries, *entries):
            twice = (entry.student, entry.item) in sent
            body = json.dumps({"key": entry.key, "item": entry.item, "kind": "accept" if twice else "override",
                               "points": entry.max_points / 2}).encode()
            time.sleep(0.1)
            request = urllib.request.Request(f"http://127.0.0.1:{port}/api/decisions", body, method="POST",
                                             headers={"Authorization": f"Bearer {TOKEN}",
                                                      "Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=30) as response:
                assert response.status == 200
            sent.append((entry.student, entry.item))

    rubric = tmp_path / "changed.toml"  # a changed rubric: every submission is rescored, every file rewritten
    rubric.write_text(default_rubric().read_text().replace('title = "Why freeze the base"', 'title = "Why freeze"'))
    deciding = threading.Thread(target=decide_all)
    deciding.start()
    try:
        for extra in (("--rubric", str(rubric)), ()):
            result = subprocess.run([sys.executable, "-m", "grader", str(folder), "--out", str(out), *extra],
                                    capture_output=True, text=True)
            assert result.returncode == 0, result.stdout + result.stderr
        deciding.join(timeout=300)
    finally:
        server.should_exit = True
    assert len(sent) == 2 * len(entries) > 40
    store = DecisionStore(out)
    assert len(store.history()) == len(sent)
    assert set(store.current()) == set(sent) and {d.kind.value for d in store.current().values()} == {"accept"}
    final = subprocess.run([sys.executable, "-m", "grader", str(folder), "--out", str(out)], capture_output=True,
                           text=True)
    assert final.returncode == 0 and "ran 0," in final.stdout
    results = json.loads((out / "results.json").read_text())["submissions"]
    decided = {(s["id"], r["id"]) for s in results for r in (*s["checks"], *s["answers"]) if r.get("override")}
    assert decided >= set(sent)
