"""Hypothesis: the timer stays inside its clamp, conditions fire exactly when they become true (once), and an
exhausted LLM budget never silences, delays or changes a wake (it only flags it for the fallback)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.types import WakeKind
from gate.gate import Gate
from tests.gate.helpers import BTC, SPENT, T0, UNLIMITED, candle, make_gate, quiet_settings, wiggle

TIMER_MIN, TIMER_MAX = 600, 3600

timer_actions = st.lists(
    st.one_of(
        st.tuples(st.just("tick"), st.integers(min_value=1, max_value=2 * TIMER_MAX)),
        st.tuples(st.just("schedule"), st.integers(min_value=0, max_value=900), st.integers(1, 3 * TIMER_MAX)),
    ),
    min_size=1,
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(timer_actions)
def test_timer_never_fires_before_its_minimum_nor_after_its_maximum(actions: list[tuple[Any, ...]]) -> None:
    gate = make_gate(quiet_settings(timer_min_s=TIMER_MIN, timer_max_s=TIMER_MAX))
    now = 0
    armed_at, deadline = 0, TIMER_MAX  # start-up plus the maximum, never zero
    for action in actions:
        now += action[1]
        at = T0 + timedelta(seconds=now)
        if action[0] == "schedule":
            gate.schedule(action[2], [], at)
            armed_at, deadline = now, now + min(max(action[2], TIMER_MIN), TIMER_MAX)
            continue
        wake = gate.tick(at)
        assert (wake is not None) == (now >= deadline)
        assert armed_at + TIMER_MIN <= deadline <= armed_at + TIMER_MAX
        if wake is not None:
            assert wake.kind is WakeKind.TIMER
            assert now - armed_at >= TIMER_MIN
            armed_at, deadline = now, now + TIMER_MAX


def _holds(kind: str, level: float, direction: str, reference: float, price: float) -> bool:
    if kind == "price_above":
        return price >= level
    if kind == "price_below":
        return price <= level
    up = (price / reference - 1.0) * 100.0 >= level
    down = (1.0 - price / reference) * 100.0 >= level
    return {"up": up, "down": down, "either": up or down}[direction]


prices = st.floats(min_value=50.0, max_value=150.0, allow_nan=False)


@settings(max_examples=300, deadline=None)
@given(
    kind=st.sampled_from(["price_above", "price_below", "move_pct"]),
    level=st.floats(min_value=0.5, max_value=140.0),
    direction=st.sampled_from(["up", "down", "either"]),
    start=prices,
    path=st.lists(prices, min_size=1, max_size=40),
)
def test_a_condition_fires_exactly_when_its_predicate_becomes_true_and_once(
    kind: str, level: float, direction: str, start: float, path: list[float]
) -> None:
    gate = make_gate()
    gate.observe_price(BTC, start, T0)
    if kind == "move_pct":
        level = min(level, 60.0)
        spec: dict[str, Any] = {"kind": kind, "pct": level, "direction": direction}
    else:
        spec = {"kind": kind, "price": level}
    errors = gate.check_schedule(600, [spec], T0)
    assert (errors != []) == _holds(kind, level, direction, start, start)  # refused exactly when already true
    if errors:
        return
    gate.schedule(600, [spec], T0)
    truth = [_holds(kind, level, direction, start, p) for p in path]
    expected = truth.index(True) if True in truth else None
    fired = [
        i
        for i, p in enumerate(path)
        if (w := gate.observe_price(BTC, p, T0 + timedelta(seconds=i + 1))) is not None and w.kind is WakeKind.CONDITION
    ]
    assert fired == ([] if expected is None else [expected])


market_steps = st.lists(
    st.one_of(
        st.tuples(st.just("candle"), st.integers(-400, 400), st.floats(1.0, 20_000.0)),
        st.tuples(st.just("price"), st.integers(-400, 400)),
        st.tuples(st.just("tick"), st.integers(1, 90)),
        st.tuples(st.just("schedule"), st.integers(1, 8000), st.integers(-300, 300)),
        st.tuples(st.just("usage"), st.integers(0, 50_000)),
    ),
    min_size=1,
    max_size=80,
)


def _drive(gate: Gate, steps: list[tuple[Any, ...]]) -> list[Any]:
    """Apply ``steps`` and return what the gate answered to each (wakes, or None)."""
    minute, price, out = 5 * 30, 100.0, []
    for step in steps:
        if step[0] == "candle":
            price = max(1.0, price * (1 + step[1] / 10_000))
            out.append(gate.observe(candle(minute, price, volume=step[2])))
            minute += 5
        elif step[0] == "price":
            out.append(
                gate.observe_price(BTC, max(1.0, price * (1 + step[1] / 10_000)), T0 + timedelta(minutes=minute))
            )
        elif step[0] == "tick":
            minute += step[1]
            out.append(gate.tick(T0 + timedelta(minutes=minute)))
        elif step[0] == "schedule":
            level = price * (1 + step[2] / 10_000)
            spec = {"kind": "price_above" if level > price else "price_below", "price": level}
            at = T0 + timedelta(minutes=minute)
            out.append(gate.check_schedule(step[1], [spec], at) or gate.schedule(step[1], [spec], at).applied_s)
        else:
            gate.record_usage(step[1], step[1] / 1e6, T0 + timedelta(minutes=minute))
    return out


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(market_steps)
def test_an_exhausted_budget_never_silences_delays_or_changes_a_wake(steps: list[tuple[Any, ...]]) -> None:
    config = quiet_settings(candle_close_timeframes=("1h",), cooldown_s=900, feed_stale_s=300, timer_max_s=7200)
    funded, spent = make_gate(config, UNLIMITED), make_gate(config, SPENT)
    for gate in (funded, spent):
        gate.warm_up(wiggle(30))
    with_budget, without = _drive(funded, steps), _drive(spent, steps)
    assert len(with_budget) == len(without)
    for rich, poor in zip(with_budget, without, strict=True):
        if not hasattr(rich, "kind"):
            assert rich == poor  # schedules are answered the same
            continue
        assert (rich is None) == (poor is None)
        if rich is not None:
            assert (poor.kind, poor.detail, poor.at, poor.symbol) == (rich.kind, rich.detail, rich.at, rich.symbol)
            assert rich.fallback is False
            assert poor.fallback is True
            assert poor.fallback_reason == "llm budget spent: wakes per hour at its limit of 0"
    kinds = [(e.kind, e.suppressed_by) for e in funded.drain_events()]
    assert kinds == [(e.kind, e.suppressed_by) for e in spent.drain_events()]
