"""``Learner``: the pure learner state behind the ``Store`` port.

The engine calls ``record_trade`` on every ``PositionClosed`` (exactly once per position id, whoever
closes it: a second call is answered ``duplicate`` and changes nothing); the snapshot builder and the
rule-based fallback call ``weights``.

Each recording is one ``store.transact`` (state document compare-and-set + new ledger key + one
``learner_update`` journal event). A lost compare-and-set means another writer got there first: the
learner reloads and tries again, and then either sees the trade in the ledger (duplicate) or applies
it on top of the other writer's update. The in-memory state only changes after the store committed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from core.book import LearnerView, SignalEvidence
from core.errors import ConflictError, OperationalError
from core.ports import Clock, NewEvent, Store, Write
from core.settings import LearnerSettings
from core.types import ClosedTrade
from learning.persistence import (
    STATE_KEY,
    TornReadError,
    encode_entry,
    encode_state,
    ledger_key,
    load,
    load_newer,
)
from learning.state import LearnerState, RecordResult, Transition, apply_trade
from learning.weights import (
    LearnerWeights,
    SignalPosterior,
    compute_weights,
    effective_regime,
    has_enough_data,
    posteriors,
    scope_label,
)

LEARNER_UPDATE_EVENT = "learner_update"
MAX_WRITE_ATTEMPTS = 32
"""Each lost compare-and-set means another writer committed; 32 in a row only happens under a storm."""
MAX_LOAD_ATTEMPTS = 5


class Learner:
    """Thompson-sampling learner over ``core.types.Signal``, persisted in a ``Store``.

    Build it with :meth:`open`; it is not thread-safe (one engine loop owns it; other processes
    are kept honest by the store's compare-and-set).
    """

    def __init__(self, store: Store, settings: LearnerSettings, clock: Clock, state: LearnerState, version: int):
        self._store = store
        self._settings = settings
        self._clock = clock
        self._state = state
        self._version = version

    @classmethod
    def open(cls, store: Store, settings: LearnerSettings, clock: Clock) -> Learner:
        """Load (and verify) the persisted state; an empty store starts every signal at its prior."""
        state, version = _load_consistent(store)
        return cls(store, settings, clock, state, version)

    @property
    def state(self) -> LearnerState:
        return self._state

    @property
    def settings(self) -> LearnerSettings:
        return self._settings

    def refresh(self) -> None:
        """Catch up with what other writers recorded (reads only the ledger entries this one lacks)."""
        self._state, self._version = _load_consistent(self._store, self._state)

    def record_trade(self, trade: ClosedTrade) -> RecordResult:
        """Learn from a closed trade exactly once per ``trade.position_id``."""
        for _ in range(MAX_WRITE_ATTEMPTS):
            transition = apply_trade(self._state, trade, self._settings)
            if transition.result.is_duplicate:
                return transition.result
            try:
                self._commit(transition)
            except ConflictError:
                self.refresh()
                continue
            return transition.result
        raise OperationalError(
            f"learner could not record position {trade.position_id}: "
            f"{MAX_WRITE_ATTEMPTS} compare-and-set conflicts in a row"
        )

    def is_recorded(self, position_id: str) -> bool:
        """Whether this learner has seen the position (another writer's recent one shows after ``refresh``)."""
        return self._state.is_recorded(position_id)

    def weights(self, regime: str | None, rng: np.random.Generator) -> LearnerWeights:
        """Thompson samples and summaries per signal (global posteriors while ``regime`` lacks data)."""
        return compute_weights(self._state, regime, self._settings, rng)

    def has_enough_data(self, regime: str | None = None) -> bool:
        """Whether ``regime``'s own posteriors (global for ``None``) have ``min_trades`` trades."""
        return has_enough_data(self._state, regime, self._settings)

    def posteriors(self, regime: str | None = None) -> tuple[SignalPosterior, ...]:
        """Every signal's posterior in ``regime``'s own scope, without fallback (for display)."""
        return posteriors(self._state, regime, self._settings)

    def evidence(self, regime: str | None) -> LearnerView:
        """What the agent's book shows: per signal the posterior mean and the trades behind it, in the scope
        :meth:`weights` would use for ``regime`` (no Thompson draw, so no generator state is consumed)."""
        used = effective_regime(self._state, regime, self._settings)
        scope_trades = self._state.scope(used).trades
        return LearnerView(
            requested_regime=regime,
            scope=scope_label(used),
            scope_trades=scope_trades,
            min_trades=self._settings.min_trades,
            enough_data=scope_trades >= self._settings.min_trades,
            signals=tuple(
                SignalEvidence(signal=p.signal, mean=round(p.mean, 4), trades=p.trades, wins=p.wins, losses=p.losses)
                for p in posteriors(self._state, used, self._settings)
            ),
        )

    def regime_trades(self) -> dict[str, int]:
        """Trades per known regime label, sorted by label."""
        return {label: self._state.regimes[label].trades for label in sorted(self._state.regimes)}

    def _commit(self, transition: Transition) -> None:
        result = transition.result
        entry = transition.state.ledger[result.position_id]
        writes = [
            Write(key=STATE_KEY, value=encode_state(transition.state), expected_version=self._version),
            Write(key=ledger_key(result.position_id), value=encode_entry(entry), expected_version=0),
        ]
        event = NewEvent(kind=LEARNER_UPDATE_EVENT, at=self._clock.now(), payload=_event_payload(transition))
        versions = self._store.transact(writes, events=[event])
        self._state = transition.state
        self._version = versions[STATE_KEY]


def _event_payload(transition: Transition) -> dict[str, Any]:
    """The journal's view of one update: the entry and the new evidence of every touched signal."""
    result = transition.result
    state = transition.state
    scopes = [None] if result.regime is None else [None, result.regime]
    touched = {
        scope_label(regime): {
            signal.value: state.scope(regime).evidence(signal).model_dump(mode="json") for signal in result.signals
        }
        for regime in scopes
    }
    return {**encode_entry(state.ledger[result.position_id]), "posteriors": touched if result.signals else {}}


def _load_consistent(store: Store, known: LearnerState | None = None) -> tuple[LearnerState, int]:
    """Load (all, or what ``known`` lacks), re-reading when a concurrent write tore the read.

    A tear that persists over every attempt is corruption, not a race.
    """
    problem = ""
    for _ in range(MAX_LOAD_ATTEMPTS):
        try:
            return load(store) if known is None else load_newer(store, known)
        except TornReadError as exc:
            problem = str(exc)
    raise OperationalError(f"learner state and ledger disagree after {MAX_LOAD_ATTEMPTS} reads: {problem}")
