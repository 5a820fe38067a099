"""The request budget's pure decisions, stated as properties (``core.ratelimit``).

Binance's limits (``exchangeInfo.rateLimits``, docs "LIMITS"): request weight per IP per minute (spot 6000,
USDT-M futures 2400), new orders per account per 10 s / per day (spot 100 / 200,000) or per 10 s / per
minute (futures 300 / 1200), in fixed windows; over a limit answers 429, continuing after a 429 answers
418 (an IP ban). So: nothing may fill a window, and lower priorities must leave room for stops.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from core.ratelimit import (
    Admit,
    BudgetPolicy,
    Cost,
    Priority,
    Throttle,
    decide,
    interval_text,
    retry_after_s,
    still_current,
    usage_from_headers,
    window_end_ms,
    window_of,
)

POLICIES = [BudgetPolicy.binance_spot(), BudgetPolicy.binance_futures()]
policies = st.sampled_from(POLICIES)
priorities = st.sampled_from(list(Priority))
now_ms = st.integers(min_value=1_500_000_000_000, max_value=1_900_000_000_000)
costs = st.builds(Cost, weight=st.integers(0, 40), orders=st.integers(0, 2))


@st.composite
def usage(draw: st.DrawFn, policy: BudgetPolicy) -> dict[str, int]:
    return {limit.name: draw(st.integers(0, limit.capacity)) for limit in policy.limits}


@given(data=st.data(), policy=policies, cost=costs, priority=priorities, now=now_ms)
def test_an_admitted_request_keeps_every_window_within_its_priority_ceiling(
    data: st.DataObject, policy: BudgetPolicy, cost: Cost, priority: Priority, now: int
) -> None:
    used = data.draw(usage(policy))
    if isinstance(decide(used, cost, priority, policy, now), Admit):
        for limit in policy.limits:
            amount = cost.of(limit)
            if amount and used[limit.name]:
                assert used[limit.name] + amount <= policy.allowed(limit, priority) < limit.capacity


@given(data=st.data(), policy=policies, cost=costs, priority=priorities, now=now_ms)
def test_what_a_lower_priority_may_send_a_higher_one_may_send_too(
    data: st.DataObject, policy: BudgetPolicy, cost: Cost, priority: Priority, now: int
) -> None:
    used = data.draw(usage(policy))
    if isinstance(decide(used, cost, priority, policy, now), Admit):
        for more_important in Priority:
            if more_important < priority:
                assert isinstance(decide(used, cost, more_important, policy, now), Admit)


@given(data=st.data(), policy=policies, cost=costs, priority=priorities, now=now_ms)
def test_a_throttle_ends_at_the_next_boundary_of_the_limiter_that_is_full(
    data: st.DataObject, policy: BudgetPolicy, cost: Cost, priority: Priority, now: int
) -> None:
    used = data.draw(usage(policy))
    decision = decide(used, cost, priority, policy, now)
    if isinstance(decision, Throttle):
        limit = next(limit for limit in policy.limits if limit.name == decision.limit)
        assert now < decision.until_ms == window_end_ms(now, limit.interval_s)
        assert decision.until_ms - now <= limit.interval_s * 1000
        assert used[limit.name] + cost.of(limit) > policy.allowed(limit, priority)


@given(policy=policies, cost=costs, priority=priorities, now=now_ms)
def test_an_empty_window_admits_anything_so_nothing_waits_forever(
    policy: BudgetPolicy, cost: Cost, priority: Priority, now: int
) -> None:
    assert isinstance(decide({}, cost, priority, policy, now), Admit)


@settings(max_examples=60)
@given(
    policy=policies,
    requests=st.lists(st.tuples(st.integers(0, 3_000), st.integers(1, 30), priorities), min_size=1, max_size=300),
)
def test_a_stream_of_requests_never_fills_a_window_and_always_leaves_room_for_stops(
    policy: BudgetPolicy, requests: list[tuple[int, int, Priority]]
) -> None:
    """Replay traffic (gap ms, weight, priority) through ``decide``, counting what was admitted per window."""
    weight = policy.limits[0]
    now, window, used = 1_700_000_000_000, None, 0
    protective_room = policy.allowed(weight, Priority.PROTECTIVE) - policy.allowed(weight, Priority.ACCOUNT)
    for gap, amount, priority in requests:
        now += gap
        if window_of(now, weight.interval_s) != window:
            window, used = window_of(now, weight.interval_s), 0
        if isinstance(decide({weight.name: used}, Cost(weight=amount), priority, policy, now), Admit):
            used += amount
        assert used <= policy.allowed(weight, Priority.PROTECTIVE) < weight.capacity
    if used <= policy.allowed(weight, Priority.ACCOUNT):  # only lower priorities can have filled it so far
        stop = Cost(weight=min(protective_room, 30))
        assert isinstance(decide({weight.name: used}, stop, Priority.PROTECTIVE, policy, now), Admit)


def test_market_data_and_entries_stop_short_of_the_share_kept_for_stops() -> None:
    spot = BudgetPolicy.binance_spot()
    weight = spot.limits[0]
    assert [spot.allowed(weight, p) for p in Priority] == [5700, 5100, 4500, 3600]
    used = {"weight_1m": 4500}
    assert isinstance(decide(used, Cost(weight=20), Priority.ENTRY, spot, 1_700_000_000_000), Throttle)
    assert isinstance(decide(used, Cost(weight=20), Priority.PROTECTIVE, spot, 1_700_000_000_000), Admit)
    orders = {"orders_10s": 94}  # 100 new orders per 10 s on spot: a stop still goes, an entry waits
    assert isinstance(decide(orders, Cost(weight=1, orders=1), Priority.PROTECTIVE, spot, 1_700_000_000_000), Admit)
    entry = decide(orders, Cost(weight=1, orders=1), Priority.ENTRY, spot, 1_700_000_000_005)
    assert entry == Throttle(1_700_000_010_000, "orders_10s")


@given(data=st.data(), policy=policies, sent=now_ms, latency_ms=st.integers(0, 120_000))
def test_a_figure_from_a_window_that_has_ended_is_never_counted_in_the_next(
    data: st.DataObject, policy: BudgetPolicy, sent: int, latency_ms: int
) -> None:
    """Binance reports the window the request was counted in; an answer that arrives after that window ended
    reports the minute that is over. Counted in the new window it would hold back a whole minute for weight
    the venue no longer counts (the double count that made restarts wait for the next wall minute)."""
    reported = data.draw(usage(policy))
    answered = sent + latency_ms
    kept = still_current(reported, policy.limits, sent_ms=sent, now_ms=answered)
    for limit in policy.limits:
        same_window = window_of(sent, limit.interval_s) == window_of(answered, limit.interval_s)
        assert kept.get(limit.name) == (reported[limit.name] if same_window else None)


def test_an_answer_that_crosses_the_minute_keeps_only_the_ten_second_figure_of_its_window() -> None:
    futures = BudgetPolicy.binance_futures()
    reported = {"weight_1m": 2_000, "orders_10s": 5, "orders_1m": 40}
    sent, answered = 1_700_000_039_990, 1_700_000_040_010  # 22:13:59.990 -> 22:14:00.010 UTC
    assert still_current(reported, futures.limits, sent_ms=sent, now_ms=answered) == {}
    assert still_current(reported, futures.limits, sent_ms=sent, now_ms=sent + 5) == reported
    within_minute = 1_700_000_050_010  # 22:14:09.990 -> :10.010: only the 10 s window turned
    assert still_current(reported, futures.limits, sent_ms=within_minute - 20, now_ms=within_minute) == {
        "weight_1m": 2_000,
        "orders_1m": 40,
    }


def test_usage_headers_are_read_case_insensitively_and_junk_is_ignored() -> None:
    futures = BudgetPolicy.binance_futures()
    headers = {
        "X-MBX-USED-WEIGHT-1M": "1234",
        "x-mbx-order-count-10s": "7",
        "X-MBX-ORDER-COUNT-1M": "n/a",
        "X-MBX-ORDER-COUNT-1D": "9",  # not a futures limiter
        "Content-Type": "application/json",
    }
    assert usage_from_headers(headers, futures.limits) == {"weight_1m": 1234, "orders_10s": 7}
    assert usage_from_headers(None, futures.limits) == {}
    spot = BudgetPolicy.binance_spot()
    assert [limit.header for limit in spot.limits] == [
        "x-mbx-used-weight-1m",
        "x-mbx-order-count-10s",
        "x-mbx-order-count-1d",
    ]
    assert [interval_text(s) for s in (1, 10, 60, 3600, 86_400)] == ["1s", "10s", "1m", "1h", "1d"]


def test_retry_after_is_read_from_any_spelling() -> None:
    assert retry_after_s({"Retry-After": "7"}) == 7.0
    assert retry_after_s({"retry-after": "0.5"}) == 0.5
    assert retry_after_s({"Retry-After": "soon"}) is None
    assert retry_after_s({}) is None
