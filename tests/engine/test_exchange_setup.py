"""What a live run does with its exchange account before it trades (``engine.exchange_setup``, issue 16).

- item 5: Binance counts request weight per IP and orders per account for every client on them
  (``rest-api/limits``). A run's broker and its candle feed draw from one budget, kept in the run's store, so
  every process on that store shares it; nothing read the ``X-MBX-USED-WEIGHT-1M`` headers before, and each
  ccxt instance kept a limiter sized for the whole IP.
- item 2: on USDⓈ-M futures the run sets each symbol's margin type and leverage and reads them back before it
  trades, and refuses a hedge-mode account (``dualSidePosition``) in one line.
- item 8: on the spot testnet the candles come from the testnet the orders go to, not from mainnet.

``tradewake run --mode testnet`` against ``FakeBinance`` served over real HTTP (``LoopbackBinance``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import pytest

from core.clock import SimClock
from core.errors import OperationalError
from core.ids import Symbol
from core.ratelimit import BudgetPolicy
from core.request_budget import RequestBudget
from core.settings import ExchangeSettings, RunMode, Settings, StoreSettings
from engine.exchange_setup import account_id, venue_budget
from engine.runs import LiveFeed
from engine.wiring import build_run, exchange_broker, plan_for
from exchange.ccxt_client import ccxt_client
from exchange.sim import MarketFill, SimConfig, SimExchange, binance_futures_markets, binance_spot_markets
from market.bundled import BTC_5M, bundled_path
from market.candles import load_candles
from store.sqlite_store import SqliteStore
from tests.engine.loopback_binance import LoopbackBinance
from tests.exchange.ccxtkit import API_KEY, API_SECRET
from tests.exchange.fake_binance import FakeBinance
from tests.exchange.simkit import T0

T = TypeVar("T")
FBTC = Symbol("BTC/USDT:USDT")


def _loopback(market_type: str) -> tuple[LoopbackBinance, SimClock, FakeBinance]:
    frame = load_candles(bundled_path(BTC_5M))
    clock = SimClock(frame.index[2_100].to_pydatetime() + timedelta(seconds=30))
    markets = binance_spot_markets() if market_type == "spot" else binance_futures_markets()
    exchange = SimExchange(markets, clock, SimConfig(
        market_type=market_type, initial_balances={"USDT": Decimal(10_000)}, market_fill=MarketFill.IMMEDIATE))
    fake = FakeBinance(exchange, secret=API_SECRET, api_key=API_KEY)
    return LoopbackBinance(fake, frame, 300_000, clock), clock, fake


def _settings(url: str, tmp_path: Path, market_type: str, **exchange: Any) -> Settings:
    return Settings(
        mode=RunMode.TESTNET,
        exchange=ExchangeSettings(market_type=market_type, symbols=("BTC/USDT",), api_key=API_KEY,
                                  api_secret=API_SECRET, venue_url=url, **exchange),
        store=StoreSettings(url=f"sqlite:///{tmp_path / 'run.sqlite3'}"),
    )


def _in_one_loop(work: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(work())  # ccxt clients are bound to the loop they were made in, as in `tradewake run`


def test_the_broker_and_the_candle_feed_draw_from_one_budget_kept_in_the_runs_store(tmp_path: Path) -> None:
    local, clock, _ = _loopback("spot")
    with local:
        settings = _settings(local.url, tmp_path, "spot")

        async def inspect() -> tuple[Any, Any, Any, list[int]]:
            run = await build_run(settings, LiveFeed("5m"))
            try:
                broker = run.engine.safety._gateway.broker
                source = run.feed.feeds[0].source
                return broker.budget, source.budget, run.store, [u.used for u in broker.budget.usage().limits]
            finally:
                await run.close()

        budget, feed_budget, store, used = _in_one_loop(inspect)
    assert budget is feed_budget, "one budget per venue: the broker's is the candle feed's"
    assert budget.counter is store and isinstance(store, SqliteStore), "counted in the run's store"
    assert used[0] > 0 and budget.ip == urlsplit(local.url).netloc and budget.account == account_id(settings.exchange)
    reopened = SqliteStore(tmp_path / "run.sqlite3")  # another process on the same store sees the same counts
    try:
        other = RequestBudget(reopened, clock, BudgetPolicy.binance_spot(), ip=budget.ip, account=budget.account)
        assert [u.used for u in other.usage().limits] == used
    finally:
        reopened.close()
    assert API_KEY not in budget.account


def test_exchange_check_reports_the_budget_shared_through_the_store(tmp_path: Path) -> None:
    settings = _settings("http://127.0.0.1:9", tmp_path, "spot")
    store = SqliteStore(tmp_path / "run.sqlite3")
    try:
        venue = plan_for(settings).venue
        assert venue is not None
        clock = SimClock(T0)
        broker = exchange_broker(settings, clock, budget=venue_budget(venue, store, clock, settings.exchange))
        assert broker.budget.counter is store
    finally:
        store.close()


def test_a_futures_run_sets_margin_type_and_leverage_before_it_trades(tmp_path: Path) -> None:
    local, _, fake = _loopback("future")
    fake.margin_types["BTCUSDT"] = "ISOLATED"
    with local:
        settings = _settings(local.url, tmp_path, "future", leverage=2, margin_type="cross")

        async def start() -> None:
            run = await build_run(settings, LiveFeed("5m"))
            await run.close()

        _in_one_loop(start)
    assert fake.venue.leverage(FBTC) == 2 and fake.margin_types["BTCUSDT"] == "CROSSED"
    assert [r.path for r in local.requests if r.method == "POST"] == ["/fapi/v1/marginType", "/fapi/v1/leverage"]


def test_a_hedge_mode_account_stops_the_run_before_anything_trades(tmp_path: Path) -> None:
    local, _, fake = _loopback("future")
    fake.hedge_mode = True
    with local:
        settings = _settings(local.url, tmp_path, "future")

        async def start() -> None:
            run = await build_run(settings, LiveFeed("5m"))
            await run.close()

        with pytest.raises(OperationalError, match="hedge mode") as refused:
            _in_one_loop(start)
    assert "\n" not in str(refused.value)
    assert not [r for r in local.requests if r.method == "POST"], "nothing set, nothing ordered"


def test_spot_testnet_candles_come_from_the_testnet_the_orders_go_to() -> None:
    """ccxt's sandbox mode replaces every REST URL with the spot testnet's; the candle client and the broker
    are built from the one ``VenueSpec`` the mode names, so klines and orders both go to testnet.binance.vision
    (before, the live feed read mainnet candles while orders went to the testnet)."""
    settings = Settings(mode=RunMode.TESTNET, exchange=ExchangeSettings(api_key=API_KEY, api_secret=API_SECRET))
    venue = plan_for(settings).venue
    assert venue is not None
    candles = ccxt_client(venue)
    broker = exchange_broker(settings, SimClock(T0))
    try:
        public = candles.urls["api"]["public"]
        private = broker.exchange.urls["api"]["private"]
        assert urlsplit(public).netloc == urlsplit(private).netloc == "testnet.binance.vision"
    finally:
        asyncio.run(candles.close())
        asyncio.run(broker.close())
