"""Market data draws from the venue's shared request budget (issue 16 item 5), real ccxt over recordings.

Binance counts request weight per IP for every client on it (``rest-api/limits``: 6,000 per minute on spot,
``X-MBX-USED-WEIGHT-1M`` in every answer); a 429 carries ``Retry-After`` and going on after it earns a 418
ban. The candle feed used its own ccxt limiter sized for the whole IP and told nobody about a ban. Now it is
admitted at ``MARKET_DATA`` priority (never more than 60 % of a window), the headers correct the shared
count, and a 418 it receives stops the broker too.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.clock import SimClock
from core.errors import OperationalError, TemporaryError
from core.ratelimit import BudgetPolicy, Cost, Priority
from core.request_budget import BlockKind, MemoryCounter, RequestBudget
from market.ccxt_rest import CcxtRest, make_exchange
from tests.market.binance_replay import IP_BANNED, RATE_LIMITED, BinanceReplay, Reply, klines_route, load_json

KLINES = "/api/v3/klines"
T0 = datetime(2023, 3, 20, 12, tzinfo=UTC)
SINCE, UNTIL = int(datetime(2023, 3, 20, tzinfo=UTC).timestamp() * 1000), int(T0.timestamp() * 1000)


def rig() -> tuple[BinanceReplay, CcxtRest, RequestBudget, list[float]]:
    info = load_json("binance_spot_exchangeInfo.json")
    rows = load_json("binance_klines_BTCUSDT_5m_2023-03-20.json.gz")
    replay = BinanceReplay({"/api/v3/exchangeInfo": lambda _: info, KLINES: klines_route(rows)})
    clock = SimClock(T0)
    budget = RequestBudget(MemoryCounter(), clock, BudgetPolicy.binance_spot(), ip="api.binance.com", account="a")
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.advance_by(seconds)

    return replay, CcxtRest(replay.install(make_exchange("spot")), budget=budget, sleep=sleep), budget, slept


def used(budget: RequestBudget) -> int:
    return next(u.used for u in budget.usage().limits if u.limit.name == "weight_1m")


async def test_klines_are_counted_and_the_exchanges_figure_corrects_the_count() -> None:
    replay, rest, budget, _ = rig()
    recorded = replay.routes[KLINES]
    replay.routes[KLINES] = lambda params: Reply(200, recorded(params), {"X-MBX-USED-WEIGHT-1M": "1234"})
    await rest.fetch_klines("BTC/USDT", "5m", SINCE, UNTIL)
    assert used(budget) == 1234, "other clients on the IP count too: the header raises the shared count"
    await rest.close()


async def test_market_data_waits_for_the_next_window_instead_of_filling_it() -> None:
    replay, rest, budget, slept = rig()
    budget.admit(Cost(3600), Priority.PROTECTIVE)  # 60 % of 6,000 already used this minute
    await rest.fetch_klines("BTC/USDT", "5m", SINCE, UNTIL)
    assert slept and slept[0] > 0, "market data may not take a window past 60 %: it waited"
    assert replay.count(KLINES) == 1
    await rest.close()


async def test_a_418_on_market_data_bans_every_client_on_the_ip_and_nothing_more_is_sent() -> None:
    replay, rest, budget, _ = rig()
    replay.script(KLINES, IP_BANNED)
    with pytest.raises(OperationalError, match="ban"):
        await rest.fetch_klines("BTC/USDT", "5m", SINCE, UNTIL)
    blocked = budget.blocked()
    assert blocked is not None and blocked.kind is BlockKind.BAN
    assert blocked.until == datetime(2023, 3, 21, 12, 0, tzinfo=UTC)  # "IP banned until 1679400000000"
    sent = len(replay.calls)
    with pytest.raises(OperationalError, match="banned until"):
        await rest.fetch_klines("BTC/USDT", "5m", SINCE, UNTIL)
    assert len(replay.calls) == sent, "not sent during the ban"
    await rest.close()


async def test_a_429_backs_off_every_client_for_its_retry_after() -> None:
    replay, rest, budget, _ = rig()
    replay.script(KLINES, RATE_LIMITED)
    with pytest.raises(TemporaryError):
        await rest.fetch_klines("BTC/USDT", "5m", SINCE, UNTIL)
    blocked = budget.blocked()
    assert blocked is not None and blocked.kind is BlockKind.BACKOFF
    assert (blocked.until - T0).total_seconds() == 7
    await rest.close()


async def test_an_answer_that_arrives_in_the_next_minute_does_not_carry_the_old_minutes_weight() -> None:
    """The venue reported 5,000 for the minute the request was counted in; the answer came after the minute
    turned, where the venue counts from zero again: the next request goes without waiting."""
    replay, rest, budget, slept = rig()
    clock = budget.clock
    assert isinstance(clock, SimClock)
    clock.advance_to(datetime(2023, 3, 20, 12, 0, 59, 950_000, tzinfo=UTC))
    recorded = replay.routes[KLINES]

    def slow_across_the_minute(params: dict[str, str]) -> Reply:
        clock.advance_by(0.1)
        return Reply(200, recorded(params), {"X-MBX-USED-WEIGHT-1M": "5000"})

    replay.routes[KLINES] = slow_across_the_minute
    await rest.fetch_klines("BTC/USDT", "5m", SINCE, UNTIL)
    assert used(budget) == 0, "the old minute's figure is not the new minute's"
    replay.routes[KLINES] = recorded
    await rest.fetch_klines("BTC/USDT", "5m", SINCE, UNTIL)
    assert slept == [] and replay.count(KLINES) == 2
    await rest.close()


async def test_a_view_at_account_priority_goes_where_market_data_waits_and_counts_in_the_same_budget() -> None:
    """A live start's candle history feeds the prices its stops are placed at (``engine/wiring.py``): it is
    admitted above market data's 60 % through a view of the same client and budget."""
    replay, rest, budget, slept = rig()
    budget.admit(Cost(4000), Priority.ACCOUNT)  # the killed run's reads: two thirds of this minute
    history = rest.with_priority(Priority.ACCOUNT)
    assert (history.exchange, history.budget, rest.priority) == (rest.exchange, budget, Priority.MARKET_DATA)
    await history.fetch_klines("BTC/USDT", "5m", SINCE, UNTIL)
    assert slept == [] and used(budget) == 4002
    await rest.fetch_klines("BTC/USDT", "5m", SINCE, UNTIL)
    assert slept and slept[0] > 0, "the loop's market data still keeps to its 60 %"
    assert replay.count(KLINES) == 2
    await rest.close()
