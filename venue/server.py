"""``Venue``: the local Binance-compatible server, started and stopped from one object.

One aiohttp application on one port serves REST, the websockets and the admin endpoints. Two
background tasks run while it is up: the pacer plays replay steps at ``speed`` venue seconds per
wall second (anchored to the event loop's monotonic clock, so it does not drift; ``speed`` 0 pauses
it and ``/_venue/advance`` steps by hand), and a housekeeper expires listen keys each second.
Stream faults (``ws_drop``, ``ws_silence``) are drawn once per step.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from typing import Any

from aiohttp import web

from core.clock import WallClock
from core.money import MarketRules
from core.ports import Clock
from core.timeframes import timeframe_seconds
from venue.admin import add_admin_routes
from venue.calls import Context
from venue.config import VenueConfig, load_data, replay_start_ms
from venue.faults import FaultPlan, WireFault
from venue.http import VenueHttp
from venue.ledger import Ledger
from venue.market import MarketSettings, VenueMarket
from venue.replay import Series
from venue.routes import routes_for
from venue.streams import ListenKeys, StreamHub
from venue.weights import Limits, WeightMeter

log = logging.getLogger(__name__)


class HubPublisher:
    """What the market publishes, delivered to the hub's connections (user data only to live keys)."""

    def __init__(self, hub: StreamHub, keys: ListenKeys, wall_ms: Callable[[], int]) -> None:
        self.hub = hub
        self.keys = keys
        self.wall_ms = wall_ms

    def streams(self) -> set[str]:
        return {s for c in self.hub.connections for s in c.streams}

    def market(self, stream: str, payload: dict[str, Any]) -> None:
        self.hub.publish_market(stream, payload, self.wall_ms())

    def user(self, payload: dict[str, Any]) -> None:
        self.hub.publish_user(payload, valid_key=self.keys.valid(self.wall_ms()))


class Venue:
    def __init__(
        self,
        config: VenueConfig,
        *,
        wall: Clock | None = None,
        series: Sequence[Series] | None = None,
        rules: Sequence[MarketRules] | None = None,
        timeframe: str | None = None,
    ) -> None:
        if series is None or rules is None or timeframe is None:
            loaded = load_data(config)
            series, rules, timeframe = loaded.series, loaded.rules, loaded.timeframe
        self.config = config
        self.timeframe = timeframe
        self.credentials = config.credentials()
        self.speed = config.speed
        self.hub = StreamHub()
        self.keys = ListenKeys()
        self.ledger = Ledger(config.ledger)
        self.faults = FaultPlan(config.faults)
        self.limits = Limits.binance(config.market, config.weight_limit)
        self.wall: Clock = wall or WallClock()
        settings = MarketSettings(
            market=config.market, timeframe_ms=timeframe_seconds(timeframe) * 1000, balances=config.balances,
            leverage=config.leverage, slippage_bps=config.slippage_bps, funding_rate=config.funding_rate,
            start_ms=replay_start_ms(config), warmup=config.warmup,
        )
        self.market = VenueMarket(series, rules, settings, wall=self.wall,
                                  publisher=HubPublisher(self.hub, self.keys, self._wall_ms), ledger=self.ledger)
        context = Context(self.market, self.keys, self.limits)
        self.http = VenueHttp(context, routes_for(config.market), credentials=self.credentials, faults=self.faults,
                              meter=WeightMeter(self.limits), hub=self.hub)
        self._runner: web.AppRunner | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._wake = asyncio.Event()
        self.port: int | None = None

    def _wall_ms(self) -> int:
        return self.market.wall_ms()

    # ------------------------------------------------------------------ lifecycle

    def app(self) -> web.Application:
        app = web.Application()
        self.http.add_routes(app)
        add_admin_routes(app, self)
        self.http.add_rest(app)
        return app

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app(), handle_signals=False, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.host, self.config.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        self._tasks = [asyncio.create_task(self._pace()), asyncio.create_task(self._housekeep())]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.hub.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
        self.ledger.close()

    async def __aenter__(self) -> Venue:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("the venue is not started")
        return f"http://{self.config.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://", 1)

    # ------------------------------------------------------------------ replay control

    def step(self) -> bool:
        """Play one replay step (and its stream faults); False when the data is played out."""
        played = self.market.step()
        if played:
            for rule in self.faults.draw_step():
                self._stream_fault(rule.kind, rule.streams, rule.silence_s)
        return played

    def _stream_fault(self, kind: WireFault, streams: Any, silence_s: float) -> None:
        if kind is WireFault.WS_DROP:
            dropped = self.hub.drop(streams)
            self.market.fault(kind, "step", streams=streams, connections=dropped)
        else:
            self.hub.silence(self._wall_ms() + int(silence_s * 1000))
            self.market.fault(kind, "step", seconds=silence_s)

    def set_speed(self, speed: float) -> None:
        self.speed = max(0.0, speed)
        self._wake.set()

    async def _pace(self) -> None:
        loop = asyncio.get_running_loop()
        anchor_wall, anchor_venue = loop.time(), self.market.now_ms
        while True:
            next_ms = self.market.replay.next_ms()
            if self.speed <= 0 or next_ms is None:
                await self._wait(None)
                anchor_wall, anchor_venue = loop.time(), self.market.now_ms
                continue
            delay = anchor_wall + (next_ms - anchor_venue) / 1000 / self.speed - loop.time()
            if delay > 0 and await self._wait(delay):
                anchor_wall, anchor_venue = loop.time(), self.market.now_ms
                continue
            self.step()

    async def _wait(self, timeout: float | None) -> bool:
        """Sleep until ``timeout`` or a speed change; True when woken by the change."""
        self._wake.clear()
        try:
            await asyncio.wait_for(self._wake.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def _housekeep(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            for key in self.keys.expire(self._wall_ms()):
                self.hub.end_listen_key(key, self.market.now_ms)
                self.ledger.record("listen_key_expired", at_ms=self.market.now_ms, wall_ms=self._wall_ms())

    # ------------------------------------------------------------------ descriptions

    def client_urls(self) -> dict[str, Any]:
        """What to point ccxt at (see docs/venue.md): REST base and the websocket bases by ccxt key."""
        return {
            "rest": self.url,
            "ws": {"spot": f"{self.ws_url}/ws", "linear": f"{self.ws_url}/ws",
                   "ws-api.spot": f"{self.ws_url}/ws-api/v3"},
        }

    def info(self) -> dict[str, Any]:
        played, total = self.market.replay.progress()
        return {
            "market": self.config.market,
            "symbols": list(self.market.replay.symbols),
            "timeframe": self.timeframe,
            "now": self.market.now.isoformat().replace("+00:00", "Z"),
            "now_ms": self.market.now_ms,
            "speed": self.speed,
            "finished": self.market.replay.finished,
            "candles_played": played,
            "candles_total": total,
            "urls": self.client_urls(),
            "api_key": self.credentials.api_key,
            "requests": self.http.requests,
            "faults": self.faults.summary(),
            "ledger_records": len(self.ledger.records),
        }
