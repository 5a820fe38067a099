"""The wire: REST requests through limits, faults and authentication to a handler; websocket sessions.

One REST request, in Binance's order: an active ban answers 418; the request is charged its weight
(429 over a limit); the fault plan may fail it before it is applied (5xx, 429, 418, a held request
whose connection is closed); the key, signature and timestamp are checked; the handler runs; the
plan may still lose the answer of an applied request (5xx after, or a held connection). Every
answer carries the weight headers; every fault is recorded in the ledger.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web

from venue import auth, errors
from venue.auth import Credentials
from venue.calls import Call, Context, Route
from venue.errors import BinanceError
from venue.faults import FaultPlan, FaultRule, WireFault
from venue.routes import Table
from venue.streams import Connection, StreamHub
from venue.weights import WeightMeter
from venue.ws_api import StreamRequests

log = logging.getLogger(__name__)
HTML_5XX = (
    "<html><head><title>{0} Service Unavailable</title></head><body><h1>{0} Service Unavailable</h1></body></html>"
)


def _json(payload: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    return web.Response(
        text=json.dumps(payload, separators=(",", ":")), status=status, content_type="application/json",
        headers=dict(headers or {}),
    )


class VenueHttp:
    def __init__(
        self,
        ctx: Context,
        table: Table,
        *,
        credentials: Credentials,
        faults: FaultPlan,
        meter: WeightMeter,
        hub: StreamHub,
    ) -> None:
        self.ctx = ctx
        self.table = table
        self.credentials = credentials
        self.faults = faults
        self.meter = meter
        self.hub = hub
        self.streams = StreamRequests(ctx, hub, credentials)
        self.requests = 0

    def add_routes(self, app: web.Application) -> None:
        for path in ("/ws", "/ws/{tail:.*}", "/stream", "/stream/{tail:.*}", "/public/ws{tail:.*}",
                     "/market/ws{tail:.*}", "/private/ws{tail:.*}", "/ws-api/v3"):
            app.router.add_get(path, self.websocket)

    def add_rest(self, app: web.Application) -> None:
        app.router.add_route("*", "/{tail:.*}", self.rest)

    # ------------------------------------------------------------------ REST

    async def rest(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        method, path = request.method, request.path
        route = self.table.get((method, path))
        wall_ms = self.ctx.market.wall_ms()
        if route is None:
            return _json({"code": -1000, "msg": f"the local venue has no {method} {path}"}, 404)
        query = request.query_string
        body = await request.text() if request.can_read_body else ""
        params = dict(parse_qsl(query, keep_blank_values=True))
        params.update(parse_qsl(body, keep_blank_values=True))
        try:
            return await self._serve(request, route, query=query, body=body, params=params, wall_ms=wall_ms)
        except BinanceError as error:
            headers = {**self.meter.headers(wall_ms, order=route.order), **error.headers}
            return _json(error.body(), error.status, headers)
        except Exception as bug:
            # A venue bug must not pass for a transient 5xx: it goes into the ledger (which the chaos
            # tests read) before aiohttp answers 500 and logs the traceback.
            self.ctx.market.ledger.record("venue_error", at_ms=self.ctx.market.now_ms, wall_ms=wall_ms,
                                          target=f"{method} {path}", error=f"{type(bug).__name__}: {bug}")
            raise

    async def _serve(
        self, request: web.Request, route: Route, *, query: str, body: str, params: dict[str, str], wall_ms: int
    ) -> web.StreamResponse:
        method, path = request.method, request.path
        if self.faults.ban_active(wall_ms):
            assert self.faults.banned_until_ms is not None
            raise errors.banned(self.faults.banned_until_ms, max(1, (self.faults.banned_until_ms - wall_ms) // 1000))
        over = self.meter.charge(route.weight(params), order=route.order, now_ms=wall_ms, endpoint=f"{method} {path}")
        if over is not None:
            raise over
        fault = self.faults.draw_request(method, path)
        if fault is not None:
            self.ctx.market.fault(fault.kind, f"{method} {path}")
            early = await self._fail_before(request, fault, wall_ms)
            if early is not None:
                return early
        self._authenticate(route, request, query=query, body=body, params=params, wall_ms=wall_ms)
        delay = route.order and self.faults.draw_order(method, path)
        if delay:
            self.ctx.market.fault(WireFault.DELAY_FILL, f"{method} {path}", client_order_id=_client_id(params))
        result = route.handler(self.ctx, Call(method, path, params, wall_ms, delay))
        if fault is not None and fault.kind in (WireFault.SERVER_ERROR_AFTER, WireFault.TIMEOUT_AFTER_ACCEPT):
            return await self._fail_after(request, fault)
        return _json(result, 200, self.meter.headers(wall_ms, order=route.order))

    def _authenticate(
        self, route: Route, request: web.Request, *, query: str, body: str, params: Mapping[str, str], wall_ms: int
    ) -> None:
        headers = {"X-MBX-APIKEY": request.headers.get("X-MBX-APIKEY", "")}
        if route.security == "USER_STREAM":
            auth.check_api_key(headers, self.credentials)
        elif route.security == "SIGNED":
            auth.check_signed(query, body, params=params, headers=headers, credentials=self.credentials,
                              now_ms=wall_ms)

    async def _fail_before(self, request: web.Request, fault: FaultRule, wall_ms: int) -> web.StreamResponse | None:
        """Answer a fault that strikes before the request is applied (None: it strikes after)."""
        if fault.kind is WireFault.SERVER_ERROR:
            return self._server_error(fault)
        if fault.kind is WireFault.RATE_LIMIT:
            raise errors.too_much_weight(self.meter.limits.weight_per_minute, fault.retry_after_s)
        if fault.kind is WireFault.BAN:
            until = self.faults.ban(wall_ms, fault)
            raise errors.banned(until, fault.retry_after_s)
        if fault.kind is WireFault.TIMEOUT_BEFORE_ACCEPT:
            return await self._hold(request, fault)
        return None

    async def _fail_after(self, request: web.Request, fault: FaultRule) -> web.StreamResponse:
        if fault.kind is WireFault.SERVER_ERROR_AFTER:
            return self._server_error(fault)
        return await self._hold(request, fault)

    def _server_error(self, fault: FaultRule) -> web.Response:
        if fault.body == "html":
            return web.Response(text=HTML_5XX.format(fault.status), status=fault.status, content_type="text/html")
        error = errors.internal_error(fault.status)
        return _json(error.body(), error.status)

    async def _hold(self, request: web.Request, fault: FaultRule) -> web.StreamResponse:
        """Keep the client waiting past its timeout, then close the connection without an answer."""
        await asyncio.sleep(fault.hold_s)
        transport = request.transport
        if transport is not None:
            transport.abort()
        raise asyncio.CancelledError  # aiohttp drops the request quietly; there is nobody left to answer

    # ------------------------------------------------------------------ websockets

    async def websocket(self, request: web.Request) -> web.StreamResponse:
        kind, key = self.streams.classify(request)
        wall_ms = self.ctx.market.wall_ms()
        if kind == "user" and key not in self.ctx.keys.valid(wall_ms):
            error = errors.listen_key_unknown()
            return _json(error.body(), 400)
        if kind == "api" and self.ctx.market.market != "spot":
            return _json({"code": -1000, "msg": "the local venue serves the WebSocket API for spot only"}, 404)
        ws = web.WebSocketResponse(heartbeat=20.0)
        await ws.prepare(request)
        connection = self.hub.open(Connection(ws, request, kind, combined=request.path.startswith("/stream"),
                                              listen_key=key))
        try:
            self.streams.subscribe_from_query(connection)
            async for message in ws:
                if message.type is WSMsgType.TEXT:
                    self.streams.handle(connection, message.data)
        finally:
            await self.hub.close(connection)
        return ws


def _client_id(params: Mapping[str, str]) -> str | None:
    return params.get("newClientOrderId") or params.get("clientAlgoId")
