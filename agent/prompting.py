"""What the model is shown: the system prompt (tools, safety limits, breaker state, output contract)
and the user message (wake reason, market data and memory, both quoted as data).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from core.settings import RiskSettings
from core.types import DecisionRequest
from prompts import load_prompt, render
from tools.registry import TOOLS, anthropic_tools

SYSTEM_TEMPLATE = "system_v1"

CHARS_PER_TOKEN = 3.5
"""Token estimator: ceil(characters / 3.5). Claude's tokenizer averages about 3.5 to 4 characters per
token on English prose and fewer on JSON with short keys and numbers; 3.5 errs on the high side."""
TOOL_USE_OVERHEAD_TOKENS = 346
"""Tokens the API adds to the system prompt when tools are given (tool_choice auto), per the pricing docs."""


@dataclass(frozen=True)
class SystemPrompt:
    text: str
    version: str


def system_prompt(risk: RiskSettings, memory_max_chars: int, breaker_line: str) -> SystemPrompt:
    template, version = load_prompt(SYSTEM_TEMPLATE)
    text = render(
        template,
        {
            "tools": tools_section(),
            "limits": limits_section(risk),
            "breaker": breaker_line,
            "memory_max_chars": str(memory_max_chars),
        },
    )
    return SystemPrompt(text=text, version=version)


def tools_section() -> str:
    return "\n".join(f"- `{s.name}`: {s.description.splitlines()[0]}" for s in TOOLS)


def limits_section(risk: RiskSettings) -> str:
    return "\n".join(
        [
            f"- Stop-loss distance from entry: {risk.stop_min_distance_pct}% to {risk.stop_max_distance_pct}%.",
            f"- One position at most {risk.max_position_pct}% of equity "
            + ("(larger sizes are cut to the cap)." if risk.reduce_oversize_to_cap else "(larger sizes are refused)."),
            f"- Total exposure at most {risk.max_total_exposure_pct}% of equity; "
            f"leverage at most {risk.max_leverage}x.",
            f"- Pyramiding {'allowed' if risk.allow_pyramiding else 'not allowed'}; "
            f"cool-down of {risk.cooldown_after_exit_s} s after an exit.",
            f"- Limit prices more than {risk.fat_finger_band_pct}% from the last price are refused.",
            f"- Per day: at most {risk.max_orders_per_day} orders and {risk.max_trades_per_day} trades; "
            f"entries stop after a {risk.daily_loss_limit_pct}% daily loss or "
            f"{risk.max_consecutive_losses} losses in a row.",
            "- Trailing stops and break-even are run by safety once set; stops only tighten.",
        ]
    )


def user_message(request: DecisionRequest, memory_text: str) -> str:
    """The first user turn. Market text and memory are quoted as data, never as instructions."""
    wake = request.wake
    lines = [
        f"Wake: {wake.kind.value} at {wake.at.isoformat()} ({wake.detail}).",
        f"Symbol: {request.symbol}. Decision time: {request.as_of.isoformat()}.",
        "",
        "<market_data>",
        _quote(request.snapshot_prompt),
        "</market_data>",
        "",
        "<memory>",
        _quote(memory_text) if memory_text else "(empty)",
        "</memory>",
        "",
        "Decide, then end with schedule_next_check.",
    ]
    return "\n".join(lines)


def _quote(text: str) -> str:
    """Neutralise anything in data that could close our tags and pose as instructions."""
    return text.replace("<", "‹").replace(">", "›")


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def estimate_request_tokens(system: str, tools: list[dict[str, Any]], messages: list[dict[str, Any]]) -> int:
    """The documented estimator applied to a Messages request (also what the local test server's
    ``count_tokens`` endpoint answers)."""
    tools_text = json.dumps(tools, separators=(",", ":"), sort_keys=True) if tools else ""
    messages_text = json.dumps(messages, separators=(",", ":"), sort_keys=True)
    overhead = TOOL_USE_OVERHEAD_TOKENS if tools else 0
    return estimate_tokens(system) + estimate_tokens(tools_text) + estimate_tokens(messages_text) + overhead


def prompt_token_budget(risk: RiskSettings, memory_max_chars: int, breaker_line: str) -> dict[str, int]:
    """Estimated tokens of the cached prefix (system prompt + tools) as built."""
    prompt = system_prompt(risk, memory_max_chars, breaker_line)
    tools = anthropic_tools()
    tools_tokens = estimate_tokens(json.dumps(tools, separators=(",", ":"), sort_keys=True))
    system_tokens = estimate_tokens(prompt.text)
    return {
        "system_tokens": system_tokens,
        "tools_tokens": tools_tokens,
        "tool_use_overhead_tokens": TOOL_USE_OVERHEAD_TOKENS,
        "cached_prefix_tokens": system_tokens + tools_tokens + TOOL_USE_OVERHEAD_TOKENS,
    }
