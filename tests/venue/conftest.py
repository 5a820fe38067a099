"""Fixtures: a venue on a free loopback port (paused, stepped by the test) and ccxt clients pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.venue.ccxt_client import API_KEY, API_SECRET, client
from venue import Venue, VenueConfig

KLINES_1M = Path(__file__).resolve().parents[1] / "fixtures" / "binance" / "klines_BTCUSDT_1m_2018-04-28.csv"
"""240 real Binance BTC/USDT 1m candles (2018-04-28 01:52..05:51 UTC, about 9,100 USDT)."""


def venue_config(market: str, tmp_path: Path, **overrides: Any) -> VenueConfig:
    fields: dict[str, Any] = {
        "market": market,
        "data": (KLINES_1M,),
        "symbols": ("BTC/USDT",),
        "speed": 0,
        "warmup": 100,
        "api_key": API_KEY,
        "api_secret": API_SECRET,
        "balances": {"USDT": Decimal(10_000)},
        "ledger": tmp_path / "ledger.jsonl",
    }
    fields.update(overrides)
    return VenueConfig(**fields)


@pytest.fixture
async def spot_venue(tmp_path: Path) -> AsyncIterator[Venue]:
    async with Venue(venue_config("spot", tmp_path)) as venue:
        yield venue


@pytest.fixture
async def futures_venue(tmp_path: Path) -> AsyncIterator[Venue]:
    async with Venue(venue_config("future", tmp_path)) as venue:
        yield venue


@pytest.fixture
async def spot(spot_venue: Venue) -> AsyncIterator[Any]:
    exchange = client("spot", spot_venue.url)
    yield exchange
    await exchange.close()


@pytest.fixture
async def futures(futures_venue: Venue) -> AsyncIterator[Any]:
    exchange = client("future", futures_venue.url)
    yield exchange
    await exchange.close()
