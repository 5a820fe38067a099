"""A local Messages-API server for tests and benchmarks: real HTTP on 127.0.0.1, JSON and SSE, scripted replies.

Both SDKs honour a base URL (``base_url=`` / ``ANTHROPIC_BASE_URL``), so the real ``anthropic``
client and the real Claude Code CLI talk to this server exactly as they would to the API.

Script it with replies, served in order, one per ``POST /v1/messages``:
``tool_use(...)``, ``text(...)``, ``fail(status, ...)``, ``hang(seconds)``, ``malformed()``, ``raw(body)``
(a 200 answer with exactly these bytes: empty JSON, not JSON, a message without usage ...); or give a
``responder`` (request body -> reply) that answers whenever the script is empty (a scripted model for a
whole backtest). Every request is logged (path, headers, JSON body). ``POST /v1/messages/count_tokens``
answers the documented estimator of ``agent.prompting``.

Usage models prompt caching as the API documents it (:mod:`benchmarks.llmsim.cache`: breakpoints, TTL on
the request clock, minimum length per model, 20-block lookback, per-model caches). ``clock`` is that
request clock: pass a backtest's simulated clock so its gaps between decisions expire entries as real
time would; the default is the wall clock.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from agent.prompting import estimate_request_tokens, estimate_tokens
from benchmarks.llmsim.cache import CacheRequestError, PromptCache


@dataclass(frozen=True)
class Reply:
    kind: str  # "message" | "fail" | "hang" | "malformed" | "raw"
    content: tuple[dict[str, Any], ...] = ()
    stop_reason: str = "end_turn"
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    error_type: str = ""
    seconds: float = 0.0
    body: bytes = b""


def tool_use(*calls: tuple[str, dict[str, Any]], text: str | None = None, ids: tuple[str, ...] = ()) -> Reply:
    """An assistant turn calling tools (several = parallel tool use), optionally after some text."""
    blocks: list[dict[str, Any]] = [{"type": "text", "text": text}] if text else []
    for i, (name, arguments) in enumerate(calls):
        call_id = ids[i] if i < len(ids) else ""
        blocks.append({"type": "tool_use", "id": call_id, "name": name, "input": arguments})
    return Reply(kind="message", content=tuple(blocks), stop_reason="tool_use")


def text(body: str, stop_reason: str = "end_turn") -> Reply:
    return Reply(kind="message", content=({"type": "text", "text": body},), stop_reason=stop_reason)


def fail(status: int, error_type: str = "", retry_after: float | None = None) -> Reply:
    error_type = error_type or {429: "rate_limit_error", 529: "overloaded_error"}.get(status, "api_error")
    headers = (("retry-after", str(retry_after)),) if retry_after is not None else ()
    return Reply(kind="fail", status=status, error_type=error_type, headers=headers)


def hang(seconds: float) -> Reply:
    return Reply(kind="hang", seconds=seconds)


def malformed() -> Reply:
    return Reply(kind="malformed")


def raw(body: bytes | str, content_type: str = "application/json") -> Reply:
    """A 200 answer whose body is exactly ``body``."""
    data = body.encode() if isinstance(body, str) else body
    return Reply(kind="raw", body=data, headers=(("content-type", content_type),))


@dataclass
class LoggedRequest:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


def wall_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class MessagesServer:
    replies: list[Reply] = field(default_factory=list)
    requests: list[LoggedRequest] = field(default_factory=list)
    model: str = "claude-sonnet-4-6"
    responder: Callable[[dict[str, Any]], Reply] | None = None
    """Answers a request when the script is empty (``None``: an empty script is a 500)."""
    clock: Callable[[], datetime] = wall_clock
    """The request clock cache TTLs run on."""
    request_clock: Callable[[dict[str, Any]], datetime] | None = None
    """When set, the request clock is read from the request itself (a backtest's decision time), not ``clock``."""
    cache: PromptCache = field(default_factory=PromptCache)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._connections = threading.Condition()
        self.connections_opened = 0
        self.connections_open = 0
        """TCP connections a client opened, and those it has not closed yet (the SDK keeps them alive)."""
        self._ids = itertools.count(1)
        self._stop = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> MessagesServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self.replies.extend(replies)

    def wait_connections_closed(self, timeout: float) -> bool:
        """Whether every client connection is closed within ``timeout`` s (a handler sees a close at once)."""
        with self._connections:
            return self._connections.wait_for(lambda: self.connections_open == 0, timeout)

    def _connection(self, change: int) -> None:
        with self._connections:
            self.connections_open += change
            self.connections_opened += max(change, 0)
            self._connections.notify_all()

    def message_requests(self) -> list[dict[str, Any]]:
        return [r.body for r in self.requests if r.path.startswith("/v1/messages") and "count_tokens" not in r.path]

    # ------------------------------------------------------------ called by the handler thread

    def next_reply(self, request: dict[str, Any]) -> Reply | None:
        with self._lock:
            if self.replies:
                return self.replies.pop(0)
        return self.responder(request) if self.responder is not None else None

    def message_body(self, reply: Reply, request: dict[str, Any]) -> dict[str, Any]:
        n = next(self._ids)
        content = []
        for i, block in enumerate(reply.content):
            needs_id = block["type"] == "tool_use" and not block["id"]
            content.append({**block, "id": f"toolu_{n:04d}_{i}"} if needs_id else block)
        return {
            "id": f"msg_{n:06d}",
            "type": "message",
            "role": "assistant",
            "model": request.get("model", self.model),
            "content": content,
            "stop_reason": reply.stop_reason,
            "stop_sequence": None,
            "usage": self.usage(request, content),
        }

    def usage(self, request: dict[str, Any], content: list[dict[str, Any]]) -> dict[str, Any]:
        """The usage block, with the cache read and written at the request clock's ``now``."""
        now = self.request_clock(request) if self.request_clock is not None else self.clock()
        with self._lock:
            cached = self.cache.apply(request, now)
        return cached.as_json(estimate_tokens(json.dumps(content)))


def _handler_for(server: MessagesServer) -> type[BaseHTTPRequestHandler]:  # noqa: C901 - one small HTTP handler
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            del format, args

        def setup(self) -> None:
            super().setup()
            server._connection(+1)

        def finish(self) -> None:  # after the client closed the connection (or the server stopped)
            try:
                super().finish()
            finally:
                server._connection(-1)

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            raw = self.rfile.read(length) if length else b"{}"
            body = json.loads(raw or b"{}")
            server.requests.append(LoggedRequest(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            if "count_tokens" in self.path:
                system = body.get("system", "")
                system_text = system if isinstance(system, str) else "".join(b.get("text", "") for b in system)
                count = estimate_request_tokens(system_text, body.get("tools", []), body.get("messages", []))
                self._json(200, {"input_tokens": count})
                return
            self._reply(server.next_reply(body), body)

        def _reply(self, reply: Reply | None, body: dict[str, Any]) -> None:
            try:
                if reply is not None and reply.kind == "message":
                    message = server.message_body(reply, body)
            except CacheRequestError as exc:
                self._json(400, _error("invalid_request_error", str(exc)))
                return
            if reply is None:
                self._json(500, _error("api_error", "test script exhausted: no reply queued"))
            elif reply.kind == "fail":
                self._json(reply.status, _error(reply.error_type, f"injected {reply.status}"), reply.headers)
            elif reply.kind == "hang":
                server._stop.wait(reply.seconds)
                self._json(500, _error("api_error", "hung reply released"))
            elif reply.kind == "malformed":
                self._raw(200, b'{"id": "msg_broken", "content": [', "application/json")
            elif reply.kind == "raw":
                self._raw(200, reply.body, dict(reply.headers)["content-type"])
            elif body.get("stream"):
                self._sse(message)
            else:
                self._json(200, message)

        def _json(self, status: int, payload: dict[str, Any], headers: tuple[tuple[str, str], ...] = ()) -> None:
            extra = (*headers, ("x-should-retry", "true" if status in (429, 529) else "false"))
            self._raw(status, json.dumps(payload).encode(), "application/json", extra)

        def _raw(self, status: int, data: bytes, ctype: str, headers: tuple[tuple[str, str], ...] = ()) -> None:
            self.send_response(status)
            self.send_header("content-type", ctype)
            self.send_header("content-length", str(len(data)))
            self.send_header("request-id", "req_local")
            for name, value in headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _sse(self, message: dict[str, Any]) -> None:
            data = b"".join(_event(name, payload) for name, payload in sse_events(message))
            self._raw(200, data, "text/event-stream")

    return Handler


def _error(error_type: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": error_type, "message": message}}


def _event(name: str, payload: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(payload)}\n\n".encode()


def sse_events(message: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The streaming form of a complete message, as the API sends it."""
    start = {**message, "content": [], "stop_reason": None, "usage": {**message["usage"], "output_tokens": 1}}
    events: list[tuple[str, dict[str, Any]]] = [("message_start", {"type": "message_start", "message": start})]
    for index, block in enumerate(message["content"]):
        if block["type"] == "text":
            opening: dict[str, Any] = {"type": "text", "text": ""}
            delta = {"type": "text_delta", "text": block["text"]}
        else:
            opening = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
            delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
        start_event = {"type": "content_block_start", "index": index, "content_block": opening}
        events.append(("content_block_start", start_event))
        events.append(("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}))
        events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    events.append(
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
                "usage": {"output_tokens": message["usage"]["output_tokens"]},
            },
        )
    )
    events.append(("message_stop", {"type": "message_stop"}))
    return events
