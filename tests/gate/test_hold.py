"""Wakes decided in bulk as holds (``Gate.wake_kinds``, ``Gate.hold``): what a backtest's skipping path does for
an agent that declares where it acts. At every candle the kind ``wake_kinds`` tells is the kind of the wake the
per-candle gate grants, and holding those wakes leaves the gate's clock, timer and budget (wake and usage
windows, with the fallback they decide) exactly where observing every candle and recording each decision's usage
does; only the events are not there."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.settings import GateSettings
from core.types import WakeKind
from gate.budget import BudgetLimits
from gate.events import GateEventKind
from gate.gate import Gate
from gate.timer import Timer, TimerSource, datetime_of
from market.bundled import bundled_path
from tests.gate.helpers import BTC, DEFAULT_LIMITS, ETH, T0, UNLIMITED, real_candles
from tests.gate.test_tape import WARMUP, arrays

EVERY_5M = GateSettings(candle_close_timeframes=("5m",), cooldown_s=0)
"""What the SMA agent runs with (``backtests.scripted.sma_settings``): every candle wakes it."""


def state_without_events(gate: Gate) -> dict[str, Any]:
    state = gate.to_state()
    state.pop("pending_events")
    state.pop("trackers")  # the tape restores them (``GateTape.restore``), not ``hold``
    return state


@pytest.mark.parametrize("limits", [UNLIMITED, DEFAULT_LIMITS], ids=["unlimited", "default-budget-spent-hourly"])
def test_holding_the_wakes_leaves_the_gate_as_observing_every_candle_does(limits: BudgetLimits) -> None:
    candles = real_candles(bundled_path("binance_BTC-USDT_5m.csv.gz"))[: WARMUP + 2_000]
    gates = []
    for _ in range(2):
        gate = Gate(EVERY_5M, limits, symbols=[candles[0].symbol], started_at=candles[0].open_at)
        gate.warm_up(candles[:WARMUP])
        gates.append(gate)
    observed, held = gates
    tape = held.tape(candles[0].symbol, "5m", arrays(candles[WARMUP:]))
    kinds = held.wake_kinds(tape)
    assert kinds is not None
    fallbacks = 0
    for k, candle in enumerate(candles[WARMUP:]):
        wake = observed.observe(candle)
        assert wake is not None and wake.kind is kinds[k], k
        fallbacks += wake.fallback
        observed.record_usage(0, 0.0, wake.at)
        held.hold(candle.symbol, float(tape.close_ts[k]))
        assert wake.at.timestamp() == tape.close_ts[k]
    assert state_without_events(held) == state_without_events(observed)
    assert held.pending_events == ()
    assert [e.kind for e in observed.drain_events()].count(GateEventKind.WAKE) == 2_000
    assert {WakeKind.ANOMALY, WakeKind.CANDLE_CLOSE} <= set(kinds.tolist())
    assert (fallbacks > 0) == (limits is DEFAULT_LIMITS)


def test_a_cooldown_or_an_unknown_layer_leaves_the_wakes_to_observation() -> None:
    candles = real_candles(bundled_path("binance_BTC-USDT_5m.csv.gz"))[: WARMUP + 50]
    gate = Gate(GateSettings(cooldown_s=900), DEFAULT_LIMITS, symbols=[candles[0].symbol], started_at=candles[0].open_at)
    gate.warm_up(candles[:WARMUP])
    tape = gate.tape(candles[0].symbol, "5m", arrays(candles[WARMUP:]))
    assert gate.wake_kinds(tape) is None

    class Odd:
        kind, priority, cooled = WakeKind.ANOMALY, 3, False

        def fire(self, obs: object) -> list[str]:
            return []

    odd = Gate(EVERY_5M, DEFAULT_LIMITS, symbols=[candles[0].symbol], started_at=candles[0].open_at,
               layers=[Odd()])  # type: ignore[list-item]  # fmt: skip
    assert odd.wake_kinds(tape) is None


def _hold_one_by_one(gate: Gate, symbol: str, now_ts: float) -> None:
    """The per-wake hold as it was before ``hold_many``: the oracle of the bulk loop."""
    state, budget = gate._state, gate._budget
    now_ts = state.clock.advance(now_ts, market=True)
    if budget.exhausted(now_ts, symbol) is None:
        budget.record_wake(now_ts, symbol)
    state.clock.last_wake_ts = now_ts
    state.timer = Timer.arm(now_ts, gate.settings.timer_max_s, TimerSource.AFTER_WAKE)
    budget.record_usage(now_ts, 0, 0.0)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    limits=st.builds(
        BudgetLimits, st.integers(0, 6), st.integers(0, 20), st.just(10**9), st.just(10**9), st.just(1e9),
        st.just(1e9), st.one_of(st.none(), st.integers(0, 4)), st.one_of(st.none(), st.integers(0, 12)),
    ),
    wakes=st.lists(st.tuples(st.sampled_from(["BTC/USDT", "ETH/USDT"]), st.integers(-600, 1_800)), max_size=120),
    cuts=st.lists(st.integers(0, 120), max_size=6),
)
def test_holding_in_bulk_is_holding_one_by_one(limits: BudgetLimits, wakes: list[tuple[str, int]],
                                               cuts: list[int]) -> None:  # fmt: skip
    """``hold_many`` over any batches (two symbols, out-of-order times, tight global and per-symbol caps) leaves
    the clock, timer and budget where holding each wake alone leaves them."""
    symbols = [BTC, ETH]
    one, bulk = (Gate(EVERY_5M, limits, symbols=symbols, started_at=T0) for _ in range(2))
    times, ts = [], T0.timestamp()
    for _, step in wakes:
        ts += step
        times.append(ts)
    for (symbol, _), at in zip(wakes, times, strict=True):
        _hold_one_by_one(one, symbol, at)
    bounds = [0, *sorted(c for c in cuts if c <= len(wakes)), len(wakes)]
    for lo, hi in pairwise(bounds):
        bulk.hold_many([s for s, _ in wakes[lo:hi]], times[lo:hi])
    assert bulk.to_state() == one.to_state()
    assert bulk.budget_status(datetime_of(max([T0.timestamp(), *times]))) == one.budget_status(
        datetime_of(max([T0.timestamp(), *times]))
    )
