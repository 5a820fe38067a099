"""Issue 21 reliability item 2: a runner restarted (same id) after a SIGKILL went quiet before its start banner.

Cause, measured on the venue fleet (``docs/runners.md``, "A restart that waits"): every runner of the account counts
its requests in one per-IP weight window on Redis. Three runners' safety reads (guard passes every wall second, each
reading positions, orders and balances at ``ACCOUNT`` priority, allowed up to 85 % of the window) held the window
at ~1,900 of USDⓈ-M's 2,400, past market data's 60 % ceiling; the restarted runner's candle history (``MARKET_DATA``)
then waited for the next window, 17-43 s, silently, with an idle event loop. Waiting is right (the budget keeps the
IP from a ban); waiting without a word was not: the wait is now logged with the window's use.

Here: the real ``CcxtRest`` (real ccxt over recorded Binance answers) counting in a real redis-server, the window
filled by "the other runners" (another ``RequestBudget`` on the same Redis namespace): the restarting runner's
candles wait exactly until the window ends, say so, and then come.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

import pytest

from core.clock import SimClock
from core.ratelimit import Admit, BudgetPolicy, Cost, Priority, window_end_ms
from core.request_budget import RequestBudget
from core.settings import ExchangeSettings
from core.timeframes import datetime_to_ms
from engine.exchange_setup import configure_account
from market.ccxt_rest import CcxtRest, make_exchange
from store.redis_store import RedisStore
from tests.exchange.ccxtkit import ccxt_rig
from tests.market.binance_replay import BinanceReplay, klines_route, load_json
from tests.redis_server import RedisServer

KLINES = "/api/v3/klines"
T0 = datetime(2023, 3, 20, 12, 0, 20, tzinfo=UTC)
SINCE, UNTIL = int(datetime(2023, 3, 20, tzinfo=UTC).timestamp() * 1000), int(T0.timestamp() * 1000)


async def test_a_restarting_runner_waits_for_the_shared_windows_end_and_says_so(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    namespace = f"acct-{uuid.uuid4().hex[:8]}"
    clock = SimClock(T0)
    others = RequestBudget(RedisStore(redis_server.url, namespace), clock, BudgetPolicy.binance_spot(),
                           ip="api.binance.com", account="a")
    assert isinstance(others.admit(Cost(4700), Priority.ACCOUNT), Admit)  # 78 % of the window: the fleet's reads
    budget = RequestBudget(RedisStore(redis_server.url, namespace), clock, BudgetPolicy.binance_spot(),
                           ip="api.binance.com", account="a")
    replay = BinanceReplay({"/api/v3/exchangeInfo": lambda _: load_json("binance_spot_exchangeInfo.json"),
                            KLINES: klines_route(load_json("binance_klines_BTCUSDT_5m_2023-03-20.json.gz"))})
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.advance_by(seconds)

    rest = CcxtRest(replay.install(make_exchange("spot")), budget=budget, sleep=sleep)
    try:
        with caplog.at_level(logging.WARNING, logger="market.ccxt_rest"):
            rows = await rest.fetch_klines("BTC/USDT", "5m", SINCE, UNTIL)
    finally:
        await rest.close()
    assert rows and replay.count(KLINES) == 1
    window_end = window_end_ms(datetime_to_ms(T0), 60)
    assert slept == [(window_end - datetime_to_ms(T0)) / 1000], "one wait, to the end of the shared window"
    (said,) = [r.getMessage() for r in caplog.records if "request budget" in r.getMessage()]
    assert "waits 40.0 s" in said and "weight_1m 4700" in said, said


async def test_a_start_reads_the_account_wide_modes_once_not_once_per_symbol() -> None:
    """The other half of the cause: each symbol's configuration read the position mode and Multi-Assets Mode again
    (30 request weight each), so a start on six symbols cost ~550 weight instead of ~130 (measured on the venue:
    1,260 of the 1,639 weight three starts used went to these two reads)."""
    rig = ccxt_rig("future")
    settings = ExchangeSettings(market_type="future", symbols=("BTC/USDT", "ETH/USDT"), leverage=3)
    found = await configure_account(rig.broker, settings)
    assert len(found) == 2
    assert len(rig.fake.sent("GET", "/fapi/v1/positionSide/dual")) == 1
    assert len(rig.fake.sent("GET", "/fapi/v1/multiAssetsMargin")) == 1
