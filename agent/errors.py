"""Errors of the LLM backends, named by what the caller does: fall back to rules and count a failure."""

from __future__ import annotations

from agent.breaker import FailureKind
from core.errors import TemporaryError
from core.types import DecisionRecord


class LLMUnavailable(TemporaryError):
    """The model service failed this decision (timeout, 429, 529/5xx, connection, malformed output).

    ``partial`` is what the decision did before the failure (tool calls already executed), so the
    caller can journal it and know whether side effects happened.
    """

    def __init__(
        self,
        kind: FailureKind,
        message: str,
        *,
        retry_after_s: float | None = None,
        partial: DecisionRecord | None = None,
    ) -> None:
        super().__init__(f"{kind.value}: {message}", retry_after_s=retry_after_s)
        self.kind = kind
        self.partial = partial
