"""A backtest with the anthropic backend: the real SDK against the local Messages-API server, through the
whole engine. The run's metrics count LLM calls, tokens and dollars, the fallbacks, and the breaker that
a 529 storm opens (the rules backend then decides, and the run goes on)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

from backtests.data import select_data
from backtests.runner import BacktestRequest, run_backtest
from benchmarks.llmsim import MessagesServer, fail, tool_use
from core.settings import load_settings
from tests.agent.conftest import llm_settings

SCHEDULE = ("schedule_next_check", {"seconds": 14_400, "wake_conditions": []})


def test_llm_calls_tokens_cost_and_breaker_openings_are_in_the_metrics(tmp_path: Path) -> None:
    server = MessagesServer().start()
    try:
        server.script(
            tool_use(("get_portfolio", {})),
            tool_use(SCHEDULE, text="Flat market; nothing to do until the next 4h close."),
            tool_use(SCHEDULE),
            tool_use(SCHEDULE),
            fail(529), fail(529), fail(529), fail(529), fail(529),
        )
        base = load_settings(None)
        settings = base.model_copy(update={"llm": llm_settings(server, breaker_failures=3, breaker_probe_after_s=6 * 3600)})
        data = select_data(start=datetime(2025, 2, 1, tzinfo=UTC), end=datetime(2025, 2, 3, tzinfo=UTC))
        result = asyncio.run(run_backtest(BacktestRequest(settings, data, tmp_path / "run")))
    finally:
        server.stop()
    agent = result.agent
    assert agent.llm_calls == 3, "three decisions were made by the model"
    assert agent.cache_write_tokens > 0 and agent.output_tokens > 0 and agent.cache_read_tokens > 0
    assert agent.cache_write_1h_tokens > 0, "the stable prefix is written with the 1-hour TTL"
    assert agent.cached_input_share_pct is not None and agent.cached_input_share_pct > 0
    assert agent.decided_by == {"anthropic": 3, "rules": agent.decisions - 3}
    assert agent.prompt_cache_check is not None and agent.prompt_cache_check["cacheable"] is True
    assert agent.cost_usd > 0
    assert agent.breaker_openings >= 1
    assert agent.fallback_decisions.get("llm_breaker_open", 0) > 0, agent.fallback_decisions
    assert agent.decisions == agent.wakes, "every wake was decided, by the model or by the rules"
    metrics = json.loads(result.run.metrics_path.read_text())
    assert metrics["agent"]["cost_usd"] == agent.cost_usd and metrics["run"]["agent"] == "anthropic"
