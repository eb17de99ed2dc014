"""Routes of the review page and its JSON API (``/api/``), which the page's script and the tests use.

Access: a secret token in the first address (printed by ``grade review --serve``, as Jupyter
does) becomes an HttpOnly, SameSite=Strict cookie; every request needs it (or ``Authorization:
Bearer TOKEN``, for tools), and every request that changes data with the cookie also needs the
page's ``X-Review-Token`` header. Everything a student wrote reaches the page as text: the templates escape it.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from grader.decisions import DecisionError, DecisionKind
from grader.desk import Desk, code_comparison, code_pairs, item_view, lay_out
from grader.errors import GraderError
from grader.instructor import GradedClass, decide_many, open_class, suggestions

HERE = Path(__file__).parent
COOKIE = "grader_review"
NAMES_COOKIE = "grader_names"
CSRF_HEADER = "x-review-token"


def create_app(out: Path, token: str, *, rubric: Any = None, names: bool = False) -> Starlette:
    """The review page over the class graded into ``out``, reachable with ``token``. ``names``:
    show students' names by default (the page can switch them)."""
    # Autoescaping on for every template, whatever its name: a student's text is never markup.
    templates = Jinja2Templates(env=jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"),
                                                       autoescape=True))
    csrf = hmac.new(token.encode(), b"decisions", hashlib.sha256).hexdigest()

    def desk() -> Desk:
        return lay_out(open_class(out, rubric))

    def show_names(request: Request) -> bool:
        chosen = request.cookies.get(NAMES_COOKIE)
        return names if chosen is None else chosen == "1"

    def index(request: Request) -> Response:
        laid = desk()
        first = next((e for e in laid.entries if e.decided is None or e.decided.get("stale")), None) \
            or (laid.entries[0] if laid.entries else None)
        if first is None:
            return templates.TemplateResponse(request, "empty.html", {"desk": laid, "csrf": csrf})
        return RedirectResponse(f"/item/{first.key}/{first.item}", status_code=303)

    def page(request: Request) -> Response:
        laid = desk()
        try:
            view = item_view(laid, request.path_params["key"], request.path_params["item"])
        except KeyError:
            return PlainTextResponse("No such item in this class.", status_code=404)
        position = view.entry.position
        neighbours = {"previous": laid.entries[position - 2] if position > 1 else None,
                      "next": laid.entries[position] if position < len(laid.entries) else None}
        return templates.TemplateResponse(request, "review.html", {
            "desk": laid, "view": view, "names": show_names(request), "csrf": csrf, **neighbours,
            "budget_end": _budget_end(laid)})

    def api_queue(request: Request) -> Response:
        laid = desk()
        return JSONResponse({"items": [entry.to_dict(show_names(request)) for entry in laid.entries],
                             "progress": _progress(laid),
                             "must_look": [item.to_dict() for item in laid.must_look] if show_names(request) else
                             [{**item.to_dict(), "student": laid.label(item.student)} for item in laid.must_look]})

    def api_item(request: Request) -> Response:
        laid = desk()
        try:
            view = item_view(laid, request.path_params["key"], request.path_params["item"])
        except KeyError:
            return JSONResponse({"error": "no such item in this class"}, status_code=404)
        return JSONResponse(view.to_dict(show_names(request)))

    async def api_decide(request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"error": "the body must be JSON"}, status_code=400)
        return _decide(desk(), body, show_names(request))

    def similar(request: Request) -> Response:
        laid = desk()
        return templates.TemplateResponse(request, "similar_list.html", {
            "desk": laid, "pairs": code_pairs(laid), "csrf": csrf})

    def similar_pair(request: Request) -> Response:
        laid = desk()
        try:
            comparison = code_comparison(laid, request.path_params["first"], request.path_params["second"])
        except KeyError:
            return PlainTextResponse("No such pair in this class.", status_code=404)
        return templates.TemplateResponse(request, "similar.html", {
            "desk": laid, "comparison": comparison, "names": show_names(request), "csrf": csrf})

    def api_similar(request: Request) -> Response:
        return JSONResponse({"pairs": [{"first": first, "second": second, "first_label": a, "second_label": b,
                                        "similarity": round(similarity, 3)}
                                       for first, second, a, b, similarity in code_pairs(desk())]})

    def api_similar_pair(request: Request) -> Response:
        try:
            comparison = code_comparison(desk(), request.path_params["first"], request.path_params["second"])
        except KeyError:
            return JSONResponse({"error": "no such pair in this class"}, status_code=404)
        return JSONResponse(comparison.to_dict(show_names(request)))

    routes = [Route("/", index), Route("/item/{key}/{item}", page),
              Route("/similar", similar), Route("/similar/{first}/{second}", similar_pair),
              Route("/api/similar", api_similar), Route("/api/similar/{first}/{second}", api_similar_pair),
              Route("/api/queue", api_queue), Route("/api/items/{key}/{item}", api_item),
              Route("/api/decisions", api_decide, methods=["POST"]),
              Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")]
    guard = Middleware(BaseHTTPMiddleware, dispatch=_guard(token, csrf))
    return Starlette(routes=routes, middleware=[guard])


def _decide(laid: Desk, body: Any, names: bool) -> Response:
    """Record a decision posted as ``{key, item, kind, points, comment, with: [keys]}``; answer with
    what was recorded, the progress, and the answers like this one to offer the same change."""
    if not isinstance(body, dict):
        return JSONResponse({"error": "the body must be a JSON object"}, status_code=400)
    try:
        kind = DecisionKind(body.get("kind", "override"))
        student = laid.student(str(body.get("key", "")))
        others = [laid.student(str(key)) for key in body.get("with", []) or []]
        points = body.get("points")
        if points is not None and not isinstance(points, (int, float)):
            raise DecisionError(f"points must be a number. Received: {points!r}")
        item = str(body.get("item", ""))
        laid.entry(str(body["key"]), item)
        stored = decide_many(laid.graded, [student, *others], item, points, str(body.get("comment", ""))[:2000],
                             kind=kind)
    except KeyError:
        return JSONResponse({"error": "no such student or item in this class"}, status_code=404)
    except (ValueError, GraderError) as error:
        return JSONResponse({"error": str(error)}, status_code=400)
    after = lay_out(open_class(laid.graded.out, laid.graded.rubric))
    offered: list[dict[str, Any]] = []
    if kind is DecisionKind.OVERRIDE and stored and stored[0].automatic is not None \
            and stored[0].points != stored[0].automatic:
        offered = [_offer(after.graded, after, other, item, names) for other in suggestions(after.graded, student, item)]
    return JSONResponse({"recorded": [{**d.to_dict(), "student": d.student if names else after.label(d.student)}
                                      for d in stored],
                         "progress": _progress(after), "suggested": offered})


def _offer(graded: GradedClass, laid: Desk, student: str, item: str, names: bool) -> dict[str, Any]:
    from grader.desk import student_key

    answer = next(a for a in graded.grade(student).answers if a.id == item)
    return {"key": student_key(student), "label": student if names else laid.label(student), "text": answer.text,
            "automatic": answer.points}


def _progress(laid: Desk) -> dict[str, int]:
    return {"decided": laid.decided, "total": len(laid.entries), "budget_end": _budget_end(laid)}


def _budget_end(laid: Desk) -> int:
    """The position that ends the 20% most likely wrong (the default budget of ``grade review``)."""
    from grader.review import DEFAULT_BUDGET

    return -(-len(laid.entries) * int(DEFAULT_BUDGET.rstrip("%")) // 100)


def _guard(token: str, csrf: str) -> Callable[[Request, RequestResponseEndpoint], Any]:
    """The access check of every request (see the module's docstring)."""

    async def dispatch(request: Request, call_next: RequestResponseEndpoint) -> Response:
        given = request.query_params.get("token")
        if given is not None and hmac.compare_digest(given, token):
            response = RedirectResponse(request.url.remove_query_params("token").path or "/", status_code=303)
            response.set_cookie(COOKIE, token, httponly=True, samesite="strict")
            return response
        bearer = request.headers.get("authorization", "")
        from_cookie = bool(request.cookies.get(COOKIE))
        held = request.cookies.get(COOKIE) or (bearer[7:] if bearer.lower().startswith("bearer ") else "")
        if not (held and hmac.compare_digest(held, token)):
            return HTMLResponse("<!doctype html><title>Review page</title><p>Open the address that "
                                "<code>grade review --serve</code> printed (it carries the page's token).</p>",
                                status_code=403)
        # A cookie goes with every request the browser makes, whoever asked for it: a change made
        # with the cookie must also carry the token only the page knows.
        if from_cookie and request.method not in ("GET", "HEAD") and \
                not hmac.compare_digest(request.headers.get(CSRF_HEADER, ""), csrf):
            return JSONResponse({"error": f"a change needs the page's {CSRF_HEADER} header"}, status_code=403)
        response = await call_next(request)
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Content-Security-Policy"] = ("default-src 'self'; img-src 'self' data:; "
                                                       "frame-ancestors 'none'")
        response.headers["Cache-Control"] = "no-store"
        return response

    return dispatch
