"""Runs side by side: which numbers are compared and how each is shown, and who actually decided.

One table for ``tradewake runs list|compare`` and the dashboard's runs views, so a run reads the same in
the terminal and in the browser. Pure, over the sections of a run's ``metrics.json``.
"""

from __future__ import annotations

from typing import Any

COMPARED = (
    ("total_return_pct", "return", "signed_pct"), ("buy_and_hold_return_pct", "buy & hold", "signed_pct"),
    ("cagr_pct", "CAGR", "signed_pct"), ("sharpe", "Sharpe", "num"), ("sortino", "Sortino", "num"),
    ("max_drawdown_pct", "max drawdown", "pct"), ("max_drawdown_duration_days", "longest drawdown", "days"),
    ("calmar", "Calmar", "num"), ("trades", "trades", "count"), ("open_positions", "open at the end", "count"),
    ("win_rate_pct", "win rate", "pct"), ("profit_factor", "profit factor", "num"),
    ("exposure_pct", "exposure", "pct"), ("fees", "fees", "money"), ("final_equity", "final equity", "money"),
)  # fmt: skip
"""(performance key, label, display filter of ``backtests.report.fmt``) of the performance rows compared."""

AGENT_COMPARED = (
    ("decisions", "decisions", "count"), ("llm_calls", "LLM calls", "count"), ("cost_usd", "LLM cost", "usd"),
)  # fmt: skip
"""(agent key, label, display filter) of the agent rows compared."""


def decided_by(facts: dict[str, Any], agent: dict[str, Any]) -> str:
    """The agent that actually decided: the configured one, with its model, unless the rules fallback took
    some decisions (no key, budget spent, an error) or all of them."""
    configured = str(facts.get("agent", "?"))
    if facts.get("model"):
        configured += f" {facts['model']}"
    fallbacks = sum(int(n) for n in (agent.get("fallback_decisions") or {}).values())
    decisions = int(agent.get("decisions") or 0)
    if fallbacks == 0:
        return configured
    if fallbacks >= decisions:
        return f"rules fallback (configured {configured})"
    return f"{configured} + {fallbacks} rules fallbacks"


def excess_pct(performance: dict[str, Any]) -> float | None:
    """Return above buy-and-hold, in percentage points."""
    ret, hold = performance.get("total_return_pct"), performance.get("buy_and_hold_return_pct")
    return None if ret is None or hold is None else float(ret) - float(hold)
