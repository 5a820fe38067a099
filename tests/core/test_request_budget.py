"""``RequestBudget``: counts shared through a ``WindowCounter``, bans and back-offs that block everybody on
the IP until the injected clock passes them (Binance: 429 ``Retry-After``; 418 "IP banned until <ms>")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from core.clock import SimClock
from core.ratelimit import Admit, BudgetPolicy, Cost, Priority, Throttle, usage_from_headers
from core.request_budget import Blocked, BlockKind, MemoryCounter, RequestBudget
from store.sqlite_store import SqliteStore

T0 = datetime(2026, 3, 2, 12, 0, 5, tzinfo=UTC)
SPOT = BudgetPolicy.binance_spot()


def budget(
    counter: MemoryCounter | SqliteStore, clock: SimClock, ip: str = "api", account: str = "k1"
) -> RequestBudget:
    return RequestBudget(counter, clock, SPOT, ip=ip, account=account)


def test_two_clients_of_one_counter_draw_from_one_budget() -> None:
    """The broker and the market-data client of one process share the IP's weight."""
    clock, counter = SimClock(T0), MemoryCounter()
    broker, market_data = budget(counter, clock), budget(counter, clock)
    for _ in range(180):
        assert broker.admit(Cost(weight=20), Priority.ACCOUNT) == Admit()  # 3600 weight
    assert isinstance(market_data.admit(Cost(weight=20), Priority.MARKET_DATA), Throttle)  # 60 % is reached
    assert broker.admit(Cost(weight=20), Priority.ENTRY) == Admit()
    (weight, *_) = broker.usage().limits
    assert (weight.used, weight.limit.capacity, weight.scope_id) == (3620, 6000, "ip:api")


def test_a_throttled_request_reserves_nothing_and_the_next_window_starts_empty() -> None:
    clock, counter = SimClock(T0), MemoryCounter()
    shared = budget(counter, clock)
    shared.observe({"weight_1m": 5690})
    assert shared.admit(Cost(weight=20), Priority.PROTECTIVE) == Throttle(
        int(datetime(2026, 3, 2, 12, 1, tzinfo=UTC).timestamp() * 1000), "weight_1m"
    )
    assert shared.usage().limits[0].used == 5690
    clock.advance_to(datetime(2026, 3, 2, 12, 1, tzinfo=UTC))
    assert shared.admit(Cost(weight=20), Priority.MARKET_DATA) == Admit()
    assert shared.usage().limits[0].used == 20


def test_the_exchanges_figures_raise_the_count_and_never_lower_it() -> None:
    clock = SimClock(T0)
    shared = budget(MemoryCounter(), clock)
    shared.admit(Cost(weight=30), Priority.ACCOUNT)
    shared.observe(usage_from_headers({"X-MBX-USED-WEIGHT-1M": "4400", "X-MBX-ORDER-COUNT-10S": "3"}, SPOT.limits))
    shared.observe({"weight_1m": 10})
    used = {u.limit.name: u.used for u in shared.usage().limits}
    assert used == {"weight_1m": 4400, "orders_10s": 3, "orders_1d": 0}


def test_orders_count_per_account_and_weight_per_ip() -> None:
    clock, counter = SimClock(T0), MemoryCounter()
    same_ip_other_key = budget(counter, clock, account="k2")
    mine = budget(counter, clock)
    mine.observe({"orders_10s": 99, "weight_1m": 100})
    assert isinstance(mine.admit(Cost(weight=1, orders=1), Priority.PROTECTIVE), Throttle)
    assert same_ip_other_key.admit(Cost(weight=1, orders=1), Priority.ENTRY) == Admit()
    assert same_ip_other_key.usage().limits[0].used == 101  # the IP's weight is shared


def test_a_ban_blocks_every_client_on_the_ip_until_it_ends_and_wins_over_a_back_off() -> None:
    clock, counter = SimClock(T0), MemoryCounter()
    broker, market_data, other_ip = budget(counter, clock), budget(counter, clock), budget(counter, clock, ip="fapi")
    broker.back_off(T0 + timedelta(seconds=7))
    assert market_data.admit(Cost(), Priority.MARKET_DATA) == Blocked(BlockKind.BACKOFF, T0 + timedelta(seconds=7))
    broker.ban(T0 + timedelta(minutes=2))
    broker.ban(T0 + timedelta(minutes=1))  # an earlier end never shortens a ban
    banned = Blocked(BlockKind.BAN, T0 + timedelta(minutes=2))
    assert market_data.admit(Cost(), Priority.PROTECTIVE) == banned == broker.usage().blocked
    assert other_ip.admit(Cost(), Priority.ACCOUNT) == Admit()
    clock.advance_by(119)
    assert broker.blocked() == banned
    clock.advance_by(1)
    assert broker.blocked() is None and broker.admit(Cost(), Priority.ACCOUNT) == Admit()


def test_processes_on_one_sqlite_store_share_counts_and_bans(tmp_path: Path) -> None:
    clock = SimClock(T0)
    first, second = SqliteStore(tmp_path / "s.sqlite3"), SqliteStore(tmp_path / "s.sqlite3")
    try:
        one, two = budget(first, clock), budget(second, clock)
        one.admit(Cost(weight=600), Priority.ACCOUNT)
        two.admit(Cost(weight=400), Priority.ACCOUNT)
        assert one.usage().limits[0].used == two.usage().limits[0].used == 1000
        one.ban(T0 + timedelta(minutes=3))
        assert two.blocked() == Blocked(BlockKind.BAN, T0 + timedelta(minutes=3))
    finally:
        first.close()
        second.close()


def test_a_figure_reported_for_the_minute_that_ended_does_not_fill_the_next_one() -> None:
    """A request sent at 12:00:59.9 and answered at 12:01:00.1 carries the weight of the minute that is over:
    the venue counts the new minute from nothing, so must the budget (else market data waits a whole minute)."""
    clock = SimClock(datetime(2026, 3, 2, 12, 0, 59, 900_000, tzinfo=UTC))
    shared = budget(MemoryCounter(), clock)
    assert shared.admit(Cost(weight=20), Priority.MARKET_DATA) == Admit()
    sent = clock.now()
    clock.advance_by(0.2)
    shared.observe({"weight_1m": 4_000}, sent=sent)
    assert shared.usage().limits[0].used == 0
    assert shared.admit(Cost(weight=20), Priority.MARKET_DATA) == Admit()
    sent = clock.now()
    shared.observe({"weight_1m": 4_000}, sent=sent)  # sent and answered in the new minute: it counts
    assert shared.usage().limits[0].used == 4_000
