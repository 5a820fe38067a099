"""The live runner against the local venue, in one event loop: a ``Venue`` (paused, stepped by the test) on a free
loopback port, and the run ``tradewake run --mode testnet|paper --venue URL`` builds (``engine.wiring.build_run``)
with its real ccxt clients (REST, ``ccxt.pro`` market and user-data streams), a real SQLite store and the
exchange's clock. The test drives the venue's replay and reads the venue's ledger, the bot's store and counters.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from agent.records import build_record
from core.ids import Symbol
from core.ports import Clock
from core.settings import Settings, load_settings
from core.timeframes import datetime_to_ms
from core.types import Alert, DecisionRecord, DecisionRequest
from engine.live import LiveLoop
from engine.runs import LiveFeed, Run
from engine.wiring import AgentChoice, build_run
from market.bundled import BTC_5M, bundled_path
from market.candles import load_candles
from tests.venue.ccxt_client import API_KEY, API_SECRET
from tools.context import DecisionSession, JournalSink, TradingDesk
from tools.executor import ToolExecutor
from venue import Venue, VenueConfig

BTC = Symbol("BTC/USDT")
WARMUP = 400
"""Candles the venue serves before its replay starts: enough for the live start's preload (300 at least)."""


def venue_config(tmp_path: Path, *, market: str = "spot", start_index: int | None = None, **fields: Any) -> VenueConfig:
    """The bundled real BTC/USDT 5m series, paused (the test steps it), the test credentials."""
    values: dict[str, Any] = {
        "market": market, "data": (bundled_path(BTC_5M),), "symbols": ("BTC/USDT",), "speed": 0, "warmup": WARMUP,
        "api_key": API_KEY, "api_secret": API_SECRET, "balances": {"USDT": Decimal(10_000)},
        "ledger": tmp_path / "ledger.jsonl",
    }
    if start_index is not None:
        values["start"] = load_candles(bundled_path(BTC_5M)).index[start_index].to_pydatetime()
    values.update(fields)
    return VenueConfig(**values)


def live_settings(venue: Venue, tmp_path: Path, *, mode: str = "testnet", market: str = "spot",
                  every_candle: bool = False, **sections: dict[str, Any]) -> Settings:
    symbol = "BTC/USDT" if market == "spot" else "BTC/USDT:USDT"
    exchange = {"venue_url": venue.url, "api_key": API_KEY, "api_secret": API_SECRET, "market_type": market,
                "symbols": (symbol,), "request_timeout_s": 2.0, "max_retries": 2, **sections.pop("exchange", {})}
    gate = dict(sections.pop("gate", {}))
    if every_candle:
        gate |= {"candle_close_timeframes": ("5m",), "cooldown_s": 0}
    return load_settings(None, mode=mode, exchange=exchange, gate=gate,
                         store={"url": f"sqlite:///{tmp_path / 'bot.sqlite3'}"}, **sections)


@dataclass
class Bot:
    """A running live loop (a task) and what the test reads of it."""

    run: Run[LiveLoop]
    stop: asyncio.Event
    task: asyncio.Task[int]

    @property
    def loop(self) -> LiveLoop:
        return self.run.feed

    def journal(self, kind: str) -> list[Any]:
        return [e for e in self.run.store.read_journal() if e.kind == kind]

    async def halt(self) -> int:
        """SIGTERM's path: the step in progress finishes, state is saved, the loop returns."""
        self.stop.set()
        return await asyncio.wait_for(self.task, 30)


@asynccontextmanager
async def running_bot(settings: Settings, *, agent: AgentChoice | None = None, heartbeat: Path | None = None,
                      safety_interval_s: float = 30.0, user_stream: bool = True, **cadence: float) -> AsyncIterator[Bot]:
    """Build the run as ``tradewake run`` does and run its loop in the background until the block ends
    (``user_stream=False``: without the account's user-data stream, REST alone finds the fills)."""
    run = await build_run(settings, LiveFeed("5m", heartbeat=heartbeat, safety_interval_s=safety_interval_s),
                          agent=agent or AgentChoice())
    if not user_stream:
        run.feed.account = None
    if cadence:
        run.feed.cadence = replace(run.feed.cadence, **cadence)
    stop = asyncio.Event()
    task = asyncio.create_task(run.feed.run(stop))
    try:
        yield Bot(run, stop, task)
    finally:
        stop.set()
        try:
            await asyncio.wait_for(task, 30)
        finally:
            await run.close()


async def play(venue: Venue, steps: int, *, pause_s: float = 0.02) -> None:
    """Play ``steps`` replay steps (four per candle), giving the bot a moment after each."""
    for _ in range(steps):
        venue.step()
        await asyncio.sleep(pause_s)


async def play_heard(venue: Venue, bot: Bot, *, symbol: Symbol = BTC) -> bool:
    """Play one replay step and, when it trades (phases 1-3; a candle's first step only opens it), wait until the
    bot heard that trade: a test that counts what the bot did per price then does not depend on how fast a loaded
    machine delivers it. Returns whether the step traded."""
    venue.step()
    if venue.market.replay.position(symbol)[1] <= 0:
        return False
    at_ms = venue.market.replay.now_ms
    await until(lambda: heard_ms(bot, symbol) >= at_ms, what=f"the bot to hear the trade at {at_ms}")
    return True


def heard_ms(bot: Bot, symbol: Symbol = BTC) -> int:
    """The exchange time of the newest trade the bot's loop heard for ``symbol`` (-1: none yet)."""
    heard = bot.loop._prices.get(symbol)
    return -1 if heard is None else datetime_to_ms(heard[1])


async def until(condition: Callable[[], bool], timeout_s: float = 10.0, what: str = "condition") -> float:
    """Wait until ``condition`` holds; returns the wall seconds it took."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout_s:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(0.01)
    return time.monotonic() - started


@dataclass
class EntryAgent:
    """Enters long once (market, stop ``stop_pct`` below the price it is given), then holds the decision open
    for ``hold_s`` wall seconds (a slow model) before one more tool call. Later wakes make no call."""

    desk: TradingDesk
    journal: JournalSink
    price: Callable[[], Decimal]
    stop_pct: Decimal = Decimal("0.5")
    hold_s: float = 0.0
    entered: bool = False
    holding: asyncio.Event = field(default_factory=asyncio.Event)
    """Set while the entering decision is held open."""
    done: list[DecisionRecord] = field(default_factory=list)
    name: str = "entry-script"
    """The backend's name (``AgentBackend`` asks for one; the decision records carry it)."""

    async def decide(self, request: DecisionRequest) -> DecisionRecord:
        session = DecisionSession(request=request, memory_max_chars=500)
        tools = ToolExecutor(self.desk, self.journal, session)
        if not self.entered:
            self.entered = True
            stop = (self.price() * (1 - self.stop_pct / 100)).quantize(Decimal("0.01"))
            await tools.call("place_order", {
                "side": "long", "size_pct": 10.0, "order_type": "market", "stop_loss_price": float(stop),
                "signals": ["momentum"], "confidence": 0.6, "thesis": "scripted live entry"}, "c1")
            self.holding.set()
            await asyncio.sleep(self.hold_s)
            self.holding.clear()
            await tools.call("get_portfolio", {}, "c2")
        record = build_record(session, backend=self.name, prompt_version="test")
        self.done.append(record)
        return record

    def drain_alerts(self) -> list[Alert]:
        return []


def entry_agent(holder: dict[str, EntryAgent], price: Callable[[], Decimal], **fields: Any) -> AgentChoice:
    def factory(desk: TradingDesk, journal: JournalSink, clock: Clock) -> EntryAgent:
        holder["agent"] = EntryAgent(desk, journal, price, **fields)
        return holder["agent"]

    return AgentChoice(factory=factory)
