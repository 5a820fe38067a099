"""The dashboard's web app (Starlette, server-rendered Jinja templates, server-sent events).

Pages: ``/live`` (pushed updates from ``/live/stream``), ``/runs`` (list, ``/runs/compare?run=A&run=B``),
``/runs/{id}`` (one run, the ``report.html`` templates). ``POST /actions/{halt|flatten|resume|sleep}``
queues an operator command, only with the token (``dashboard.auth``). Store reads run in a worker
thread, one short-lived store connection each, so a slow store never blocks the event loop.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import PackageLoader
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route

from backtests.report.render import STATIC_FILES, environment, run_context, static_text
from core.clock import WallClock
from core.errors import ConfigError
from core.ports import Clock, Store
from core.settings import Settings
from dashboard import actions, auth
from dashboard.live import LiveState, read_live_state
from dashboard.runs import COMPARED, ViewCache, equity_from_start, find_run, run_rows
from store.factory import SqliteTarget, open_store, parse_store_url

PAGE_SIZE = 100
DECISION_FILTERS = ("acted", "vetoes", "all")
MAX_COMPARED = 6
CONTENT_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


@dataclass
class DashboardConfig:
    settings: Settings
    runs_dir: Path
    token: auth.Token
    heartbeat: Path | None = None
    poll_s: float = 2.0
    """How often the live stream reads the store."""
    clock: Clock = field(default_factory=WallClock)
    stopping: threading.Event = field(default_factory=threading.Event)
    """Set when the server shuts down: open live streams end, so a browser tab never holds the shutdown up."""


def create_app(config: DashboardConfig) -> Starlette:
    pages = Pages(config)
    routes = [
        Route("/", lambda _: RedirectResponse("/live", status_code=303)),
        Route("/login", pages.login),
        Route("/live", pages.live),
        Route("/live/panel", pages.live_panel),
        Route("/live/stream", pages.live_stream),
        Route("/runs", pages.runs),
        Route("/runs/compare", pages.compare),
        Route("/runs/{run_id}", pages.run),
        Route("/runs/{run_id}/report.html", pages.report),
        Route("/actions/{action}", pages.act, methods=["POST"]),
        Route("/static/{name}", pages.static),
        Route("/favicon.ico", lambda _: Response(status_code=204)),
    ]
    return Starlette(routes=routes)


class Pages:
    def __init__(self, config: DashboardConfig) -> None:
        self.config = config
        self.env = environment(PackageLoader("dashboard", "templates"))
        self.views = ViewCache(config.settings)

    # ------------------------------------------------------------------ helpers

    def page(self, request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        html = self.env.get_template(template).render(
            path=request.url.path, can_act=auth.may_act(request, self.config.token), **context
        )
        return HTMLResponse(html, status_code=status)

    def open_live_store(self) -> Store | None:
        """The configured store, or ``None`` when it is a SQLite file that does not exist (never created here)."""
        target = parse_store_url(self.config.settings.store.url)
        if isinstance(target, SqliteTarget) and not target.path.is_file():
            return None
        return open_store(self.config.settings.store)

    def read_live(self) -> LiveState | None:
        store = self.open_live_store()
        if store is None:
            return None
        try:
            return read_live_state(store, self.config.settings, self.config.clock.now(), self.config.heartbeat)
        finally:
            store.close()

    def render_panel(self, request: Request) -> str:
        state = self.read_live()
        return self.env.get_template("live_panel.html.j2").render(
            state=state, store=_store_label(self.config.settings), can_act=auth.may_act(request, self.config.token),
            heartbeat=self.config.heartbeat,
        )  # fmt: skip

    # ------------------------------------------------------------------ pages

    async def login(self, request: Request) -> Response:
        if not self.config.token.matches(request.query_params.get("token")):
            return self.page(
                request,
                "message.html.j2",
                403,
                title="Wrong token",
                message="That link's token is not this dashboard's. Use the URL printed at start.",
            )
        response = RedirectResponse("/live", status_code=303)
        response.set_cookie(auth.COOKIE, self.config.token.value, httponly=True, samesite="strict", path="/")
        return response

    async def live(self, request: Request) -> Response:
        panel = await run_in_threadpool(self.render_panel, request)
        return self.page(request, "live.html.j2", panel=panel, store=_store_label(self.config.settings))

    async def live_panel(self, request: Request) -> Response:
        return HTMLResponse(await run_in_threadpool(self.render_panel, request))

    async def live_stream(self, request: Request) -> Response:
        return StreamingResponse(self._stream(request), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})  # fmt: skip

    async def _stream(self, request: Request) -> AsyncIterator[str]:
        """``event: state`` with the re-rendered panel whenever it changes; a comment every poll keeps it open."""
        last = ""
        while not self.config.stopping.is_set() and not await request.is_disconnected():
            panel = await run_in_threadpool(self.render_panel, request)
            if panel != last:
                last = panel
                yield f"event: state\ndata: {json.dumps(panel)}\n\n"
            else:
                yield ": unchanged\n\n"
            await asyncio.sleep(self.config.poll_s)

    async def runs(self, request: Request) -> Response:
        rows = await run_in_threadpool(run_rows, self.config.runs_dir)
        return self.page(request, "runs.html.j2", rows=rows, runs_dir=self.config.runs_dir)

    async def compare(self, request: Request) -> Response:
        chosen = list(dict.fromkeys(request.query_params.getlist("run")))
        if not 2 <= len(chosen) <= MAX_COMPARED:
            return self.page(
                request,
                "message.html.j2",
                400,
                title="Pick runs to compare",
                message=f"Tick 2 to {MAX_COMPARED} runs in the list, then press compare.",
            )
        try:
            runs = [find_run(self.config.runs_dir, run_id) for run_id in chosen]
        except ConfigError as exc:
            return self.page(request, "message.html.j2", 404, title="No such run", message=str(exc))
        curves = await run_in_threadpool(lambda: [{"name": r.name, "points": equity_from_start(r)} for r in runs])
        rows = {r.name: r.metrics() or {} for r in runs}
        compare_json = json.dumps(curves, separators=(",", ":")).replace("</", "<\\/")
        return self.page(request, "compare.html.j2", runs=rows, compared=COMPARED, compare_json=compare_json)

    async def run(self, request: Request) -> Response:
        try:
            run = find_run(self.config.runs_dir, request.path_params["run_id"])
        except ConfigError as exc:
            return self.page(request, "message.html.j2", 404, title="No such run", message=str(exc))
        view = await run_in_threadpool(self.views.get, run)
        show = request.query_params.get("show", "acted")
        show = show if show in DECISION_FILTERS else "acted"
        chosen = {"acted": view.acted, "vetoes": [d for d in view.decisions if d.kind == "veto"],
                  "all": view.decisions}[show]  # fmt: skip
        pages = max(1, -(-len(chosen) // PAGE_SIZE))
        page = min(max(_int(request.query_params.get("page"), 1), 1), pages)
        return self.page(
            request, "run.html.j2", **run_context(view), show=show, page=page, pages=pages,
            decisions=chosen[(page - 1) * PAGE_SIZE : page * PAGE_SIZE], decision_controls="run_controls.html.j2",
            decisions_class="", decisions_note=f"{len(chosen)} decision(s) shown as '{show}', {PAGE_SIZE} per page; "
            "click a line for the reasoning, the tool calls and their results.",
        )  # fmt: skip

    async def report(self, request: Request) -> Response:
        try:
            run = find_run(self.config.runs_dir, request.path_params["run_id"])
        except ConfigError as exc:
            return PlainTextResponse(str(exc), status_code=404)
        if not run.report_path.is_file():
            return PlainTextResponse("this run has no report.html", status_code=404)
        return FileResponse(run.report_path, media_type="text/html")

    async def act(self, request: Request) -> Response:
        if not auth.may_act(request, self.config.token):
            return JSONResponse({"message": "read-only: this browser has not logged in with the dashboard's token"},
                                status_code=403)  # fmt: skip
        if not auth.same_site(request):
            return JSONResponse({"message": "refused: not sent by the dashboard's own page"}, status_code=403)
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"message": "the request body is not JSON"}, status_code=400)
        planned = actions.plan_command(
            request.path_params["action"],
            body if isinstance(body, dict) else {},
            self.config.clock.now(),
            f"dashboard:{os.environ.get('USER', 'operator')}",
        )
        if isinstance(planned, actions.Refused):
            return JSONResponse({"message": planned.message}, status_code=400)
        answer = await run_in_threadpool(self._submit, planned)
        return JSONResponse(answer, status_code=200 if answer["outcome"] != "already_decided" else 409)

    def _submit(self, command: Any) -> dict[str, Any]:
        store = open_store(self.config.settings.store)
        try:
            return actions.submit(store, command)
        finally:
            store.close()

    async def static(self, request: Request) -> Response:
        name = request.path_params["name"]
        text = _static_file(name)
        if text is None:
            return PlainTextResponse("not found", status_code=404)
        return Response(text, media_type=CONTENT_TYPES[Path(name).suffix],
                        headers={"Cache-Control": "public, max-age=3600"})  # fmt: skip


def _static_file(name: str) -> str | None:
    if name in STATIC_FILES:
        return static_text(name)
    if name == "dashboard.js":
        return _dashboard_js()
    return None


def _dashboard_js() -> str:
    from importlib.resources import files

    return files("dashboard").joinpath("static", "dashboard.js").read_text(encoding="utf-8")


def _store_label(settings: Settings) -> str:
    from store.records import redact_url

    return redact_url(settings.store.url)


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default
