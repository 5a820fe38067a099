"""Build a ``DecisionRecord`` from what a decision's session collected: one builder for every backend."""

from __future__ import annotations

from core.ports import NewEvent
from core.types import DecisionRecord, Usage
from tools.context import DecisionSession
from tools.scrub import scrub


def build_record(
    session: DecisionSession,
    *,
    backend: str,
    prompt_version: str,
    model: str | None = None,
    reasoning: str = "",
    usage: Usage | None = None,
    latency_ms: int = 0,
    error: str | None = None,
    fallback_reason: str | None = None,
) -> DecisionRecord:
    request = session.request
    return DecisionRecord(
        wake=request.wake,
        symbol=request.symbol,
        as_of=request.as_of,
        snapshot_digest=request.snapshot_digest,
        prompt_version=prompt_version,
        backend=backend,
        model=model,
        tool_calls=tuple(session.calls),
        reasoning=scrub(reasoning.strip(), session.secrets)[0],  # the model may repeat what it should not
        memory_update=session.memory_update,
        next_check_seconds=session.next_check_seconds,
        wake_conditions=tuple(c.model_dump(mode="json") for c in session.wake_conditions),
        usage=usage or Usage(),
        latency_ms=latency_ms,
        error=error,
        fallback_reason=fallback_reason,
    )


DECISION_EVENT = "decision"


def decision_event(record: DecisionRecord) -> NewEvent:
    """The journal event the engine appends for a decision (the store hash-chains it)."""
    return NewEvent(kind=DECISION_EVENT, at=record.as_of, payload=record.model_dump(mode="json"))
