"""The LLM breaker as a pure state machine over injected times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from agent.breaker import BreakerState, FailureKind, LLMBreaker

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def test_opens_after_consecutive_failures_and_probes_after_cool_down() -> None:
    breaker = LLMBreaker(failure_threshold=3, probe_after_s=900)
    assert breaker.record_failure(T0, FailureKind.OVERLOADED) == []
    breaker.record_success(T0)  # a success resets the count
    for _ in range(2):
        assert breaker.record_failure(T0, FailureKind.OVERLOADED) == []
    [opened] = breaker.record_failure(T0, FailureKind.RATE_LIMIT, "429")
    assert (opened.from_state, opened.to_state) == (BreakerState.CLOSED, BreakerState.OPEN)
    assert opened.alert().severity == "warning" and "rate_limit" in opened.alert().message
    assert breaker.allow(T0 + timedelta(seconds=899)) == (False, [])
    allowed, [probe] = breaker.allow(T0 + timedelta(seconds=900))
    assert allowed and probe.to_state is BreakerState.HALF_OPEN
    assert breaker.allow(T0 + timedelta(seconds=901)) == (False, [])  # one probe at a time
    [closed] = breaker.record_success(T0 + timedelta(seconds=902))
    assert closed.to_state is BreakerState.CLOSED and breaker.allow(T0)[0]


def test_failed_probe_reopens_and_restarts_the_timer() -> None:
    breaker = LLMBreaker(failure_threshold=1, probe_after_s=60)
    breaker.record_failure(T0, FailureKind.TIMEOUT)
    breaker.allow(T0 + timedelta(seconds=60))
    [reopened] = breaker.record_failure(T0 + timedelta(seconds=61), FailureKind.TIMEOUT)
    assert reopened.to_state is BreakerState.OPEN and "probe failed" in reopened.reason
    assert not breaker.allow(T0 + timedelta(seconds=120))[0]
    assert breaker.allow(T0 + timedelta(seconds=121))[0]
    [abandoned] = breaker.abandon_probe(T0 + timedelta(seconds=122))
    assert abandoned.to_state is BreakerState.OPEN


events = st.lists(st.tuples(st.sampled_from(["ok", "fail", "ask"]), st.integers(0, 2000)), max_size=60)


@given(events)
def test_invariants(steps: list[tuple[str, int]]) -> None:
    """Never allowed while open before the cool-down; closed allows; opened only by failures."""
    breaker = LLMBreaker(failure_threshold=3, probe_after_s=900)
    now = T0
    for action, dt in steps:
        now += timedelta(seconds=dt)
        before = breaker.state
        if action == "ok":
            breaker.record_success(now)
            assert breaker.state is BreakerState.CLOSED
        elif action == "fail":
            breaker.record_failure(now, FailureKind.OVERLOADED)
            assert breaker.state is not BreakerState.HALF_OPEN
        else:
            allowed, _ = breaker.allow(now)
            if before is BreakerState.CLOSED:
                assert allowed
            if before is BreakerState.OPEN and allowed:
                assert breaker.opened_at is not None and now - breaker.opened_at >= timedelta(seconds=900)
            if before is BreakerState.HALF_OPEN:
                assert not allowed


def test_thinking_budget_must_fit_max_tokens() -> None:
    import pytest
    from pydantic import ValidationError

    from core.settings import LLMSettings

    assert LLMSettings(thinking_budget_tokens=1024, max_tokens=4096).thinking_budget_tokens == 1024
    for bad in ({"thinking_budget_tokens": 500}, {"thinking_budget_tokens": 4096, "max_tokens": 4096}):
        with pytest.raises(ValidationError, match="thinking_budget_tokens"):
            LLMSettings(**bad)
