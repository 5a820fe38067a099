"""A real :class:`~tools.context.TradingDesk` over plain values: the ``decide`` command and tests use it.

It holds a snapshot per symbol, a portfolio in Decimal (core ``Position``s, one per symbol) and
learner weights. ``check`` is the real :func:`safety.veto.veto` on views built from those values
(quotes at the snapshot's last price with the simulated exchange's Binance market rules, paper-mode
limits, a fresh reconciled breaker board). ``check_schedule`` asks the injected ``schedule_check``
(``engine.static_gate.gate_schedule_check`` builds a real gate from the desk's values, so the model meets
the same refusals as in the engine; ``tools`` may not import ``gate``); without one it validates the
conditions' shapes only. ``execute`` fills at the
snapshot price. Time stands still at the snapshots' time. Same inputs, same results.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, assert_never

from pydantic import ValidationError

from core.conditions import WAKE_CONDITIONS
from core.errors import ConfigError, OrderRejected
from core.ids import PositionId, Symbol, client_order_id
from core.money import MarketRules
from core.settings import RiskSettings, RunMode
from core.types import Position, PositionSide, Veto
from exchange.sim import binance_futures_markets, binance_spot_markets
from safety.breakers import BreakerBoard
from safety.proposals import (
    AdjustStopProposal,
    AdjustTakeProfitProposal,
    CancelEntryProposal,
    CloseProposal,
    EntryOrderType,
    EntryProposal,
    Proposal,
)
from safety.verdicts import Approved, Vetoed
from safety.veto import veto
from safety.views import Limits, Portfolio, Quote
from tools.results import ExecutionReport

ScheduleCheck = Callable[["StaticDesk", int | None, Sequence[Mapping[str, Any]]], list[str]]
"""Problems with an agent's schedule on this desk (one line each), like ``Gate.check_schedule``."""


@dataclass
class StaticDesk:
    snapshots: Mapping[str, dict[str, Any]]
    equity: Decimal = Decimal(10_000)
    risk: RiskSettings = field(default_factory=RiskSettings)
    weights: dict[str, Any] = field(default_factory=dict)
    positions: dict[str, Position] = field(default_factory=dict)
    """Open positions by symbol."""
    spot: bool = True
    markets: Mapping[str, MarketRules] = field(default_factory=dict)
    """Market rules by symbol; a symbol not here takes the simulated exchange's Binance rules."""
    breakers: BreakerBoard | None = None
    """Default: a fresh board, reconciled at the snapshots' time (nothing blocks entries)."""
    schedule_check: ScheduleCheck | None = None
    executed: list[ExecutionReport] = field(default_factory=list)
    last_exit_at: dict[str, datetime] = field(default_factory=dict)
    checks: int = 0

    # ------------------------------------------------------------------ reads

    async def snapshot(self, symbol: Symbol) -> dict[str, Any]:
        if symbol not in self.snapshots:
            raise OrderRejected("unknown_symbol", f"no market data for {symbol}")
        return self.snapshots[symbol]

    async def regime(self, symbol: Symbol) -> dict[str, Any]:
        regime = (await self.snapshot(symbol)).get("regime")
        return dict(regime) if isinstance(regime, dict) else {"label": "unknown"}

    async def portfolio(self) -> dict[str, Any]:
        return {
            "equity": format(self.equity, "f"),
            "positions": [position_json(p) for p in self.positions.values()],
            "exposure_pct": round(float(self._portfolio().exposure(self._market()) / self.equity * 100), 4),
            "market_type": "spot" if self.spot else "future",
        }

    async def learner_weights(self, regime: str | None) -> dict[str, Any]:
        per_regime = self.weights.get("per_regime", {})
        if regime is not None and regime in per_regime:
            return {"regime": regime, "signals": per_regime[regime]}
        return {"regime": None, "signals": self.weights.get("global", self.weights)}

    # ------------------------------------------------------------------ checks (no side effects)

    async def check(self, proposal: Proposal) -> Approved | Veto:
        self.checks += 1
        now = self.now
        board = self.breakers or BreakerBoard.fresh(self.equity, now).model_copy(update={"reconciled_at": now})
        verdict = veto(proposal, self._portfolio(), self._market(), Limits(self.risk, RunMode.PAPER), board, now)
        return verdict.as_veto() if isinstance(verdict, Vetoed) else verdict

    def check_schedule(self, next_check_seconds: int | None, conditions: Sequence[Mapping[str, Any]]) -> list[str]:
        if self.schedule_check is not None:
            return self.schedule_check(self, next_check_seconds, conditions)
        try:
            WAKE_CONDITIONS.validate_python(list(conditions))
        except ValidationError as exc:
            return [f"wake_conditions.{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
        return []

    @property
    def now(self) -> datetime:
        """The desk's time: the latest ``as_of`` of its snapshots."""
        times = [datetime.fromisoformat(str(s["as_of"])) for s in self.snapshots.values() if s.get("as_of")]
        if not times:
            raise ConfigError("the static desk needs snapshots with an as_of time")
        return max(times)

    def _portfolio(self) -> Portfolio:
        return Portfolio(
            equity=self.equity,
            positions=tuple(self.positions.values()),
            last_exit_at={Symbol(s): at for s, at in self.last_exit_at.items()},
        )

    def _market(self) -> dict[Symbol, Quote]:
        quotes = {}
        for symbol, snap in self.snapshots.items():
            price, rules = snapshot_price(snap), self._rules(symbol)
            if price is not None and rules is not None and snap.get("as_of"):
                quotes[Symbol(symbol)] = Quote(rules, Decimal(str(price)), datetime.fromisoformat(str(snap["as_of"])))
        return quotes

    def _rules(self, symbol: str) -> MarketRules | None:
        if symbol in self.markets:
            return self.markets[symbol]
        known = binance_spot_markets() if self.spot else binance_futures_markets()
        return next((rules for rules in known if rules.symbol == symbol), None)

    # ------------------------------------------------------------------ execution

    async def execute(self, approved: Approved) -> ExecutionReport:
        proposal = approved.proposal
        match proposal:
            case EntryProposal():
                report = self._enter(proposal, approved)
            case CloseProposal():
                report = self._close(proposal, approved)
            case AdjustStopProposal():
                report = self._move_stop(proposal, approved)
            case AdjustTakeProfitProposal():
                report = self._move_take_profit(proposal, approved)
            case CancelEntryProposal():
                raise OrderRejected("no_pending_entry", "the static desk keeps no pending entries")
            case _:
                assert_never(proposal)
        self.executed.append(report)
        return report

    def _enter(self, p: EntryProposal, approved: Approved) -> ExecutionReport:
        quantity, price = _required(approved.quantity), _required(approved.reference_price)
        cid = client_order_id("tw", "static", len(self.executed) + 1)
        if p.order_type is EntryOrderType.LIMIT:
            return ExecutionReport(status="open", symbol=p.symbol, client_order_id=cid, quantity=quantity, price=price)
        if p.symbol in self.positions:
            raise OrderRejected("position_exists", f"the static desk holds one position per symbol ({p.symbol})")
        stop = _required(approved.stop_price)
        self.positions[p.symbol] = Position(
            id=approved.position_id or PositionId(cid),
            symbol=p.symbol,
            side=p.side,
            quantity=quantity,
            entry_price=price,
            opened_at=self.now,
            stop_price=stop,
            initial_stop_price=stop,
            take_profit_price=approved.take_profit_price,
            signals=p.signals,
            regime=p.regime,
            trailing_activation_pct=p.trailing_activation_pct,
            trailing_distance_pct=p.trailing_distance_pct,
        )
        return ExecutionReport(status="filled", symbol=p.symbol, client_order_id=cid, quantity=quantity, price=price)

    def _close(self, p: CloseProposal, approved: Approved) -> ExecutionReport:
        position = self.positions[p.symbol]
        quantity = min(_required(approved.quantity), position.quantity)
        remaining = position.quantity - quantity
        if remaining <= 0:
            del self.positions[p.symbol]
            self.last_exit_at[p.symbol] = self.now
        else:
            self.positions[p.symbol] = position.model_copy(update={"quantity": remaining})
        cid = client_order_id("tw", "static", len(self.executed) + 1)
        price = self._price(p.symbol)
        return ExecutionReport(status="closed", symbol=p.symbol, client_order_id=cid, quantity=quantity, price=price)

    def _move_stop(self, p: AdjustStopProposal, approved: Approved) -> ExecutionReport:
        stop = _required(approved.stop_price)
        self.positions[p.symbol] = self.positions[p.symbol].model_copy(update={"stop_price": stop})
        return ExecutionReport(status="stop_moved", symbol=p.symbol, price=stop)

    def _move_take_profit(self, p: AdjustTakeProfitProposal, approved: Approved) -> ExecutionReport:
        take_profit = _required(approved.take_profit_price)
        self.positions[p.symbol] = self.positions[p.symbol].model_copy(update={"take_profit_price": take_profit})
        return ExecutionReport(status="take_profit_moved", symbol=p.symbol, price=take_profit)

    def _price(self, symbol: str) -> Decimal:
        price = snapshot_price(self.snapshots[symbol])
        if price is None:
            raise OrderRejected("no_price", f"no last price for {symbol}")
        return Decimal(str(price))


def _required(value: Decimal | None) -> Decimal:
    """A value safety's approval always carries for this proposal kind (its absence is a safety bug)."""
    if value is None:
        raise RuntimeError("safety's approval lacks a value it always sets for this proposal kind")
    return value


def snapshot_price(snapshot: Mapping[str, Any]) -> float | None:
    """The last price of a snapshot's JSON form: ``{"last_price": {"price": p, ...}}`` (the market
    package's ``MarketSnapshot``) or a plain number."""
    price = snapshot.get("last_price")
    if isinstance(price, Mapping):
        price = price.get("price")
    return float(price) if isinstance(price, (int, float)) and price > 0 else None


def position_json(position: Position) -> dict[str, Any]:
    """The keys ``get_portfolio`` promises for each position (decimal strings)."""
    return {
        "id": position.id,
        "symbol": position.symbol,
        "side": position.side.value,
        "quantity": format(position.quantity, "f"),
        "entry_price": format(position.entry_price, "f"),
        "stop_price": format(position.stop_price, "f"),
    }


def long_position(symbol: str, quantity: str, entry: str, stop: str, opened_at: datetime) -> Position:
    """A long position for fixtures."""
    return Position(
        id=PositionId(f"p-{symbol.replace('/', '').replace(':', '').lower()}"),
        symbol=Symbol(symbol),
        side=PositionSide.LONG,
        quantity=Decimal(quantity),
        entry_price=Decimal(entry),
        opened_at=opened_at,
        stop_price=Decimal(stop),
        initial_stop_price=Decimal(stop),
    )
