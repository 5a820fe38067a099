"""The ledger's consistency check and ``replay`` in linear time give the verdicts and states the quadratic ones gave.

The references below are the code as it was before (``_old_verdict``: the validator that sorted the seqs;
``_old_replay``: ``apply_entry`` once per entry with the whole-ledger check after each, as pydantic ran it for every
``Transition``). Hypothesis draws valid ledgers and corrupted ones (seq gaps, repeats, zero, past the end, a
repeated position, a key holding another position's entry) and compares: the same state, or the same refusal.
"""

from __future__ import annotations

from datetime import timedelta

import hypothesis.strategies as st
import pytest
from hypothesis import given, settings
from pydantic import ValidationError

from core.canonical import canonical_json
from core.ids import PositionId
from core.types import Signal
from learning.evidence import EMPTY_SCOPE
from learning.persistence import encode_state
from learning.state import LearnerState, LedgerEntry, apply_entry, replay
from tests.learning.trades import T0

SIGNALS = list(Signal)[:4]


def _old_verdict(ledger: dict[PositionId, LedgerEntry]) -> str | None:
    """The validator before: ``None`` for a consistent ledger, else its message."""
    for position_id, entry in ledger.items():
        if entry.position_id != position_id:
            return f"ledger key {position_id!r} holds entry for {entry.position_id!r}"
    if sorted(entry.seq for entry in ledger.values()) != list(range(1, len(ledger) + 1)):
        return "ledger sequence numbers are not 1..n without gaps"
    return None


def _new_verdict(ledger: dict[PositionId, LedgerEntry]) -> str | None:
    try:
        LearnerState(ledger=ledger)
    except ValidationError as exc:
        [error] = exc.errors()
        return str(error["ctx"]["error"])
    return None


def _old_replay(entries: list[LedgerEntry]) -> LearnerState:
    """Replay as it was: entry by entry, each next state checked whole (what building its ``Transition`` did)."""
    state = LearnerState()
    for entry in sorted(entries, key=lambda e: e.seq):
        if entry.seq != state.last_seq + 1:
            raise ValueError(f"ledger entry seq {entry.seq} does not follow {state.last_seq}")
        if entry.position_id in state.ledger:
            raise ValueError(f"position {entry.position_id} is already in the ledger")
        update: dict[str, object] = {"ledger": {**state.ledger, entry.position_id: entry}}
        if entry.signals:
            scope = dict(discount=entry.discount, win=entry.win, reward=entry.win_share, weight=entry.weight)
            update["global_scope"] = state.global_scope.observed(entry.signals, **scope)  # type: ignore[arg-type]
            if entry.regime is not None:
                regime_scope = state.scope(entry.regime).observed(entry.signals, **scope)  # type: ignore[arg-type]
                update["regimes"] = {**state.regimes, entry.regime: regime_scope}
        state = LearnerState.model_validate(dict(state.model_copy(update=update)))
    return state


@st.composite
def entries(draw: st.DrawFn, *, corrupt: bool) -> list[LedgerEntry]:
    size = draw(st.integers(0, 12))
    seqs = list(range(1, size + 1))
    ids = [f"p{i}" for i in range(size)]
    if corrupt and size:
        at = draw(st.integers(0, size - 1))
        kind = draw(st.sampled_from(["seq", "position"]))
        if kind == "seq":
            seqs[at] = draw(st.integers(1, size + 2))
        else:
            ids[at] = ids[draw(st.integers(0, size - 1))]
    made = []
    for seq, position_id in zip(seqs, ids, strict=True):
        win = draw(st.booleans())
        made.append(
            LedgerEntry(
                seq=seq,
                position_id=PositionId(position_id),
                trade_digest="d" + position_id,
                closed_at=T0 + timedelta(hours=seq),
                regime=draw(st.sampled_from([None, "low_vol", "high_vol"])),
                signals=tuple(draw(st.lists(st.sampled_from(SIGNALS), unique=True, max_size=3))),
                win=win,
                weight=draw(st.sampled_from([0.0, 0.5, 1.0, 2.5])),
                discount=draw(st.sampled_from([0.9, 0.99, 1.0])),
                reward=draw(st.sampled_from([None, 0.0, 0.25, 1.0])),
            )
        )
    return draw(st.permutations(made))


def _outcome(replayer: object, given_entries: list[LedgerEntry]) -> tuple[str, str]:
    try:
        state = replayer(given_entries)  # type: ignore[operator]
    except ValueError as exc:
        return "refused", str(exc)
    assert isinstance(state, LearnerState)
    return "state", canonical_json({**encode_state(state), "ledger": list(state.ledger)})


@settings(max_examples=300, deadline=None)
@given(st.one_of(entries(corrupt=False), entries(corrupt=True)))
def test_replay_builds_the_old_state_or_refuses_with_the_old_reason(given_entries: list[LedgerEntry]) -> None:
    old = _outcome(_old_replay, given_entries)
    assert _outcome(replay, given_entries) == old
    stepwise = _outcome(_replay_by_apply_entry, given_entries)
    assert stepwise == old
    if old[0] == "state":
        assert replay(given_entries) == _old_replay(given_entries)


def _replay_by_apply_entry(given_entries: list[LedgerEntry]) -> LearnerState:
    state = LearnerState()
    for entry in sorted(given_entries, key=lambda e: e.seq):
        state = apply_entry(state, entry).state
    return state


@st.composite
def ledgers(draw: st.DrawFn) -> dict[PositionId, LedgerEntry]:
    """Any mapping from a drawn key to a drawn entry: valid ones, gaps, repeats and mismatched keys."""
    made = draw(st.one_of(entries(corrupt=False), entries(corrupt=True)))
    ledger: dict[PositionId, LedgerEntry] = {}
    for entry in made:
        key = entry.position_id
        if draw(st.integers(0, 30)) == 0:
            key = PositionId(draw(st.sampled_from(["p0", "p1", "elsewhere"])))
        ledger[key] = entry
    return ledger


@settings(max_examples=400, deadline=None)
@given(ledgers())
def test_the_consistency_check_refuses_exactly_what_the_sorting_one_refused(
    ledger: dict[PositionId, LedgerEntry],
) -> None:
    assert _new_verdict(ledger) == _old_verdict(ledger)


@pytest.mark.parametrize(
    ("seqs", "consistent"),
    [((), True), ((1,), True), ((2, 1, 3), True), ((2,), False), ((1, 1), False), ((1, 3), False),
     ((2, 2, 3), False), ((1, 2, 4), False)],
)  # fmt: skip
def test_seq_sets_at_the_edges(seqs: tuple[int, ...], consistent: bool) -> None:
    ledger = {
        PositionId(f"p{i}"): LedgerEntry(
            seq=seq, position_id=PositionId(f"p{i}"), trade_digest="d", closed_at=T0, regime=None, signals=(),
            win=True, weight=1.0, discount=1.0,
        )
        for i, seq in enumerate(seqs)
    }  # fmt: skip
    assert _new_verdict(ledger) == _old_verdict(ledger)
    assert (_new_verdict(ledger) is None) is consistent


def test_an_empty_replay_is_the_empty_state() -> None:
    assert replay([]) == LearnerState()
    assert replay([]).global_scope == EMPTY_SCOPE
