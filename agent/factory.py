"""Build the agent backend the settings name, over a desk and a journal (``engine/wiring.py`` calls this).

- ``rules``: the rules backend alone.
- ``anthropic`` / ``claude-code``: that LLM backend behind the breaker-guarded router, rules as the
  fallback; without a key the router is built with no primary (rules decide, ``no_llm_configured``).
- ``replay``: the cassette named in ``llm.cassette`` (``cassette_miss`` picks error or rules).
``record_to`` wraps the chosen backend so every decision is appended to a cassette.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import SecretStr

from agent.breaker import LLMBreaker
from agent.memory import AgentMemory
from agent.prompting import TradingFacts, system_prompt
from agent.replay import RecordingBackend, ReplayBackend
from agent.router import ResilientBackend
from agent.rules import RulesBackend
from core.errors import ConfigError
from core.ports import AgentBackend, Clock
from core.redaction import secret_values
from core.settings import Settings
from tools.context import JournalSink, TradingDesk


def all_secrets(settings: Settings) -> tuple[str, ...]:
    """Every configured secret value, for the scrubbers (memory, tool arguments, reasoning)."""
    return secret_values(settings)


def prompt_version(settings: Settings) -> str:
    return system_prompt(settings.risk, settings.llm.memory_max_chars, TradingFacts.from_settings(settings)).version


def agent_backend(
    settings: Settings,
    *,
    desk: TradingDesk,
    journal: JournalSink,
    clock: Clock,
    memory: AgentMemory | None = None,
    record_to: Path | None = None,
) -> AgentBackend:
    llm, secrets = settings.llm, all_secrets(settings)
    rules = RulesBackend(llm=llm, risk=settings.risk, desk=desk, journal=journal, seed=settings.learner.seed,
                         secrets=secrets)
    backend: AgentBackend
    if llm.backend == "rules":
        backend = rules
    elif llm.backend == "replay":
        if llm.cassette is None:
            raise ConfigError("llm.backend = 'replay' needs llm.cassette (a cassette file)")
        backend = ReplayBackend(cassette=llm.cassette, llm=llm, desk=desk, journal=journal,
                                prompt_version=prompt_version(settings), rules=rules)
    else:
        primary = _llm_backend(settings, desk, journal, memory, secrets)
        backend = ResilientBackend(
            primary=primary, rules=rules, breaker=LLMBreaker(llm.breaker_failures, llm.breaker_probe_after_s),
            clock=clock, journal=journal,
        )
    return RecordingBackend(backend, record_to, prompt_version(settings)) if record_to else backend


def _llm_backend(
    settings: Settings, desk: TradingDesk, journal: JournalSink, memory: AgentMemory | None, secrets: tuple[str, ...]
) -> AgentBackend | None:
    llm = settings.llm
    if llm.api_key is None and llm.oauth_token is None:
        env_key = os.environ.get("ANTHROPIC_API_KEY")
        if not env_key:
            return None
        llm = llm.model_copy(update={"api_key": SecretStr(env_key)})
    if llm.backend == "claude-code":
        from agent.claude_code import ClaudeCodeBackend

        return ClaudeCodeBackend(llm=llm, risk=settings.risk, desk=desk, journal=journal, memory=memory,
                                 secrets=secrets, market_type=settings.exchange.market_type,
                                 facts=TradingFacts.from_settings(settings))
    from agent.anthropic_backend import AnthropicBackend

    return AnthropicBackend(llm=llm, risk=settings.risk, desk=desk, journal=journal, memory=memory, secrets=secrets,
                            market_type=settings.exchange.market_type, facts=TradingFacts.from_settings(settings))
