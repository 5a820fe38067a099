"""The one builder of ``core.portfolio.PortfolioView``: the account as the agent reads it (``get_portfolio``
and every decision's first message), from the very state the veto judges and the guard acts on.

Pure: every input is an argument (:class:`ViewInputs`); no I/O, no clock reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from core.ids import Symbol
from core.money import MarketRules, to_decimal
from core.portfolio import (
    AccountView,
    BreakerView,
    ControlsView,
    FillView,
    PendingEntryView,
    PortfolioView,
    PositionView,
    QuoteView,
)
from core.settings import RiskSettings
from core.types import PositionSide
from safety import rules
from safety.breakers import BreakerBoard, BreakerState
from safety.guard_state import GuardRecord, Leg, PendingEntry
from safety.order_ids import OrderRole
from safety.views import Portfolio, Quote

HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class ViewInputs:
    """Everything the view is built from (the safety service gathers it)."""

    portfolio: Portfolio
    records: tuple[GuardRecord, ...]
    entries: tuple[PendingEntry, ...]
    market: Mapping[Symbol, Quote]
    rules: Mapping[Symbol, MarketRules]
    board: BreakerBoard
    risk: RiskSettings
    """The limits in force (mainnet: the stricter ones)."""
    market_type: str
    quote_asset: str
    free_cash: Decimal | None
    fills: tuple[FillView, ...]
    now: datetime


def portfolio_view(x: ViewInputs) -> PortfolioView:
    exposure = x.portfolio.exposure(x.market)
    blocked = (
        rules.check_controls(x.board, x.now) or rules.check_entry_gates(x.board)
        or rules.check_daily_order_cap(x.board, x.risk)
    )
    return PortfolioView(
        as_of=x.now,
        account=_account(x, exposure),
        markets=tuple(_quote_view(q, x) for _, q in sorted(x.market.items())),
        positions=tuple(_position_view(r, x) for r in x.records),
        pending_entries=tuple(_pending_view(e) for e in x.entries),
        breakers=_breakers(x.board),
        entries_blocked=blocked.message if blocked is not None else None,
        controls=ControlsView.model_validate(x.board.controls.model_dump()),
        recent_fills=x.fills,
    )


def _account(x: ViewInputs, exposure: Decimal) -> AccountView:
    equity, trading, risk = x.portfolio.equity, x.board.trading, x.risk
    futures = x.market_type == "future"
    ratio = float(exposure / equity) if equity > 0 else 0.0
    start = trading.day_start_equity
    loss_pct = float(-trading.realized_pnl / start * HUNDRED) if start > 0 else 0.0
    return AccountView(
        quote_asset=x.quote_asset,
        market_type="future" if futures else "spot",
        equity=equity,
        free_cash=x.free_cash,
        exposure=exposure,
        exposure_pct=round(ratio * 100, 4),
        max_total_exposure_pct=risk.max_total_exposure_pct,
        max_position_pct=risk.max_position_pct,
        leverage_in_use=round(ratio, 4) if futures else None,
        max_leverage=risk.max_leverage if futures else None,
        day_start_equity=trading.day_start_equity,
        realized_pnl_today=trading.realized_pnl,
        pnl_today=equity - trading.day_start_equity,
        daily_loss_used_pct=round(max(0.0, loss_pct), 4),
        daily_loss_limit_pct=risk.daily_loss_limit_pct,
        orders_today=trading.agent_orders,
        max_orders_per_day=risk.max_orders_per_day,
        trades_today=trading.trades,
        max_trades_per_day=risk.max_trades_per_day,
        consecutive_losses=trading.consecutive_losses,
        max_consecutive_losses=risk.max_consecutive_losses,
    )


def _quote_view(quote: Quote, x: ViewInputs) -> QuoteView:
    symbol = quote.rules.symbol
    last_exit = x.portfolio.last_exit_at.get(symbol)
    remaining = 0
    if last_exit is not None:
        ends = last_exit + timedelta(seconds=x.risk.cooldown_after_exit_s)
        remaining = max(0, int((ends - x.now).total_seconds()))
    return QuoteView(
        symbol=symbol,
        last_price=quote.last_price,
        price_at=quote.as_of,
        taker_fee_pct=float(quote.rules.taker_fee * HUNDRED),
        maker_fee_pct=float(quote.rules.maker_fee * HUNDRED),
        cooldown_remaining_s=remaining,
    )


def _position_view(record: GuardRecord, x: ViewInputs) -> PositionView:
    pos = record.position
    quote = x.market.get(pos.symbol)
    sign = 1 if pos.side is PositionSide.LONG else -1
    pnl = None if quote is None else sign * (quote.last_price - pos.entry_price) * pos.quantity
    risk_amount = pos.risk_per_unit * pos.quantity
    market_rules = x.rules.get(pos.symbol)
    return PositionView(
        id=pos.id,
        symbol=pos.symbol,
        side=pos.side,
        quantity=pos.quantity,
        entry_price=pos.entry_price,
        stop_price=pos.stop_price,
        stop_live=record.protected_at is not None and pos.stop_order_id is not None,
        initial_stop_price=pos.initial_stop_price,
        take_profit_price=pos.take_profit_price,
        take_profit_kind=_take_profit_kind(record, x.market_type),
        take_profit_fraction_pct=x.risk.take_profit_fraction * 100,
        break_even_price=_break_even(record, x.risk, market_rules),
        break_even_done=pos.break_even_done,
        trailing_activation_pct=pos.trailing_activation_pct,
        trailing_distance_pct=pos.trailing_distance_pct,
        trailing_active=record.trailed,
        best_price=record.best_price,
        last_price=quote.last_price if quote is not None else None,
        unrealized_pnl=pnl,
        unrealized_r=round(float(pnl / risk_amount), 4) if pnl is not None and risk_amount > 0 else None,
        opened_at=pos.opened_at,
        held_s=max(0, int((x.now - pos.opened_at).total_seconds())),
    )


def _take_profit_kind(record: GuardRecord, market_type: str) -> str | None:
    if record.position.take_profit_price is None:
        return None
    if record.position.take_profit_order_id is not None:
        return "order"
    return "watched" if market_type == "spot" else "order"


def _break_even(record: GuardRecord, risk: RiskSettings, market_rules: MarketRules | None) -> Decimal | None:
    """The level the guard moves the stop to after take-profit 1 (``safety.guard_stops.break_even``)."""
    pos = record.position
    if pos.take_profit_price is None or pos.break_even_done:
        return None
    offset = to_decimal(risk.break_even_offset_pct) / HUNDRED
    sign = 1 if pos.side is PositionSide.LONG else -1
    level = pos.entry_price * (1 + sign * offset)
    if market_rules is None:
        return level
    return market_rules.price(level, "up" if sign > 0 else "down")


def _pending_view(entry: PendingEntry) -> PendingEntryView:
    return PendingEntryView(
        position_id=entry.position_id,
        symbol=entry.symbol,
        side=entry.side,
        quantity=entry.quantity,
        entry_price=entry.reference_price,
        stop_price=entry.stop_price,
        take_profit_price=entry.take_profit_price,
        notional=entry.quantity * entry.reference_price,
        submitted_at=entry.submitted_at,
    )


def _breakers(board: BreakerBoard) -> tuple[BreakerView, ...]:
    trading, exchange = board.trading, board.exchange
    counters = f"{trading.trades} trades, {trading.consecutive_losses} losses in a row, realized {trading.realized_pnl}"
    return (
        BreakerView(
            name="trading",
            state=trading.state.value,
            detail=f"open: {trading.reason.value if trading.reason else '?'}" if trading.is_open else counters,
            until=trading.closes_at if trading.is_open else None,
        ),
        BreakerView(
            name="exchange",
            state=exchange.state.value,
            detail=(
                f"{exchange.consecutive_errors} consecutive errors, last: {exchange.last_error}"
                if exchange.state is not BreakerState.CLOSED or exchange.consecutive_errors
                else "no recent errors"
            ),
            until=None,
        ),
        BreakerView(
            name="persistence",
            state="closed" if board.persistence_ok else "open",
            detail="state saved" if board.persistence_ok else "the last state save failed; retried on every save",
            until=None,
        ),
        BreakerView(
            name="reconciliation",
            state="closed" if board.reconciled_at is not None else "open",
            detail="reconciled with the exchange" if board.reconciled_at is not None else "not reconciled yet",
            until=None,
        ),
    )


def entry_fill(record: GuardRecord) -> FillView:
    """The fill that opened ``record``'s position."""
    pos = record.position
    return FillView(
        at=pos.opened_at, symbol=pos.symbol, position_id=pos.id, side=pos.side.entry_side, action="entry",
        quantity=record.original_quantity, price=pos.entry_price, fee=pos.entry_fee,
    )


def leg_fills(record: GuardRecord, legs: Iterable[Leg]) -> list[FillView]:
    """Booked legs of ``record`` as fills (exits sell a long / buy a short back; a correction the other way)."""
    pos = record.position
    return [
        FillView(
            at=leg.at, symbol=pos.symbol, position_id=pos.id,
            side=pos.side.entry_side if leg.role is OrderRole.CORRECTION else pos.side.exit_side,
            action="correction" if leg.role is OrderRole.CORRECTION else leg.reason.value,
            quantity=leg.quantity, price=leg.price, fee=leg.fee,
        )
        for leg in legs
    ]
