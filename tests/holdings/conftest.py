"""Fixtures for the holdings tests: real candles and regime, real Binance spot rules, real stores
(SQLite files, a real ``redis-server``). The parts themselves live in ``tests/holdings/world.py``."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.clock import SimClock
from core.ports import Store
from core.settings import StoreSettings
from holdings.config import HoldingsConfig
from holdings.service import HoldingsService
from holdings.sources import SnapshotMarketSource
from store.factory import open_store
from tests.holdings.world import AT, market_source, sqlite_store
from tests.holdings.world import config as holdings_config


@pytest.fixture(scope="session")
def source() -> SnapshotMarketSource:
    return market_source()


@pytest.fixture
def clock() -> SimClock:
    return SimClock(AT)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = sqlite_store(tmp_path / "store.sqlite3")
    yield opened
    opened.close()


@pytest.fixture(params=["sqlite", "redis"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """The same behaviour on both backends (the service only speaks the Store port)."""
    if request.param == "sqlite":
        opened = sqlite_store(tmp_path / "store.sqlite3")
    else:
        server = request.getfixturevalue("redis_server")
        opened = open_store(StoreSettings(url=server.url, namespace=f"h{uuid.uuid4().hex[:12]}"))
    yield opened
    opened.close()


@pytest.fixture
def config() -> HoldingsConfig:
    return holdings_config()


@pytest.fixture
def service(store: Store, clock: SimClock, source: SnapshotMarketSource, config: HoldingsConfig) -> HoldingsService:
    return HoldingsService(store, clock, source, config)
