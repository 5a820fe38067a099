"""What clients say on the venue's websockets, and the answers.

Market streams (``/ws``, ``/stream``, ``/public/ws``, ``/market/ws``, each with or without ccxt's
``/<n>`` suffix): ``SUBSCRIBE``, ``UNSUBSCRIBE``, ``LIST_SUBSCRIPTIONS``, ``SET_PROPERTY`` and
``GET_PROPERTY`` as Binance answers them (``{"result": null, "id": 1}``); ``/stream?streams=a/b``
subscribes at connect. Stream names: ``<symbol>@trade``, ``@aggTrade``, ``@kline_<interval>``; any
other name is refused with an error the client sees (ccxt raises it), so a gap is never silent.

USDⓈ-M user data: ``/private/ws?listenKey=K`` (ccxt) or ``/ws/K``. Spot user data: the WebSocket
API at ``/ws-api/v3`` with ``userDataStream.subscribe.signature`` (plus ``.unsubscribe``, ``ping``
and ``time``); answers carry ``status`` and events arrive as ``{"subscriptionId", "event"}``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from aiohttp import web

from venue import auth
from venue.auth import Credentials
from venue.calls import Context
from venue.errors import BinanceError
from venue.klines import interval_ms
from venue.streams import Connection, Kind, StreamHub

_LISTEN_KEY = re.compile(r"^[0-9a-zA-Z]{60,64}$")
_STREAM = re.compile(r"^(?P<symbol>[a-z0-9]+)@(?P<kind>trade|aggTrade|kline_(?P<interval>\w+))$")


class StreamRequests:
    def __init__(self, ctx: Context, hub: StreamHub, credentials: Credentials) -> None:
        self.ctx = ctx
        self.hub = hub
        self.credentials = credentials

    # ------------------------------------------------------------------ connecting

    def classify(self, request: web.Request) -> tuple[Kind, str | None]:
        """Which kind of connection a path asks for, and the listen key of a user-data connection."""
        path = request.path
        if path == "/ws-api/v3":
            return "api", None
        if path.startswith("/private/ws"):
            return "user", request.query.get("listenKey", "")
        tail = path.rsplit("/", 1)[-1]
        if path.startswith("/ws/") and _LISTEN_KEY.match(tail) and self.ctx.market.market == "future":
            return "user", tail
        return "market", None

    def subscribe_from_query(self, connection: Connection) -> None:
        raw = connection.request.query.get("streams")
        if connection.kind == "market" and raw:
            for name in raw.split("/"):
                if self._valid_stream(name):
                    connection.streams.add(name)

    # ------------------------------------------------------------------ messages

    def handle(self, connection: Connection, text: str) -> None:
        try:
            message = json.loads(text)
        except json.JSONDecodeError as exc:
            connection.send({"error": {"code": 3, "msg": f"Invalid JSON: {exc}"}, "id": None})
            return
        if not isinstance(message, dict):
            connection.send({"error": {"code": 3, "msg": "Invalid JSON: expected an object"}, "id": None})
            return
        if connection.kind == "api":
            connection.send(self._api(connection, message))
        else:
            connection.send(self._stream_request(connection, message))

    def _stream_request(self, connection: Connection, message: dict[str, Any]) -> dict[str, Any]:
        ident, method = message.get("id"), message.get("method")
        params = message.get("params") or []
        if method == "LIST_SUBSCRIPTIONS":
            return {"result": sorted(connection.streams), "id": ident}
        if method == "GET_PROPERTY":
            return {"result": connection.combined, "id": ident}
        if method == "SET_PROPERTY":
            connection.combined = bool(params[1]) if len(params) > 1 else connection.combined
            return {"result": None, "id": ident}
        if method not in ("SUBSCRIBE", "UNSUBSCRIBE") or not isinstance(params, list):
            return {"error": {"code": 2, "msg": f"Invalid request: unknown method {method!r}"}, "id": ident}
        return self._subscription(connection, method, params, ident)

    def _subscription(self, connection: Connection, method: str, params: list[Any], ident: Any) -> dict[str, Any]:
        if connection.kind == "user":
            return {"result": None, "id": ident}
        unknown = [p for p in params if not isinstance(p, str) or not self._valid_stream(p)]
        if unknown:
            return {"error": {"code": 2, "msg": f"Invalid request: the local venue has no stream {unknown[0]!r}"},
                    "id": ident}
        if method == "SUBSCRIBE":
            connection.streams.update(params)
        else:
            connection.streams.difference_update(params)
        return {"result": None, "id": ident}

    def _valid_stream(self, name: str) -> bool:
        match = _STREAM.match(name)
        if match is None or match["symbol"].upper() not in self.ctx.market.book.symbols:
            return False
        interval = match["interval"]
        return interval is None or interval_ms(interval, self.ctx.market.replay.timeframe_ms) is not None

    def _api(self, connection: Connection, message: dict[str, Any]) -> dict[str, Any]:
        ident, method = message.get("id"), message.get("method")
        params = message.get("params") or {}
        wall_ms = self.ctx.market.wall_ms()
        if method == "ping":
            return _ok(ident, {})
        if method == "time":
            return _ok(ident, {"serverTime": wall_ms})  # the clock signatures are checked against
        if method == "userDataStream.subscribe.signature" and isinstance(params, dict):
            try:
                auth.check_ws_api_signature(params, self.credentials, wall_ms)
            except BinanceError as error:
                return {"id": ident, "status": error.status, "error": error.body()}
            return _ok(ident, {"subscriptionId": self.hub.new_subscription(connection)})
        if method == "userDataStream.unsubscribe":
            wanted = params.get("subscriptionId") if isinstance(params, dict) else None
            if wanted is None:
                connection.subscriptions.clear()
            else:
                connection.subscriptions.discard(int(wanted))
            return _ok(ident, {})
        refusal = {"code": -1020,
                   "msg": f"This operation is not supported. ({method}: not simulated by the local venue)"}
        return {"id": ident, "status": 400, "error": refusal}


def _ok(ident: Any, result: dict[str, Any]) -> dict[str, Any]:
    return {"id": ident, "status": 200, "result": result, "rateLimits": []}
