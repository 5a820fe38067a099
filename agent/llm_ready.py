"""Whether the configured LLM backend can be used as set up, decided from the settings alone.

Kept apart from :mod:`agent.factory` (which loads the rules backend, the learner and pandas) so that a
command refusing to start without a key refuses in a fraction of a second.
"""

from __future__ import annotations

import os

from core.errors import ConfigError
from core.settings import Settings


def llm_unusable(settings: Settings) -> str | None:
    """Why the configured LLM backend cannot be used as set up (no key, the optional SDK missing), or ``None``.
    The router would then let the rules backend decide every wake: a CLI refuses that unless asked for."""
    llm = settings.llm
    if llm.backend not in ("anthropic", "claude-code"):
        return None
    if llm.api_key is None and llm.oauth_token is None and not os.environ.get("ANTHROPIC_API_KEY"):
        return (f"the {llm.backend} backend has no key: set TRADEWAKE_LLM__API_KEY (or ANTHROPIC_API_KEY"
                + (", or TRADEWAKE_LLM__OAUTH_TOKEN" if llm.backend == "claude-code" else "") + ")")
    if llm.backend == "claude-code":
        from agent.claude_code import available

        if not available():
            return "the claude-code backend needs the optional extra: pip install 'tradewake[claude-code]'"
    return None


def refuse_without_llm(settings: Settings) -> None:
    """Stop before anything runs when the LLM backend is unusable (``ConfigError``: one line, exit 2)."""
    reason = llm_unusable(settings)
    if reason is not None:
        raise ConfigError(f"{reason}; or pass --allow-fallback to let the rules backend decide instead")
