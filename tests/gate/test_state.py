"""Gate state is plain JSON and restores exactly: a restart through the real SQLite store continues where the
gate was, with the same wakes and journal events as a run that never stopped."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from core.ports import Write
from core.settings import GateSettings
from core.types import Candle, PositionSide, WakeReason
from gate.budget import BudgetLimits
from gate.events import GateEvent
from gate.gate import Gate
from store.sqlite_store import SqliteStore
from tests.gate.helpers import BTC, BTC_5M, T0, make_gate, quiet_settings, real_candles

KEY = "gate/state"
TIGHT = BudgetLimits(
    wakes_per_hour=2,
    wakes_per_day=20,
    tokens_per_hour=60_000,
    tokens_per_day=400_000,
    usd_per_hour=0.2,
    usd_per_day=1.5,
)
SLICE = slice(100_000, 112_000)  # 12,000 real 5m candles (about 42 days of 2023)


class ScriptedAgent:
    """A deterministic stand-in for the agent: on every wake it schedules, sets conditions and reports usage."""

    def __init__(self) -> None:
        self.decisions = 0

    def after_wake(self, gate: Gate, wake: WakeReason, price: float) -> None:
        self.decisions += 1
        if wake.fallback:
            gate.schedule(None, [], wake.at)
            return
        conditions: list[dict[str, Any]] = [
            {"kind": "price_above", "price": round(price * 1.012, 2), "note": "breakout"},
            {"kind": "price_below", "price": round(price * 0.988, 2)},
            {"kind": "move_pct", "pct": 0.8, "direction": "either"},
            {"kind": "at_time", "at": (wake.at + timedelta(hours=3)).isoformat()},
        ]
        if gate.armed_conditions == () and self.decisions % 3 == 0:
            conditions.append({"kind": "volume_z_above", "z": 4.0})
        gate.schedule(900 * (1 + self.decisions % 8), conditions, wake.at)
        gate.record_usage(15_000 + 100 * (self.decisions % 7), 0.04, wake.at + timedelta(seconds=20))


def run(gate: Gate, agent: ScriptedAgent, candles: list[Candle], offset: int) -> list[dict[str, Any]]:
    """Feed candles (with regime labels, a position and clock ticks between them); return every wake."""
    wakes = []
    for index, candle in enumerate(candles, start=offset):
        close_at = candle.open_at + timedelta(minutes=5)
        if index % 500 == 0:
            gate.observe_regime(BTC, "high_vol" if (index // 500) % 2 else "low_vol", candle.open_at)
        if index % 2000 == 0:
            gate.set_position(BTC, PositionSide.LONG if (index // 2000) % 2 else PositionSide.SHORT, candle.open)
        for wake in (gate.observe(candle), gate.tick(close_at + timedelta(seconds=150))):
            if wake is not None:
                wakes.append(wake.model_dump(mode="json"))
                agent.after_wake(gate, wake, candle.close)
    return wakes


def drained(gate: Gate) -> list[dict[str, Any]]:
    return [event.model_dump(mode="json") for event in gate.drain_events()]


@pytest.fixture(scope="module")
def candles() -> list[Candle]:
    return real_candles(BTC_5M)[SLICE]


def fresh(candles: list[Candle], settings: GateSettings) -> Gate:
    gate = Gate(settings, TIGHT, symbols=[BTC], started_at=candles[287].open_at + timedelta(minutes=5))
    gate.warm_up(candles[:288])
    return gate


def test_restart_through_the_sqlite_store_continues_exactly(candles: list[Candle], tmp_path: Path) -> None:
    settings = GateSettings()
    scored = candles[288:]
    half = len(scored) // 2

    straight = fresh(candles, settings)
    straight_agent = ScriptedAgent()
    expected_wakes = run(straight, straight_agent, scored, 0)
    expected_events = drained(straight)

    first = fresh(candles, settings)
    agent = ScriptedAgent()
    wakes = run(first, agent, scored[:half], 0)
    events = drained(first)
    journaled = len(events)
    path = tmp_path / "tw.sqlite3"
    store = SqliteStore(path, namespace="gatetest")
    store.transact(
        [Write(key=KEY, value=first.to_state())], [GateEvent.model_validate(e).to_new_event() for e in events]
    )
    store.close()
    del first

    reopened = SqliteStore(path, namespace="gatetest")
    doc = reopened.get(KEY)
    assert doc is not None
    second = Gate.from_state(doc.value, settings, TIGHT)
    wakes += run(second, agent, scored[half:], half)
    events += drained(second)

    assert wakes == expected_wakes
    assert events == expected_events
    assert second.to_state() == straight.to_state()
    kinds = {w["kind"] for w in wakes}
    assert {"anomaly", "condition", "timer", "candle_close"} <= kinds, kinds  # the run exercised the layers
    assert any(w["fallback"] for w in wakes)  # and the budget
    journal = reopened.read_journal()
    assert reopened.verify_journal().ok
    assert [e.payload for e in journal] == events[:journaled]
    assert {e.kind for e in journal} == {"gate.wake", "gate.suppressed", "gate.scheduled"}
    reopened.close()


def test_state_is_json_and_round_trips_with_pending_events() -> None:
    gate = make_gate(quiet_settings(timer_max_s=3600))
    gate.observe_price(BTC, 100.0, T0)
    gate.set_position(BTC, PositionSide.LONG, 99.0)
    gate.observe_regime(BTC, "calm", T0)
    gate.schedule(1200, [{"kind": "move_pct", "pct": 1}, {"kind": "regime_change"}], T0)
    gate.tick(T0 + timedelta(seconds=1200))
    state = gate.to_state()
    assert json.loads(json.dumps(state, allow_nan=False)) == state
    restored = Gate.from_state(json.loads(json.dumps(state)), gate.settings, gate.limits)
    assert restored.to_state() == state
    assert restored.drain_events() == gate.drain_events()
    assert restored.armed_conditions == gate.armed_conditions
    later = T0 + timedelta(hours=2)
    assert restored.observe_price(BTC, 101.5, later) == gate.observe_price(BTC, 101.5, later)


def test_an_unknown_state_version_is_refused() -> None:
    state = make_gate().to_state()
    state["version"] = 99
    with pytest.raises(ValueError, match="unknown gate state version 99"):
        Gate.from_state(state, GateSettings(), TIGHT)
