"""The managed-holding lifecycle as a pure state machine: ``decide(state, action, actor)``.

::

    frozen --request(op)--> proposal_pending --generate(bot)--> risk_proposed --approve(op)--> managed_active
       ^                        |                                   |
       |                        +--abort(bot)--> proposal_aborted --+--> frozen
       |                                        (no balance, market down, blacklisted, stale)
       |                                                            |
       +-- proposal_rejected <--reject(op) / expire(ttl_job)--------+
       |
    managed_active <--pause(op)/resume(op)--> managed_paused
    managed_active|paused --flag_drift(bot)--> managed_drift_alert --resume(op)--> managed_active
    managed_* --release(op)--> release_pending --release_done(guard)--> frozen
    managed_*|release_pending --exit(guard)--> exit_executed --release(op)--> frozen
                                               exit_executed --request(op)--> proposal_pending

``proposal_aborted`` and ``proposal_rejected`` are passed through on the way back to ``frozen`` in the
same transition (``Transition.path``): they are journaled, but an asset never rests in them, so a
crash cannot leave one there.

The one rule the table exists for: **the bot can never move an asset from a ``managed_*`` state to
``frozen``** (no sequence of bot actions reaches it; ``tests/holdings/test_lifecycle.py`` proves it
with hypothesis). Every refused bot attempt is journaled as ``managed.policy_change_blocked``; a
refused attempt by anyone else as ``managed.command_refused``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum


class HoldingState(StrEnum):
    FROZEN = "frozen"
    PROPOSAL_PENDING = "proposal_pending"
    RISK_PROPOSED = "risk_proposed"
    PROPOSAL_ABORTED = "proposal_aborted"
    PROPOSAL_REJECTED = "proposal_rejected"
    MANAGED_ACTIVE = "managed_active"
    MANAGED_PAUSED = "managed_paused"
    MANAGED_DRIFT_ALERT = "managed_drift_alert"
    RELEASE_PENDING = "release_pending"
    EXIT_EXECUTED = "exit_executed"


MANAGED = frozenset({HoldingState.MANAGED_ACTIVE, HoldingState.MANAGED_PAUSED, HoldingState.MANAGED_DRIFT_ALERT})
"""The ``managed_*`` states: the bot protects the holding (stop and take-profit) in all three."""

RESTING = frozenset(HoldingState) - {HoldingState.PROPOSAL_ABORTED, HoldingState.PROPOSAL_REJECTED}
"""States an asset can be stored in; the other two are only passed through."""


class Actor(StrEnum):
    OPERATOR = "operator"
    BOT = "bot"
    TTL_JOB = "ttl_job"
    GUARD = "guard"


class Action(StrEnum):
    REQUEST = "request"
    """The operator asks for an analysis (``tradewake holdings propose``)."""
    GENERATE = "generate"
    """The bot produced the proposal."""
    ABORT = "abort"
    """The bot could not propose (no balance, market down, blacklisted) or the proposal went stale (drift)."""
    APPROVE = "approve"
    REJECT = "reject"
    EXPIRE = "expire"
    PAUSE = "pause"
    RESUME = "resume"
    FLAG_DRIFT = "flag_drift"
    OVERRIDE = "override"
    RELEASE = "release"
    RELEASE_DONE = "release_done"
    """The guard confirms the managed position is closed after a release."""
    EXIT = "exit"
    """The guard saw the protective stop or the take-profit fill."""


class RefusalCode(StrEnum):
    ACTOR_NOT_ALLOWED = "actor_not_allowed"
    NOT_IN_STATE = "not_in_state"


@dataclass(frozen=True, slots=True)
class Rule:
    """One row of the table: ``actor`` may perform ``action`` from any of ``sources``; the asset then
    passes through ``path`` and rests in its last state (an empty path leaves the state as it is)."""

    action: Action
    actor: Actor
    sources: frozenset[HoldingState]
    path: tuple[HoldingState, ...]
    event: str


S = HoldingState
_OP, _BOT, _TTL, _GUARD = Actor.OPERATOR, Actor.BOT, Actor.TTL_JOB, Actor.GUARD


def _rule(action: Action, actor: Actor, sources: set[HoldingState], path: tuple[HoldingState, ...], event: str) -> Rule:
    return Rule(action, actor, frozenset(sources), path, f"managed.{event}")


RULES: tuple[Rule, ...] = (
    _rule(Action.REQUEST, _OP, {S.FROZEN, S.EXIT_EXECUTED}, (S.PROPOSAL_PENDING,), "requested"),
    _rule(Action.REQUEST, _OP, {S.PROPOSAL_PENDING}, (), "requested"),  # a second request is idempotent
    _rule(Action.GENERATE, _BOT, {S.PROPOSAL_PENDING}, (S.RISK_PROPOSED,), "generated"),
    _rule(Action.ABORT, _BOT, {S.PROPOSAL_PENDING, S.RISK_PROPOSED}, (S.PROPOSAL_ABORTED, S.FROZEN), "aborted"),
    _rule(Action.APPROVE, _OP, {S.RISK_PROPOSED}, (S.MANAGED_ACTIVE,), "promoted"),
    _rule(Action.REJECT, _OP, {S.RISK_PROPOSED}, (S.PROPOSAL_REJECTED, S.FROZEN), "rejected"),
    _rule(Action.EXPIRE, _TTL, {S.RISK_PROPOSED}, (S.PROPOSAL_REJECTED, S.FROZEN), "expired"),
    _rule(Action.PAUSE, _OP, {S.MANAGED_ACTIVE, S.MANAGED_DRIFT_ALERT}, (S.MANAGED_PAUSED,), "paused"),
    _rule(Action.PAUSE, _OP, {S.MANAGED_PAUSED}, (), "paused"),
    _rule(Action.RESUME, _OP, {S.MANAGED_PAUSED, S.MANAGED_DRIFT_ALERT}, (S.MANAGED_ACTIVE,), "resumed"),
    _rule(Action.FLAG_DRIFT, _BOT, {S.MANAGED_ACTIVE, S.MANAGED_PAUSED}, (S.MANAGED_DRIFT_ALERT,), "drift_detected"),
    _rule(Action.OVERRIDE, _OP, set(MANAGED), (), "operator_override"),
    _rule(Action.RELEASE, _OP, set(MANAGED), (S.RELEASE_PENDING,), "release_requested"),
    _rule(Action.RELEASE, _OP, {S.EXIT_EXECUTED}, (S.FROZEN,), "released"),
    _rule(Action.RELEASE_DONE, _GUARD, {S.RELEASE_PENDING}, (S.FROZEN,), "released"),
    _rule(Action.EXIT, _GUARD, {*MANAGED, S.RELEASE_PENDING}, (S.EXIT_EXECUTED,), "exit_executed"),
)

POLICY_CHANGE_BLOCKED = "managed.policy_change_blocked"
COMMAND_REFUSED = "managed.command_refused"


def _index(rules: tuple[Rule, ...]) -> Mapping[tuple[Action, Actor, HoldingState], Rule]:
    table: dict[tuple[Action, Actor, HoldingState], Rule] = {}
    for rule in rules:
        for source in rule.sources:
            key = (rule.action, rule.actor, source)
            if key in table:
                raise ValueError(f"two rules for {key}")  # an ambiguous table is a bug, caught at import
            table[key] = rule
    return table


TABLE = _index(RULES)


@dataclass(frozen=True, slots=True)
class Transition:
    action: Action
    actor: Actor
    source: HoldingState
    path: tuple[HoldingState, ...]
    event: str

    @property
    def target(self) -> HoldingState:
        return self.path[-1] if self.path else self.source

    @property
    def noop(self) -> bool:
        """The state stays as it is (an idempotent repeat, or an override of the managed terms)."""
        return not self.path


@dataclass(frozen=True, slots=True)
class Refusal:
    action: Action
    actor: Actor
    state: HoldingState
    code: RefusalCode
    message: str

    @property
    def event(self) -> str:
        """A bot attempt that is refused is a policy change that was blocked; anyone else's is a refusal."""
        return POLICY_CHANGE_BLOCKED if self.actor is Actor.BOT else COMMAND_REFUSED


def decide(state: HoldingState, action: Action, actor: Actor) -> Transition | Refusal:
    """What ``actor`` doing ``action`` does to an asset in ``state`` (pure, total)."""
    rule = TABLE.get((action, actor, state))
    if rule is not None:
        return Transition(action, actor, state, rule.path, rule.event)
    allowed = sorted({r.actor.value for r in RULES if r.action is action})
    if actor.value not in allowed:
        who = " or ".join(allowed)
        return Refusal(
            action, actor, state, RefusalCode.ACTOR_NOT_ALLOWED, f"the {actor.value} may not {action.value}: only {who}"
        )
    sources = sorted({s.value for r in RULES if r.action is action and r.actor is actor for s in r.sources})
    return Refusal(
        action,
        actor,
        state,
        RefusalCode.NOT_IN_STATE,
        f"cannot {action.value} an asset in state {state.value} (possible from: {', '.join(sources)})",
    )
