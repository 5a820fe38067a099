"""The live loop: feed ``Engine.step`` from the exchange, the operator's queue and a timer.

One sequential loop, not concurrent tasks: the engine is stepped by exactly one caller, so a guard
tick can never interleave with an agent decision. Each round it

1. polls funding and open interest when due (futures; adaptive schedule) -> ``DerivativesUpdated``;
2. polls the candle source of every symbol (closed candles -> ``CandleClosed``, the forming candle's
   last trade -> ``PriceTick``); a failing poll is journaled and retried next round (the gate's
   ``feed_stale`` wake and safety's exchange breaker take over if it stays down);
3. steps ``TimerTick`` every ``safety_interval_s`` (the guard, the agent's timer, the feed watchdog);
4. writes a heartbeat file an outside watchdog can check, then sleeps ``poll_interval_s``.

Before every step it looks at the operator's command queue; when commands are pending it steps
``CommandsPending`` first, so a halt is applied before anything else the engine does next.
Paper mode hands each event to the simulated exchange first (``on_event``), so its fills follow live prices.
``engine/wiring.py`` builds the loop; nothing here knows which mode it runs in.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from core.errors import ConfigError, TemporaryError
from core.ids import Symbol
from core.ports import Clock, NewEvent
from core.timeframes import datetime_to_ms, ms_to_datetime, timeframe_seconds
from core.types import Candle
from engine.engine import Engine, StepReport
from engine.events import CandleClosed, CommandsPending, DerivativesUpdated, Event, PriceTick, TimerTick
from exchange.sim import SimExchange
from gate.gate import Gate
from market.builder import Market, SnapshotBuilder
from market.candles import frame_from_arrays, frame_to_candles
from market.ccxt_rest import KLINE_LIMIT
from market.derivatives import DerivativesHistory, DerivativesPoller
from market.download import KlineSource
from market.regime import tracker_from_candles
from market.resample import resample_candles

log = logging.getLogger(__name__)
Sleep = Callable[[float], Awaitable[None]]
HISTORY_CANDLES = 2_000
"""Preloaded per symbol: indicators, the gate's baselines (it scores after 288) and the regime fit."""
MIN_HISTORY = 300


@dataclass
class CandleFeed:
    """Closed candles of one symbol from a kline source, appended to the snapshot builder's history."""

    source: KlineSource
    symbol: Symbol
    timeframe: str
    builder: SnapshotBuilder
    history: pd.DataFrame
    _step_ms: int = field(init=False)

    def __post_init__(self) -> None:
        self._step_ms = timeframe_seconds(self.timeframe) * 1000

    @property
    def next_open_ms(self) -> int:
        return int(self.history.index[-1].value // 1_000_000) + self._step_ms

    async def poll(self, now: datetime) -> list[Event]:
        """New closed candles (oldest first), then the forming candle's last price as a tick."""
        now_ms = datetime_to_ms(now)
        rows = await self.source.fetch_klines(self.symbol, self.timeframe, self.next_open_ms, now_ms)
        closed = [r for r in rows if int(r[0]) + self._step_ms <= now_ms]
        events: list[Event] = []
        if closed:
            self._append(closed)
            events.extend(self._candle_event(r) for r in closed)
        forming = [r for r in rows if int(r[0]) + self._step_ms > now_ms]
        if forming and forming[-1][4] > 0:
            events.append(PriceTick(at=now, symbol=self.symbol, price=float(forming[-1][4])))
        return events

    def _append(self, rows: Sequence[Sequence[float]]) -> None:
        array = np.asarray(rows, dtype="float64")
        fresh = frame_from_arrays(array[:, 0].astype("int64"), array[:, 1:6])
        self.history = pd.concat([self.history, fresh])
        self.builder.update(self.history)
        if self.builder.regime is not None:
            reference = self.builder.regime.schedule.timeframe
            frame = self.history if reference == self.timeframe else resample_candles(
                self.history, self.timeframe, reference)[["open", "high", "low", "close", "volume"]]
            self.builder.regime.update(frame)

    def _candle_event(self, row: Sequence[float]) -> CandleClosed:
        opened = ms_to_datetime(int(row[0]))
        candle = Candle(symbol=self.symbol, timeframe=self.timeframe, open_at=opened, open=row[1], high=row[2],
                        low=row[3], close=row[4], volume=row[5])
        return CandleClosed(at=opened + timedelta(milliseconds=self._step_ms), candle=candle)


@dataclass
class LiveLoop:
    engine: Engine
    feeds: list[CandleFeed]
    clock: Clock
    sleep: Sleep = asyncio.sleep
    poll_interval_s: float = 10.0
    safety_interval_s: float = 30.0
    heartbeat: Path | None = None
    on_event: Callable[[Event], None] | None = None
    """Paper mode: the simulated exchange sees every event before the engine does."""
    derivatives: DerivativesPoller | None = None
    """Futures: funding and open interest on their own adaptive schedule; the snapshot builders read the
    poller's histories, so a new reading shows in the next snapshot."""
    stepped: Counter[str] = field(default_factory=Counter)
    """Events stepped so far, by type (the runner's log line and the tests read it)."""
    _last_timer: datetime | None = None

    async def run(self, stop: asyncio.Event, max_rounds: int | None = None) -> int:
        """Run until ``stop`` is set (or ``max_rounds``); returns the rounds done. Saves state on the way out."""
        rounds = 0
        try:
            while not stop.is_set() and (max_rounds is None or rounds < max_rounds):
                await self.round()
                rounds += 1
                await self.sleep(self.poll_interval_s)
        finally:
            await self.engine.close()
        return rounds

    async def round(self) -> list[StepReport]:
        reports: list[StepReport] = []
        for event in [*await self._poll_derivatives(), *await self._poll()]:
            reports.extend(await self._step(event))
        now = self.clock.now()
        if self._last_timer is None or (now - self._last_timer).total_seconds() >= self.safety_interval_s:
            self._last_timer = now
            reports.extend(await self._step(TimerTick(at=now)))
        self._beat(now)
        return reports

    async def _poll(self) -> list[Event]:
        events: list[Event] = []
        for feed in self.feeds:
            now = self.clock.now()
            try:
                events.extend(await feed.poll(now))
            except TemporaryError as exc:
                log.warning("candle poll for %s failed: %s", feed.symbol, exc)
                payload = {"symbol": feed.symbol, "error": str(exc)}
                self.engine.store.append(NewEvent(kind="feed.error", at=now, payload=payload))
        return events

    async def _poll_derivatives(self) -> list[Event]:
        if self.derivatives is None:
            return []
        now = self.clock.now()
        outcome = await self.derivatives.poll_due(now)
        for symbol, error in outcome.temporary_errors.items():
            log.warning("derivatives poll for %s failed: %s", symbol, error)
            self.engine.store.append(NewEvent(kind="feed.error", at=now, payload={"symbol": symbol, "error": error,
                                                                                  "feed": "derivatives"}))
        return [DerivativesUpdated(at=now, reading=reading) for reading in outcome.readings]

    async def _step(self, event: Event) -> list[StepReport]:
        """Step ``event``, after the operator's pending commands if there are any."""
        reports = []
        pending = self.engine.store.pending_commands()
        if pending:
            reports.append(await self._step_one(CommandsPending(at=self.clock.now(), count=len(pending))))
        reports.append(await self._step_one(event))
        return reports

    async def _step_one(self, event: Event) -> StepReport:
        if self.on_event is not None:
            self.on_event(event)
        self.stepped[event.type] += 1
        return await self.engine.step(event)

    def _beat(self, now: datetime) -> None:
        if self.heartbeat is not None:
            temporary = self.heartbeat.with_suffix(".tmp")
            temporary.write_text(now.isoformat() + "\n", encoding="utf-8")
            temporary.replace(self.heartbeat)


async def preload(source: KlineSource, symbol: Symbol, timeframe: str, clock: Clock,
                  candles: int = HISTORY_CANDLES) -> pd.DataFrame:
    """The latest ``candles`` closed candles, page by page (a live start needs at least ``MIN_HISTORY``)."""
    step_ms = timeframe_seconds(timeframe) * 1000
    until_ms = datetime_to_ms(clock.now())
    since_ms = until_ms - candles * step_ms
    rows: list[list[float]] = []
    while since_ms < until_ms:
        page = await source.fetch_klines(symbol, timeframe, since_ms, until_ms)
        closed = [r for r in page if r[0] + step_ms <= until_ms]
        if not closed:
            break
        rows.extend(closed)
        since_ms = int(closed[-1][0] + step_ms)
        if len(page) < KLINE_LIMIT:
            break
    if len(rows) < MIN_HISTORY:
        raise ConfigError(f"only {len(rows)} closed {timeframe} candles for {symbol}; need {MIN_HISTORY} to start")
    array = np.asarray(rows, dtype="float64")
    return frame_from_arrays(array[:, 0].astype("int64"), array[:, 1:6])


def live_market(histories: Mapping[Symbol, pd.DataFrame], timeframe: str, *, derivatives: bool) -> Market:
    """Snapshot builders over the preloaded histories (a regime each; a derivatives history on futures, which
    the engine fills from ``DerivativesUpdated`` events)."""
    return Market({
        symbol: SnapshotBuilder(symbol, history, timeframe, regime=tracker_from_candles(symbol, history, timeframe),
                                derivatives=DerivativesHistory(symbol) if derivatives else None)
        for symbol, history in histories.items()
    })


def candle_feeds(
    source: KlineSource, market: Market, histories: Mapping[Symbol, pd.DataFrame], timeframe: str
) -> list[CandleFeed]:
    return [CandleFeed(source, s, timeframe, market.builder(s), history) for s, history in histories.items()]


def warm_up_gate(gate: Gate, histories: Mapping[Symbol, pd.DataFrame], timeframe: str) -> None:
    """The gate's baselines from the preloaded history (no wakes)."""
    for symbol, history in histories.items():
        gate.warm_up(frame_to_candles(history, symbol, timeframe))


def derivatives_poller(source: KlineSource, symbols: Sequence[Symbol]) -> DerivativesPoller | None:
    """Funding and open interest on their adaptive schedule, from a source that can fetch them."""
    fetch = getattr(source, "fetch_derivatives", None)
    return DerivativesPoller(fetch, list(symbols)) if fetch is not None else None


def paper_feed(venue: SimExchange) -> Callable[[Event], None]:
    """Paper trading: the simulated exchange trades at every live price the feed sees."""

    def on_event(event: Event) -> None:
        if isinstance(event, CandleClosed):
            venue.on_price(Decimal(str(event.candle.close)), event.at, symbol=event.candle.symbol)
        elif isinstance(event, PriceTick):
            venue.on_price(Decimal(str(event.price)), event.at, symbol=event.symbol)

    return on_event
