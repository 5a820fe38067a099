"""The planner with held wakes (``engine.skipping.SkipPlanner``): a held wake re-arms the gate's timer at its close
plus the interval, so the clock's deadline moves on with each one, and only with the ones before it; a candle
that is not a wake between two held ones far apart is where the timer fires and is stepped. ``None`` as the plan's
``hold_timer_s`` (safety blocks the agent, say) steps every wake. The end-to-end check of the same logic is the
oracle (``tests/backtests/test_fast_path.py``); this pins the timer arithmetic where every candle is not a wake."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.ids import Symbol
from core.settings import GateSettings
from engine.skipping import QuietPlan, SkipPlanner
from engine.timeline import Timeline
from gate.gate import Gate, GateWatch
from tests.gate.helpers import UNLIMITED

BTC = Symbol("BTC/USDT")
HOUR = 3600.0


def planner(wakes: np.ndarray, held: np.ndarray) -> SkipPlanner:
    index = pd.date_range("2025-01-01 00:00", periods=len(wakes), freq="5min", tz="UTC")
    frame = pd.DataFrame({"open": 100.0, "high": 101.0, "low": 99.0, "close": 100.0, "volume": 1.0}, index=index)
    timeline = Timeline.of([(BTC, frame)], "5m")
    gate = Gate(GateSettings(), UNLIMITED, symbols=[BTC], started_at=index[0].to_pydatetime())
    tape = gate.tape(BTC, "5m", timeline.series[0])
    return SkipPlanner(timeline, [tape], [wakes], [held])


def plan(deadline: float, *, hold_timer_s: float | None = HOUR, other: float = np.inf) -> QuietPlan:
    return QuietPlan(min(deadline, other), GateWatch(deadline, (), {BTC: None}), {}, hold_timer_s=hold_timer_s,
                     hold_deadline_ts=other)  # fmt: skip


def test_held_wakes_carry_the_timer_until_a_gap_longer_than_its_interval() -> None:
    wakes = np.zeros(100, dtype=bool)
    wakes[0:10] = wakes[40:100] = True  # candles 10 to 39 wake nothing
    skip = planner(wakes, held=wakes.copy())
    close = skip.close_ts
    first = plan(float(close[0]) + HOUR)  # the timer as the last step (before candle 0) left it
    step = skip.next_step(0, first)
    assert step == 9 + 12, "the timer re-armed by the hold at candle 9 fires 12 candles (1 h) after it"
    assert skip.held(0, step).tolist() == list(range(10))
    assert skip.next_step(0, plan(float(close[0]) + HOUR, hold_timer_s=None)) == 0, "no holds: the first wake"


def test_an_at_time_condition_or_safety_keeps_its_deadline_through_the_holds() -> None:
    wakes = np.ones(100, dtype=bool)
    skip = planner(wakes, held=wakes.copy())
    close = skip.close_ts
    assert skip.next_step(0, plan(float(close[0]) + HOUR)) == 100, "every candle held: nothing to step"
    assert skip.next_step(0, plan(float(close[0]) + HOUR, other=float(close[70]))) == 70


def test_an_acting_wake_is_stepped_and_ends_the_holds_before_it() -> None:
    wakes = np.ones(100, dtype=bool)
    held = wakes.copy()
    held[33] = False  # the agent declared it may act there
    skip = planner(wakes, held)
    step = skip.next_step(0, plan(float(skip.close_ts[0]) + HOUR))
    assert step == 33
    assert skip.held(0, step).tolist() == list(range(33))
