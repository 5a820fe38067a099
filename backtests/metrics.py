"""Backtest performance statistics from an equity curve and the closed trades.

Conventions (stated because peers differ): returns are per bar, simple; Sharpe and Sortino are
annualised with ``sqrt(bars per year)`` using 365.25 days (crypto trades every day) and a zero
risk-free rate; Sortino's downside deviation is the root mean square of the negative returns over
*all* bars; drawdown is measured on the mark-to-market equity at each bar close; profit factor is
gross winning net P&L over gross losing net P&L (``None`` when there is no losing trade).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

import numpy as np
from pydantic import BaseModel, ConfigDict

from core.types import ClosedTrade

SECONDS_PER_YEAR = 365.25 * 86400
_DIGITS = 10


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
) -> PerformanceMetrics:
    """All statistics of a run. ``equity[i]`` is the mark-to-market equity at ``times[i]`` (bar close)."""
    if len(times) != len(equity) or not equity:
        raise ValueError("equity curve must be non-empty and as long as its time axis")
    curve = np.asarray(equity, dtype=float)
    returns = bar_returns(curve)
    per_year = SECONDS_PER_YEAR / bar_seconds
    wins = sum(1 for t in trades if t.is_win)
    trade_returns = [float(t.net_pnl / (t.entry_price * t.quantity)) for t in trades]
    return PerformanceMetrics(
        start=times[0],
        end=times[-1],
        bars=len(curve),
        initial_equity=_round(float(curve[0])) or 0.0,
        final_equity=_round(float(curve[-1])) or 0.0,
        total_return_pct=_round((curve[-1] / curve[0] - 1.0) * 100) or 0.0,
        cagr_pct=_round(_pct(cagr(float(curve[0]), float(curve[-1]), (times[-1] - times[0]).total_seconds()))),
        sharpe=_round(sharpe_ratio(returns, per_year)),
        sortino=_round(sortino_ratio(returns, per_year)),
        max_drawdown_pct=_round(max_drawdown(curve) * 100) or 0.0,
        trades=len(trades),
        wins=wins,
        win_rate_pct=_round(wins / len(trades) * 100) if trades else None,
        profit_factor=_round(profit_factor(trades)),
        avg_trade_pct=_round(float(np.mean(trade_returns)) * 100) if trade_returns else None,
        exposure_pct=_round(bars_in_position / len(curve) * 100) or 0.0,
        fees=format(fees, "f"),
    )


def _pct(value: float | None) -> float | None:
    return None if value is None else value * 100
