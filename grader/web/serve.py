"""``grade review --serve``: the review page on uvicorn, on loopback unless asked, with a secret token."""

from __future__ import annotations

import secrets
import socket
from collections.abc import Callable

from grader.instructor import GradedClass

LOOPBACK = "127.0.0.1"


def free_port(host: str = LOOPBACK) -> int:
    """A port nothing listens on at ``host`` now."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def address(host: str, port: int, token: str) -> str:
    """The first address to open: it carries the token, which the page then keeps in a cookie."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    return f"http://{'[' + shown + ']' if ':' in shown else shown}:{port}/?token={token}"


def serve_review(graded: GradedClass, host: str, port: int, names: bool, say: Callable[[str], None]) -> None:
    """Serve the review page of ``graded`` until interrupted (Ctrl-C); ``say`` prints its address."""
    import uvicorn

    from grader.web.app import create_app

    token = secrets.token_urlsafe(24)
    port = port or free_port(host)
    app = create_app(graded.out, token, rubric=graded.rubric, names=names)
    say(f"The review page of {graded.out} ({len(graded.grades)} students) is at:\n    {address(host, port, token)}")
    if host not in (LOOPBACK, "localhost", "::1"):
        say(f"It listens on {host}: anyone who can reach this machine and has the address can decide. ")
    say("Decisions are kept in decisions.sqlite as they are made. Stop the page with Ctrl-C.")
    uvicorn.run(app, host=host, port=port, log_level="warning")
