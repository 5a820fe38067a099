"""An engine over real parts for the engine tests: bundled real candles, the simulated exchange, a SQLite
store, the gate, safety, the learner; the agent is a script of tool calls (through the real choke point)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from agent.records import build_record
from backtests.data import BacktestData, select_data
from core.ports import Clock
from core.settings import Settings, load_settings
from core.types import Alert, Candle, DecisionRecord, DecisionRequest
from engine.engine import Engine, StepReport
from engine.events import CommandsPending
from engine.replay import CandleReplay
from engine.timeline import Timeline
from engine.wiring import AgentChoice, Core, SimParts, build_engine, market_for, sim_markets, sim_parts
from market.candles import frame_to_candles
from store.sqlite_store import SqliteStore
from tools.context import DecisionSession, JournalSink, TradingDesk
from tools.executor import ToolExecutor

Call = tuple[str, dict[str, Any]]


@dataclass
class ScriptedAgent:
    """Makes the tool calls scripted for a decision's candle index (any other wake: no call). Records what
    the portfolio looked like when it was asked, so tests can see what the agent saw."""

    desk: TradingDesk
    journal: JournalSink
    script: dict[int, list[Call]]
    index_of: dict[datetime, int]
    name: str = "scripted"
    seen: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    """Alerts the backend has for a human (``drain_alerts``), as an LLM router would queue them."""

    async def decide(self, request: DecisionRequest) -> DecisionRecord:
        session = DecisionSession(request=request, memory_max_chars=500)
        tools = ToolExecutor(self.desk, self.journal, session)
        i = self.index_of[request.as_of]
        portfolio = await tools.call("get_portfolio", {}, f"c{i}-0")
        self.seen.append((i, json.loads(portfolio.content)["portfolio"]))
        for n, (name, args) in enumerate(self.script.get(i, []), start=1):
            await tools.call(name, args, f"c{i}-{n}")
        return build_record(session, backend=self.name, prompt_version="test")

    def drain_alerts(self) -> list[Alert]:
        drained, self.alerts = self.alerts, []
        return drained


def every_candle(settings: Settings) -> Settings:
    """Wake the agent at every candle close (so a script can act at any candle)."""
    gate = settings.gate.model_copy(update={"candle_close_timeframes": ("1h",), "cooldown_s": 0})
    return settings.model_copy(update={"gate": gate})


@dataclass
class EngineWorld:
    engine: Engine
    parts: SimParts
    store: SqliteStore
    candles: list[Candle]
    agent: ScriptedAgent | None
    timeline: Timeline

    async def run(self, first: int, last: int) -> list[StepReport]:
        """Step candles ``first..last-1`` exactly as the backtest driver does."""
        replay = CandleReplay(self.engine, self.parts.clock, self.parts.venue, self.timeline)
        return [await replay.step(candle) for candle in self.candles[first:last]]

    async def commands(self) -> StepReport:
        """Step ``CommandsPending`` now, as the live loop does when the operator's queue holds commands."""
        pending = len(self.store.pending_commands())
        return await self.engine.step(CommandsPending(at=self.parts.clock.now(), count=pending))


def data_2024_q1() -> BacktestData:
    from datetime import UTC

    return select_data(start=datetime(2024, 1, 1, tzinfo=UTC), end=datetime(2024, 4, 1, tzinfo=UTC))


def build_world(
    path: Path, script: dict[int, list[Call]], *, settings: Settings | None = None,
    parts: SimParts | None = None, data: BacktestData | None = None, wrap_store: Callable[[SqliteStore], Any] | None = None,
) -> EngineWorld:
    """A world over ``path`` (its store); pass ``parts`` from an earlier world to restart over the same venue.
    ``wrap_store`` wraps the SQLite store the engine is given (e.g. to count its reads)."""
    data = data or data_2024_q1()
    settings = settings or every_candle(load_settings(None))
    candles = frame_to_candles(data.candles, data.symbol, data.timeframe)
    parts = parts or sim_parts(settings, candles[0].open_at, sim_markets(settings, settings.backtest.fee_pct))
    store = SqliteStore(path, durable=False)
    if wrap_store is not None:
        store = wrap_store(store)
    index_of = {c.open_at + timedelta(hours=1): i for i, c in enumerate(candles)}
    holder: dict[str, ScriptedAgent] = {}

    def factory(desk: TradingDesk, journal: JournalSink, clock: Clock) -> ScriptedAgent:
        holder["agent"] = ScriptedAgent(desk, journal, script, index_of)
        return holder["agent"]

    core = Core(settings=settings, clock=parts.clock, broker=parts.broker, store=store,
                market=market_for(data.symbol, data.all_candles, data.timeframe), rules=parts.venue.markets(),
                initial_equity=Decimal(str(settings.backtest.initial_cash)), seed=1)
    engine = asyncio.run(build_engine(core, AgentChoice(factory=factory)))
    timeline = Timeline.of([(data.symbol, data.candles)], data.timeframe)
    return EngineWorld(engine, parts, store, candles, holder.get("agent"), timeline)


def entry(stop: float, size_pct: float = 10.0) -> Call:
    return ("place_order", {"side": "long", "size_pct": size_pct, "order_type": "market", "stop_loss_price": stop,
                            "signals": ["momentum"], "confidence": 0.6, "thesis": "scripted test entry"})
