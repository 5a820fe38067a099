"""The lifecycle table, exhaustively (every state x every action x every actor), and its properties.

``EXPECTED`` is written out by hand from issue 20, independently of ``holdings.lifecycle.RULES``: a change
to the table that is not also made here fails.
"""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from holdings.lifecycle import (
    COMMAND_REFUSED,
    MANAGED,
    POLICY_CHANGE_BLOCKED,
    RESTING,
    Action,
    Actor,
    HoldingState,
    Refusal,
    RefusalCode,
    Transition,
    decide,
)

S, A = HoldingState, Action
OP, BOT, TTL, GUARD = Actor.OPERATOR, Actor.BOT, Actor.TTL_JOB, Actor.GUARD

# (state, action, actor) -> (path, event); everything not listed is refused.
EXPECTED: dict[tuple[HoldingState, Action, Actor], tuple[tuple[HoldingState, ...], str]] = {
    (S.FROZEN, A.REQUEST, OP): ((S.PROPOSAL_PENDING,), "managed.requested"),
    (S.EXIT_EXECUTED, A.REQUEST, OP): ((S.PROPOSAL_PENDING,), "managed.requested"),
    (S.PROPOSAL_PENDING, A.REQUEST, OP): ((), "managed.requested"),
    (S.PROPOSAL_PENDING, A.GENERATE, BOT): ((S.RISK_PROPOSED,), "managed.generated"),
    (S.PROPOSAL_PENDING, A.ABORT, BOT): ((S.PROPOSAL_ABORTED, S.FROZEN), "managed.aborted"),
    (S.RISK_PROPOSED, A.ABORT, BOT): ((S.PROPOSAL_ABORTED, S.FROZEN), "managed.aborted"),
    (S.RISK_PROPOSED, A.APPROVE, OP): ((S.MANAGED_ACTIVE,), "managed.promoted"),
    (S.RISK_PROPOSED, A.REJECT, OP): ((S.PROPOSAL_REJECTED, S.FROZEN), "managed.rejected"),
    (S.RISK_PROPOSED, A.EXPIRE, TTL): ((S.PROPOSAL_REJECTED, S.FROZEN), "managed.expired"),
    (S.MANAGED_ACTIVE, A.PAUSE, OP): ((S.MANAGED_PAUSED,), "managed.paused"),
    (S.MANAGED_DRIFT_ALERT, A.PAUSE, OP): ((S.MANAGED_PAUSED,), "managed.paused"),
    (S.MANAGED_PAUSED, A.PAUSE, OP): ((), "managed.paused"),
    (S.MANAGED_PAUSED, A.RESUME, OP): ((S.MANAGED_ACTIVE,), "managed.resumed"),
    (S.MANAGED_DRIFT_ALERT, A.RESUME, OP): ((S.MANAGED_ACTIVE,), "managed.resumed"),
    (S.MANAGED_ACTIVE, A.FLAG_DRIFT, BOT): ((S.MANAGED_DRIFT_ALERT,), "managed.drift_detected"),
    (S.MANAGED_PAUSED, A.FLAG_DRIFT, BOT): ((S.MANAGED_DRIFT_ALERT,), "managed.drift_detected"),
    (S.MANAGED_ACTIVE, A.OVERRIDE, OP): ((), "managed.operator_override"),
    (S.MANAGED_PAUSED, A.OVERRIDE, OP): ((), "managed.operator_override"),
    (S.MANAGED_DRIFT_ALERT, A.OVERRIDE, OP): ((), "managed.operator_override"),
    (S.MANAGED_ACTIVE, A.RELEASE, OP): ((S.RELEASE_PENDING,), "managed.release_requested"),
    (S.MANAGED_PAUSED, A.RELEASE, OP): ((S.RELEASE_PENDING,), "managed.release_requested"),
    (S.MANAGED_DRIFT_ALERT, A.RELEASE, OP): ((S.RELEASE_PENDING,), "managed.release_requested"),
    (S.EXIT_EXECUTED, A.RELEASE, OP): ((S.FROZEN,), "managed.released"),
    (S.RELEASE_PENDING, A.RELEASE_DONE, GUARD): ((S.FROZEN,), "managed.released"),
    (S.MANAGED_ACTIVE, A.EXIT, GUARD): ((S.EXIT_EXECUTED,), "managed.exit_executed"),
    (S.MANAGED_PAUSED, A.EXIT, GUARD): ((S.EXIT_EXECUTED,), "managed.exit_executed"),
    (S.MANAGED_DRIFT_ALERT, A.EXIT, GUARD): ((S.EXIT_EXECUTED,), "managed.exit_executed"),
    (S.RELEASE_PENDING, A.EXIT, GUARD): ((S.EXIT_EXECUTED,), "managed.exit_executed"),
}

# Which actor owns each action (any other actor is refused as actor_not_allowed, in every state).
OWNER = {
    A.REQUEST: OP, A.GENERATE: BOT, A.ABORT: BOT, A.APPROVE: OP, A.REJECT: OP, A.EXPIRE: TTL, A.PAUSE: OP,
    A.RESUME: OP, A.FLAG_DRIFT: BOT, A.OVERRIDE: OP, A.RELEASE: OP, A.RELEASE_DONE: GUARD, A.EXIT: GUARD,
}  # fmt: skip

ALL = list(itertools.product(HoldingState, Action, Actor))


def test_the_table_is_exactly_the_expected_one_for_every_state_action_and_actor() -> None:
    assert len(ALL) == 10 * 13 * 4
    allowed = 0
    for state, action, actor in ALL:
        decision = decide(state, action, actor)
        expected = EXPECTED.get((state, action, actor))
        if expected is not None:
            allowed += 1
            assert isinstance(decision, Transition), (state, action, actor, decision)
            assert (decision.path, decision.event, decision.source) == (*expected, state)
            assert decision.target == (expected[0][-1] if expected[0] else state)
            continue
        assert isinstance(decision, Refusal), (state, action, actor, decision)
        wanted = RefusalCode.NOT_IN_STATE if actor is OWNER[action] else RefusalCode.ACTOR_NOT_ALLOWED
        assert decision.code is wanted, (state, action, actor)
        assert decision.event == (POLICY_CHANGE_BLOCKED if actor is BOT else COMMAND_REFUSED)
        assert decision.message  # a person reads it
    assert allowed == len(EXPECTED)


def test_refusal_messages_say_who_may_and_from_where() -> None:
    wrong_actor = decide(S.MANAGED_ACTIVE, A.RELEASE, BOT)
    assert isinstance(wrong_actor, Refusal)
    assert wrong_actor.message == "the bot may not release: only operator"
    wrong_state = decide(S.FROZEN, A.APPROVE, OP)
    assert isinstance(wrong_state, Refusal)
    assert wrong_state.message == "cannot approve an asset in state frozen (possible from: risk_proposed)"


def test_transient_states_are_never_a_resting_target() -> None:
    for decision in (decide(*key) for key in ALL):
        if isinstance(decision, Transition):
            assert decision.target in RESTING
    assert S.PROPOSAL_ABORTED not in RESTING and S.PROPOSAL_REJECTED not in RESTING


def test_only_the_operator_or_the_ttl_job_or_a_guard_confirmed_release_returns_an_asset_to_frozen() -> None:
    into_frozen = {
        (state, action, actor)
        for state, action, actor in ALL
        if isinstance(d := decide(state, action, actor), Transition) and d.target is S.FROZEN and state is not S.FROZEN
    }
    assert {actor for _, _, actor in into_frozen} == {OP, BOT, TTL, GUARD}
    # The bot only ever aborts a proposal that is not managed yet; the guard only closes a release the operator asked for.
    assert {(s, a) for s, a, actor in into_frozen if actor is BOT} == {
        (S.PROPOSAL_PENDING, A.ABORT),
        (S.RISK_PROPOSED, A.ABORT),
    }
    assert {(s, a) for s, a, actor in into_frozen if actor is GUARD} == {(S.RELEASE_PENDING, A.RELEASE_DONE)}
    assert not any(s in MANAGED for s, _, _ in into_frozen)


def _run(start: HoldingState, steps: list[tuple[Action, Actor]]) -> list[HoldingState]:
    """The states visited (including every pass-through state) when ``steps`` are attempted in order."""
    state, visited = start, [start]
    for action, actor in steps:
        decision = decide(state, action, actor)
        if isinstance(decision, Transition):
            visited.extend(decision.path)
            state = decision.target
    return visited


managed_states = st.sampled_from(sorted(MANAGED))
any_action = st.sampled_from(list(Action))


@settings(max_examples=400, deadline=None)
@given(start=managed_states, actions=st.lists(any_action, max_size=30))
def test_no_sequence_of_bot_actions_reaches_frozen_from_a_managed_state(
    start: HoldingState, actions: list[Action]
) -> None:
    visited = _run(start, [(action, BOT) for action in actions])
    assert S.FROZEN not in visited


@settings(max_examples=400, deadline=None)
@given(
    start=managed_states,
    steps=st.lists(st.tuples(any_action, st.sampled_from([BOT, TTL, GUARD])), max_size=30),
)
def test_no_sequence_without_the_operator_reaches_frozen_from_a_managed_state(
    start: HoldingState, steps: list[tuple[Action, Actor]]
) -> None:
    """Stronger than the issue asks: the TTL job and the guard cannot help the bot get there either."""
    assert S.FROZEN not in _run(start, steps)


@settings(max_examples=300, deadline=None)
@given(start=managed_states, action=any_action)
def test_every_refused_bot_attempt_is_a_blocked_policy_change(start: HoldingState, action: Action) -> None:
    decision = decide(start, action, BOT)
    if isinstance(decision, Refusal):
        assert decision.event == POLICY_CHANGE_BLOCKED
    else:
        assert decision.target in MANAGED  # the only thing the bot may do here: flag drift (stays managed)


@settings(max_examples=300, deadline=None)
@given(steps=st.lists(st.tuples(any_action, st.sampled_from(list(Actor))), max_size=40))
def test_any_sequence_from_frozen_only_rests_in_resting_states(steps: list[tuple[Action, Actor]]) -> None:
    state = S.FROZEN
    for action, actor in steps:
        decision = decide(state, action, actor)
        if isinstance(decision, Transition):
            assert decision.source is state
            state = decision.target
            assert state in RESTING
