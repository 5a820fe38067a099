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
