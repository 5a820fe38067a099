"""Tokens per decision for the prompt and tools as built: ``python -m agent.tokens [CANDLES] [AT]``.

Computed with the documented estimator of :mod:`agent.prompting` (ceil(characters / 3.5), plus the
346 tokens the API adds when tools are given): no network, no tokenizer. A count_tokens call against
the local test server returns the same estimator, so it cannot measure anything more; against the
real API the numbers will differ by the tokenizer's real ratio (typically lower for prose).

The typical decision modelled: two requests. Request 1 sends the cached prefix (system + tools) and
the user message (wake, snapshot, memory); the model answers with one ``place_order``. Request 2
resends everything plus that call and its result; the model answers with ``schedule_next_check``
and two sentences. With caching, request 1 writes the prefix and request 2 reads it.
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agent.prompting import (
    TOOL_USE_OVERHEAD_TOKENS,
    estimate_request_tokens,
    estimate_tokens,
    prompt_token_budget,
    system_prompt,
    user_message,
)
from core.settings import LLMSettings, RiskSettings
from core.types import DecisionRequest
from tools.context import DecisionSession, ListJournal
from tools.executor import ToolExecutor
from tools.registry import anthropic_tools
from tools.snapshots import DEFAULT_DATA, market_snapshot, request_for
from tools.static_desk import StaticDesk

ORDER = {"side": "long", "size_pct": 10, "order_type": "market", "stop_loss_price": 102000.0,
         "signals": ["trend_follow", "momentum"], "confidence": 0.6, "thesis": "4h uptrend with momentum"}
DEFAULT_AT = datetime(2025, 6, 1, 12, tzinfo=UTC)
CLOSING = "Trend and momentum agree on the 4h; long 10% with the stop under the last swing low."


def order_result(request: DecisionRequest, risk: RiskSettings) -> str:
    """What the model reads back after ``ORDER``: the real choke point, veto and a static desk's fill."""
    desk = StaticDesk(snapshots={request.symbol: request.snapshot}, risk=risk)
    executor = ToolExecutor(desk, ListJournal(), DecisionSession(request=request, memory_max_chars=0))
    return asyncio.run(executor.call("place_order", ORDER, "toolu_1")).content


def decision_tokens(data: str | Path, at: datetime) -> dict[str, int]:
    llm, risk = LLMSettings(), RiskSettings()
    request = request_for(market_snapshot(data, at))
    system = system_prompt(risk, llm.memory_max_chars, "LLM service healthy (breaker closed).").text
    tools = anthropic_tools()
    prefix = estimate_request_tokens(system, tools, [])
    first: list[dict[str, Any]] = [{"role": "user", "content": user_message(request, "watch 106k resistance")}]
    call = {"type": "tool_use", "id": "toolu_1", "name": "place_order", "input": ORDER}
    result = {"type": "tool_result", "tool_use_id": "toolu_1", "content": order_result(request, risk)}
    second = [*first, {"role": "assistant", "content": [call]}, {"role": "user", "content": [result]}]
    out_1 = estimate_tokens(json.dumps(call))
    out_2 = estimate_tokens(CLOSING) + estimate_tokens(json.dumps(
        {"type": "tool_use", "name": "schedule_next_check", "input": {"seconds": 14400, "wake_conditions": []}}))
    in_1 = estimate_request_tokens(system, tools, first) - prefix
    in_2 = estimate_request_tokens(system, tools, second) - prefix
    return {
        "cached_prefix_tokens": prefix,
        "request_1_uncached_input": in_1,
        "request_2_uncached_input": in_2,
        "decision_input_uncached": in_1 + in_2,
        "decision_cache_write": prefix,
        "decision_cache_read": prefix,
        "decision_output": out_1 + out_2,
        "decision_input_without_cache": 2 * prefix + in_1 + in_2,
    }


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    data = args[0] if args else DEFAULT_DATA
    at = datetime.fromisoformat(args[1]) if len(args) > 1 else DEFAULT_AT
    budget = prompt_token_budget(RiskSettings(), LLMSettings().memory_max_chars, "LLM service healthy.")
    print(f"estimator: ceil(chars / 3.5) per text, + {TOOL_USE_OVERHEAD_TOKENS} tool-use system tokens")
    for key, value in {**budget, **decision_tokens(data, at)}.items():
        print(f"{key:32} {value:>7}")


if __name__ == "__main__":
    main()
