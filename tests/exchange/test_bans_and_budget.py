"""IP bans and the request-weight budget at the ccxt broker (issue 16, items 4 and 5).

Binance (``rest-api/limits``): request weight per IP per minute (spot 6000), new orders per account per 10 s
(spot 100), both reported in ``X-MBX-USED-WEIGHT-1M`` / ``X-MBX-ORDER-COUNT-10S``; over a limit answers 429
with ``Retry-After``; "repeatedly violating rate limits and/or failing to back off after receiving 429s
will result in an automated IP ban (HTTP status 418)", from 2 minutes up to 3 days, the end in the message
(``-1003 ... IP banned until <ms>``). The fake counts weight per minute like Binance and answers 429, then
418 to a client that does not back off.
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path

import pytest

from core.errors import TemporaryError
from core.ids import ClientOrderId, Symbol
from core.ratelimit import BudgetPolicy, Priority
from core.request_budget import MemoryCounter, RequestBudget
from core.types import OrderType, Side
from engine.wiring import exchange_broker
from exchange.binance_weights import Op
from exchange.ccxt_broker import CcxtBroker
from exchange.errors import IpBanned
from store.sqlite_store import SqliteStore
from tests.exchange.ccxtkit import CcxtRig, ccxt_rig, settings_for, simulated_sleep
from tests.exchange.simkit import intent

BTC = Symbol("BTC/USDT")
BANNED_UNTIL_MS = 1_704_067_500_000  # 2024-01-01T00:05:00Z, five minutes after the rigs' start
BAN_END = datetime(2024, 1, 1, 0, 5, tzinfo=UTC)
BAN_BODY = {"code": -1003, "msg": f"Way too much request weight used; IP banned until {BANNED_UNTIL_MS}."}


def second_client(rig: CcxtRig, budget: RequestBudget) -> CcxtBroker:
    """Another ccxt client on the same IP and account (market data, another runner) sharing ``budget``."""
    settings = settings_for("spot", symbols=("BTC/USDT",))
    other = exchange_broker(settings, rig.clock, sleep=simulated_sleep(rig.clock, []), budget=budget)
    rig.fake.install(other.exchange)
    return other


async def test_during_a_ban_no_request_is_sent_and_the_end_is_raised_at_once() -> None:
    """418 ``IP banned until <ms>``: every request before then prolongs the ban (2 minutes up to 3 days)."""
    rig = ccxt_rig("spot", balances={"USDT": D(10_000), "BTC": D(1)})
    rig.venue.on_price("40000", symbol=BTC)
    await rig.broker.fetch_balance()
    rig.fake.fail_next("GET", "/api/v3/account", "status", status=418, body=BAN_BODY)
    with pytest.raises(IpBanned) as first:
        await rig.broker.fetch_balance()
    assert first.value.until == BAN_END
    sent = len(rig.fake.requests)
    protective = intent("tw-p1-s1", Side.SELL, OrderType.STOP_MARKET, "0.5", stop="39000")
    for call in (
        rig.broker.fetch_balance(),
        rig.broker.create_order(protective),  # not even a stop: the ban covers the whole IP
        rig.broker.cancel_order(ClientOrderId("tw-p1-s0"), BTC),
        rig.broker.fetch_open_orders(BTC),
    ):
        with pytest.raises(IpBanned) as again:
            await call
        assert again.value.until == BAN_END and "no request is sent" in str(again.value)
    assert len(rig.fake.requests) == sent
    rig.clock.advance_to(BAN_END)
    assert "BTC" in await rig.broker.fetch_balance()


async def test_a_ban_seen_by_one_client_stops_every_client_on_the_ip() -> None:
    """Binance bans the IP, not the client: market data and the broker stop together."""
    rig = ccxt_rig("spot")
    market_data = second_client(rig, rig.broker.budget)
    rig.fake.fail_next("GET", "/api/v3/account", "status", status=418, body=BAN_BODY)
    with pytest.raises(IpBanned):
        await rig.broker.fetch_balance()
    sent = len(rig.fake.requests)
    with pytest.raises(IpBanned):
        await market_data.load_markets()
    assert len(rig.fake.requests) == sent


async def test_a_418_without_an_end_bans_for_binances_shortest_ban_or_its_retry_after() -> None:
    """A 418 carries ``Retry-After``; without it the ban lasts at least Binance's shortest, 2 minutes."""
    rig = ccxt_rig("spot")
    await rig.broker.fetch_balance()
    start = rig.clock.now()
    rig.fake.fail_next(
        "GET", "/api/v3/account", "status", status=418, headers={"Retry-After": "300"}, body={"code": -1003, "msg": "x"}
    )
    with pytest.raises(IpBanned) as banned:
        await rig.broker.fetch_balance()
    assert banned.value.until == start + timedelta(seconds=300)


async def test_a_429s_retry_after_holds_back_every_client_until_it_has_passed() -> None:
    """429 carries ``Retry-After``; sending before it has passed earns a 418."""
    rig = ccxt_rig("spot")
    other = second_client(rig, rig.broker.budget)
    await rig.broker.fetch_balance()
    rate_limited = rig.fake._errors["rate_limited"]
    rig.fake.fail_next("GET", "/api/v3/account", "status", status=429, headers={"Retry-After": "7"}, body=rate_limited)
    with pytest.raises(TemporaryError) as throttled:
        await rig.broker.calls.call(rig.broker.exchange.fetch_balance, Op.BALANCE)  # one attempt, no retry
    assert throttled.value.retry_after_s == 7
    sent = len(rig.fake.requests)
    with pytest.raises(TemporaryError) as held:
        await other.calls.call(other.exchange.fetch_balance, Op.BALANCE)
    assert held.value.retry_after_s == 7 and "not sent" in str(held.value)
    assert len(rig.fake.requests) == sent
    start = rig.clock.now()
    assert "USDT" in await other.fetch_balance()  # the retry waits out the 7 s (simulated), then goes
    assert rig.clock.now() - start >= timedelta(seconds=7)
    assert rig.fake.limits.answered_418 == 0


async def test_a_burst_is_throttled_before_binance_answers_429_and_never_earns_a_418() -> None:
    """400 account reads (weight 20 each: 8,000 > 6,000 a minute) go out over two minutes, none refused."""
    rig = ccxt_rig("spot")
    start = rig.clock.now()
    for _ in range(400):
        await rig.broker.fetch_balance()
    assert (rig.fake.limits.answered_429, rig.fake.limits.answered_418) == (0, 0)
    assert rig.slept and rig.clock.now() - start >= timedelta(minutes=1)


async def test_weight_used_by_other_clients_on_the_ip_counts_through_the_headers() -> None:
    """``X-MBX-USED-WEIGHT-1M`` counts every client on the IP, not only ours."""
    rig = ccxt_rig("spot")
    rig.fake.limits.external_weight = 5_050  # another bot on the same IP, not sharing our store
    await rig.broker.fetch_balance()
    (weight, *_) = rig.broker.budget_usage().limits
    assert weight.used >= 5_070
    for _ in range(10):
        await rig.broker.fetch_balance()
    assert rig.fake.limits.answered_429 == 0 and rig.slept  # it waited for the next minute instead


async def test_stops_go_while_entries_and_reads_wait_for_room() -> None:
    """6000 weight a minute per IP on spot: entries stop at 75 % of it, stops may use 95 %."""
    rig = ccxt_rig("spot", balances={"USDT": D(10_000), "BTC": D(1)})
    rig.venue.on_price("40000", symbol=BTC)
    await rig.broker.load_markets()
    rig.broker.budget.observe({"weight_1m": 4_700})  # above the entries' 75 %, below the stops' 95 %
    stop = await rig.broker.create_order(intent("tw-p1-s1", Side.SELL, OrderType.STOP_MARKET, "0.5", stop="39000"))
    assert stop.client_order_id == "tw-p1-s1" and rig.slept == []
    await rig.broker.create_order(intent("tw-p2-e0", quantity="0.01"))
    assert len(rig.slept) == 1 and rig.slept[0] > 0  # the entry waited for the next minute


async def test_the_order_count_per_ten_seconds_is_kept_for_stops() -> None:
    """100 new orders per 10 s per account on spot (``X-MBX-ORDER-COUNT-10S``): entries stop at 75."""
    rig = ccxt_rig("spot", balances={"USDT": D(100_000), "BTC": D(10)})
    rig.venue.on_price("40000", symbol=BTC)
    await rig.broker.load_markets()
    rig.broker.budget.observe({"orders_10s": 80})
    await rig.broker.create_order(intent("tw-p1-s1", Side.SELL, OrderType.STOP_MARKET, "0.01", stop="39000"))
    assert rig.slept == []
    await rig.broker.create_order(intent("tw-p2-e0", order_type=OrderType.LIMIT, quantity="0.01", price="39000"))
    assert len(rig.slept) == 1 and rig.slept[0] <= 10


async def test_clients_in_two_processes_share_one_budget_through_the_store(tmp_path: Path) -> None:
    """The limits are per IP and per account, whatever the number of processes: the store shares the counts."""
    rig = ccxt_rig("spot")
    stores = SqliteStore(tmp_path / "budget.sqlite3"), SqliteStore(tmp_path / "budget.sqlite3")
    try:
        budgets = [
            RequestBudget(store, rig.clock, BudgetPolicy.binance_spot(), ip="testnet.binance.vision", account="k")
            for store in stores
        ]
        first, second = second_client(rig, budgets[0]), second_client(rig, budgets[1])
        await first.fetch_balance()
        await second.fetch_balance()
        used = [b.usage().limits[0].used for b in budgets]
        assert used[0] == used[1] >= 40
        budgets[0].ban(BAN_END)
        with pytest.raises(IpBanned):
            await second.fetch_balance()
    finally:
        for store in stores:
            store.close()


def test_a_private_budget_is_the_default_and_names_the_venue() -> None:
    """Spot and USDT-M futures have separate limits (hosts); the account is named by a hash of the key."""
    rig = ccxt_rig("future")
    assert rig.broker.budget.ip == "demo-fapi.binance.com"
    assert rig.broker.budget.policy == BudgetPolicy.binance_futures()
    assert isinstance(rig.broker.budget.counter, MemoryCounter)
    assert len(rig.broker.budget.account) == 12  # a hash of the key, never the key


async def test_an_answer_from_the_minute_that_ended_does_not_hold_back_the_next_minute() -> None:
    """Binance counts a request in the minute it arrives and reports that minute's weight; an answer that comes
    back after the minute turned reports weight the venue no longer counts, so it must not fill the new minute
    (a restart's reads would otherwise wait for the next one)."""
    rig = ccxt_rig("spot", balances={"USDT": D(10_000)})
    rig.venue.on_price("40000", symbol=BTC)
    await rig.broker.load_markets()
    rig.clock.advance_to(datetime(2024, 1, 1, 0, 0, 59, 950_000, tzinfo=UTC))
    rig.fake.limits.external_weight = 5_500  # the old minute was nearly full
    answer = rig.fake.answer

    def answered_after_the_minute_turned(*args: object, **kwargs: object) -> object:
        response = answer(*args, **kwargs)  # type: ignore[arg-type]
        rig.clock.advance_by(0.1)  # the answer arrives in the next minute, which the venue counts from zero
        rig.fake.limits.external_weight = 0
        rig.fake.answer = answer  # type: ignore[method-assign]
        return response

    rig.fake.answer = answered_after_the_minute_turned  # type: ignore[method-assign]
    await rig.broker.fetch_balance()
    (weight, *_) = rig.broker.budget_usage().limits
    assert weight.used <= 20, "only what was sent in the new minute (the balance read) counts in it"
    for n in range(3):
        await rig.broker.create_order(intent(f"tw-p{n}-e0", order_type=OrderType.LIMIT, quantity="0.01", price="30000"))
    assert rig.slept == [] and rig.fake.limits.answered_429 == 0


async def test_on_the_protection_path_reads_go_where_they_would_wait_and_afterwards_wait_again() -> None:
    """A restart's account reads and reconciliation are what its stops wait for (``engine/wiring.py``): with the
    minute at 90 % (over the reads' 85 %, under the stops' 95 %) they go at once; back on their own priority, wait."""
    rig = ccxt_rig("spot")
    await rig.broker.load_markets()
    rig.broker.budget.observe({"weight_1m": 5_400})
    rig.broker.protection_path(Priority.PROTECTIVE)
    await rig.broker.fetch_balance()
    await rig.broker.fetch_open_orders(BTC)
    assert rig.slept == []
    rig.broker.protection_path(None)
    await rig.broker.fetch_balance()
    assert len(rig.slept) == 1 and rig.slept[0] > 0
