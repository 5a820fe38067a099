"""The anthropic backend: our own tool loop on the Messages API.

Why our own loop and not the SDK's tool runner: every call must pass the safety veto and the
journal (``tools.executor``), and we must see each ``stop_reason``. The loop:

- strict tool schemas; caching that survives real wake gaps: one breakpoint with the 1-hour TTL
  (``llm.cache_ttl``) on the system block covers the stable prefix (tools, then the system prompt: nothing
  in them changes between decisions), and a rolling 5-minute breakpoint on the last block of the
  conversation lets each turn of a decision read what the previous turn wrote. At start-up the prefix
  length is checked against the model's minimum cacheable length (journaled as ``llm.cache_check``;
  a warning alert when caching cannot happen);
- parallel tool calls executed in the order given, their results returned in one user turn;
- ``tool_use`` -> run tools (stop once ``schedule_next_check`` made the decision final);
  ``end_turn`` without the final call -> one reminder; ``pause_turn`` -> resend to let it resume;
  ``max_tokens`` / ``refusal`` / ``model_context_window_exceeded`` -> stop, recorded as the error;
- ``max_turns`` and an overall ``timeout_s``; usage, cache and dollars summed per decision.

Vendor errors are translated here, once: service trouble becomes :class:`LLMUnavailable` (the
breaker counts it and rules decide), bad credentials become ``OperationalError``. A 200 answer is read
from its raw body and checked (:func:`parse_reply`): empty JSON, not JSON, a message without usage or
content, or content blocks of the wrong shape are a ``malformed`` LLM failure like any other.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import anthropic
from pydantic import BaseModel, ConfigDict, NonNegativeInt, ValidationError

from agent.breaker import FailureKind
from agent.errors import LLMUnavailable
from agent.memory import AgentMemory
from agent.pricing import CacheCheck, add_usage, cache_check, cost_usd, price_for
from agent.prompting import (
    DEFAULT_FACTS,
    SystemPrompt,
    TradingFacts,
    estimate_request_tokens,
    system_prompt,
    user_message,
)
from agent.records import build_record
from core.errors import OperationalError
from core.settings import LLMSettings, RiskSettings
from core.types import Alert, DecisionRecord, DecisionRequest, Usage
from tools.context import DecisionSession, JournalSink, TradingDesk
from tools.executor import ToolExecutor
from tools.registry import DEFAULT_MARKET_TYPE, MarketType, anthropic_tools, check_budget

REMINDER = "You have not called schedule_next_check. Finish the decision now by calling it."
CACHE_CHECK_EVENT = "llm.cache_check"
_STOPS_WITH_ERROR = {
    "max_tokens": "max_tokens: the reply was cut off at the output limit",
    "refusal": "refusal: the model declined to continue",
    "model_context_window_exceeded": "model_context_window_exceeded: the conversation outgrew the context window",
}


@dataclass
class _Loop:
    """Mutable state of one decision's conversation."""

    messages: list[dict[str, Any]]
    usage: Usage = field(default_factory=Usage)
    texts: list[str] = field(default_factory=list)
    reminded: bool = False
    error: str | None = None


class AnthropicBackend:
    name = "anthropic"

    def __init__(
        self,
        *,
        llm: LLMSettings,
        risk: RiskSettings,
        desk: TradingDesk,
        journal: JournalSink,
        memory: AgentMemory | None = None,
        client: anthropic.AsyncAnthropic | None = None,
        secrets: tuple[str, ...] = (),
        market_type: MarketType = DEFAULT_MARKET_TYPE,
        facts: TradingFacts = DEFAULT_FACTS,
    ) -> None:
        check_budget()
        price_for(llm.model)  # unknown model -> ConfigError now, not a zero-dollar budget later
        self.llm = llm
        self.risk = risk
        self.desk = desk
        self.journal = journal
        self.memory = memory
        self.secrets = llm_secrets(llm) + secrets
        self.client = client or make_client(llm)
        self._owns_client = client is None  # a client made here is closed by aclose; one passed in is the caller's
        self.tools = anthropic_tools(market_type)  # a spot account is offered long entries only
        self.prompt = system_prompt(risk, llm.memory_max_chars, facts)
        self.cache_check = self._check_cache()
        self._alerts: list[Alert] = []
        self._pending_warning = self.cache_check.warning

    def _check_cache(self) -> CacheCheck:
        """Can the stable prefix be cached at all? Journaled once; a warning reaches a human at the first drain."""
        check = cache_check(self.llm.model, estimate_request_tokens(self.prompt.text, self.tools, []))
        self.journal.append(CACHE_CHECK_EVENT, check.payload())
        return check

    async def decide(self, request: DecisionRequest) -> DecisionRecord:
        self._warn_once(request.as_of)
        prompt = self.prompt
        session = DecisionSession(
            request=request, memory_max_chars=self.llm.memory_max_chars, secrets=self.secrets
        )
        executor = ToolExecutor(self.desk, self.journal, session)
        memory_text = self.memory.current().text if self.memory else ""
        loop = _Loop(messages=[{"role": "user", "content": user_message(request, memory_text)}])
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.llm.timeout_s):
                await self._converse(prompt, executor, loop)
        except TimeoutError as exc:
            partial = self._record(session, prompt, loop, started, error="timeout")
            message = f"decision exceeded {self.llm.timeout_s} s"
            raise LLMUnavailable(FailureKind.TIMEOUT, message, partial=partial) from exc
        except LLMUnavailable as exc:
            exc.partial = self._record(session, prompt, loop, started, error=str(exc))
            raise
        return self._record(session, prompt, loop, started, error=loop.error)

    async def aclose(self) -> None:
        """Close the SDK client's connection pool (the engine calls this when the run ends)."""
        if self._owns_client:
            await self.client.close()

    def drain_alerts(self) -> list[Alert]:
        """The start-up cache warning, once (failures surface as ``LLMUnavailable`` to the router, which alerts)."""
        alerts, self._alerts = self._alerts, []
        return alerts

    def _warn_once(self, at: datetime) -> None:
        """The cache check's warning (if any), queued once as an alert stamped with the first decision's time."""
        warning, self._pending_warning = self._pending_warning, None
        if warning is not None:
            self._alerts.append(Alert(severity="warning", kind="llm_cache", message=warning, at=at,
                                      dedup_key=f"llm_cache:{self.llm.model}"))

    async def _converse(self, prompt: SystemPrompt, executor: ToolExecutor, loop: _Loop) -> None:
        for _ in range(self.llm.max_turns):
            reply = await self._create(prompt, loop.messages)
            loop.usage = add_usage(loop.usage, self._usage(reply.usage))
            loop.texts.extend(b["text"] for b in reply.content if b["type"] == "text")
            loop.messages.append({"role": "assistant", "content": reply.content})
            if not await self._advance(reply.stop_reason, reply.content, executor, loop):
                return
        if not executor.session.final:
            loop.error = f"max_turns: no schedule_next_check after {self.llm.max_turns} turns"

    async def _advance(
        self, stop_reason: str | None, content: list[dict[str, Any]], executor: ToolExecutor, loop: _Loop
    ) -> bool:
        """Act on one reply; ``True`` means call the model again."""
        if stop_reason == "tool_use":
            results = []
            for block in (b for b in content if b["type"] == "tool_use"):
                outcome = await executor.call(block["name"], block["input"], block["id"])
                results.append(
                    {"type": "tool_result", "tool_use_id": block["id"], "content": outcome.content,
                     "is_error": outcome.is_error}
                )
            loop.messages.append({"role": "user", "content": results})
            return not executor.session.final
        if stop_reason == "pause_turn":
            return True
        if stop_reason == "end_turn" and not executor.session.final and not loop.reminded:
            loop.reminded = True
            loop.messages.append({"role": "user", "content": REMINDER})
            return True
        if stop_reason in _STOPS_WITH_ERROR:
            loop.error = _STOPS_WITH_ERROR[stop_reason]
        elif not executor.session.final:
            loop.error = f"no_schedule: the model stopped ({stop_reason}) without schedule_next_check"
        return False

    async def _create(self, prompt: SystemPrompt, messages: list[dict[str, Any]]) -> Reply:
        thinking: dict[str, Any] = (
            {"type": "enabled", "budget_tokens": self.llm.thinking_budget_tokens}
            if self.llm.thinking_budget_tokens
            else {"type": "disabled"}
        )
        # The params are plain dicts built by our registry; the SDK's TypedDict overloads add nothing here.
        # The raw body, checked by parse_reply: the SDK builds its response objects without validation.
        create: Any = self.client.messages.with_raw_response.create
        try:
            raw = await create(
                model=self.llm.model,
                max_tokens=self.llm.max_tokens,
                system=[{"type": "text", "text": prompt.text,
                         "cache_control": {"type": "ephemeral", "ttl": self.llm.cache_ttl}}],
                tools=self.tools,
                tool_choice={"type": "auto"},
                thinking=thinking,
                messages=with_rolling_breakpoint(messages),
            )
            body: bytes = await raw.read()
        except anthropic.APIError as exc:
            raise translate(exc) from exc
        return parse_reply(body)

    def _usage(self, raw: ReplyUsage) -> Usage:
        creation = raw.cache_creation
        usage = Usage(
            input_tokens=raw.input_tokens,
            output_tokens=raw.output_tokens,
            cache_creation_input_tokens=raw.cache_creation_input_tokens or 0,
            cache_creation_1h_input_tokens=creation.ephemeral_1h_input_tokens if creation is not None else 0,
            cache_read_input_tokens=raw.cache_read_input_tokens or 0,
        )
        return usage.model_copy(update={"cost_usd": cost_usd(self.llm.model, usage)})

    def _record(
        self, session: DecisionSession, prompt: SystemPrompt, loop: _Loop, started: float, *, error: str | None
    ) -> DecisionRecord:
        return build_record(
            session,
            backend=self.name,
            prompt_version=prompt.version,
            model=self.llm.model,
            reasoning="\n".join(loop.texts),
            usage=loop.usage,
            latency_ms=int((time.perf_counter() - started) * 1000),
            error=error,
        )


def with_rolling_breakpoint(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A copy of ``messages`` whose last block carries a 5-minute breakpoint (the stored conversation is left
    without markers, so only one rolling breakpoint is ever sent: with the system's, two of the four allowed)."""
    if not messages:
        return messages
    last = messages[-1]
    content = last["content"]
    blocks: list[dict[str, Any]] = (
        [{"type": "text", "text": content}] if isinstance(content, str) else [dict(b) for b in content]
    )
    if not blocks:
        return messages
    blocks[-1] = {**blocks[-1], "cache_control": {"type": "ephemeral"}}
    return [*messages[:-1], {**last, "content": blocks}]


def make_client(llm: LLMSettings) -> anthropic.AsyncAnthropic:
    """The SDK client: key from settings (else the SDK reads ``ANTHROPIC_API_KEY``), pinned retries."""
    api_key = llm.api_key.get_secret_value() if llm.api_key else None
    auth_token = llm.oauth_token.get_secret_value() if llm.oauth_token and not api_key else None
    return anthropic.AsyncAnthropic(
        api_key=api_key,
        auth_token=auth_token,
        base_url=llm.base_url,
        max_retries=llm.max_retries,
        timeout=llm.timeout_s,
    )


def translate(exc: anthropic.APIError) -> Exception:
    """Vendor error -> what the caller must do. Service trouble is a breaker failure; auth is a human's."""
    if isinstance(exc, (anthropic.AuthenticationError, anthropic.PermissionDeniedError)):
        return OperationalError(f"the Messages API refused our credentials ({type(exc).__name__})")
    kind = _failure_kind(exc)
    if kind is None:
        return OperationalError(f"Messages API request rejected: {type(exc).__name__}: {exc}")
    retry_after = _retry_after(exc) if isinstance(exc, anthropic.APIStatusError) else None
    return LLMUnavailable(kind, f"{type(exc).__name__}: {exc}"[:300], retry_after_s=retry_after)


def _failure_kind(exc: anthropic.APIError) -> FailureKind | None:
    if isinstance(exc, anthropic.APITimeoutError):  # before APIConnectionError, its base class
        return FailureKind.TIMEOUT
    if isinstance(exc, anthropic.APIConnectionError):
        return FailureKind.CONNECTION
    if isinstance(exc, anthropic.RateLimitError):
        return FailureKind.RATE_LIMIT
    if isinstance(exc, anthropic.APIResponseValidationError):
        return FailureKind.MALFORMED
    status = exc.status_code if isinstance(exc, anthropic.APIStatusError) else 0
    if status == 529:
        return FailureKind.OVERLOADED
    return FailureKind.SERVER_ERROR if status >= 500 else None


def _retry_after(exc: anthropic.APIStatusError) -> float | None:
    value = exc.response.headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class CacheCreation(BaseModel):
    """``usage.cache_creation``: the prompt-cache writes split by TTL (a 1-hour write costs more)."""

    model_config = ConfigDict(extra="ignore", strict=True, frozen=True)

    ephemeral_5m_input_tokens: NonNegativeInt = 0
    ephemeral_1h_input_tokens: NonNegativeInt = 0


class ReplyUsage(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True, frozen=True)

    input_tokens: NonNegativeInt
    output_tokens: NonNegativeInt
    cache_creation_input_tokens: NonNegativeInt | None = None
    cache_read_input_tokens: NonNegativeInt | None = None
    cache_creation: CacheCreation | None = None


class Reply(BaseModel):
    """The parts of a Messages API answer the loop uses, checked; ``content`` as request params."""

    model_config = ConfigDict(extra="ignore", strict=True, frozen=True)

    content: list[dict[str, Any]]
    stop_reason: str | None
    usage: ReplyUsage


def parse_reply(body: bytes) -> Reply:
    """A 200 answer's body as a :class:`Reply`, or a ``malformed`` :class:`LLMUnavailable` saying why."""
    try:
        data = json.loads(body)
        reply = Reply.model_validate(data)
        return reply.model_copy(update={"content": [_block_param(block) for block in reply.content]})
    except (ValueError, ValidationError, _BadBlock) as exc:
        shown = body[:80].decode("utf-8", "replace")
        why = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
        raise LLMUnavailable(FailureKind.MALFORMED, f"malformed reply ({why[:120]}): {shown!r}") from exc


class _BadBlock(Exception):
    """A content block that is not what its type promises."""


def _block_param(block: dict[str, Any]) -> dict[str, Any]:
    """A response content block as the request param to send back (thinking blocks keep their signature)."""
    kind = block.get("type")
    if kind == "text":
        if not isinstance(block.get("text"), str):
            raise _BadBlock("a text block without text")
        return {"type": "text", "text": block["text"]}
    if kind == "tool_use":
        parts = (block.get("id"), block.get("name"), block.get("input"))
        if not (isinstance(parts[0], str) and isinstance(parts[1], str) and isinstance(parts[2], dict)):
            raise _BadBlock("a tool_use block needs a string id and name and an object input")
        return {"type": "tool_use", "id": parts[0], "name": parts[1], "input": parts[2]}
    if not isinstance(kind, str):
        raise _BadBlock("a content block without a type")
    return {key: value for key, value in block.items() if value is not None}


def llm_secrets(llm: LLMSettings) -> tuple[str, ...]:
    return tuple(s.get_secret_value() for s in (llm.api_key, llm.oauth_token) if s is not None)
