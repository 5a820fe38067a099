"""The LLM budget: checked before each wake, rolling windows on event time, fallback flagged, never silent."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from core.settings import LLMSettings
from core.types import WakeKind
from gate.budget import BudgetLimits, LLMBudget
from gate.events import GateEventKind
from tests.gate.helpers import T0, UNLIMITED, make_gate, quiet_settings

HOUR = 3600.0


def limits(**kw: float) -> BudgetLimits:
    base = {
        "wakes_per_hour": 100,
        "wakes_per_day": 1000,
        "tokens_per_hour": 10**9,
        "tokens_per_day": 10**9,
        "usd_per_hour": 1e6,
        "usd_per_day": 1e6,
    }
    base.update(kw)
    return BudgetLimits(**base)  # type: ignore[arg-type]


def test_limits_come_from_the_llm_settings() -> None:
    llm = LLMSettings(max_wakes_per_hour=3, max_tokens_per_hour=1000, max_usd_per_day=2.5)
    got = BudgetLimits.from_settings(llm)
    assert (got.wakes_per_hour, got.tokens_per_hour, got.usd_per_day) == (3, 1000, 2.5)
    assert got.wakes_per_day == llm.max_wakes_per_day


def test_wake_limit_per_hour_rolls() -> None:
    budget = LLMBudget(limits(wakes_per_hour=2))
    for ts in (0.0, 10.0):
        assert budget.exhausted(ts) is None
        budget.record_wake(ts)
    assert budget.exhausted(20.0) == "llm budget spent: wakes per hour at its limit of 2"
    assert budget.exhausted(HOUR - 0.5) == "llm budget spent: wakes per hour at its limit of 2"
    assert budget.exhausted(HOUR) is None  # the window is the last hour, (now - 1 h, now]: the 0 s wake has left


@pytest.mark.parametrize(
    ("kw", "tokens", "usd", "reason"),
    [
        ({"tokens_per_hour": 1000}, 1000, 0.0, "llm budget spent: tokens per hour at its limit of 1000"),
        ({"tokens_per_day": 5000}, 5000, 0.0, "llm budget spent: tokens per day at its limit of 5000"),
        ({"usd_per_hour": 0.5}, 10, 0.5, "llm budget spent: usd per hour at its limit of 0.5"),
        ({"usd_per_day": 2.0}, 10, 2.0, "llm budget spent: usd per day at its limit of 2"),
        ({"wakes_per_day": 0}, 0, 0.0, "llm budget spent: wakes per day at its limit of 0"),
    ],
)
def test_each_limit_names_itself(kw: dict[str, float], tokens: int, usd: float, reason: str) -> None:
    budget = LLMBudget(limits(**kw))
    budget.record_usage(0.0, tokens, usd)
    assert budget.exhausted(1.0) == reason


def test_usage_is_exact_in_micro_dollars_and_leaves_the_day_window() -> None:
    budget = LLMBudget(limits(usd_per_day=0.3))
    for i in range(3):
        budget.record_usage(i * HOUR, 100, 0.1)
    status = budget.status(2 * HOUR + 1)
    assert (status.usd_last_day, status.usd_last_hour, status.tokens_last_day) == (0.3, 0.1, 300)
    assert status.exhausted == "llm budget spent: usd per day at its limit of 0.3"
    assert budget.exhausted(24 * HOUR + 1) is None
    with pytest.raises(ValueError, match="negative"):
        budget.record_usage(0.0, -1, 0.0)


def test_budget_state_round_trips_with_its_windows() -> None:
    budget = LLMBudget(limits(wakes_per_hour=3))
    for ts in (0.0, 0.5 * HOUR, 2 * HOUR, 2.5 * HOUR):
        budget.record_wake(ts)
        budget.record_usage(ts, 7, 0.01)
    budget.exhausted(2.6 * HOUR)  # prune
    restored = LLMBudget.from_state(budget.limits, json.loads(json.dumps(budget.to_state())))
    for ts in (2.7 * HOUR, 3.1 * HOUR, 3.6 * HOUR, 30 * HOUR):
        assert restored.status(ts) == budget.status(ts)


def test_an_exhausted_budget_hands_the_wake_to_the_fallback_and_says_so() -> None:
    gate = make_gate(quiet_settings(timer_max_s=1800), limits=limits(wakes_per_hour=1))
    first = gate.tick(T0 + timedelta(minutes=30))
    assert gate.tick(T0 + timedelta(minutes=59)) is None  # nothing due
    second = gate.tick(T0 + timedelta(minutes=60))
    assert first is not None
    assert second is not None
    assert (first.fallback, first.fallback_reason) == (False, None)
    assert second.kind is WakeKind.TIMER
    assert (second.fallback, second.fallback_reason) == (True, "llm budget spent: wakes per hour at its limit of 1")
    events = gate.drain_events()
    assert [e.kind for e in events] == [GateEventKind.WAKE, GateEventKind.WAKE]
    assert events[1].budget is not None
    assert events[1].budget.exhausted == second.fallback_reason
    # fallback wakes do not count as LLM wakes: an hour after the first, the LLM is back
    third = gate.tick(T0 + timedelta(minutes=90))
    assert third is not None
    assert third.fallback is False


def test_record_usage_feeds_the_gate_budget() -> None:
    gate = make_gate(quiet_settings(timer_max_s=3600), limits=limits(tokens_per_hour=10_000))
    gate.record_usage(12_000, 0.2, T0 + timedelta(minutes=30))
    status = gate.budget_status(T0 + timedelta(minutes=31))
    assert (status.tokens_last_hour, status.usd_last_hour) == (12_000, 0.2)
    wake = gate.tick(T0 + timedelta(hours=1))
    assert wake is not None
    assert wake.fallback_reason == "llm budget spent: tokens per hour at its limit of 10000"
    assert make_gate(limits=UNLIMITED).budget_status(T0).exhausted is None


def test_each_symbol_has_its_own_share_of_the_wakes_so_one_cannot_starve_the_others() -> None:
    budget = LLMBudget(limits(wakes_per_hour=6), symbols=3)
    assert budget.symbol_limits == (2, 334), "6/h and 1000/day over three symbols, rounded up"
    for ts in (0.0, 10.0):
        assert budget.exhausted(ts, "BTC/USDT") is None
        budget.record_wake(ts, "BTC/USDT")
    assert budget.exhausted(20.0, "BTC/USDT") == "llm budget spent: BTC/USDT's wakes per hour at its limit of 2"
    assert budget.exhausted(20.0, "ETH/USDT") is None and budget.exhausted(20.0) is None, "the others still may"
    status = budget.status(20.0, "BTC/USDT")
    assert (status.wakes_last_hour, status.symbol_wakes_last_hour) == (2, 2)
    restored = LLMBudget.from_state(budget.limits, json.loads(json.dumps(budget.to_state())), symbols=3)
    assert restored.status(20.0, "BTC/USDT") == status
    assert LLMBudget(limits(wakes_per_hour=6), symbols=1).symbol_limits == (6, 1000), "one symbol: the global limit"
    explicit = BudgetLimits.from_settings(LLMSettings(max_wakes_per_hour_per_symbol=4, max_wakes_per_day_per_symbol=9))
    assert explicit.per_symbol(3) == (4, 9)


def test_a_noisy_symbol_falls_back_while_a_quiet_one_still_reaches_the_llm() -> None:
    from tests.gate.helpers import candle

    eth = "ETH/USDT"
    settings = quiet_settings(return_z_threshold=0.5, anomaly_min_history=20)
    gate = make_gate(settings, limits=limits(wakes_per_hour=4), symbols=("BTC/USDT", eth))
    gate.warm_up([candle(m * 5, 100 + (m % 3) * 0.01) for m in range(-40, 0)]
                 + [candle(m * 5, 50 + (m % 3) * 0.01, symbol=eth) for m in range(-40, 0)])
    wakes = [gate.observe(candle(m * 5, 100 * (1.02 if m % 2 else 0.98))) for m in range(6)]
    granted = [w for w in wakes if w is not None]
    assert [w.fallback for w in granted][:3] == [False, False, True], "BTC's share of 4/h over two symbols is 2"
    eth_wake = gate.observe(candle(35, 50 * 1.03, symbol=eth))
    assert eth_wake is not None and eth_wake.fallback is False, "ETH still reaches the LLM"
