"""A minimal pure veto for the static desk, used until ``safety.veto`` lands on main.

It checks what the tools' contract promises the model (stop side and distance bounds, position
cap, no pyramiding, no shorts on spot, stops only tighten, a position must exist to close) so the
agent tests can pin "a refused order is never placed". ``safety/`` owns the real rules.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from core.settings import RiskSettings
from core.types import OrderType, PositionSide, Veto
from tools.proposals import Approved, CloseProposal, EntryProposal, Proposal, StopAdjustProposal


@dataclass(frozen=True)
class DeskPosition:
    symbol: str
    side: PositionSide
    quantity: Decimal
    entry_price: Decimal
    stop_price: Decimal

    def with_quantity(self, quantity: Decimal) -> DeskPosition:
        return replace(self, quantity=quantity)

    def with_stop(self, stop: Decimal) -> DeskPosition:
        return replace(self, stop_price=stop)

    def as_json(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "side": self.side.value,
            "quantity": format(self.quantity, "f"),
            "entry_price": format(self.entry_price, "f"),
            "stop_price": format(self.stop_price, "f"),
        }


@dataclass(frozen=True)
class DeskState:
    equity: Decimal
    positions: dict[str, DeskPosition]
    last_prices: dict[str, Decimal]
    risk: RiskSettings
    spot: bool = True


def basic_veto(proposal: Proposal, state: DeskState) -> Approved | Veto:
    if isinstance(proposal, EntryProposal):
        return _entry(proposal, state)
    if isinstance(proposal, CloseProposal):
        if proposal.symbol not in state.positions:
            return Veto(code="no_position", message=f"no open position in {proposal.symbol} to close")
        return Approved(proposal=proposal)
    return _stop(proposal, state)


def _entry(p: EntryProposal, state: DeskState) -> Approved | Veto:
    risk = state.risk
    price = state.last_prices.get(p.symbol)
    if price is None:
        return Veto(code="no_price", message=f"no last price for {p.symbol}")
    if p.symbol in state.positions and not risk.allow_pyramiding:
        return Veto(code="pyramiding", message=f"a position in {p.symbol} is already open")
    entry = p.limit_price if p.order_type is OrderType.LIMIT and p.limit_price else price
    problem = _side_problem(p, state) or _stop_problem(p.side, entry, p.stop_loss_price, risk)
    if problem is not None:
        return problem
    if p.size_pct > risk.max_position_pct:
        if not risk.reduce_oversize_to_cap:
            return Veto(code="size_cap", message=f"size {p.size_pct}% is above the cap {risk.max_position_pct}%")
        capped = p.model_copy(update={"size_pct": risk.max_position_pct})
        return Approved(proposal=capped, notes=(f"size capped from {p.size_pct}% to {risk.max_position_pct}%",))
    return Approved(proposal=p)


def _side_problem(p: EntryProposal, state: DeskState) -> Veto | None:
    if p.side is PositionSide.SHORT and state.spot:
        return Veto(code="spot_short", message="shorts need a futures account; this account is spot")
    return None


def _stop_problem(side: PositionSide, entry: Decimal, stop: Decimal, risk: RiskSettings) -> Veto | None:
    wrong_side = stop >= entry if side is PositionSide.LONG else stop <= entry
    if wrong_side:
        where = "below" if side is PositionSide.LONG else "above"
        return Veto(code="stop_wrong_side", message=f"the stop must be {where} the entry price {entry}")
    distance_pct = float(abs(entry - stop) / entry * 100)
    if distance_pct < risk.stop_min_distance_pct or distance_pct > risk.stop_max_distance_pct:
        return Veto(
            code="stop_distance",
            message=(
                f"stop is {distance_pct:.2f}% from entry; allowed {risk.stop_min_distance_pct}% "
                f"to {risk.stop_max_distance_pct}%"
            ),
        )
    return None


def _stop(p: StopAdjustProposal, state: DeskState) -> Approved | Veto:
    position = state.positions.get(p.symbol)
    if position is None:
        return Veto(code="no_position", message=f"no open position in {p.symbol}")
    long = position.side is PositionSide.LONG
    looser = p.stop_price < position.stop_price if long else p.stop_price > position.stop_price
    if looser:
        return Veto(code="stop_loosen", message=f"stops only tighten: current stop is {position.stop_price}")
    price = state.last_prices.get(p.symbol)
    through = price is not None and (
        p.stop_price >= price if position.side is PositionSide.LONG else p.stop_price <= price
    )
    if through:
        return Veto(code="stop_through_price", message=f"the stop {p.stop_price} is through the last price {price}")
    return Approved(proposal=p)
