"""The learner behind real stores (SQLite file, real redis-server): restart, exactly once, two writers."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from core.clock import SimClock
from core.errors import OperationalError
from core.ports import Store, Write
from core.settings import LearnerSettings, StoreSettings
from core.types import ClosedTrade, Signal
from learning.persistence import LEDGER_PREFIX, STATE_KEY, ledger_key
from learning.service import LEARNER_UPDATE_EVENT, Learner
from learning.state import LearnerState, RecordOutcome, apply_trade
from store.factory import open_store
from tests.learning.trades import T0, closed_trade

MOM, BRK, TREND, FUND = Signal.MOMENTUM, Signal.BREAKOUT, Signal.TREND_FOLLOW, Signal.FUNDING
SETTINGS = LearnerSettings(min_trades=3, discount=0.95, weight_by_r=True, r_weight_cap=3.0)
REGIMES = (None, "low_vol", "high_vol", "low_vol|risk_on")

Opener = Callable[[], Store]


@pytest.fixture(params=["sqlite", "redis"])
def open_fresh(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Opens a new connection to the same store each call (a restart, or a second process)."""
    namespace = f"t{uuid.uuid4().hex[:12]}"
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'learner.sqlite3'}"
    else:
        url = request.getfixturevalue("redis_server").url
    opened: list[Store] = []

    def opener() -> Store:
        opened.append(open_store(StoreSettings(url=url, namespace=namespace)))
        return opened[-1]

    yield opener
    for store in opened:
        store.close()


def sample_trades() -> list[ClosedTrade]:
    return [
        closed_trade("pos-1", MOM, BRK, win=True, regime="low_vol", r_multiple=1.7, minute=0),
        closed_trade("pos-2", MOM, win=False, regime="low_vol", r_multiple=-1.0, minute=60),
        closed_trade("pos-3", TREND, win=True, regime="high_vol", r_multiple=4.2, minute=120),
        closed_trade("pos-4", win=True, regime="high_vol", minute=180),  # no signals
        closed_trade("pos-5", BRK, FUND, win=False, regime="low_vol|risk_on", r_multiple=-0.4, minute=240),
        closed_trade("pos-6", MOM, win=True, regime="low_vol", minute=300),
        closed_trade("pos-7", TREND, MOM, win=True, minute=360),
    ]


def fold(trades: list[ClosedTrade]) -> LearnerState:
    state = LearnerState()
    for trade in trades:
        state = apply_trade(state, trade, SETTINGS).state
    return state


def learner_events(store: Store) -> list[dict[str, object]]:
    return [e.payload for e in store.read_journal() if e.kind == LEARNER_UPDATE_EVENT]


def test_restart_restores_every_count_and_posterior(open_fresh: Opener) -> None:
    clock = SimClock(T0)
    learner = Learner.open(open_fresh(), SETTINGS, clock)
    for trade in sample_trades():
        clock.advance_by(60)
        assert learner.record_trade(trade).outcome is RecordOutcome.RECORDED
    before = learner.state
    answers = {regime: learner.has_enough_data(regime) for regime in REGIMES}
    weights_before = learner.weights("low_vol", np.random.default_rng(5)).model_dump_json()

    reopened = Learner.open(open_fresh(), SETTINGS, SimClock(clock.now()))

    assert reopened.state == before
    assert reopened.state == fold(sample_trades())
    assert {regime: reopened.has_enough_data(regime) for regime in REGIMES} == answers
    assert answers == {None: True, "low_vol": True, "high_vol": False, "low_vol|risk_on": False}
    assert reopened.posteriors("low_vol") == learner.posteriors("low_vol")
    assert reopened.weights("low_vol", np.random.default_rng(5)).model_dump_json() == weights_before
    assert reopened.regime_trades() == {"high_vol": 1, "low_vol": 3, "low_vol|risk_on": 1}
    assert reopened.is_recorded("pos-4") and not reopened.is_recorded("pos-8")


def test_one_journal_event_per_recorded_trade_and_none_for_a_duplicate(open_fresh: Opener) -> None:
    store = open_fresh()
    clock = SimClock(T0)
    learner = Learner.open(store, SETTINGS, clock)
    trades = sample_trades()
    for trade in trades:
        learner.record_trade(trade)
    duplicate = learner.record_trade(trades[0])
    racing_close = learner.record_trade(closed_trade("pos-2", MOM, win=True, regime="low_vol"))

    assert duplicate.is_duplicate and duplicate.same_trade
    assert racing_close.is_duplicate and not racing_close.same_trade
    events = learner_events(store)
    assert [e["position_id"] for e in events] == [t.position_id for t in trades]
    assert [e["seq"] for e in events] == list(range(1, len(trades) + 1))
    assert events[3]["signals"] == [] and events[3]["posteriors"] == {}
    assert set(events[0]["posteriors"]) == {"global", "low_vol"}  # type: ignore[arg-type]
    assert store.verify_journal().ok
    assert store.keys(LEDGER_PREFIX) == sorted(ledger_key(t.position_id) for t in trades)
    state_doc = store.get(STATE_KEY)
    assert state_doc is not None and state_doc.version == len(trades)


def test_duplicate_after_restart_changes_nothing(open_fresh: Opener) -> None:
    first = Learner.open(open_fresh(), SETTINGS, SimClock(T0))
    for trade in sample_trades():
        first.record_trade(trade)
    store = open_fresh()
    journal_length = len(store.read_journal())
    replayed = Learner.open(store, SETTINGS, SimClock(T0 + timedelta(days=1)))

    results = [replayed.record_trade(trade) for trade in sample_trades()]

    assert all(r.is_duplicate for r in results)
    assert len(store.read_journal()) == journal_length
    assert replayed.state == first.state


def test_a_stale_second_writer_neither_double_counts_nor_loses_updates(open_fresh: Opener) -> None:
    trades = sample_trades()
    engine = Learner.open(open_fresh(), SETTINGS, SimClock(T0))
    replay_job = Learner.open(open_fresh(), SETTINGS, SimClock(T0))  # opened before anything was recorded

    engine.record_trade(trades[0])
    assert replay_job.record_trade(trades[0]).is_duplicate  # CAS refused, reload, seen in the ledger
    assert replay_job.record_trade(trades[1]).outcome is RecordOutcome.RECORDED
    assert engine.record_trade(trades[2]).outcome is RecordOutcome.RECORDED  # CAS refused, reload, applied on top
    assert engine.record_trade(trades[1]).is_duplicate

    final_store = open_fresh()
    final = Learner.open(final_store, SETTINGS, SimClock(T0))
    assert final.state == fold(trades[:3]) == engine.state
    assert [e["position_id"] for e in learner_events(final_store)] == ["pos-1", "pos-2", "pos-3"]
    assert final_store.verify_journal().ok


def test_racing_writers_record_each_trade_exactly_once(open_fresh: Opener) -> None:
    trades = [
        closed_trade(f"race-{i}", *(MOM,) if i % 2 else (BRK, TREND), win=i % 3 != 0, regime=REGIMES[i % 4])
        for i in range(24)
    ]
    writers = [Learner.open(open_fresh(), SETTINGS, SimClock(T0)) for _ in range(3)]
    orders = [trades, list(reversed(trades)), trades[12:] + trades[:12]]
    outcomes: list[list[RecordOutcome]] = [[] for _ in writers]
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            outcomes[index] = [writers[index].record_trade(t).outcome for t in orders[index]]
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(writers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not errors
    recorded = sum(o.count(RecordOutcome.RECORDED) for o in outcomes)
    store = open_fresh()
    events = learner_events(store)
    assert recorded == len(trades) == len(events)
    assert sorted(str(e["position_id"]) for e in events) == sorted(t.position_id for t in trades)
    reopened = Learner.open(store, SETTINGS, SimClock(T0))
    assert reopened.state.global_scope.trades == len(trades)
    assert sum(s.trades for s in reopened.state.regimes.values()) == sum(1 for t in trades if t.regime)


def test_a_state_document_edited_around_the_learner_is_refused(open_fresh: Opener) -> None:
    store = open_fresh()
    learner = Learner.open(store, SETTINGS, SimClock(T0))
    for trade in sample_trades():
        learner.record_trade(trade)
    doc = store.get(STATE_KEY)
    assert doc is not None
    tampered = dict(doc.value)
    tampered["global_scope"] = {**doc.value["global_scope"], "trades": 99}
    store.put(STATE_KEY, tampered, expected_version=doc.version)

    with pytest.raises(OperationalError, match="does not match a replay"):
        Learner.open(open_fresh(), SETTINGS, SimClock(T0))


def test_an_unreadable_ledger_entry_is_refused(open_fresh: Opener) -> None:
    store = open_fresh()
    learner = Learner.open(store, SETTINGS, SimClock(T0))
    for trade in sample_trades():
        learner.record_trade(trade)
    store.put(ledger_key("pos-3"), {"not": "an entry"})

    with pytest.raises(OperationalError, match="unreadable learner document"):
        Learner.open(open_fresh(), SETTINGS, SimClock(T0))


def test_a_deleted_ledger_entry_is_refused(open_fresh: Opener) -> None:
    store = open_fresh()
    learner = Learner.open(store, SETTINGS, SimClock(T0))
    for trade in sample_trades():
        learner.record_trade(trade)
    store.transact([Write(key=ledger_key("pos-3"), value=None)])

    with pytest.raises(OperationalError, match="state and ledger disagree"):
        Learner.open(open_fresh(), SETTINGS, SimClock(T0))


def test_a_failed_save_leaves_the_learner_unchanged(open_fresh: Opener) -> None:
    store = open_fresh()
    learner = Learner.open(store, SETTINGS, SimClock(T0))
    learner.record_trade(sample_trades()[0])
    before = learner.state
    store.close()

    with pytest.raises(OperationalError):
        learner.record_trade(sample_trades()[1])
    assert learner.state is before


def test_refresh_catches_up_with_another_writer(open_fresh: Opener) -> None:
    trades = sample_trades()
    reader = Learner.open(open_fresh(), SETTINGS, SimClock(T0))
    writer = Learner.open(open_fresh(), SETTINGS, SimClock(T0))
    reader.record_trade(trades[0])
    writer.refresh()
    for trade in trades[1:]:
        writer.record_trade(trade)
    assert not reader.is_recorded("pos-7")

    reader.refresh()

    assert reader.state == writer.state == fold(trades)
    assert reader.is_recorded("pos-7")
    assert reader.record_trade(trades[-1]).is_duplicate
