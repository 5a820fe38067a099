"""The real engine desk over simulated parts, for the tools, agent and contract tests.

Built through the real wiring (``engine.wiring.build_engine``): the simulated exchange (Binance spot
markets, market orders fill at once, no slippage), a SQLite store, the gate, the learner and the safety
service, reconciled, with the bundled real BTC/USDT 1h candles of Q1 2024 as market data. The account
sees one price, ``price`` (50,000 by default: the price of the tests' synthetic snapshots), brought in
by one engine step at ``AT``, the way a live tick would.

:class:`RecordingDesk` is that desk as the tests hold it: it forwards every call to the real desk and
keeps what a test looks at (how many checks, the execution reports, the open positions).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from agent.records import build_record
from backtests.data import BacktestData, select_data
from core.clock import SimClock
from core.ids import Symbol
from core.portfolio import PortfolioView
from core.ports import Clock
from core.settings import RiskSettings, Settings, load_settings
from core.types import Alert, DecisionRecord, DecisionRequest, Position, PositionSide, Signal, Veto
from engine.desk import EngineDesk
from engine.engine import Engine
from engine.events import PriceTick
from engine.wiring import AgentChoice, Core, build_engine, market_for, sim_exchange, sim_markets
from exchange.sim import MarketFill, SimBroker, SimExchange
from learning.weights import LearnerWeights
from market.regime import RegimeReading
from market.snapshot import MarketSnapshot
from safety.proposals import EntryProposal, Proposal
from safety.verdicts import Approved
from store.sqlite_store import SqliteStore
from tests.tools.helpers import AT
from tools.context import DecisionSession, JournalSink, ScheduleCheck, TradingDesk
from tools.results import ExecutionReport

BTC = Symbol("BTC/USDT")
_DATA: list[BacktestData] = []


def q1_2024() -> BacktestData:
    """The bundled real candles of Q1 2024 (read once per test process)."""
    if not _DATA:
        _DATA.append(select_data(start=datetime(2024, 1, 1, tzinfo=UTC), end=datetime(2024, 4, 1, tzinfo=UTC)))
    return _DATA[0]


@dataclass
class Bystander:
    """The engine's own agent in these worlds: the tests drive the desk themselves."""

    name: str = "bystander"

    async def decide(self, request: DecisionRequest) -> DecisionRecord:
        return build_record(DecisionSession(request=request, memory_max_chars=0), backend=self.name,
                            prompt_version="test")

    def drain_alerts(self) -> list[Alert]:
        return []


@dataclass
class RecordingDesk:
    """The engine's desk, with what the tests look at kept on the side."""

    inner: EngineDesk
    engine: Engine
    venue: SimExchange
    store: SqliteStore
    checks: int = 0
    executed: list[ExecutionReport] = field(default_factory=list)

    async def snapshot(self, symbol: Symbol) -> MarketSnapshot:
        return await self.inner.snapshot(symbol)

    async def regime(self, symbol: Symbol) -> RegimeReading | None:
        return await self.inner.regime(symbol)

    async def portfolio(self) -> PortfolioView:
        return await self.inner.portfolio()

    async def learner_weights(self, regime: str | None) -> LearnerWeights:
        return await self.inner.learner_weights(regime)

    async def check(self, proposal: Proposal) -> Approved | Veto:
        self.checks += 1
        return await self.inner.check(proposal)

    def check_schedule(self, next_check_seconds: int | None, conditions: Sequence[Mapping[str, Any]]) -> ScheduleCheck:
        return self.inner.check_schedule(next_check_seconds, conditions)

    async def execute(self, approved: Approved) -> ExecutionReport:
        report = await self.inner.execute(approved)
        self.executed.append(report)
        return report

    @property
    def positions(self) -> dict[str, Position]:
        """Open positions by symbol, as the safety service holds them."""
        return {p.symbol: p for p in self.engine.safety.positions()}

    async def hold_long(self, stop: str, size_pct: float = 20.0) -> Position:
        """Open a long at the market through the veto and the guard, outside any decision (a fixture)."""
        proposal = EntryProposal(symbol=BTC, side=PositionSide.LONG, size_pct=size_pct, stop_loss=Decimal(stop),
                                 signals=(Signal.TREND_FOLLOW,), idempotency_key=f"fixture-{len(self.executed)}")
        approved = await self.inner.check(proposal)
        assert isinstance(approved, Approved), approved
        await self.inner.execute(approved)
        return self.positions[BTC]

    def close(self) -> None:
        self.store.close()


async def engine_desk(
    path: Path, *, price: float = 50_000.0, equity: float = 10_000.0, risk: RiskSettings | None = None
) -> RecordingDesk:
    """A real engine desk over the simulated exchange, its store at ``path`` (close it after the test)."""
    base = load_settings(None)
    settings: Settings = base if risk is None else base.model_copy(update={"risk": risk})
    data = q1_2024()
    clock = SimClock(AT)
    venue = sim_exchange(settings, clock, sim_markets(settings), fill=MarketFill.IMMEDIATE, initial_cash=equity,
                         slippage_bps=0)
    venue.on_price(Decimal(str(price)), AT, symbol=BTC)
    store = SqliteStore(path, durable=False)
    desks: list[EngineDesk] = []

    def factory(desk: TradingDesk, journal: JournalSink, clock: Clock) -> Bystander:
        assert isinstance(desk, EngineDesk)
        desks.append(desk)
        return Bystander()

    core = Core(settings=settings, clock=clock, broker=SimBroker(venue), store=store,
                market=market_for(data.symbol, data.all_candles, data.timeframe), rules=venue.markets(),
                initial_equity=Decimal(str(equity)), seed=1)
    engine = await build_engine(core, AgentChoice(factory=factory))
    await engine.step(PriceTick(at=AT, symbol=BTC, price=price))
    return RecordingDesk(desks[0], engine, venue, store)
