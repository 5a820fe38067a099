"""``python -m agent.tokens``: the token figures of a decision as built, consistent with each other."""

from __future__ import annotations


def test_token_figures_are_consistent() -> None:
    from datetime import UTC, datetime

    from agent.tokens import DEFAULT_DATA, decision_tokens

    figures = decision_tokens(DEFAULT_DATA, datetime(2025, 6, 1, 12, tzinfo=UTC))
    assert figures["cached_prefix_tokens"] > 1024  # above the smallest prompt-cache minimum
    assert figures["decision_input_without_cache"] == (
        figures["decision_cache_write"] + figures["decision_cache_read"] + figures["decision_input_uncached"])
