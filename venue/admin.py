"""``/_venue/*``: the operator's and the tests' handle on a running venue (no auth: it binds to loopback).

- ``GET /_venue/info``: market, symbols, venue time, speed, replay progress, URLs for ccxt, API key;
- ``GET /_venue/state``: balances, positions, open orders of both books (what a chaos test checks);
- ``GET /_venue/ledger?since=SEQ&kind=fill``: ledger records after ``SEQ``;
- ``GET /_venue/faults``; ``POST /_venue/faults`` (a fault config: replaces the current one);
  ``POST /_venue/faults/add`` (``{"rules": [...]}``: adds rules); ``DELETE /_venue/faults``;
- ``POST /_venue/ws/drop`` (``{"streams": "market"|"user"|"all"}``) and ``POST /_venue/ws/silence``
  (``{"seconds": 30}``): a stream fault now;
- ``POST /_venue/advance`` (``{"steps": n}``, ``{"candles": n}`` or ``{"until": "ISO time"}``) and
  ``POST /_venue/speed`` (``{"speed": x}``, 0 pauses).

A malformed admin request answers 400 with ``{"error": "..."}``.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web
from pydantic import ValidationError

from core.timeframes import datetime_to_ms
from venue import rest_shapes as shapes
from venue.faults import FaultConfig, FaultRule, validation_message
from venue.orders import OrderView
from venue.replay import PHASES

if TYPE_CHECKING:
    from venue.server import Venue

MAX_ADVANCE_STEPS = 1_000_000


class AdminError(ValueError):
    pass


def add_admin_routes(app: web.Application, venue: Venue) -> None:
    admin = Admin(venue)
    app.router.add_get("/_venue/info", admin.info)
    app.router.add_get("/_venue/state", admin.state)
    app.router.add_get("/_venue/ledger", admin.ledger)
    app.router.add_get("/_venue/faults", admin.get_faults)
    app.router.add_post("/_venue/faults", admin.set_faults)
    app.router.add_post("/_venue/faults/add", admin.add_faults)
    app.router.add_delete("/_venue/faults", admin.clear_faults)
    app.router.add_post("/_venue/ws/drop", admin.drop)
    app.router.add_post("/_venue/ws/silence", admin.silence)
    app.router.add_post("/_venue/advance", admin.advance)
    app.router.add_post("/_venue/speed", admin.speed)


def _answer(payload: Any, status: int = 200) -> web.Response:
    return web.json_response(payload, status=status, dumps=lambda v: json.dumps(v, default=str))


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        data = await request.json()
    except json.JSONDecodeError as exc:
        raise AdminError(f"the body is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise AdminError("the body must be a JSON object")
    return data


Handler = Callable[["Admin", web.Request], Awaitable[web.Response]]


def _guarded(handler: Handler) -> Handler:
    """Answer a malformed request with 400 and its reason instead of a server error."""

    async def run(self: Admin, request: web.Request) -> web.Response:
        try:
            return await handler(self, request)
        except (AdminError, ValueError) as exc:
            return _answer({"error": str(exc)}, 400)
        except ValidationError as exc:
            return _answer({"error": validation_message(exc)}, 400)

    return run


class Admin:
    def __init__(self, venue: Venue) -> None:
        self.venue = venue

    async def info(self, request: web.Request) -> web.Response:
        return _answer(self.venue.info())

    async def state(self, request: web.Request) -> web.Response:
        market = self.venue.market
        book = market.book
        regular = book.open_orders(None, algo=False)
        algo = book.open_orders(None, algo=True) if market.market == "future" else []
        return _answer({
            "now": market.now.isoformat().replace("+00:00", "Z"),
            "now_ms": market.now_ms,
            "balances": {a: {"free": shapes.fmt(b.free), "locked": shapes.fmt(b.used)}
                         for a, b in market.sim.balances().items()},
            "positions": [
                {"symbol": p.symbol, "side": p.side.value, "quantity": shapes.fmt(p.quantity),
                 "entry_price": shapes.fmt(p.entry_price), "unrealized_pnl": shapes.fmt(p.unrealized_pnl)}
                for p in market.sim.positions()
            ],
            "open_orders": [_order(v) for v in regular],
            "open_algo_orders": [_order(v) for v in algo],
            "last_prices": {s: shapes.fmt(market.replay.last_price(s)) for s in market.replay.symbols},
            "weight_by_endpoint": dict(self.venue.http.meter.by_endpoint),
        })

    async def ledger(self, request: web.Request) -> web.Response:
        try:
            since = int(request.query.get("since", "0"))
        except ValueError:
            return _answer({"error": "since must be a record number"}, 400)
        return _answer({"records": self.venue.ledger.since(since, request.query.get("kind"))})

    async def get_faults(self, request: web.Request) -> web.Response:
        return _answer(self.venue.faults.summary())

    @_guarded
    async def set_faults(self, request: web.Request) -> web.Response:
        self.venue.faults.replace(FaultConfig.model_validate(await _body(request)))
        return _answer(self.venue.faults.summary())

    @_guarded
    async def add_faults(self, request: web.Request) -> web.Response:
        rules = (await _body(request)).get("rules", [])
        if not isinstance(rules, list):
            raise AdminError("rules must be a list")
        self.venue.faults.add(*(FaultRule.model_validate(r) for r in rules))
        return _answer(self.venue.faults.summary())

    async def clear_faults(self, request: web.Request) -> web.Response:
        self.venue.faults.replace(FaultConfig(seed=self.venue.faults.config.seed))
        self.venue.faults.banned_until_ms = None
        return _answer(self.venue.faults.summary())

    @_guarded
    async def drop(self, request: web.Request) -> web.Response:
        streams = (await _body(request)).get("streams", "all")
        if streams not in ("market", "user", "all"):
            raise AdminError("streams must be market, user or all")
        dropped = self.venue.hub.drop(streams)
        self.venue.market.fault("ws_drop", "admin", streams=streams, connections=dropped)
        return _answer({"dropped": dropped})

    @_guarded
    async def silence(self, request: web.Request) -> web.Response:
        seconds = float((await _body(request)).get("seconds", 30))
        if seconds <= 0:
            raise AdminError("seconds must be positive")
        self.venue.hub.silence(self.venue.market.wall_ms() + int(seconds * 1000))
        self.venue.market.fault("ws_silence", "admin", seconds=seconds)
        return _answer({"silenced_until_ms": self.venue.hub.silenced_until_ms})

    @_guarded
    async def advance(self, request: web.Request) -> web.Response:
        body = await _body(request)
        limit = _step_limit(body, self.venue.market.now_ms)
        steps = 0
        while steps < MAX_ADVANCE_STEPS and not limit(steps, self.venue.market.replay.next_ms()):
            if not self.venue.step():
                break
            steps += 1
        return _answer({"steps": steps, "now": self.venue.market.now.isoformat().replace("+00:00", "Z"),
                        "now_ms": self.venue.market.now_ms, "finished": self.venue.market.replay.finished})

    @_guarded
    async def speed(self, request: web.Request) -> web.Response:
        speed = float((await _body(request)).get("speed", -1))
        if speed < 0:
            raise AdminError("speed must be 0 (paused) or more (venue seconds per wall second)")
        self.venue.set_speed(speed)
        return _answer({"speed": self.venue.speed})


def _step_limit(body: dict[str, Any], now_ms: int) -> Any:
    """A predicate ``(steps taken, next step time) -> stop?`` for ``/_venue/advance``."""
    if "steps" in body:
        wanted = int(body["steps"])
        return lambda steps, next_ms: steps >= wanted
    if "candles" in body:
        wanted = int(body["candles"]) * PHASES
        return lambda steps, next_ms: steps >= wanted
    if "until" in body:
        until = datetime_to_ms(datetime.fromisoformat(str(body["until"]).replace("Z", "+00:00")))
        if until < now_ms:
            raise AdminError("until is before the venue's now; the replay only goes forward")
        return lambda steps, next_ms: next_ms is None or next_ms > until
    raise AdminError("give steps, candles or until")


def _order(view: OrderView) -> dict[str, Any]:
    intent = view.intent
    return {
        "client_order_id": intent.client_order_id, "order_id": view.algo_id if view.is_algo else view.order_id,
        "symbol": intent.symbol, "side": intent.side.upper(), "type": view.binance_type,
        "quantity": shapes.fmt(intent.quantity), "price": shapes.fmt(intent.price),
        "stop_price": shapes.fmt(intent.stop_price), "reduce_only": intent.reduce_only,
        "status": view.algo_status if view.is_algo else view.binance_status, "filled": shapes.fmt(view.filled),
    }
