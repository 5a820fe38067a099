"""Binance USDT-M liquidation prices and the "stop before liquidation" check (pure, for safety's veto).

Binance's formula for one symbol in one-way mode (USDⓈ-M "Liquidation Price Calculation")::

    LP = (WB - TMM + UPNL + cum - side * Q * EP) / (Q * MMR - side * Q)

``side`` is +1 long, -1 short; ``Q`` the absolute size, ``EP`` the entry price, ``MMR`` and ``cum`` the
maintenance margin rate and amount of the position's notional bracket (``GET /fapi/v1/leverageBracket``).
Isolated: ``WB`` is the position's isolated margin (at entry: ``Q * EP / leverage``) and ``TMM = UPNL = 0``.
Cross: ``WB`` is the cross wallet balance, ``TMM`` and ``UPNL`` the maintenance margin and unrealized P&L of
every *other* position. On an isolated 20x long the liquidation price sits about 4.6 % under the entry:
inside a stop distance a risk limit of 8 % allows. A stop beyond it never fills: the position is
liquidated first (and pays the liquidation fee).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from core.types import PositionSide

ZERO = Decimal(0)
HUNDRED = Decimal(100)


class MarginType(StrEnum):
    ISOLATED = "isolated"
    CROSS = "cross"


@dataclass(frozen=True)
class MaintenanceBracket:
    """One notional bracket of a symbol: ``notional_floor <= notional < notional_cap``."""

    notional_floor: Decimal
    notional_cap: Decimal
    maintenance_rate: Decimal
    maintenance_amount: Decimal
    """Binance ``cum``: makes the maintenance margin continuous across brackets."""
    max_leverage: int


def bracket_for(notional: Decimal, brackets: Sequence[MaintenanceBracket]) -> MaintenanceBracket:
    """The bracket a position of ``notional`` (absolute) falls in; above the last cap, the last bracket."""
    if not brackets:
        raise ValueError("no maintenance brackets for the symbol")
    ordered = sorted(brackets, key=lambda b: b.notional_floor)
    for bracket in ordered:
        if bracket.notional_floor <= abs(notional) < bracket.notional_cap:
            return bracket
    return ordered[-1]


def liquidation_price(
    side: PositionSide,
    quantity: Decimal,
    entry_price: Decimal,
    wallet_balance: Decimal,
    bracket: MaintenanceBracket,
    *,
    other_maintenance: Decimal = ZERO,
    other_unrealized: Decimal = ZERO,
) -> Decimal | None:
    """Binance's liquidation price, or None when the position cannot be liquidated (price would be <= 0)."""
    if quantity <= 0 or entry_price <= 0:
        raise ValueError("a position needs a positive quantity and entry price")
    sign = Decimal(1) if side is PositionSide.LONG else Decimal(-1)
    numerator = (
        wallet_balance
        - other_maintenance
        + other_unrealized
        + bracket.maintenance_amount
        - sign * quantity * entry_price
    )
    denominator = quantity * bracket.maintenance_rate - sign * quantity
    price = numerator / denominator
    return price if price > 0 else None


def entry_liquidation_price(
    side: PositionSide,
    quantity: Decimal,
    entry_price: Decimal,
    *,
    leverage: Decimal,
    margin_type: MarginType,
    brackets: Sequence[MaintenanceBracket],
    cross_wallet: Decimal = ZERO,
    other_maintenance: Decimal = ZERO,
    other_unrealized: Decimal = ZERO,
) -> Decimal | None:
    """Where a new position would be liquidated: isolated from its own margin, cross from the wallet."""
    if leverage < 1:
        raise ValueError("leverage is at least 1")
    bracket = bracket_for(quantity * entry_price, brackets)
    if margin_type is MarginType.ISOLATED:
        return liquidation_price(side, quantity, entry_price, quantity * entry_price / leverage, bracket)
    return liquidation_price(
        side,
        quantity,
        entry_price,
        cross_wallet,
        bracket,
        other_maintenance=other_maintenance,
        other_unrealized=other_unrealized,
    )


@dataclass(frozen=True)
class StopVersusLiquidation:
    """Whether a stop fills before the liquidation price, with ``margin_pct`` of the entry price to spare."""

    ok: bool
    stop_price: Decimal
    liquidation_price: Decimal | None
    gap_pct: Decimal | None
    """Distance from the stop to the liquidation price, in % of the entry (negative: beyond it)."""
    margin_pct: Decimal

    @property
    def message(self) -> str:
        if self.liquidation_price is None:
            return f"stop {self.stop_price}: the position cannot be liquidated"
        verdict = "clears" if self.ok else "does not clear"
        return (
            f"stop {self.stop_price} {verdict} the liquidation price {self.liquidation_price:.8f} "
            f"(gap {self.gap_pct:.2f} % of entry, at least {self.margin_pct} % required)"
        )


def stop_versus_liquidation(
    side: PositionSide,
    stop_price: Decimal,
    liquidation: Decimal | None,
    entry_price: Decimal,
    *,
    margin_pct: Decimal,
) -> StopVersusLiquidation:
    """A long's stop must sit above the liquidation price, a short's below, by ``margin_pct`` of the entry.

    The margin covers the gap between the last price (stops) and the mark price (liquidation) and a
    stop market order's slippage.
    """
    if liquidation is None:
        return StopVersusLiquidation(True, stop_price, None, None, margin_pct)
    gap = stop_price - liquidation if side is PositionSide.LONG else liquidation - stop_price
    gap_pct = gap / entry_price * HUNDRED
    return StopVersusLiquidation(gap_pct >= margin_pct, stop_price, liquidation, gap_pct, margin_pct)
