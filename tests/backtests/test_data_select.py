"""The window a backtest trades and the warm-up it needs: the warm-up comes from the candles before
--from when the file has them (a short window works), else from the window's first candles."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from backtests.data import select_data
from backtests.runner import BacktestRequest, run_backtest
from core.errors import ConfigError
from core.settings import load_settings


def test_a_short_window_warms_up_on_the_history_before_it(tmp_path: Path) -> None:
    data = select_data(start=datetime(2025, 2, 1, tzinfo=UTC), end=datetime(2025, 2, 5, tzinfo=UTC), warmup=288)
    assert len(data.candles) == 96 and len(data.history) >= 288
    result = asyncio.run(run_backtest(BacktestRequest(load_settings(), data, tmp_path / "run", warmup=288)))
    assert result.performance.bars == 96 and result.metrics["run"]["candles"] == 96


def test_without_history_the_window_must_hold_the_warm_up_and_says_so() -> None:
    with pytest.raises(ConfigError, match=r"96 candles .* need at least 290 \(a warm-up of 288 .* has 0 before"):
        select_data(start=datetime(2023, 1, 1, tzinfo=UTC), end=datetime(2023, 1, 5, tzinfo=UTC), warmup=288)
    assert len(select_data(start=datetime(2023, 1, 1, tzinfo=UTC), end=datetime(2023, 1, 5, tzinfo=UTC),
                           warmup=50).candles) == 96


def test_a_window_needs_two_candles_even_with_history() -> None:
    with pytest.raises(ConfigError, match=r"1 candles .* need at least 2"):
        select_data(start=datetime(2025, 2, 1, tzinfo=UTC), end=datetime(2025, 2, 1, 1, tzinfo=UTC), warmup=288)
