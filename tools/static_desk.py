"""A real :class:`~tools.context.TradingDesk` over plain values: the ``decide`` command and tests use it.

It holds a snapshot per symbol, a portfolio in Decimal, learner weights and a veto function, and
fills market orders at the snapshot's last price. It is deterministic: same inputs, same results.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from typing import Any

from core.errors import OrderRejected
from core.ids import Symbol, client_order_id
from core.settings import RiskSettings
from core.types import OrderType, PositionSide, Veto
from tools.interim_veto import DeskPosition, DeskState, basic_veto
from tools.proposals import Approved, CloseProposal, EntryProposal, Proposal, StopAdjustProposal
from tools.results import ExecutionReport

VetoFn = Callable[[Proposal, DeskState], Approved | Veto]
_QTY = Decimal("0.000001")


@dataclass
class StaticDesk:
    snapshots: Mapping[str, dict[str, Any]]
    equity: Decimal = Decimal(10_000)
    risk: RiskSettings = field(default_factory=RiskSettings)
    weights: dict[str, Any] = field(default_factory=dict)
    positions: dict[str, DeskPosition] = field(default_factory=dict)
    veto: VetoFn = basic_veto
    spot: bool = True
    executed: list[ExecutionReport] = field(default_factory=list)
    checks: int = 0

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
            "positions": [p.as_json() for p in self.positions.values()],
            "exposure_pct": round(self._exposure_pct(), 4),
            "market_type": "spot" if self.spot else "future",
        }

    async def learner_weights(self, regime: str | None) -> dict[str, Any]:
        per_regime = self.weights.get("per_regime", {})
        if regime is not None and regime in per_regime:
            return {"regime": regime, "signals": per_regime[regime]}
        return {"regime": None, "signals": self.weights.get("global", self.weights)}

    async def check(self, proposal: Proposal) -> Approved | Veto:
        self.checks += 1
        return self.veto(proposal, self.state())

    async def execute(self, approved: Approved) -> ExecutionReport:
        proposal = approved.proposal
        if isinstance(proposal, EntryProposal):
            report = self._enter(proposal)
        elif isinstance(proposal, CloseProposal):
            report = self._close(proposal)
        else:
            report = self._move_stop(proposal)
        self.executed.append(report)
        return report

    def state(self) -> DeskState:
        prices = {s: Decimal(str(p)) for s, snap in self.snapshots.items() if (p := snapshot_price(snap)) is not None}
        return DeskState(
            equity=self.equity, positions=dict(self.positions), last_prices=prices, risk=self.risk, spot=self.spot
        )

    def _enter(self, p: EntryProposal) -> ExecutionReport:
        price = p.limit_price if p.order_type is OrderType.LIMIT and p.limit_price else self._price(p.symbol)
        quantity = (self.equity * Decimal(str(p.size_pct)) / Decimal(100) / price).quantize(_QTY, ROUND_DOWN)
        if quantity <= 0:
            raise OrderRejected("below_min_quantity", f"size {p.size_pct}% of equity is below one lot")
        cid = client_order_id("tw", "static", len(self.executed) + 1)
        if p.order_type is OrderType.LIMIT:
            return ExecutionReport(status="open", symbol=p.symbol, client_order_id=cid, quantity=quantity, price=price)
        self.positions[p.symbol] = DeskPosition(
            symbol=p.symbol, side=p.side, quantity=quantity, entry_price=price, stop_price=p.stop_loss_price
        )
        return ExecutionReport(status="filled", symbol=p.symbol, client_order_id=cid, quantity=quantity, price=price)

    def _close(self, p: CloseProposal) -> ExecutionReport:
        position = self.positions[p.symbol]
        quantity = (position.quantity * Decimal(str(p.fraction))).quantize(_QTY, ROUND_DOWN)
        remaining = position.quantity - quantity
        if p.fraction >= 1 or remaining <= 0:
            quantity = position.quantity
            del self.positions[p.symbol]
        else:
            self.positions[p.symbol] = position.with_quantity(remaining)
        cid = client_order_id("tw", "static", len(self.executed) + 1)
        price = self._price(p.symbol)
        return ExecutionReport(status="closed", symbol=p.symbol, client_order_id=cid, quantity=quantity, price=price)

    def _move_stop(self, p: StopAdjustProposal) -> ExecutionReport:
        self.positions[p.symbol] = self.positions[p.symbol].with_stop(p.stop_price)
        return ExecutionReport(status="stop_moved", symbol=p.symbol, price=p.stop_price)

    def _price(self, symbol: str) -> Decimal:
        price = snapshot_price(self.snapshots[symbol])
        if price is None:
            raise OrderRejected("no_price", f"no last price for {symbol}")
        return Decimal(str(price))

    def _exposure_pct(self) -> float:
        notional = sum((p.quantity * self._price(p.symbol) for p in self.positions.values()), Decimal(0))
        return float(notional / self.equity * 100) if self.equity else 0.0


def snapshot_price(snapshot: Mapping[str, Any]) -> float | None:
    """The last price of a snapshot's JSON form: ``{"last_price": {"price": p, ...}}`` (the market
    package's ``MarketSnapshot``) or a plain number."""
    price = snapshot.get("last_price")
    if isinstance(price, Mapping):
        price = price.get("price")
    return float(price) if isinstance(price, (int, float)) and price > 0 else None


def long_position(symbol: str, quantity: str, entry: str, stop: str) -> DeskPosition:
    """A long position for fixtures and the ``decide`` command's ``--position`` option."""
    return DeskPosition(
        symbol=symbol,
        side=PositionSide.LONG,
        quantity=Decimal(quantity),
        entry_price=Decimal(entry),
        stop_price=Decimal(stop),
    )
