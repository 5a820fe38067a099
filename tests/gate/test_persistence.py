"""``gate.persistence``: open a gate from the real SQLite store (fresh or restored) and save it with its events."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from core.clock import SimClock
from core.errors import ConfigError
from core.ports import Write
from core.settings import GateSettings, LLMSettings
from core.types import WakeKind
from gate.persistence import STATE_KEY, gate_writes, open_gate, save_gate
from store.sqlite_store import SqliteStore
from tests.gate.helpers import BTC, ETH, T0, candle, quiet_settings, wiggle


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    opened = SqliteStore(tmp_path / "tw.sqlite3", namespace="gatetest")
    yield opened
    opened.close()


def test_an_empty_store_gives_a_fresh_gate_started_at_the_clock(store: SqliteStore) -> None:
    settings = GateSettings()
    gate = open_gate(settings, LLMSettings(), store, SimClock(T0), symbols=[BTC])
    assert gate.next_check_at == T0 + timedelta(seconds=settings.timer_max_s)
    assert gate.pending_events == ()


def test_save_then_open_continues_with_the_schedule_and_journals_each_event_once(store: SqliteStore) -> None:
    settings = quiet_settings(timer_max_s=7200)
    clock = SimClock(T0)
    gate = open_gate(settings, LLMSettings(), store, clock, symbols=[BTC])
    gate.warm_up(wiggle(30))
    gate.schedule(1800, [{"kind": "price_above", "price": 150.0}], T0 + timedelta(minutes=150))
    assert [e.kind.value for e in gate.pending_events] == ["scheduled"]
    save_gate(gate, store)
    assert gate.pending_events == ()
    save_gate(gate, store)  # nothing new: no second journal entry

    restored = open_gate(settings, LLMSettings(), store, SimClock(T0 + timedelta(days=1)), symbols=[BTC])
    assert restored.next_check_at == gate.next_check_at
    assert restored.armed_conditions == gate.armed_conditions
    wake = restored.observe(candle(155, 151.0))
    assert wake is not None and wake.kind is WakeKind.CONDITION
    assert [e.kind for e in store.read_journal()] == ["gate.scheduled"]


def test_gate_writes_leave_events_pending_until_the_caller_drains(store: SqliteStore) -> None:
    gate = open_gate(quiet_settings(), LLMSettings(), store, SimClock(T0), symbols=[BTC])
    gate.schedule(900, [], T0)
    writes, events = gate_writes(gate)
    assert [w.key for w in writes] == [STATE_KEY]
    assert writes[0].value is not None and writes[0].value["pending_events"] == []
    assert [e.kind for e in events] == ["gate.scheduled"]
    assert len(gate.pending_events) == 1  # a failed transaction loses nothing
    store.transact(writes, events)
    gate.drain_events()
    assert [e.kind for e in store.read_journal()] == ["gate.scheduled"]


def test_a_state_for_other_symbols_is_refused(store: SqliteStore) -> None:
    save_gate(open_gate(GateSettings(), LLMSettings(), store, SimClock(T0), symbols=[BTC]), store)
    with pytest.raises(ConfigError, match="watches BTC/USDT, this run watches BTC/USDT, ETH/USDT"):
        open_gate(GateSettings(), LLMSettings(), store, SimClock(T0), symbols=[BTC, ETH])


def test_a_corrupt_state_is_refused_with_a_config_error(store: SqliteStore) -> None:
    store.transact([Write(key=STATE_KEY, value={"version": 1, "symbols": [BTC]})])
    with pytest.raises(ConfigError, match="cannot be restored"):
        open_gate(GateSettings(), LLMSettings(), store, SimClock(T0), symbols=[BTC])
