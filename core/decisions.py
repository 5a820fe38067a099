"""The decision types: why the agent was woken, what it is asked, and the record of what it did.

``core.types`` re-exports every name here, so either import path works; they are declared here, once.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from core.book import BookView
from core.ids import Symbol

_VALUE = ConfigDict(frozen=True, extra="forbid")


class WakeKind(StrEnum):
    CANDLE_CLOSE = "candle_close"
    TIMER = "timer"
    ANOMALY = "anomaly"
    CONDITION = "condition"
    FEED_STALE = "feed_stale"
    OPERATOR = "operator"
    POSITION = "position"
    STARTUP = "startup"


class WakeReason(BaseModel):
    """Why the gate woke the agent. ``fallback`` means the LLM budget or breaker hands it to rules."""

    model_config = _VALUE

    kind: WakeKind
    detail: str
    at: AwareDatetime
    symbol: Symbol | None = None
    fallback: bool = False
    fallback_reason: str | None = None


class Veto(BaseModel):
    """A refusal by the safety layer: a stable ``code`` and a message the agent reads."""

    model_config = _VALUE

    code: str
    message: str


class LLMHealth(BaseModel):
    """The LLM circuit breaker as one decision sees it. It travels in the :class:`DecisionRequest` (the
    router fills it in) and the system prompt states it, so a probe after an outage is kept short."""

    model_config = _VALUE

    state: Literal["closed", "open", "half_open"] = "closed"
    consecutive_failures: int = Field(default=0, ge=0)
    last_failure: str | None = None
    """The kind of the last failure (``timeout``, ``rate_limit`` ...), ``None`` when healthy."""

    def describe(self) -> str:
        """One line for the system prompt."""
        if self.state == "closed":
            return "LLM service healthy (breaker closed)."
        return (
            f"LLM breaker {self.state} after {self.consecutive_failures} failures "
            f"(last: {self.last_failure}); this call is a probe: keep it short."
        )


class ToolCallRecord(BaseModel):
    """One tool call the agent made, with what came back."""

    model_config = _VALUE

    tool_call_id: str
    name: str
    arguments: dict[str, Any]
    result: dict[str, Any] | str
    is_error: bool = False
    veto: Veto | None = None


class Usage(BaseModel):
    """Tokens and dollars of one decision, as the Messages API counts them: ``input_tokens`` is only what
    follows the last cache breakpoint, so every token sent is ``input + cache creation + cache read``."""

    model_config = _VALUE

    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    """Tokens written to the cache (5-minute and 1-hour writes together)."""
    cache_creation_1h_input_tokens: int = 0
    """Of ``cache_creation_input_tokens``, those written with the 1-hour TTL (priced 2x input, not 1.25x)."""
    cache_read_input_tokens: int = 0
    cost_usd: float = 0.0

    @property
    def total_input_tokens(self) -> int:
        return self.input_tokens + self.cache_creation_input_tokens + self.cache_read_input_tokens

    @property
    def total_tokens(self) -> int:
        """Every token sent and received (what the LLM budget counts: cache reads and writes included)."""
        return self.total_input_tokens + self.output_tokens


class RequestPart(StrEnum):
    """A part of a :class:`DecisionRequest` that costs work to build, which an agent may not read."""

    SNAPSHOT = "snapshot"
    """The market snapshot's JSON form and its digest (the rules agent scores it; its digest seeds the rules
    agent's draws and names its calls)."""
    PROMPT = "prompt"
    """The snapshot as prompt text (LLM backends)."""
    BOOK = "book"
    """The account, the learner's evidence and the last decisions (the LLM's first message)."""


EVERY_PART: frozenset[RequestPart] = frozenset(RequestPart)


def parts_read(agent: object) -> frozenset[RequestPart]:
    """What ``agent`` reads of a request: its ``reads`` attribute when it declares one, else every part (an LLM
    backend, a router that may hand the decision to any backend: nothing is left out unless declared)."""
    reads = getattr(agent, "reads", None)
    return EVERY_PART if reads is None else frozenset(RequestPart(part) for part in reads)


class DecisionRequest(BaseModel):
    """What an agent backend is asked to decide on."""

    model_config = _VALUE

    wake: WakeReason
    symbol: Symbol
    as_of: AwareDatetime
    snapshot: dict[str, Any]
    """The snapshot's JSON form (also the ``get_market_snapshot`` tool result). For an agent that does not read
    the snapshot (``RequestPart``) only its ``regime`` (what ``place_order`` records with a trade)."""
    snapshot_prompt: str
    """Empty for an agent that does not read the prompt."""
    snapshot_digest: str
    """Empty for an agent that does not read the snapshot (none was built)."""
    llm: LLMHealth = LLMHealth()
    """The LLM breaker's state for this decision (healthy unless the router says otherwise)."""
    book: BookView | None = None
    """The account, the learner's evidence and the last decisions as of ``as_of`` (the engine fills it in;
    ``None`` only for requests built by hand, e.g. in tests of a single tool)."""


class DecisionRecord(BaseModel):
    """Everything about one decision; appended to the hash-chained journal."""

    model_config = _VALUE

    wake: WakeReason
    symbol: Symbol
    as_of: AwareDatetime
    snapshot_digest: str
    prompt_version: str
    backend: str
    model: str | None = None
    tool_calls: tuple[ToolCallRecord, ...] = ()
    reasoning: str = ""
    memory_update: str | None = None
    next_check_seconds: int | None = None
    wake_conditions: tuple[dict[str, Any], ...] = ()
    usage: Usage = Usage()
    latency_ms: int = 0
    error: str | None = None
    fallback_reason: str | None = None
    """Why the rules backend decided instead of the configured LLM (no key, budget, breaker, cassette miss)."""
