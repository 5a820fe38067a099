"""Answer ccxt's HTTP requests with recorded Binance payloads.

Only the exchange instance's ``fetch`` (ccxt's HTTP layer: one method that sends a request and
returns decoded JSON) is replaced. Everything above it is real ccxt: request signing and URL
building, the rate limiter, market loading, response parsing, and the error mapping, because the
replacement ends exactly like ccxt's own ``fetch`` does (``handle_errors`` then
``handle_http_status_code`` on the status and body).
"""

from __future__ import annotations

import gzip
import json
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "market"

Route = Callable[[dict[str, str]], Any]


@dataclass
class Reply:
    status: int
    payload: Any
    headers: dict[str, str] = field(default_factory=dict)
    reason: str = "OK"


def load_json(name: str) -> Any:
    path = FIXTURES / name
    opener = gzip.open if name.endswith(".gz") else open
    with opener(path, "rt", encoding="ascii") as fh:
        return json.load(fh)


def fail_after(route: Route, pages: int, reply: Reply) -> Route:
    """``route`` answers ``pages`` requests, then every later one gets ``reply`` (e.g. an IP ban)."""
    served = [0]

    def answer(params: dict[str, str]) -> Any:
        served[0] += 1
        return route(params) if served[0] <= pages else reply

    return answer


def klines_route(rows: list[list[Any]]) -> Route:
    """Binance ``/klines`` semantics: open time in ``[startTime, endTime]``, oldest first, ``limit`` rows."""

    def answer(params: dict[str, str]) -> list[list[Any]]:
        start = int(params.get("startTime", 0))
        end = int(params.get("endTime", 2**62))
        limit = int(params.get("limit", 500))
        return [row for row in rows if start <= int(row[0]) <= end][:limit]

    return answer


class BinanceReplay:
    """Routes by URL path; scripted replies (errors, one-off answers) take precedence, in order."""

    def __init__(self, routes: dict[str, Route]) -> None:
        self.routes = routes
        self.scripted: dict[str, deque[Reply]] = defaultdict(deque)
        self.calls: list[tuple[str, dict[str, str]]] = []
        self.exchange: Any = None

    def install(self, exchange: Any) -> Any:
        self.exchange = exchange
        exchange.fetch = self.fetch
        return exchange

    def script(self, path: str, *replies: Reply) -> None:
        self.scripted[path].extend(replies)

    def count(self, path: str) -> int:
        return sum(1 for p, _ in self.calls if p == path)

    async def fetch(self, url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
        parts = urlsplit(url)
        params = dict(parse_qsl(parts.query))
        self.calls.append((parts.path, params))
        reply = self._reply(parts.path, params)
        text = json.dumps(reply.payload)
        ex = self.exchange
        ex.last_response_headers = reply.headers
        ex.last_http_response = text
        decoded = ex.parse_json(text)
        ex.handle_errors(reply.status, reply.reason, url, method, reply.headers, text, decoded, headers, body)
        ex.handle_http_status_code(reply.status, reply.reason, url, method, text)
        return decoded

    def _reply(self, path: str, params: dict[str, str]) -> Reply:
        if self.scripted[path]:
            return self.scripted[path].popleft()
        if path not in self.routes:
            return Reply(404, {"code": -1, "msg": f"no recorded payload for {path}"}, reason="Not Found")
        answer = self.routes[path](params)
        return answer if isinstance(answer, Reply) else Reply(200, answer)


RATE_LIMITED = Reply(
    429,
    {"code": -1003, "msg": "Too many requests; current limit of IP is 6000 requests per minute."},
    {"Retry-After": "7"},
    "Too Many Requests",
)
IP_BANNED = Reply(
    418,
    {"code": -1003, "msg": "Way too much request weight used; IP banned until 1679400000000."},
    {"Retry-After": "600"},
    "I'm a teapot",
)
