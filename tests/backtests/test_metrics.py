import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest

from backtests.metrics import compute_metrics, max_drawdown, sharpe_ratio, sortino_ratio
from core.ids import PositionId, Symbol
from core.types import ClosedTrade, ExitReason, PositionSide, Signal

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
    )
    assert metrics.total_return_pct == pytest.approx(100.0)
    assert metrics.cagr_pct == pytest.approx((2 ** (365.25 / 365) - 1) * 100)
    assert metrics.max_drawdown_pct == 0.0
    assert metrics.trades == 3 and metrics.wins == 2
    assert metrics.win_rate_pct == pytest.approx(200 / 3)
    assert metrics.profit_factor == pytest.approx(13 / 5)
    assert metrics.exposure_pct == pytest.approx(50.0, rel=1e-3)
    assert metrics.fees == "1.5"


def test_compute_metrics_refuses_mismatched_axes() -> None:
    with pytest.raises(ValueError):
        compute_metrics([T0], [1.0, 2.0], trades=[], bar_seconds=60, bars_in_position=0, fees=Decimal(0))
