"""The tool fuzz's oracle: for a side-effecting call the choke point accepted, every limit it broke.

Independent of ``safety.veto``: it reads the same inputs (quotes, the book, controls and breakers, the
clock, the risk settings), but recomputes each limit here, in plain arithmetic, from the call's own
arguments and what safety approved. An empty list means the acceptance was right.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal
from typing import Any

from core.ids import Symbol
from core.settings import RiskSettings
from core.types import Position, PositionSide
from safety.views import Portfolio, Quote
from tools.inputs import AdjustStop, ClosePosition, PlaceOrder
from tools.registry import ToolName

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Before:
    """What the account looked like just before the call."""

    now: datetime
    risk: RiskSettings
    default_symbol: Symbol
    quotes: Mapping[Symbol, Quote]
    portfolio: Portfolio
    halted: bool
    sleeping: bool
    entries_blocked: bool
    """State not saved, not reconciled, or a breaker open."""
    orders_today: int


def violations(name: str, arguments: dict[str, Any], approved: dict[str, Any], before: Before) -> list[str]:
    """The limits broken by a call of ``name`` that safety approved (``approved``: the approval as journaled
    and returned, ``tools.results.ApprovedView``), whether or not the exchange then took the order."""
    if name == ToolName.PLACE_ORDER:
        return _entry(PlaceOrder.model_validate(arguments), approved, before)
    if name == ToolName.CLOSE_POSITION:
        return _close(ClosePosition.model_validate(arguments), approved, before)
    if name == ToolName.ADJUST_STOP:
        return _stop(AdjustStop.model_validate(arguments), approved, before)
    return [f"{name} is not a side-effecting tool"]


def _tick(value: Decimal, step: Decimal) -> Decimal:
    return (value / step).to_integral_value(ROUND_HALF_EVEN) * step


def _pct(a: Decimal, b: Decimal) -> Decimal:
    return abs(a - b) / b * HUNDRED


def _band(side: PositionSide, stop: Decimal, reference: Decimal, risk: RiskSettings) -> list[str]:
    below = stop < reference if side is PositionSide.LONG else stop > reference
    if not below:
        return [f"{side.value} stop {stop} on the wrong side of {reference}"]
    distance = _pct(stop, reference)
    low, high = Decimal(str(risk.stop_min_distance_pct)), Decimal(str(risk.stop_max_distance_pct))
    return [] if low <= distance <= high else [f"stop {stop} is {distance:.4f}% from {reference}, outside [{low}, {high}]"]


def _exposure(b: Before) -> Decimal:
    marked = sum((p.quantity * _last(b, p) for p in b.portfolio.positions), Decimal(0))
    return marked + sum((e.notional for e in b.portfolio.pending_entries), Decimal(0))


def _last(b: Before, position: Position) -> Decimal:
    quote = b.quotes.get(position.symbol)
    return quote.last_price if quote is not None else position.entry_price


def _entry(req: PlaceOrder, approved: dict[str, Any], b: Before) -> list[str]:
    risk, symbol = b.risk, Symbol(req.symbol or b.default_symbol)
    wrong = _entry_state(req, symbol, b)
    quote = b.quotes.get(symbol)
    if quote is None:
        return [*wrong, f"approved on {symbol}, which has no quote"]
    rules, last = quote.rules, quote.last_price
    if (b.now - quote.as_of).total_seconds() > risk.stale_data_s:
        wrong.append(f"the price was {(b.now - quote.as_of).total_seconds():.0f}s old")
    if req.side is PositionSide.SHORT and not rules.contract:
        wrong.append("a short on a spot market")
    reference = last if req.limit_price is None else _tick(req.limit_price, rules.tick_size)
    if req.limit_price is not None and _pct(reference, last) > Decimal(str(risk.fat_finger_band_pct)):
        wrong.append(f"limit {reference} outside the fat-finger band around {last}")
    wrong += _band(req.side, _tick(req.stop_loss_price, rules.tick_size), reference, risk)
    if req.take_profit_price is not None:
        tp = _tick(req.take_profit_price, rules.tick_size)
        if not (tp > reference if req.side is PositionSide.LONG else tp < reference):
            wrong.append(f"take-profit {tp} on the wrong side of {reference}")
    return wrong + _entry_size(req, approved, b, quote)


def _entry_state(req: PlaceOrder, symbol: Symbol, b: Before) -> list[str]:
    wrong = [why for why, broken in (("halted", b.halted), ("asleep", b.sleeping),
                                     ("entries blocked by state or a breaker", b.entries_blocked),
                                     ("daily order cap reached", b.orders_today >= b.risk.max_orders_per_day),
                                     ("no equity", b.portfolio.equity <= 0)) if broken]
    sides = {p.side for p in b.portfolio.positions if p.symbol == symbol}
    sides |= {e.side for e in b.portfolio.pending_entries if e.symbol == symbol}
    if sides - {req.side}:
        wrong.append("an opposite position or entry exists")
    elif sides and not b.risk.allow_pyramiding:
        wrong.append("a position exists and pyramiding is off")
    exited = b.portfolio.last_exit_at.get(symbol)
    if exited is not None and b.now < exited + timedelta(seconds=b.risk.cooldown_after_exit_s):
        wrong.append("inside the cooldown after an exit")
    return wrong


def _entry_size(req: PlaceOrder, approved: dict[str, Any], b: Before, quote: Quote) -> list[str]:
    risk, rules = b.risk, quote.rules
    equity = b.portfolio.equity
    size, requested = Decimal(str(approved["proposal"]["size_pct"])), Decimal(str(req.size_pct))
    used = _exposure(b) / equity * HUNDRED if equity > 0 else Decimal(0)
    cap = min(Decimal(str(risk.max_position_pct)), Decimal(str(risk.max_total_exposure_pct)) - used)
    wrong = []
    if size > requested or size > cap + Decimal("1e-9"):
        wrong.append(f"size {size}% (asked {requested}%) above the cap of {cap:.6f}%")
    if not risk.reduce_oversize_to_cap and size != requested:
        wrong.append(f"size changed from {requested}% to {size}% though oversize must be refused")
    if approved["proposal"]["side"] != req.side.value:
        wrong.append("approved the other side")
    quantity, price = Decimal(approved["quantity"]), Decimal(approved["reference_price"])
    if quantity % rules.step_size != 0 or quantity < rules.min_qty or quantity * price < rules.min_notional:
        wrong.append(f"quantity {quantity} off the step or below the minimums")
    room = equity * Decimal(str(risk.max_total_exposure_pct)) / HUNDRED - _exposure(b)
    if quantity * price > min(equity * cap / HUNDRED, room) + rules.step_size * price:
        wrong.append(f"notional {quantity * price} above what the caps leave")
    return wrong


def _position(symbol: Symbol, b: Before) -> Position | None:
    held = [p for p in b.portfolio.positions if p.symbol == symbol]
    return held[0] if len(held) == 1 else None


def _close(req: ClosePosition, approved: dict[str, Any], b: Before) -> list[str]:
    symbol = Symbol(req.symbol or b.default_symbol)
    position = _position(symbol, b)
    if position is None:
        return [f"closed a position in {symbol} that is not (exactly one) open position"]
    quantity = Decimal(approved["quantity"])
    if req.fraction >= 1:
        return [] if quantity == position.quantity else [f"a full close of {quantity}, not {position.quantity}"]
    quote = b.quotes.get(symbol)
    if quote is None:
        return ["a partial close without a quote"]
    rules = quote.rules
    expected = (position.quantity * Decimal(str(req.fraction)) / rules.step_size).to_integral_value(ROUND_DOWN)
    wrong = [] if quantity == expected * rules.step_size else [f"closed {quantity}, not {expected * rules.step_size}"]
    for part in (quantity, position.quantity - quantity):
        if part <= 0 or part < rules.min_qty or part * quote.last_price < rules.min_notional:
            wrong.append(f"a part of {part} below the market's minimums")
    return wrong


def _stop(req: AdjustStop, approved: dict[str, Any], b: Before) -> list[str]:
    symbol = Symbol(req.symbol or b.default_symbol)
    position, quote = _position(symbol, b), b.quotes.get(symbol)
    if position is None or quote is None:
        return [f"moved a stop in {symbol} without (exactly one) position and a quote"]
    new = _tick(req.stop_price, quote.rules.tick_size)
    wrong = [] if Decimal(approved["stop_price"]) == new else [f"approved stop {approved['stop_price']}, not {new}"]
    if (b.now - quote.as_of).total_seconds() > b.risk.stale_data_s:
        wrong.append("the price was stale")
    tighter = new >= position.stop_price if position.side is PositionSide.LONG else new <= position.stop_price
    if not tighter:
        wrong.append(f"the stop loosened from {position.stop_price} to {new}")
    return wrong + _band(position.side, new, quote.last_price, b.risk)
