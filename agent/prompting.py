"""What the model is shown: the system prompt (tools, the market, safety limits, what the guard does on its
own, output contract) and the user message (wake reason, LLM service state, the book, market data and
memory, all quoted as data).

Caching: the system prompt and the tools are the stable prefix and hold nothing that changes between
decisions of one run (no time, no breaker state, no prices); everything volatile is in the user message.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Literal

from agent.book_text import render_book
from core.settings import RiskSettings, Settings
from core.types import DecisionRequest
from prompts import load_prompt, render
from tools.registry import TOOLS, anthropic_tools

SYSTEM_TEMPLATE = "system_v2"

CHARS_PER_TOKEN = 3.5
"""Token estimator: ceil(characters / 3.5). Claude's tokenizer averages about 3.5 to 4 characters per
token on English prose and fewer on JSON with short keys and numbers; 3.5 errs on the high side."""
TOOL_USE_OVERHEAD_TOKENS = 346
"""Tokens the API adds to the system prompt when tools are given (tool_choice auto), per the pricing docs."""


@dataclass(frozen=True)
class SystemPrompt:
    text: str
    version: str


@dataclass(frozen=True)
class TradingFacts:
    """What the system prompt states besides the risk limits: the market type and the range the gate clamps
    ``schedule_next_check`` seconds into (``gate.timer_min_s`` .. ``gate.timer_max_s``)."""

    market_type: Literal["spot", "future"] = "spot"
    next_check_min_s: int = 900
    next_check_max_s: int = 4 * 3600

    @classmethod
    def from_settings(cls, settings: Settings) -> TradingFacts:
        return cls(settings.exchange.market_type, settings.gate.timer_min_s, settings.gate.timer_max_s)


DEFAULT_FACTS = TradingFacts()


def system_prompt(risk: RiskSettings, memory_max_chars: int, facts: TradingFacts = DEFAULT_FACTS) -> SystemPrompt:
    template, version = load_prompt(SYSTEM_TEMPLATE)
    text = render(
        template,
        {
            "tools": tools_section(),
            "market": market_section(facts),
            "limits": limits_section(risk, facts),
            "guard": guard_section(risk),
            "schedule": schedule_section(facts),
            "memory_max_chars": str(memory_max_chars),
        },
    )
    return SystemPrompt(text=text, version=version)


def tools_section() -> str:
    return "\n".join(f"- `{s.name}`: {s.description.splitlines()[0]}" for s in TOOLS)


def market_section(facts: TradingFacts) -> str:
    if facts.market_type == "spot":
        return "\n".join([
            "- Spot: long only (a short is refused) and no leverage: you buy with the account's cash.",
            "- Fees: every fill pays the market's fee (taker for market orders, maker for resting limits), shown "
            "per market in the book; a round trip pays it twice.",
        ])
    return "\n".join([
        "- USDT-M perpetual futures: long and short, with leverage (see the limits); funding is paid every 8 h.",
        "- Fees: every fill pays the market's fee (taker for market orders, maker for resting limits), shown "
        "per market in the book; a round trip pays it twice.",
    ])


def limits_section(risk: RiskSettings, facts: TradingFacts = DEFAULT_FACTS) -> str:
    exposure = f"- Total exposure at most {risk.max_total_exposure_pct}% of equity"
    exposure += "." if facts.market_type == "spot" else f"; leverage at most {risk.max_leverage}x."
    return "\n".join(
        [
            f"- Stop-loss distance from entry: {risk.stop_min_distance_pct}% to {risk.stop_max_distance_pct}%.",
            f"- One position at most {risk.max_position_pct}% of equity "
            + ("(larger sizes are cut to the cap)." if risk.reduce_oversize_to_cap else "(larger sizes are refused)."),
            exposure,
            f"- Pyramiding {'allowed' if risk.allow_pyramiding else 'not allowed'}; "
            f"cool-down of {risk.cooldown_after_exit_s} s after an exit.",
            f"- Limit prices more than {risk.fat_finger_band_pct}% from the last price are refused.",
            f"- Per day: at most {risk.max_orders_per_day} orders and {risk.max_trades_per_day} trades; "
            f"entries stop after a {risk.daily_loss_limit_pct}% daily loss or "
            f"{risk.max_consecutive_losses} losses in a row.",
        ]
    )


def guard_section(risk: RiskSettings) -> str:
    share = "all" if risk.take_profit_fraction >= 1 else f"{risk.take_profit_fraction * 100:g}%"
    return "\n".join(
        [
            "- Every filled entry gets its protective stop at once; the stop only tightens (your adjust_stop, "
            "break-even, trailing), never loosens.",
            f"- Take-profit: when the price reaches your take_profit_price, the guard closes {share} of the "
            f"position and moves the stop to break-even (entry {risk.break_even_offset_pct:g}% in your favour, "
            "which covers the fees of the round trip). On spot it sells at market when the price gets there; "
            "on futures a take-profit order rests on the exchange.",
            "- Trailing (trailing_activation_pct with trailing_distance_pct): once the profit reaches the "
            "activation, the stop follows the best price at the distance, moving only when it tightens by at "
            f"least {risk.trailing_min_step_pct:g}%.",
            f"- Watchdog: a stop the price went through that has not filled within {risk.watchdog_grace_s} s is "
            "replaced by a market exit.",
            "- A filled stop or take-profit is settled before anything else; the book shows what each position "
            "will do next.",
        ]
    )


def schedule_section(facts: TradingFacts) -> str:
    return (
        f"`seconds` is clamped to {facts.next_check_min_s}..{facts.next_check_max_s}; the result says which "
        "value was applied."
    )


def user_message(request: DecisionRequest, memory_text: str) -> str:
    """The first user turn. The book, the market text and the memory are quoted as data, never as instructions."""
    wake = request.wake
    book = render_book(request.book) if request.book is not None else "(no account view was given)"
    lines = [
        f"Wake: {wake.kind.value} at {wake.at.isoformat()} ({wake.detail}).",
        f"Symbol: {request.symbol}. Decision time: {request.as_of.isoformat()}.",
        request.llm.describe(),
        "",
        "<book>",
        _quote(book),
        "</book>",
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


def prompt_token_budget(
    risk: RiskSettings, memory_max_chars: int, facts: TradingFacts = DEFAULT_FACTS
) -> dict[str, int]:
    """Estimated tokens of the cached prefix (system prompt + tools) as built."""
    prompt = system_prompt(risk, memory_max_chars, facts)
    tools = anthropic_tools()
    tools_tokens = estimate_tokens(json.dumps(tools, separators=(",", ":"), sort_keys=True))
    system_tokens = estimate_tokens(prompt.text)
    return {
        "system_tokens": system_tokens,
        "tools_tokens": tools_tokens,
        "tool_use_overhead_tokens": TOOL_USE_OVERHEAD_TOKENS,
        "cached_prefix_tokens": system_tokens + tools_tokens + TOOL_USE_OVERHEAD_TOKENS,
    }
