import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest

from backtests.metrics import (
    buy_and_hold_return,
    calmar_ratio,
    compute_metrics,
    mark_to_market,
    max_drawdown,
    max_drawdown_duration,
    monthly_returns,
    sharpe_ratio,
    sortino_ratio,
)
from core.ids import PositionId, Symbol
from core.types import ClosedTrade, ExitReason, Position, PositionSide, Signal

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def trade(net: str, pid: str = "p") -> ClosedTrade:
    return ClosedTrade(
        position_id=PositionId(pid),
        symbol=Symbol("BTC/USDT"),
        side=PositionSide.LONG,
        quantity=Decimal(1),
        entry_price=Decimal(100),
        exit_price=Decimal(100) + Decimal(net),
        opened_at=T0,
        closed_at=T0,
        gross_pnl=Decimal(net),
        fees=Decimal(0),
        exit_reason=ExitReason.AGENT,
        signals=(Signal.MOMENTUM,),
    )


def test_max_drawdown_hand_computed() -> None:
    assert max_drawdown(np.array([100, 120, 90, 130, 65.0])) == pytest.approx(0.5)
    assert max_drawdown(np.array([1, 2, 3.0])) == 0.0


def test_sharpe_and_sortino_hand_computed() -> None:
    r = np.array([0.01, -0.02, 0.03, 0.0])
    mean, std = 0.005, float(np.std(r, ddof=1))
    assert sharpe_ratio(r, 365) == pytest.approx(mean / std * math.sqrt(365))
    downside = math.sqrt((0.02**2) / 4)
    assert sortino_ratio(r, 365) == pytest.approx(mean / downside * math.sqrt(365))
    assert sharpe_ratio(np.array([0.01, 0.01]), 365) is None  # zero variance: undefined, not infinite


def test_compute_metrics_end_to_end() -> None:
    times = [T0 + timedelta(days=i) for i in range(366)]
    equity = list(np.linspace(100.0, 200.0, 366))
    metrics = compute_metrics(
        times,
        equity,
        trades=[trade("10", "a"), trade("-5", "b"), trade("3", "c")],
        bar_seconds=86400,
        bars_in_position=183,
        fees=Decimal("1.5"),
        closes=list(np.linspace(50.0, 75.0, 366)),
    )
    assert metrics.total_return_pct == pytest.approx(100.0)
    assert metrics.cagr_pct == pytest.approx((2 ** (365.25 / 365) - 1) * 100)
    assert metrics.max_drawdown_pct == 0.0
    assert metrics.trades == 3 and metrics.wins == 2
    assert metrics.win_rate_pct == pytest.approx(200 / 3)
    assert metrics.profit_factor == pytest.approx(13 / 5)
    assert metrics.exposure_pct == pytest.approx(50.0, rel=1e-3)
    assert metrics.fees == "1.5"
    assert metrics.buy_and_hold_return_pct == pytest.approx(50.0)
    assert metrics.calmar is None, "no drawdown: Calmar is undefined, not infinite"
    assert metrics.max_drawdown_duration_days == 0.0
    assert metrics.open_positions == 0 and metrics.unrealized_pnl == "0"


def test_compute_metrics_refuses_mismatched_axes() -> None:
    with pytest.raises(ValueError):
        compute_metrics([T0], [1.0, 2.0], trades=[], bar_seconds=60, bars_in_position=0, fees=Decimal(0), closes=[1.0])


def test_drawdown_duration_runs_from_the_peak_to_the_recovery_or_the_end() -> None:
    times = [T0 + timedelta(days=i) for i in range(8)]
    recovered = np.array([100, 110, 90, 95, 110, 120, 119, 120.0])
    assert max_drawdown_duration(times, recovered) == 3 * 86400, "peak on day 1, back at it on day 4"
    never = np.array([100, 110, 90, 95, 100, 105, 108, 109.0])
    assert max_drawdown_duration(times, never) == 6 * 86400, "still under water at the end: to the last bar"
    assert max_drawdown_duration(times, np.linspace(1, 2, 8)) == 0.0


def test_calmar_and_buy_and_hold() -> None:
    assert calmar_ratio(0.30, 0.10) == pytest.approx(3.0)
    assert calmar_ratio(None, 0.1) is None and calmar_ratio(0.3, 0.0) is None
    assert buy_and_hold_return([100.0, 90.0, 118.4]) == pytest.approx(0.184)


def test_monthly_returns_chain_month_ends_and_a_midnight_close_belongs_to_the_month_before() -> None:
    times = [datetime(2025, 1, 31, 23, tzinfo=UTC), datetime(2025, 2, 1, tzinfo=UTC),
             datetime(2025, 2, 28, 12, tzinfo=UTC), datetime(2025, 3, 1, 1, tzinfo=UTC)]
    monthly = monthly_returns(times, [100.0, 110.0, 99.0, 108.9])
    assert list(monthly) == ["2025-01", "2025-02", "2025-03"]
    assert monthly["2025-01"] == pytest.approx(10.0), "the bar closing at 1 Feb 00:00 is January's last"
    assert monthly["2025-02"] == pytest.approx(-10.0)
    assert monthly["2025-03"] == pytest.approx(10.0)


def test_an_open_position_is_marked_to_the_last_close_net_of_its_entry_fee() -> None:
    position = Position(id=PositionId("p1"), symbol=Symbol("BTC/USDT"), side=PositionSide.SHORT,
                        quantity=Decimal("0.5"), entry_price=Decimal(100), opened_at=T0, stop_price=Decimal(110),
                        initial_stop_price=Decimal(110), entry_fee=Decimal("0.05"), signals=(Signal.MOMENTUM,))
    marked = mark_to_market(position, Decimal(90), T0 + timedelta(days=1))
    assert marked.unrealized_pnl == Decimal("4.95"), "short: (100 - 90) x 0.5 - 0.05"
    assert marked.unrealized_pct == pytest.approx(9.9)
    times = [T0, T0 + timedelta(days=1)]
    metrics = compute_metrics(times, [1000.0, 1004.95], trades=[], bar_seconds=86400, bars_in_position=2,
                              fees=Decimal("0.05"), closes=[100.0, 90.0], open_positions=[marked])
    assert metrics.open_positions == 1 and metrics.unrealized_pnl == "4.95" and metrics.trades == 0
