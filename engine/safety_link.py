"""The engine's hold on the safety layer: one object per process over ``safety.executor.GuardExecutor``.

It owns the latest prices and equity the safety decisions need, builds the read-only views the pure
veto takes, and runs the side-effecting parts (commands, the guard tick, approved proposals,
reconciliation) through the executor. Nothing here decides anything: the rules live in ``safety/``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from core.ids import Symbol
from core.money import MarketRules
from core.ports import Broker, Clock, Notifier, Store
from core.settings import RiskSettings, RunMode
from core.types import ClosedTrade, Position
from safety.alerts import AlertDispatcher
from safety.book import SafetyBook
from safety.commands import AppliedCommand, apply_pending_commands
from safety.entries import EntryResult
from safety.executor import GuardExecutor, TickReport
from safety.proposals import Proposal
from safety.reconcile import ReconcileReport, reconcile
from safety.reconcile import equity as account_equity
from safety.requests import Done, execute
from safety.verdicts import Approved, Verdict
from safety.veto import veto
from safety.views import Limits, Portfolio, Quote
from tools.static_desk import position_json


@dataclass
class SafetyLink:
    executor: GuardExecutor
    rules: Mapping[Symbol, MarketRules]
    limits: Limits
    quote_asset: str
    prices: dict[Symbol, Decimal] = field(default_factory=dict)
    price_at: dict[Symbol, datetime] = field(default_factory=dict)
    equity: Decimal = Decimal(0)

    @classmethod
    def open(
        cls,
        *,
        broker: Broker,
        store: Store,
        clock: Clock,
        notifiers: list[Notifier],
        rules: Mapping[Symbol, MarketRules],
        risk: RiskSettings,
        mode: RunMode,
        prefix: str,
        initial_equity: Decimal,
        quote_asset: str = "USDT",
        alert_interval_s: int = 60,
    ) -> SafetyLink:
        """Load the persisted book (or start one) and build the executor. Call :meth:`reconcile` next."""
        book = SafetyBook.load(store, initial_equity, clock.now())
        alerts = AlertDispatcher(notifiers, store, clock, min_interval_s=alert_interval_s)
        executor = GuardExecutor(broker, book, alerts, rules, risk, prefix)
        return cls(executor, rules, Limits(risk, mode), quote_asset, equity=initial_equity)

    # ------------------------------------------------------------------ market state

    def mark(self, symbol: Symbol, price: Decimal, at: datetime) -> None:
        self.prices[symbol] = price
        self.price_at[symbol] = at

    async def refresh_equity(self, now: datetime) -> Decimal:
        """Cash plus open positions marked at the latest prices, read from the exchange."""
        balances = await self.executor.broker_call(now, self.executor.broker.fetch_balance())
        self.equity = account_equity(balances, self.prices, self.quote_asset)
        return self.equity

    # ------------------------------------------------------------------ the engine's steps

    async def reconcile(self, now: datetime, *, cancel_orphans: bool = False) -> ReconcileReport:
        report = await reconcile(self.executor, self.prices, now, cancel_orphans=cancel_orphans, quote=self.quote_asset)
        if report.equity is not None:
            self.equity = report.equity
        return report

    async def apply_commands(self, now: datetime) -> list[AppliedCommand]:
        return await apply_pending_commands(self.executor, self.prices, now)

    async def guard(self, now: datetime) -> TickReport:
        """Finalization-first guard over every pending entry and open position (see ``safety.executor``)."""
        return await self.executor.tick(self.prices, now, self.equity)

    def agent_blocked(self, now: datetime) -> str | None:
        """Why the agent must not be woken now (halted or sleeping), or ``None``."""
        controls = self.executor.book.board.controls
        if controls.halted:
            return f"halted: {controls.halt_reason or 'no reason given'}"
        if controls.sleeping(now):
            return f"sleeping until {controls.sleep_until.isoformat() if controls.sleep_until else '?'}"
        return None

    # ------------------------------------------------------------------ the agent's side

    def check(self, proposal: Proposal, now: datetime) -> Verdict:
        """The pure veto against the current book, prices and equity (no side effects)."""
        return veto(proposal, self.portfolio(), self.market(), self.limits, self.executor.book.board, now)

    async def execute(self, approved: Approved, now: datetime) -> EntryResult | Done:
        return await execute(self.executor, approved, self.prices, now)

    def drain_closed(self) -> list[ClosedTrade]:
        """Closes committed since the last guard tick (exits the agent asked for in between)."""
        return self.executor.drain_closed()

    # ------------------------------------------------------------------ views

    def positions(self) -> tuple[Position, ...]:
        return tuple(record.position for record in self.executor.book.records.values())

    def portfolio(self) -> Portfolio:
        return self.executor.book.portfolio(self.equity)

    def market(self) -> dict[Symbol, Quote]:
        """The latest price of every market seen so far, stamped when it was seen (``mark`` sets both)."""
        return {
            symbol: Quote(self.rules[symbol], price, self.price_at[symbol])
            for symbol, price in self.prices.items()
            if symbol in self.rules
        }

    def portfolio_json(self, market_type: str) -> dict[str, Any]:
        """The ``get_portfolio`` tool's view: equity, exposure and every open position (decimal strings)."""
        portfolio = self.portfolio()
        exposure = portfolio.exposure(self.market())
        return {
            "equity": format(self.equity, "f"),
            "market_type": market_type,
            "exposure": format(exposure, "f"),
            "exposure_pct": float(exposure / self.equity * 100) if self.equity > 0 else 0.0,
            "positions": [_position_json(p, self.prices.get(p.symbol)) for p in portfolio.positions],
            "pending_entries": [
                {"symbol": e.symbol, "side": e.side.value, "notional": format(e.notional, "f")}
                for e in portfolio.pending_entries
            ],
            "controls": self.executor.book.board.controls.model_dump(mode="json"),
        }


def _position_json(position: Position, price: Decimal | None) -> dict[str, Any]:
    """The tools' keys for a position, plus what the engine knows beyond plain values."""
    body = position_json(position) | {
        "take_profit_price": format(position.take_profit_price, "f") if position.take_profit_price else None,
        "opened_at": position.opened_at.isoformat(),
    }
    if price is not None:
        sign = 1 if position.side.value == "long" else -1
        body["unrealized_pnl"] = format(sign * (price - position.entry_price) * position.quantity, "f")
    return body
