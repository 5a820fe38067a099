"""The "human" of the process tests: a real HTTP webhook on a free loopback port that keeps every alert posted.

A bot's ``alerts.webhook_url`` points at ``inbox.url_for(name)``; the inbox keeps each alert with the path it
came to, so several bots can share it (``tests/runners/venue_fleet.py``: one path per runner) or one bot can
use it alone (``tests/chaos/soak.py``).
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class AlertInbox:
    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, Any]]] = []
        """Every alert as ``(path without slashes, JSON body)``, in the order it came."""
        inbox = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                inbox.received.append((self.path.strip("/"), json.loads(body or b"{}")))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def url_for(self, name: str) -> str:
        """The webhook URL for alerts that :meth:`of` finds under ``name``."""
        return f"{self.url}/{name}"

    @property
    def alerts(self) -> list[dict[str, Any]]:
        """Every alert, whichever path it came to."""
        return [alert for _, alert in list(self.received)]

    def of(self, name: str, kind: str) -> list[dict[str, Any]]:
        """The alerts of ``kind`` posted to :meth:`url_for` ``(name)``."""
        return [alert for who, alert in list(self.received) if who == name and alert.get("kind") == kind]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
