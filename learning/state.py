"""The learner's whole state and the one pure transition: record a closed trade, exactly once.

No I/O here. ``apply_trade(state, trade, settings)`` returns the next state and what happened;
``learning.service.Learner`` persists that next state atomically and only then adopts it.

Reward (``settings.reward``): with ``r_multiple`` (the default) a trade's R multiple is mapped to a reward
in [0, 1], ``0.5 + R / (2 * r_reward_scale)`` clipped, and the cited signals get ``reward`` of a win and
``1 - reward`` of a loss: a full stop-loss (-1 R) teaches a clear loss, a scratch trade almost nothing
either way, a winner at +``r_reward_scale`` R or more a clear win, so a signal's posterior mean tracks its
expectancy in R, not only its hit rate. With ``win_loss``, or for a trade without an R multiple, the reward
is 1 for a win (net P&L after fees > 0) and 0 otherwise. The counts ``wins``/``trades`` stay the facts.
Weight: 1, or with ``settings.weight_by_r`` ``min(|R|, settings.r_weight_cap)`` so that one outlier
cannot outweigh ``r_weight_cap`` ordinary trades. A signal cited twice in one trade counts once.
Scopes: every trade with signals updates the global scope, and also ``trade.regime``'s scope when the
trade has a regime label (any label: ``low_vol``, ``high_vol``, a combined macro label ...).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from core.canonical import canonical_json, sha256_hex
from core.ids import PositionId
from core.settings import LearnerSettings
from core.types import ClosedTrade, Signal
from learning.evidence import EMPTY_SCOPE, ScopeState

_VALUE = ConfigDict(frozen=True, extra="forbid")

REGIME_LABEL_MAX_CHARS = 64


def check_regime_label(regime: str) -> str:
    """Regime labels are free-form, but not empty, not padded and short enough to key a scope."""
    if not regime or regime != regime.strip() or len(regime) > REGIME_LABEL_MAX_CHARS:
        raise ValueError(f"bad regime label {regime!r}: 1-{REGIME_LABEL_MAX_CHARS} characters, no outer spaces")
    return regime


class LedgerEntry(BaseModel):
    """One recorded position: enough to recognise a duplicate and to replay the update exactly."""

    model_config = _VALUE

    seq: int = Field(ge=1)
    """Order of recording, 1-based; replaying entries in this order rebuilds the posteriors."""
    position_id: PositionId
    trade_digest: str
    """SHA-256 of the trade's canonical JSON: tells a true repeat from a conflicting second close."""
    closed_at: AwareDatetime
    regime: str | None
    signals: tuple[Signal, ...]
    """The distinct cited signals, in the order first cited."""
    win: bool
    weight: float = Field(ge=0, allow_inf_nan=False)
    discount: float = Field(gt=0, le=1)
    reward: float | None = Field(default=None, ge=0, le=1, allow_inf_nan=False)
    """The share of ``weight`` credited as a win (the rest as a loss); ``None`` in entries recorded before
    rewards existed, which replay as 1 for a win and 0 for a loss."""

    @property
    def win_share(self) -> float:
        return self.reward if self.reward is not None else (1.0 if self.win else 0.0)


class LearnerState(BaseModel):
    """Posterior evidence per scope plus the ledger of every position ever recorded."""

    model_config = _VALUE

    global_scope: ScopeState = EMPTY_SCOPE
    regimes: dict[str, ScopeState] = Field(default_factory=dict)
    ledger: dict[PositionId, LedgerEntry] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _ledger_consistent(self) -> LearnerState:
        """Keys match their entries and the seqs are 1..n, each once: n distinct seqs all within 1..n are exactly
        1..n, so a set does what sorting did, in linear time (pydantic runs this whenever a model holding a state
        is built, so ``apply_entry`` builds its ``Transition`` without validation: see there)."""
        for position_id, entry in self.ledger.items():
            if entry.position_id != position_id:
                raise ValueError(f"ledger key {position_id!r} holds entry for {entry.position_id!r}")
        size = len(self.ledger)
        seqs = {entry.seq for entry in self.ledger.values()}
        if len(seqs) != size or (size and (min(seqs) != 1 or max(seqs) != size)):
            raise ValueError("ledger sequence numbers are not 1..n without gaps")
        return self

    @property
    def last_seq(self) -> int:
        return len(self.ledger)

    def scope(self, regime: str | None) -> ScopeState:
        """The global scope for ``None``, else that regime's (empty if never seen)."""
        if regime is None:
            return self.global_scope
        return self.regimes.get(regime, EMPTY_SCOPE)

    def is_recorded(self, position_id: str) -> bool:
        return position_id in self.ledger


class RecordOutcome(StrEnum):
    RECORDED = "recorded"
    DUPLICATE = "duplicate"


class RecordResult(BaseModel):
    """What ``record_trade`` did. A duplicate changed nothing; ``same_trade`` False flags a conflicting close."""

    model_config = _VALUE

    outcome: RecordOutcome
    position_id: PositionId
    seq: int
    """The ledger sequence number of the (first) recording."""
    signals: tuple[Signal, ...]
    """Signals whose posteriors this call changed (empty for a duplicate or a trade without signals)."""
    regime: str | None
    win: bool
    weight: float
    reward: float = 0.0
    """The reward credited to the cited signals (see the module docstring)."""
    same_trade: bool = True
    """For a duplicate: whether it is the very trade recorded first (False: a different close of the same id)."""

    @property
    def is_duplicate(self) -> bool:
        return self.outcome is RecordOutcome.DUPLICATE


class Transition(BaseModel):
    """The next state and the result that describes the step."""

    model_config = _VALUE

    state: LearnerState
    result: RecordResult


def trade_digest(trade: ClosedTrade) -> str:
    return sha256_hex(canonical_json(trade.model_dump(mode="json")))


def trade_weight(trade: ClosedTrade, settings: LearnerSettings) -> float:
    """1, or ``min(|R|, r_weight_cap)`` when weighting by R and the trade has an R multiple."""
    if not settings.weight_by_r or trade.r_multiple is None:
        return 1.0
    if math.isnan(trade.r_multiple):
        raise ValueError(f"trade {trade.position_id} has a NaN R multiple")
    return min(abs(trade.r_multiple), settings.r_weight_cap)


def trade_reward(trade: ClosedTrade, settings: LearnerSettings) -> float:
    """The reward in [0, 1] a trade credits to the signals it cited (see the module docstring)."""
    if settings.reward == "win_loss" or trade.r_multiple is None:
        return 1.0 if trade.is_win else 0.0
    if math.isnan(trade.r_multiple):
        raise ValueError(f"trade {trade.position_id} has a NaN R multiple")
    return round(min(1.0, max(0.0, 0.5 + trade.r_multiple / (2 * settings.r_reward_scale))), 12)


def distinct_signals(signals: Iterable[Signal]) -> tuple[Signal, ...]:
    return tuple(dict.fromkeys(signals))


def apply_trade(state: LearnerState, trade: ClosedTrade, settings: LearnerSettings) -> Transition:
    """Record ``trade`` once: a position id already in the ledger leaves the state untouched."""
    existing = state.ledger.get(trade.position_id)
    if existing is not None:
        return Transition.model_construct(state=state, result=_duplicate(existing, trade_digest(trade)))
    if trade.regime is not None:
        check_regime_label(trade.regime)
    entry = LedgerEntry(
        seq=state.last_seq + 1,
        position_id=trade.position_id,
        trade_digest=trade_digest(trade),
        closed_at=trade.closed_at,
        regime=trade.regime,
        signals=distinct_signals(trade.signals),
        win=trade.is_win,
        weight=trade_weight(trade, settings),
        discount=settings.discount,
        reward=trade_reward(trade, settings),
    )
    return apply_entry(state, entry)


def apply_entry(state: LearnerState, entry: LedgerEntry) -> Transition:
    """Apply one ledger entry (a new trade, or one being replayed) to ``state``.

    The next state is consistent because ``state`` is (a validated ``LearnerState``) and ``entry`` follows it
    (``_check_follows``), so neither it nor the ``Transition`` holding it is validated again: pydantic would
    re-run ``LearnerState``'s whole-ledger check for the ``Transition``, linear per entry and so quadratic over a
    ledger recorded or replayed entry by entry.
    """
    _check_follows(state.ledger, entry)
    update: dict[str, object] = {"ledger": {**state.ledger, entry.position_id: entry}}
    if entry.signals:
        update["global_scope"] = _observe(state.global_scope, entry)
        if entry.regime is not None:
            regime_scope = _observe(state.scope(entry.regime), entry)
            update["regimes"] = {**state.regimes, entry.regime: regime_scope}
    result = RecordResult(
        outcome=RecordOutcome.RECORDED,
        position_id=entry.position_id,
        seq=entry.seq,
        signals=entry.signals,
        regime=entry.regime,
        win=entry.win,
        weight=entry.weight,
        reward=entry.win_share,
    )
    return Transition.model_construct(state=state.model_copy(update=update), result=result)


def replay(entries: Iterable[LedgerEntry]) -> LearnerState:
    """Rebuild the state from ledger entries (any order given; applied by ``seq``).

    What ``apply_entry`` entry by entry would build, with the same refusals in the same order, but on one growing
    ledger and scope map instead of a copy per entry: linear in the ledger's length. The state is built (and
    validated) once, at the end.
    """
    ledger: dict[PositionId, LedgerEntry] = {}
    global_scope = EMPTY_SCOPE
    regimes: dict[str, ScopeState] = {}
    for entry in sorted(entries, key=lambda e: e.seq):
        _check_follows(ledger, entry)
        ledger[entry.position_id] = entry
        if entry.signals:
            global_scope = _observe(global_scope, entry)
            if entry.regime is not None:
                regimes[entry.regime] = _observe(regimes.get(entry.regime, EMPTY_SCOPE), entry)
    return LearnerState(global_scope=global_scope, regimes=regimes, ledger=ledger)


def _check_follows(ledger: Mapping[PositionId, LedgerEntry], entry: LedgerEntry) -> None:
    """``entry`` may be appended to a consistent ``ledger``: the next seq, a position not yet recorded."""
    if entry.seq != len(ledger) + 1:
        raise ValueError(f"ledger entry seq {entry.seq} does not follow {len(ledger)}")
    if entry.position_id in ledger:
        raise ValueError(f"position {entry.position_id} is already in the ledger")


def _observe(scope: ScopeState, entry: LedgerEntry) -> ScopeState:
    return scope.observed(
        entry.signals, win=entry.win, reward=entry.win_share, weight=entry.weight, discount=entry.discount
    )


def _duplicate(existing: LedgerEntry, digest: str) -> RecordResult:
    return RecordResult(
        outcome=RecordOutcome.DUPLICATE,
        position_id=existing.position_id,
        seq=existing.seq,
        signals=(),
        regime=existing.regime,
        win=existing.win,
        weight=existing.weight,
        reward=existing.win_share,
        same_trade=existing.trade_digest == digest,
    )
