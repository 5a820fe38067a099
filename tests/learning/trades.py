"""Hand-made closed trades for the learner tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from core.ids import PositionId, Symbol
from core.types import ClosedTrade, ExitReason, PositionSide, Signal

T0 = datetime(2024, 3, 1, tzinfo=UTC)


def closed_trade(
    position_id: str,
    *signals: Signal,
    win: bool = True,
    regime: str | None = None,
    r_multiple: float | None = None,
    gross_pnl: Decimal | None = None,
    fees: Decimal = Decimal("0.40"),
    minute: int = 0,
) -> ClosedTrade:
    """A long BTC trade; ``win`` picks a net P&L of +10 or -10 after fees unless ``gross_pnl`` is given."""
    if gross_pnl is None:
        gross_pnl = (Decimal(10) if win else Decimal(-10)) + fees
    return ClosedTrade(
        position_id=PositionId(position_id),
        symbol=Symbol("BTC/USDT"),
        side=PositionSide.LONG,
        quantity=Decimal("0.01"),
        entry_price=Decimal("60000"),
        exit_price=Decimal("60000") + gross_pnl * 100,
        opened_at=T0 + timedelta(minutes=minute),
        closed_at=T0 + timedelta(minutes=minute + 30),
        gross_pnl=gross_pnl,
        fees=fees,
        exit_reason=ExitReason.TAKE_PROFIT if win else ExitReason.STOP_LOSS,
        signals=signals,
        regime=regime,
        r_multiple=r_multiple,
    )
