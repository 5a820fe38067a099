"""The claude-code backend's look-ahead guard: a loopback proxy between the Claude Code CLI and the Messages API
that removes what the CLI adds to the conversation on its own.

The bundled CLI (2.1.332, checked) puts ``<system-reminder>`` blocks into the first user turn: today's date,
the model's name and knowledge cutoff, the working directory, platform, shell and OS version, a token
budget. A model told the real date can tell that an anonymized backtest period lies in its past. The only
switch that drops them (``CLAUDE_CODE_SIMPLE``, the CLI's ``--bare``) also silences the SDK's ``PreToolUse``
hooks, i.e. our veto hook and the pairing of tool-call ids: not an option. So the CLI talks to this proxy
(``ANTHROPIC_BASE_URL``), which deletes every ``<system-reminder>`` text block from user messages and
forwards the request unchanged otherwise (headers, credentials, query string) to the real base URL, then
hands the answer back as it came (JSON or the SSE stream, read whole).

One proxy per decision (bound to a free loopback port, stopped when the decision ends). Credentials pass
through in memory only; nothing is logged.
"""

from __future__ import annotations

import http.client
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

DEFAULT_UPSTREAM = "https://api.anthropic.com"
REMINDER_PREFIX = "<system-reminder>"
_INLINE_REMINDER = re.compile(r"\s*<system-reminder>.*?</system-reminder>\s*", re.DOTALL)
_DROPPED_REQUEST_HEADERS = frozenset({"host", "content-length", "connection", "accept-encoding", "keep-alive"})
_DROPPED_RESPONSE_HEADERS = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive"})


def scrub(body: dict[str, Any]) -> int:
    """Remove the CLI's ``<system-reminder>`` blocks from every user message of ``body`` (in place), and the
    ones it appends inside tool results; return how many were removed. A message left empty is dropped."""
    removed = 0
    kept_messages = []
    for message in body.get("messages", []):
        content = message.get("content")
        if message.get("role") == "user" and isinstance(content, list):
            kept = [b for b in content if not _is_reminder(b)]
            removed += len(content) - len(kept)
            cleaned = [_clean_tool_result(b) for b in kept]
            removed += sum(n for _, n in cleaned)
            if kept:
                kept_messages.append({**message, "content": [b for b, _ in cleaned]})
            continue
        kept_messages.append(message)
    if "messages" in body:
        body["messages"] = kept_messages
    return removed


def _clean_tool_result(block: Any) -> tuple[Any, int]:
    """A tool result without the reminders the CLI appended to its text, and how many there were."""
    if not isinstance(block, dict) or block.get("type") != "tool_result":
        return block, 0
    content = block.get("content")
    if isinstance(content, str):
        text, n = _INLINE_REMINDER.subn("", content)
        return ({**block, "content": text}, n) if n else (block, 0)
    if isinstance(content, list):
        parts, total = [], 0
        for part in content:
            if isinstance(part, dict) and part.get("type") == "text":
                text, n = _INLINE_REMINDER.subn("", str(part.get("text", "")))
                total += n
                parts.append({**part, "text": text} if n else part)
            else:
                parts.append(part)
        return ({**block, "content": parts}, total) if total else (block, 0)
    return block, 0


def _is_reminder(block: Any) -> bool:
    return (
        isinstance(block, dict)
        and block.get("type") == "text"
        and str(block.get("text", "")).lstrip().startswith(REMINDER_PREFIX)
    )


@dataclass
class ScrubbingProxy:
    """``with ScrubbingProxy(upstream, timeout_s) as proxy:`` then point the CLI at ``proxy.base_url``."""

    upstream: str = DEFAULT_UPSTREAM
    timeout_s: float = 60.0
    removed: int = 0
    """Reminder blocks removed so far (the tests read it)."""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> ScrubbingProxy:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def count(self, removed: int) -> None:
        with self._lock:
            self.removed += removed

    def forward(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """Send the request upstream; the status, headers and whole body of the answer."""
        target = urlsplit(self.upstream)
        connection_type = http.client.HTTPSConnection if target.scheme == "https" else http.client.HTTPConnection
        connection = connection_type(target.netloc, timeout=self.timeout_s)
        try:
            connection.request(method, target.path.rstrip("/") + path, body=body or None, headers=headers)
            response = connection.getresponse()
            data = response.read()
            kept = [(k, v) for k, v in response.getheaders() if k.lower() not in _DROPPED_RESPONSE_HEADERS]
            return response.status, kept, data
        finally:
            connection.close()


def _handler_for(proxy: ScrubbingProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # never log (headers carry credentials)
            del format, args

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            raw = self.rfile.read(length) if length else b""
            if self.path.startswith("/v1/messages") and raw:
                body = json.loads(raw)
                proxy.count(scrub(body))
                raw = json.dumps(body).encode()
            self._relay("POST", raw)

        def do_GET(self) -> None:
            self._relay("GET", b"")

        def _relay(self, method: str, body: bytes) -> None:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _DROPPED_REQUEST_HEADERS}
            if body:
                headers["content-length"] = str(len(body))
            try:
                status, answer_headers, data = proxy.forward(method, self.path, headers, body)
            except (OSError, http.client.HTTPException) as exc:
                status, answer_headers = 502, [("content-type", "application/json")]
                error = {"type": "error", "error": {"type": "api_error", "message": f"proxy: upstream failed: {exc}"}}
                data = json.dumps(error).encode()
            self.send_response(status)
            for name, value in answer_headers:
                self.send_header(name, value)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler
