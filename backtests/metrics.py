"""Backtest performance statistics from an equity curve and the closed trades.

Conventions (stated because peers differ): returns are per bar, simple; Sharpe and Sortino are
annualised with ``sqrt(bars per year)`` using 365.25 days (crypto trades every day) and a zero
risk-free rate; Sortino's downside deviation is the root mean square of the negative returns over
*all* bars; drawdown is measured on the mark-to-market equity at each bar close; profit factor is
gross winning net P&L over gross losing net P&L (``None`` when there is no losing trade).

The benchmark is buy-and-hold over the same bars: bought at the first bar's close (where the equity
curve starts), valued at the last bar's close, no fees. Calmar is CAGR over the maximum drawdown (both
as fractions). A drawdown lasts from the peak it falls from until equity is back at that peak, or until
the last bar when it never recovers. Monthly returns are month-end equity over the previous month-end
(the first month over the initial equity), keyed ``YYYY-MM`` in UTC. A position still open after the
last bar is marked to the last close: its unrealized P&L is net of the entry fee (the exit fee is not
paid yet) and it is not counted in ``trades``, which are closed trades.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
from pydantic import AwareDatetime, BaseModel, ConfigDict

from core.types import ClosedTrade, Position, PositionSide

SECONDS_PER_YEAR = 365.25 * 86400
_DIGITS = 10
_INSTANT = timedelta(microseconds=1)


class PerformanceMetrics(BaseModel):
    """Trading statistics of one run; floats rounded to 10 digits so the JSON is stable and readable."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: datetime
    end: datetime
    bars: int
    initial_equity: float
    final_equity: float
    total_return_pct: float
    cagr_pct: float | None
    sharpe: float | None
    sortino: float | None
    max_drawdown_pct: float
    trades: int
    wins: int
    win_rate_pct: float | None
    profit_factor: float | None
    avg_trade_pct: float | None
    exposure_pct: float
    fees: str
    """Total fees paid, exact (Decimal as a string)."""
    buy_and_hold_return_pct: float
    """The benchmark: the market's own return over the same bars (first close to last close, no fees)."""
    calmar: float | None
    max_drawdown_duration_days: float
    """The longest time spent below a previous equity peak (to the end of the run when never recovered)."""
    monthly_returns_pct: dict[str, float]
    open_positions: int
    """Positions still open after the last bar (marked to market, listed in ``open_positions``)."""
    unrealized_pnl: str
    """Their P&L at the last close, net of entry fees, exact (Decimal as a string); included in final equity."""


class OpenPosition(BaseModel):
    """A position still open when the run ended, marked to the last close. Money as exact strings."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    position_id: str
    symbol: str
    side: PositionSide
    quantity: Decimal
    entry_price: Decimal
    mark_price: Decimal
    opened_at: AwareDatetime
    marked_at: AwareDatetime
    stop_price: Decimal
    take_profit_price: Decimal | None
    entry_fee: Decimal
    unrealized_pnl: Decimal
    """Gross P&L at the mark minus the entry fee."""
    unrealized_pct: float
    """``unrealized_pnl`` as a % of the entry notional."""
    signals: tuple[str, ...]
    regime: str | None


def mark_to_market(position: Position, mark: Decimal, at: datetime) -> OpenPosition:
    """``position`` valued at ``mark``: what a trader would see if the run were stopped here."""
    direction = 1 if position.side is PositionSide.LONG else -1
    gross = (mark - position.entry_price) * position.quantity * direction
    net = gross - position.entry_fee
    notional = position.entry_price * position.quantity
    return OpenPosition(
        position_id=position.id,
        symbol=position.symbol,
        side=position.side,
        quantity=position.quantity,
        entry_price=position.entry_price,
        mark_price=mark,
        opened_at=position.opened_at,
        marked_at=at,
        stop_price=position.stop_price,
        take_profit_price=position.take_profit_price,
        entry_fee=position.entry_fee,
        unrealized_pnl=net,
        unrealized_pct=round(float(net / notional) * 100, _DIGITS) if notional else 0.0,
        signals=tuple(s.value for s in position.signals),
        regime=position.regime,
    )


def _round(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(value, _DIGITS)


def bar_returns(equity: np.ndarray) -> np.ndarray:
    return np.diff(equity) / equity[:-1] if equity.size > 1 else np.zeros(0)


def sharpe_ratio(returns: np.ndarray, bars_per_year: float) -> float | None:
    if returns.size < 2:
        return None
    std = float(np.std(returns, ddof=1))
    return None if std == 0 else float(np.mean(returns)) / std * math.sqrt(bars_per_year)


def sortino_ratio(returns: np.ndarray, bars_per_year: float) -> float | None:
    if returns.size < 2:
        return None
    downside = math.sqrt(float(np.mean(np.minimum(returns, 0.0) ** 2)))
    return None if downside == 0 else float(np.mean(returns)) / downside * math.sqrt(bars_per_year)


def max_drawdown(equity: np.ndarray) -> float:
    """Largest peak-to-trough fall as a fraction (0.25 = 25 %), 0 for a curve that never falls."""
    if equity.size == 0:
        return 0.0
    peaks = np.maximum.accumulate(equity)
    return float(np.max(1.0 - equity / peaks))


def max_drawdown_duration(times: Sequence[datetime], equity: np.ndarray) -> float:
    """Longest span in seconds from an equity peak until equity is back at it (or until the last bar)."""
    longest, peak_value, peak_at, below = 0.0, -math.inf, None, False
    for at, value in zip(times, equity, strict=True):
        if value < peak_value:
            below = True
            continue
        if below and peak_at is not None:
            longest = max(longest, (at - peak_at).total_seconds())
        peak_value, peak_at, below = float(value), at, False
    if below and peak_at is not None:
        longest = max(longest, (times[-1] - peak_at).total_seconds())
    return longest


def buy_and_hold_return(closes: Sequence[float]) -> float:
    """The market's return as a fraction over the bars, first close to last close."""
    if len(closes) < 1 or closes[0] <= 0:
        return 0.0
    return closes[-1] / closes[0] - 1.0


def calmar_ratio(cagr_fraction: float | None, drawdown_fraction: float) -> float | None:
    if cagr_fraction is None or drawdown_fraction <= 0:
        return None
    return cagr_fraction / drawdown_fraction


def monthly_returns(times: Sequence[datetime], equity: Sequence[float]) -> dict[str, float]:
    """``{"2025-01": 1.23, ...}``: each calendar month's return in %, month-end over the previous month-end.

    A bar belongs to the month it closes in, a bar closing exactly at midnight to the month before (the
    last hourly bar of January closes at 1 February 00:00).
    """
    month_end: dict[str, float] = {}
    for at, value in zip(times, equity, strict=True):
        month_end[f"{(at - _INSTANT).astimezone(UTC):%Y-%m}"] = value
    result, previous = {}, equity[0] if equity else 0.0
    for month, value in month_end.items():
        result[month] = (value / previous - 1.0) * 100 if previous else 0.0
        previous = value
    return result


def cagr(initial: float, final: float, seconds: float) -> float | None:
    if seconds <= 0 or initial <= 0 or final <= 0:
        return None
    return float((final / initial) ** (SECONDS_PER_YEAR / seconds)) - 1.0


def profit_factor(trades: Sequence[ClosedTrade]) -> float | None:
    gains = sum((t.net_pnl for t in trades if t.net_pnl > 0), Decimal(0))
    losses = -sum((t.net_pnl for t in trades if t.net_pnl < 0), Decimal(0))
    return None if losses == 0 else float(gains / losses)


def compute_metrics(
    times: Sequence[datetime],
    equity: Sequence[float],
    *,
    trades: Sequence[ClosedTrade],
    bar_seconds: int,
    bars_in_position: int,
    fees: Decimal,
    closes: Sequence[float],
    open_positions: Sequence[OpenPosition] = (),
) -> PerformanceMetrics:
    """All statistics of a run. ``equity[i]`` is the mark-to-market equity and ``closes[i]`` the market's close
    at ``times[i]`` (bar close); ``open_positions`` are the positions left open after the last bar."""
    if len(times) != len(equity) or not equity or len(closes) != len(equity):
        raise ValueError("equity curve and closes must be non-empty and as long as their time axis")
    curve = np.asarray(equity, dtype=float)
    returns = bar_returns(curve)
    per_year = SECONDS_PER_YEAR / bar_seconds
    wins = sum(1 for t in trades if t.is_win)
    trade_returns = [float(t.net_pnl / (t.entry_price * t.quantity)) for t in trades]
    cagr_fraction = cagr(float(curve[0]), float(curve[-1]), (times[-1] - times[0]).total_seconds())
    drawdown = max_drawdown(curve)
    return PerformanceMetrics(
        start=times[0],
        end=times[-1],
        bars=len(curve),
        initial_equity=_round(float(curve[0])) or 0.0,
        final_equity=_round(float(curve[-1])) or 0.0,
        total_return_pct=_round((curve[-1] / curve[0] - 1.0) * 100) or 0.0,
        cagr_pct=_round(_pct(cagr_fraction)),
        sharpe=_round(sharpe_ratio(returns, per_year)),
        sortino=_round(sortino_ratio(returns, per_year)),
        max_drawdown_pct=_round(drawdown * 100) or 0.0,
        trades=len(trades),
        wins=wins,
        win_rate_pct=_round(wins / len(trades) * 100) if trades else None,
        profit_factor=_round(profit_factor(trades)),
        avg_trade_pct=_round(float(np.mean(trade_returns)) * 100) if trade_returns else None,
        exposure_pct=_round(bars_in_position / len(curve) * 100) or 0.0,
        fees=format(fees, "f"),
        buy_and_hold_return_pct=_round(buy_and_hold_return(closes) * 100) or 0.0,
        calmar=_round(calmar_ratio(cagr_fraction, drawdown)),
        max_drawdown_duration_days=_round(max_drawdown_duration(times, curve) / 86400) or 0.0,
        monthly_returns_pct={month: _round(value) or 0.0 for month, value in monthly_returns(times, equity).items()},
        open_positions=len(open_positions),
        unrealized_pnl=format(sum((p.unrealized_pnl for p in open_positions), Decimal(0)), "f"),
    )


def _pct(value: float | None) -> float | None:
    return None if value is None else value * 100
