"""The claude-code backend: the Claude Agent SDK (bundled Claude Code CLI) with our tools in-process.

- The tools are an in-process MCP server (``mcp__trading__<name>``); each handler calls the choke
  point (``ToolExecutor.call``: validate -> veto -> journal -> handler).
- A ``PreToolUse`` hook runs the same validation and veto first (defence in depth) with
  ``on_failure="block"``: a hook that crashes blocks the call instead of failing open. Invalid
  arguments and vetoes are denied there, with our reason, and recorded.
- No built-in tools (``tools=[]``), no settings files (``setting_sources=[]``), ``allowed_tools``
  limited to ours; the CLI's non-essential traffic, telemetry, error reporting and auto-update are
  off and it gets an isolated ``CLAUDE_CONFIG_DIR``. Auth: API key, else ``CLAUDE_CODE_OAUTH_TOKEN``.
- The look-ahead guard: the CLI talks to the API through :class:`agent.cli_proxy.ScrubbingProxy`, which
  removes the date, knowledge-cutoff, working-directory and shell notes the CLI adds to the conversation.
- Caching: the CLI caches by itself; ``CLAUDE_CODE_PROMPT_CACHE_TTL`` asks it for ``llm.cache_ttl``.

The SDK is an optional extra (``pip install tradewake[claude-code]``): importing this module
without it works; constructing the backend raises ``ConfigError``.
"""

from __future__ import annotations

import tempfile
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from agent.breaker import FailureKind
from agent.cli_proxy import DEFAULT_UPSTREAM, ScrubbingProxy
from agent.errors import LLMUnavailable
from agent.memory import AgentMemory
from agent.pricing import cost_usd, price_for
from agent.prompting import DEFAULT_FACTS, SystemPrompt, TradingFacts, system_prompt, user_message
from agent.records import build_record
from core.canonical import canonical_json
from core.errors import ConfigError, OperationalError
from core.settings import LLMSettings, RiskSettings
from core.types import Alert, DecisionRecord, DecisionRequest, Usage
from tools.context import DecisionSession, JournalSink, TradingDesk
from tools.executor import ToolExecutor
from tools.registry import (
    DEFAULT_MARKET_TYPE,
    MCP_SERVER_NAME,
    TOOLS,
    MarketType,
    ToolSpec,
    input_schema,
    spec_for,
)

sdk: Any
try:
    import claude_agent_sdk as sdk
except ImportError:  # the optional extra is not installed
    sdk = None

QUIET_ENV = {
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    "DISABLE_TELEMETRY": "1",
    "DISABLE_ERROR_REPORTING": "1",
    "DISABLE_AUTOUPDATER": "1",
}

_API_ERRORS = {429: FailureKind.RATE_LIMIT, 529: FailureKind.OVERLOADED}
HookFn = Callable[[Any, str | None, Any], Awaitable[Any]]


def available() -> bool:
    return sdk is not None


class _CallIds:
    """The MCP handler is not told the tool_use id; the hook is. Pair them by (name, arguments)."""

    def __init__(self) -> None:
        self._pending: dict[str, deque[str]] = defaultdict(deque)
        self._fallback = 0

    def remember(self, name: str, arguments: dict[str, Any], call_id: str) -> None:
        self._pending[self._key(name, arguments)].append(call_id)

    def claim(self, name: str, arguments: dict[str, Any]) -> str:
        queue = self._pending.get(self._key(name, arguments))
        if queue:
            return queue.popleft()
        self._fallback += 1
        return f"cc-unpaired-{self._fallback}"

    @staticmethod
    def _key(name: str, arguments: dict[str, Any]) -> str:
        spec = spec_for(name)
        return canonical_json([spec.name if spec else name, arguments])


class ClaudeCodeBackend:
    name = "claude-code"

    def __init__(
        self,
        *,
        llm: LLMSettings,
        risk: RiskSettings,
        desk: TradingDesk,
        journal: JournalSink,
        memory: AgentMemory | None = None,
        secrets: tuple[str, ...] = (),
        extra_env: dict[str, str] | None = None,
        hook_timeout_s: float = 30.0,
        market_type: MarketType = DEFAULT_MARKET_TYPE,
        facts: TradingFacts = DEFAULT_FACTS,
    ) -> None:
        if sdk is None:
            raise ConfigError("the claude-code backend needs the optional extra: pip install 'tradewake[claude-code]'")
        if llm.api_key is None and llm.oauth_token is None:
            raise ConfigError("the claude-code backend needs llm.api_key or llm.oauth_token")
        price_for(llm.model)
        self.llm = llm
        self.risk = risk
        self.desk = desk
        self.journal = journal
        self.memory = memory
        self.secrets = tuple(s.get_secret_value() for s in (llm.api_key, llm.oauth_token) if s) + secrets
        self.extra_env = dict(extra_env or {})
        self.hook_timeout_s = hook_timeout_s
        self.market_type = market_type
        self.config_dir = llm.claude_config_dir or Path(tempfile.mkdtemp(prefix="tradewake-claude-"))
        self.prompt = system_prompt(risk, llm.memory_max_chars, facts)
        self.scrubbed_blocks = 0
        """CLI reminder blocks (date, cutoff, environment) the proxy kept from the model so far."""

    async def decide(self, request: DecisionRequest) -> DecisionRecord:
        prompt = self.prompt
        session = DecisionSession(request=request, memory_max_chars=self.llm.memory_max_chars, secrets=self.secrets)
        executor = ToolExecutor(self.desk, self.journal, session)
        ids = _CallIds()
        memory_text = self.memory.current().text if self.memory else ""
        started = time.perf_counter()
        texts: list[str] = []
        result: Any = None
        with ScrubbingProxy(self.llm.base_url or DEFAULT_UPSTREAM, self.llm.timeout_s) as proxy:
            options = self.options(prompt, executor, ids, veto_hook(executor, ids), base_url=proxy.base_url)
            try:
                async for message in sdk.query(prompt=user_message(request, memory_text), options=options):
                    result = _collect(message, texts) or result
            except sdk.ResultError as exc:
                raise self._failure(exc, session, prompt, texts, started) from exc
            except sdk.CLIConnectionError as exc:
                raise OperationalError(f"cannot start the Claude Code CLI: {exc}") from exc
            self.scrubbed_blocks += proxy.removed
        error = None if session.final else "no_schedule: the run ended without schedule_next_check"
        if result is not None and result.is_error:
            error = f"result_error: {result.subtype}"
        return self._record(session, prompt, texts, started, result, error=error)

    def drain_alerts(self) -> list[Alert]:
        """Failures surface as ``LLMUnavailable`` to the router, which alerts; nothing is queued here."""
        return []

    def options(
        self, prompt: SystemPrompt, executor: ToolExecutor, ids: _CallIds, hook: HookFn, *, base_url: str | None = None
    ) -> Any:
        server = sdk.create_sdk_mcp_server(MCP_SERVER_NAME, tools=[
            mcp_tool(spec, executor, ids, self.market_type) for spec in TOOLS
        ])
        thinking: Any = (
            {"type": "enabled", "budget_tokens": self.llm.thinking_budget_tokens}
            if self.llm.thinking_budget_tokens
            else {"type": "disabled"}
        )
        return sdk.ClaudeAgentOptions(
            system_prompt=prompt.text,
            model=self.llm.model,
            thinking=thinking,
            tools=[],
            allowed_tools=[spec.mcp_name for spec in TOOLS],
            mcp_servers={MCP_SERVER_NAME: server},
            setting_sources=[],
            max_turns=self.llm.max_turns,
            hooks={"PreToolUse": [sdk.HookMatcher(matcher=None, hooks=[hook], on_failure="block",
                                                  timeout=self.hook_timeout_s)]},
            cwd=str(self.config_dir),
            env=self.env(base_url),
        )

    def env(self, base_url: str | None = None) -> dict[str, str]:
        """The CLI's environment; ``base_url`` (the scrubbing proxy) replaces the configured API base URL."""
        env = {
            **QUIET_ENV,
            "CLAUDE_CODE_PROMPT_CACHE_TTL": self.llm.cache_ttl,
            "CLAUDE_CONFIG_DIR": str(self.config_dir),
            "CLAUDE_CODE_MAX_RETRIES": str(self.llm.max_retries),
            "CLAUDE_CODE_MAX_OUTPUT_TOKENS": str(self.llm.max_tokens),
        }
        if self.llm.api_key is not None:
            env["ANTHROPIC_API_KEY"] = self.llm.api_key.get_secret_value()
        elif self.llm.oauth_token is not None:
            env["ANTHROPIC_API_KEY"] = ""  # an inherited key would win over the OAuth token
            env["CLAUDE_CODE_OAUTH_TOKEN"] = self.llm.oauth_token.get_secret_value()
        if base_url or self.llm.base_url:
            env["ANTHROPIC_BASE_URL"] = base_url or self.llm.base_url or ""
        env.update(self.extra_env)
        return env

    def _failure(
        self, exc: Any, session: DecisionSession, prompt: SystemPrompt, texts: list[str], started: float
    ) -> Exception:
        status = getattr(exc, "api_error_status", None)
        kind = _API_ERRORS.get(status or 0, FailureKind.SERVER_ERROR)
        failure = LLMUnavailable(kind, f"Claude Code run failed ({status or getattr(exc, 'subtype', '?')})")
        failure.partial = self._record(session, prompt, texts, started, None, error=str(failure))
        return failure

    def _record(
        self, session: DecisionSession, prompt: SystemPrompt, texts: list[str], started: float, result: Any,
        *, error: str | None,
    ) -> DecisionRecord:
        return build_record(
            session,
            backend=self.name,
            prompt_version=prompt.version,
            model=self.llm.model,
            reasoning="\n".join(texts),
            usage=_usage(self.llm.model, result),
            latency_ms=int((time.perf_counter() - started) * 1000),
            error=error,
        )


def mcp_tool(spec: ToolSpec, executor: ToolExecutor, ids: _CallIds, market_type: MarketType) -> Any:
    """One registry tool as an in-process MCP tool whose handler is the choke point, with the schema a
    ``market_type`` account is offered (spot: long entries only)."""

    async def handler(arguments: dict[str, Any]) -> dict[str, Any]:
        outcome = await executor.call(spec.name, arguments, ids.claim(spec.name, arguments))
        return {"content": [{"type": "text", "text": outcome.content}], "is_error": outcome.is_error}

    return sdk.tool(spec.name, spec.description, input_schema(spec.name, market_type))(handler)


def veto_hook(executor: ToolExecutor, ids: _CallIds) -> HookFn:
    """The PreToolUse hook: deny what the choke point would refuse, before the CLI runs the tool."""

    async def hook(hook_input: Any, tool_use_id: str | None, context: Any) -> dict[str, Any]:
        del context
        name, arguments = hook_input["tool_name"], dict(hook_input.get("tool_input") or {})
        call_id = tool_use_id or hook_input.get("tool_use_id") or "cc-hook"
        denied = await executor.precheck(name, arguments, call_id)
        if denied is not None:
            return {
                "hookSpecificOutput": {
                    "hookEventName": "PreToolUse",
                    "permissionDecision": "deny",
                    "permissionDecisionReason": denied.content,
                }
            }
        ids.remember(name, arguments, call_id)
        return {}

    return hook


def _collect(message: Any, texts: list[str]) -> Any:
    """Keep assistant text; return the ResultMessage when this is it."""
    if isinstance(message, sdk.AssistantMessage):
        texts.extend(block.text for block in message.content if isinstance(block, sdk.TextBlock))
        return None
    return message if isinstance(message, sdk.ResultMessage) else None


def _usage(model: str, result: Any) -> Usage:
    """Usage as the CLI reports it, priced with our table (one price list for every backend)."""
    if result is None or not result.usage:
        return Usage()
    raw = result.usage
    creation = raw.get("cache_creation") if isinstance(raw.get("cache_creation"), dict) else {}
    usage = Usage(
        input_tokens=int(raw.get("input_tokens") or 0),
        output_tokens=int(raw.get("output_tokens") or 0),
        cache_creation_input_tokens=int(raw.get("cache_creation_input_tokens") or 0),
        cache_creation_1h_input_tokens=int(creation.get("ephemeral_1h_input_tokens") or 0),
        cache_read_input_tokens=int(raw.get("cache_read_input_tokens") or 0),
    )
    return usage.model_copy(update={"cost_usd": cost_usd(model, usage)})
