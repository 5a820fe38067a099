"""Exactly once per position id: repeats change nothing, and the ledger replays to the same state."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from core.settings import LearnerSettings
from core.types import ClosedTrade, Signal
from learning.state import LearnerState, RecordOutcome, apply_trade, replay
from tests.learning.trades import closed_trade

MOM = Signal.MOMENTUM


def test_second_recording_of_the_same_trade_is_a_duplicate_and_changes_nothing() -> None:
    settings = LearnerSettings(discount=0.9)
    trade = closed_trade("p1", MOM, regime="low_vol")
    first = apply_trade(LearnerState(), trade, settings)
    second = apply_trade(first.state, trade, settings)
    assert first.result.outcome is RecordOutcome.RECORDED
    assert second.result.outcome is RecordOutcome.DUPLICATE and second.result.is_duplicate
    assert second.result.same_trade and second.result.seq == 1 and second.result.signals == ()
    assert second.state is first.state


def test_a_different_close_of_the_same_position_is_a_conflicting_duplicate() -> None:
    settings = LearnerSettings()
    first = apply_trade(LearnerState(), closed_trade("p1", MOM, win=True), settings)
    racing_close = closed_trade("p1", MOM, win=False)
    second = apply_trade(first.state, racing_close, settings)
    assert second.result.is_duplicate and not second.result.same_trade
    assert second.result.win is True  # the first recording stands
    assert second.state == first.state


signal_sets = st.lists(st.sampled_from(list(Signal)), max_size=4).map(tuple)
regimes = st.sampled_from([None, "low_vol", "high_vol", "low_vol|risk_on"])
r_multiples = st.one_of(st.none(), st.floats(min_value=-10, max_value=10, allow_nan=False))


@st.composite
def distinct_trades(draw: st.DrawFn) -> list[ClosedTrade]:
    count = draw(st.integers(min_value=1, max_value=12))
    return [
        closed_trade(
            f"pos-{i}",
            *draw(signal_sets),
            gross_pnl=Decimal(draw(st.integers(min_value=-50, max_value=50))) / 4,
            regime=draw(regimes),
            r_multiple=draw(r_multiples),
            minute=i,
        )
        for i in range(count)
    ]


learner_settings = st.builds(
    LearnerSettings,
    discount=st.sampled_from([1.0, 0.97, 0.5]),
    weight_by_r=st.booleans(),
    r_weight_cap=st.sampled_from([1.0, 3.0]),
)


def fold(trades: list[ClosedTrade], settings: LearnerSettings) -> tuple[LearnerState, list[RecordOutcome]]:
    state = LearnerState()
    outcomes = []
    for trade in trades:
        step = apply_trade(state, trade, settings)
        state = step.state
        outcomes.append(step.result.outcome)
    return state, outcomes


@hyp_settings(max_examples=150, deadline=None)
@given(trades=distinct_trades(), picks=st.data(), settings=learner_settings)
def test_any_sequence_with_repeats_equals_the_deduplicated_sequence(
    trades: list[ClosedTrade], picks: st.DataObject, settings: LearnerSettings
) -> None:
    order = picks.draw(st.lists(st.integers(min_value=0, max_value=len(trades) - 1), min_size=1, max_size=30))
    with_repeats = [trades[i] for i in order]
    deduplicated = [trades[i] for i in dict.fromkeys(order)]

    state, outcomes = fold(with_repeats, settings)
    expected, _ = fold(deduplicated, settings)

    assert state == expected
    assert state.model_dump_json() == expected.model_dump_json()
    assert outcomes.count(RecordOutcome.RECORDED) == len(deduplicated)
    assert replay(state.ledger.values()) == state


@hyp_settings(max_examples=60, deadline=None)
@given(trades=distinct_trades(), settings=learner_settings)
def test_counts_add_up(trades: list[ClosedTrade], settings: LearnerSettings) -> None:
    state, _ = fold(trades, settings)
    with_signals = [t for t in trades if t.signals]
    assert state.global_scope.trades == len(with_signals)
    assert state.last_seq == len(trades)
    for signal in Signal:
        citing = [t for t in trades if signal in t.signals]
        evidence = state.global_scope.evidence(signal)
        assert evidence.trades == len(citing)
        assert evidence.wins == sum(t.is_win for t in citing)
    for label, scope in state.regimes.items():
        assert scope.trades == sum(1 for t in with_signals if t.regime == label)
