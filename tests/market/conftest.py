"""Fixtures for the market tests: real candles copied from ../shared/data (see fixtures/market/README.md)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from market.candles import load_candles

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "market"
BTC_1H = FIXTURES / "binance_BTC-USDT_1h_2023-03-23.csv"
BTC_5M = FIXTURES / "binance_BTC-USDT_5m_2023-03-18.csv.gz"
XRP_FUNDING = FIXTURES / "unknown_XRP-USDT-USDT_8h_funding.csv"

_CACHE: dict[Path, pd.DataFrame] = {}


def cached_candles(path: Path) -> pd.DataFrame:
    if path not in _CACHE:
        _CACHE[path] = load_candles(path)
    return _CACHE[path].copy()


@pytest.fixture
def btc_1h() -> pd.DataFrame:
    return cached_candles(BTC_1H)


@pytest.fixture
def btc_5m() -> pd.DataFrame:
    return cached_candles(BTC_5M)


FIGURES: list[str] = []
"""Measured figures (HMM accuracy, fit time ...) printed at the end of the run, -s or not."""


def report_figure(line: str) -> None:
    FIGURES.append(line)
    print(line)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if FIGURES:
        terminalreporter.section("market figures")
        for line in FIGURES:
            terminalreporter.write_line(line)


_REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = next(
    (p for p in (_REPO.parent / "shared" / "data", _REPO.parent.parent / "shared" / "data") if p.is_dir()),
    _REPO.parent / "shared" / "data",
)
SHARED_1H = SHARED_DATA / "binance_BTC-USDT_1h.csv"
"""The full shared 1h file (main checkout or a worktree), used only by long tests (TRADEWAKE_LONG_TESTS=1)."""
