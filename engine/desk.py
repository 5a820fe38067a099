"""The engine's :class:`tools.context.TradingDesk`: what the agent's tools read and act on, live, in a
backtest and for ``tradewake decide``. Reads come from the market snapshot builder, the regime tracker,
the learner and the safety service; side effects go through the service's pure veto and then its guard
(never straight to the broker). The safety service is the only safety object the desk talks to.

Every read is as of the engine clock's ``now``, so a backtest's agent never sees a byte from the future.

The calls that read or change safety's state (the portfolio, the veto, carrying out a proposal) hold the engine's
lock while they run and release it when they return: a live guard pass waits at most for the one call in
progress, never for a whole decision, and never sees safety's book half-way through a call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.errors import OrderRejected, RejectCode
from core.ids import Symbol
from core.portfolio import PortfolioView
from core.ports import Clock
from core.types import Veto
from engine.holdings import HoldingsLink
from gate.gate import Gate
from learning.service import Learner
from learning.weights import LearnerWeights
from market.builder import Market
from market.regime import RegimeReading
from market.snapshot import MarketSnapshot
from safety.proposals import Proposal
from safety.service import Done, EntryResult, SafetyService
from safety.verdicts import Approved, VetoCode, Vetoed
from tools.context import ScheduleCheck
from tools.results import ExecutionReport


@dataclass
class EngineDesk:
    market: Market
    safety: SafetyService
    learner: Learner
    gate: Gate
    clock: Clock
    rng: np.random.Generator
    holdings: HoldingsLink | None = None
    """Managed holdings (spot runs): told when the agent tries to close or change one."""
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    """The engine's lock (``Engine.lock``): one holder at a time of safety's state."""

    async def snapshot(self, symbol: Symbol) -> MarketSnapshot:
        self._known(symbol)
        return self.market.snapshot(symbol, self.clock.now())

    async def regime(self, symbol: Symbol) -> RegimeReading | None:
        """The regime reading the snapshot would carry, without building the whole snapshot."""
        self._known(symbol)
        tracker = self.market.builder(symbol).regime
        return tracker.at(self.clock.now()) if tracker is not None else None

    async def portfolio(self) -> PortfolioView:
        async with self.lock:
            return self.safety.portfolio_view(self.clock.now())

    async def learner_weights(self, regime: str | None) -> LearnerWeights:
        return self.learner.weights(regime, self.rng)

    async def check(self, proposal: Proposal) -> Approved | Veto:
        async with self.lock:
            verdict = self.safety.check(proposal, self.clock.now())
        if isinstance(verdict, Vetoed) and verdict.code is VetoCode.MANAGED_HOLDING and self.holdings is not None:
            await self.holdings.refused_to_bot(proposal, verdict)
        return verdict.as_veto() if isinstance(verdict, Vetoed) else verdict

    def check_schedule(self, next_check_seconds: int | None, conditions: Sequence[Mapping[str, Any]]) -> ScheduleCheck:
        plan = self.gate.preview_schedule(next_check_seconds, conditions, self.clock.now())
        if isinstance(plan, list):
            return ScheduleCheck(problems=tuple(plan))
        return ScheduleCheck(applied_seconds=plan.applied_s, notes=plan.notes)

    async def execute(self, approved: Approved) -> ExecutionReport:
        async with self.lock:
            outcome = await self.safety.execute(approved, self.clock.now())
        return execution_report(approved, outcome)

    def _known(self, symbol: Symbol) -> None:
        """A symbol the model asked about that we have no data for is its mistake (``OrderRejected``, an
        ``is_error`` result), not a configuration error that would abort the decision."""
        if symbol not in self.market.symbols:
            known = ", ".join(self.market.symbols)
            raise OrderRejected(RejectCode.UNKNOWN_SYMBOL, f"no market data for {symbol}; markets: {known}")


def execution_report(approved: Approved, outcome: EntryResult | Done) -> ExecutionReport:
    """What the model reads back about an approved proposal it made."""
    symbol = approved.proposal.symbol
    if isinstance(outcome, EntryResult):
        if outcome.status == "rejected":
            raise OrderRejected(outcome.code or RejectCode.INVALID_ORDER, outcome.message)
        return ExecutionReport(
            status=outcome.status,
            symbol=symbol,
            client_order_id=None,
            quantity=approved.quantity,
            price=approved.reference_price,
            detail=f"position {outcome.position_id}: {outcome.message}",
        )
    return ExecutionReport(
        status="done",
        symbol=symbol,
        quantity=approved.quantity,
        price=approved.stop_price or approved.take_profit_price,
        detail=f"position {outcome.position_id}: {outcome.message}",
    )
