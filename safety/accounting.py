"""Turning a position's booked fills into the one ``ClosedTrade`` the learner scores."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from core.types import ClosedTrade, ExitReason, PositionSide
from safety.guard_state import ZERO, GuardRecord, Leg


def _value(legs: tuple[Leg, ...]) -> Decimal:
    return sum((leg.quantity * leg.price for leg in legs), ZERO)


def closed_trade(record: GuardRecord, detected_at: datetime) -> ClosedTrade:
    """Exact P&L over every booked fill: exits, and the buy-back (or sell-back) of a double fill.

    ``closed_at`` is the time of the last booked fill (when the exit happened on the exchange, like
    ``opened_at`` is the entry's fill time), or ``detected_at`` when nothing was booked.

    For a long, exits are sells and corrections are buys; for a short the reverse, hence the sign.
    ``exit_price`` is the volume-weighted price of the exit fills; ``exit_reason`` is the reason of
    the fill that completed the exit.
    """
    position = record.position
    sign = Decimal(1) if position.side is PositionSide.LONG else Decimal(-1)
    exit_quantity = record.booked_quantity
    entry_value = record.original_quantity * position.entry_price
    gross = sign * (_value(record.legs) - entry_value - _value(record.corrections))
    fees = position.entry_fee + sum((leg.fee for leg in (*record.legs, *record.corrections)), ZERO)
    exit_price = _value(record.legs) / exit_quantity if exit_quantity > 0 else position.entry_price
    risk = record.original_quantity * position.risk_per_unit
    reason = record.legs[-1].reason if record.legs else ExitReason.CLOSED_EXTERNALLY
    return ClosedTrade(
        position_id=position.id,
        symbol=position.symbol,
        side=position.side,
        quantity=record.original_quantity,
        entry_price=position.entry_price,
        exit_price=exit_price,
        opened_at=position.opened_at,
        closed_at=max((leg.at for leg in (*record.legs, *record.corrections)), default=detected_at),
        gross_pnl=gross,
        fees=fees,
        exit_reason=reason,
        signals=position.signals,
        regime=position.regime,
        r_multiple=float((gross - fees) / risk) if risk > 0 else None,
    )
