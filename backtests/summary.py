"""What ``tradewake backtest`` prints when a run is done: the headline numbers for people (return against
buy-and-hold, risk, trades, the positions left open, the agent and its cost), where the run is and what to
open next; or, with ``--json``, every number at full precision. Pure: lines from a run's metrics.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from backtests.report import fmt
from backtests.report.compare import decided_by


def summary_lines(metrics: dict[str, Any], run_path: Path, report_path: Path) -> list[str]:
    perf, agent, facts = metrics["performance"], metrics["agent"], metrics["run"]
    vetoes = agent.get("vetoes_by_code") or {}
    veto_codes = ", ".join(f"{code} {n}" for code, n in vetoes.items())
    return [
        f"{facts['symbol']} {facts['timeframe']}  {fmt.day(perf['start'])} → {fmt.day(perf['end'])}  "
        f"{fmt.count(perf['bars'])} candles  agent {decided_by(facts, agent)}",
        _return_line(perf),
        f"trades {fmt.count(perf['trades'])}  win rate {fmt.pct(perf['win_rate_pct'])}  profit factor "
        f"{fmt.num(perf['profit_factor'])}  exposure {fmt.pct(perf['exposure_pct'])}  fees {fmt.money(perf['fees'])}"
        f"  final equity {fmt.money(perf['final_equity'])}",
        *open_position_lines(metrics.get("open_positions", [])),
        f"wakes {fmt.count(agent['wakes'])} ({fmt.pct(agent['wake_rate_pct'])} of candles)  decisions "
        f"{fmt.count(agent['decisions'])}  LLM calls {fmt.count(agent['llm_calls'])}  tokens "
        f"{fmt.tokens(_tokens(agent))}  cost {fmt.usd(agent['cost_usd'])}" + _cached_share(agent),
        "decided by: " + decided_by_text(agent.get("decided_by") or {}, agent.get("fallback_decisions") or {}),
        f"vetoes {fmt.count(sum(vetoes.values()))}" + (f" ({veto_codes})" if veto_codes else "")
        + f"  breaker openings {fmt.count(agent['breaker_openings'])}" + _alerts(metrics),
        *_rules_lines(facts),
        *_warnings(facts, agent),
        f"run: {run_path}",
        f"report: {report_path}",
        *next_steps(run_path, report_path),
    ]


def _return_line(perf: dict[str, Any]) -> str:
    hold = perf["buy_and_hold_return_pct"]
    return (
        f"return {fmt.signed_pct(perf['total_return_pct'])}  buy & hold {fmt.signed_pct(hold)}  "
        f"CAGR {fmt.signed_pct(perf['cagr_pct'])}  Sharpe {fmt.num(perf['sharpe'])}  "
        f"Sortino {fmt.num(perf['sortino'])}  max drawdown {fmt.pct(perf['max_drawdown_pct'])} "
        f"(longest {fmt.days(perf['max_drawdown_duration_days'])})"
    )


def open_position_lines(positions: list[dict[str, Any]]) -> list[str]:
    """The positions a run left open at its end, marked to the last close (also in trades.csv, flagged open)."""
    if not positions:
        return ["open at the end: none"]
    return [f"open at the end: {len(positions)} (marked to the last close, included in the final equity)"] + [
        f"  {p['symbol']} {p['side']} {fmt.qty(p['quantity'])} @ {fmt.price(p['entry_price'])} -> "
        f"{fmt.price(p['mark_price'])}  {fmt.signed_money(p['unrealized_pnl'])} ({fmt.signed_pct(p['unrealized_pct'])})"
        f"  stop {fmt.price(p['stop_price'])}  since {fmt.when(p['opened_at'])}"
        for p in positions
    ]


def next_steps(run_path: Path, report_path: Path) -> list[str]:
    """What to open next: the report, the dashboard, the agent's decisions."""
    steps = (
        (f"open {shlex.quote(str(report_path))}", "the report in a browser (one file, works offline)"),
        ("tradewake dashboard", "every run in the browser: charts, decisions, side by side"),
        (f"tradewake decisions {shlex.quote(str(run_path))}", "what the agent did at each wake (--details, --entries)"),
    )
    width = max(len(command) for command, _ in steps)
    return ["next:", *(f"  {command.ljust(width)}  {what}" for command, what in steps)]


def summary_json(metrics: dict[str, Any], run_path: Path, report_path: Path) -> dict[str, Any]:
    """``backtest --json``: the run's metrics as written to metrics.json, and where the run and report are."""
    return {**metrics, "run_dir": str(run_path), "report": str(report_path)}


def _rules_lines(facts: dict[str, Any]) -> list[str]:
    """Where the market's rules came from when not the recorded ones; inferred rules as a warning."""
    if "market_rules_warning" in facts:
        return [f"WARNING: {facts['market_rules_warning']}"]
    return [f"market rules: {facts['market_rules']}"] if "market_rules" in facts else []


def decided_by_text(decided_by: dict[str, int], fallbacks: dict[str, int]) -> str:
    """``anthropic 40, rules 3 (fallback: no_llm_configured 3)``: who decided, and why rules stepped in."""
    who = ", ".join(f"{backend} {count}" for backend, count in decided_by.items()) or "nobody (no wake)"
    why = ", ".join(f"{reason} {count}" for reason, count in fallbacks.items())
    return who + (f" (fallback: {why})" if why else "")


def _tokens(agent: dict[str, Any]) -> int:
    """Every token the model read or wrote: uncached input, cache writes and reads, output."""
    keys = ("input_tokens", "cache_write_tokens", "cache_read_tokens", "output_tokens")
    return sum(int(agent.get(key) or 0) for key in keys)


def _cached_share(agent: dict[str, Any]) -> str:
    share = agent.get("cached_input_share_pct")
    return f"  cached input {fmt.pct(share)}" if share is not None else ""


def _warnings(facts: dict[str, Any], agent: dict[str, Any]) -> list[str]:
    """Said out loud: an LLM shown the real period, a prompt prefix too short to cache."""
    found = [facts.get("look_ahead_warning"), (agent.get("prompt_cache_check") or {}).get("warning")]
    return [f"WARNING: {warning}" for warning in found if warning]


def _alerts(metrics: dict[str, Any]) -> str:
    """The alerts the run raised: journaled, never sent (notifiers are off in backtests)."""
    alerts = metrics.get("alerts")
    if alerts is None:
        return ""
    return f"  alerts {fmt.count(alerts['raised'])} (journaled, not sent: notifiers are off in backtests)"
