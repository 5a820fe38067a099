"""The LLM circuit breaker: a pure state machine over injected times.

closed --(N consecutive failures)--> open --(probe_after_s elapsed, next call)--> half_open
half_open --(probe succeeds)--> closed;  half_open --(probe fails)--> open (timer restarts)

Failures are what say "the model service is unwell": timeouts, 429, 529/5xx, connection errors and
malformed output. Refusals and our own bugs are not. While the breaker is not closed (and during
the probe's failure), the rules backend decides. Every transition is returned as a
:class:`Transition` so the caller journals it and raises an alert.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from core.types import Alert, LLMHealth


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class FailureKind(StrEnum):
    TIMEOUT = "timeout"
    RATE_LIMIT = "rate_limit"
    OVERLOADED = "overloaded"
    SERVER_ERROR = "server_error"
    CONNECTION = "connection"
    MALFORMED = "malformed"


@dataclass(frozen=True)
class Transition:
    at: datetime
    from_state: BreakerState
    to_state: BreakerState
    reason: str

    def alert(self) -> Alert:
        severity = "warning" if self.to_state is BreakerState.OPEN else "info"
        return Alert(
            severity=severity,
            kind="llm_breaker",
            message=f"LLM breaker {self.from_state} -> {self.to_state}: {self.reason}",
            at=self.at,
            dedup_key=f"llm_breaker:{self.to_state}",
        )

    def journal_payload(self) -> dict[str, str]:
        return {"at": self.at.isoformat(), "from": self.from_state.value, "to": self.to_state.value,
                "reason": self.reason}


class LLMBreaker:
    def __init__(self, failure_threshold: int, probe_after_s: float) -> None:
        if failure_threshold < 1 or probe_after_s <= 0:
            raise ValueError("failure_threshold >= 1 and probe_after_s > 0 required")
        self.failure_threshold = failure_threshold
        self.probe_after = timedelta(seconds=probe_after_s)
        self.state = BreakerState.CLOSED
        self.consecutive_failures = 0
        self.opened_at: datetime | None = None
        self.last_failure: FailureKind | None = None

    def allow(self, now: datetime) -> tuple[bool, list[Transition]]:
        """May the LLM be called now? Open -> half-open (one probe) once ``probe_after_s`` has passed."""
        if self.state is BreakerState.CLOSED:
            return True, []
        if self.state is BreakerState.HALF_OPEN:
            return False, []  # a probe is already in flight
        assert self.opened_at is not None
        if now - self.opened_at < self.probe_after:
            return False, []
        return True, [self._move(now, BreakerState.HALF_OPEN, "probe after cool-down")]

    def record_success(self, now: datetime) -> list[Transition]:
        self.consecutive_failures = 0
        self.last_failure = None
        if self.state is BreakerState.CLOSED:
            return []
        self.opened_at = None
        return [self._move(now, BreakerState.CLOSED, "probe succeeded")]

    def record_failure(self, now: datetime, kind: FailureKind, detail: str = "") -> list[Transition]:
        self.consecutive_failures += 1
        self.last_failure = kind
        reason = f"{kind.value}{': ' + detail if detail else ''}"
        if self.state is BreakerState.HALF_OPEN:
            self.opened_at = now
            return [self._move(now, BreakerState.OPEN, f"probe failed ({reason})")]
        if self.state is BreakerState.CLOSED and self.consecutive_failures >= self.failure_threshold:
            self.opened_at = now
            return [self._move(now, BreakerState.OPEN, f"{self.consecutive_failures} consecutive failures ({reason})")]
        return []

    def abandon_probe(self, now: datetime) -> list[Transition]:
        """A probe that ended in neither success nor an LLM failure (our own error): back to open, so
        the breaker never sticks in half-open."""
        if self.state is not BreakerState.HALF_OPEN:
            return []
        self.opened_at = now
        return [self._move(now, BreakerState.OPEN, "probe abandoned (non-LLM error)")]

    def health(self) -> LLMHealth:
        """The breaker as the next decision sees it (it travels in the ``DecisionRequest``)."""
        last = self.last_failure.value if self.last_failure is not None else None
        return LLMHealth(state=self.state.value, consecutive_failures=self.consecutive_failures, last_failure=last)

    def describe(self) -> str:
        """One line for the system prompt."""
        return self.health().describe()

    def _move(self, now: datetime, to_state: BreakerState, reason: str) -> Transition:
        transition = Transition(at=now, from_state=self.state, to_state=to_state, reason=reason)
        self.state = to_state
        return transition
