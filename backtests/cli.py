"""``tradewake backtest``: replay candles through the engine with the simulated exchange, write a run."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from agent.factory import refuse_without_llm
from backtests.anonymize import anonymize
from backtests.data import DEFAULT_CACHE_DIR, BacktestData, select_data
from backtests.runner import LLM_AGENTS, BacktestRequest, BacktestResult, run_backtest
from backtests.scripted import SmaCrossAgent, SmaParams, sma_settings
from backtests.stats import AgentStats
from core.clock import WallClock
from core.ports import AgentBackend, Clock
from core.settings import Settings, load_settings
from engine.wiring import AgentChoice
from market.cli import parse_time
from tools.context import JournalSink, TradingDesk

AGENTS = ("rules", "replay", "anthropic", "claude-code", "sma")
console = Console()


def _time(value: str | None, option: str) -> datetime | None:
    return parse_time(value, option) if value is not None else None


def backtest_cmd(  # noqa: PLR0917 - typer maps each option to one parameter
    data: Annotated[
        str | None, typer.Option("--data", help="Candle CSV (.csv or .csv.gz) or a bundled file name.")
    ] = None,
    symbol: Annotated[str | None, typer.Option("--symbol", help="With --timeframe: bundled or cached candles.")] = None,
    timeframe: Annotated[str | None, typer.Option("--timeframe", help="Candle timeframe, e.g. 1h.")] = None,
    start: Annotated[str | None, typer.Option("--from", help="First candle (UTC ISO date/time), inclusive.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="End (UTC ISO date/time), exclusive.")] = None,
    agent: Annotated[str, typer.Option("--agent", help="rules | replay | anthropic | claude-code | sma.")] = "rules",
    cassette: Annotated[Path | None, typer.Option("--cassette", help="Cassette to replay (--agent replay).")] = None,
    record: Annotated[Path | None, typer.Option("--record", help="Append every decision to this cassette.")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed (learner draws, rules tie-breaks).")] = None,
    fees: Annotated[float | None, typer.Option("--fees", min=0, help="Fee per fill in % (default 0.1).")] = None,
    slippage_bps: Annotated[float | None, typer.Option("--slippage-bps", min=0, help="Taker slippage.")] = None,
    cash: Annotated[float | None, typer.Option("--cash", min=1, help="Initial cash in quote currency.")] = None,
    warmup: Annotated[int, typer.Option("--warmup", min=0, help="Candles that only warm up, not traded.")] = 288,
    anonymize_data: Annotated[
        bool | None,
        typer.Option(
            "--anonymize/--no-anonymize",
            help="Rebase prices, shift dates, hide the symbol from the agent. Default: on for the LLM agents "
            "(anthropic, claude-code: a model may remember the real period), off for the others.",
        ),
    ] = None,
    allow_fallback: Annotated[
        bool,
        typer.Option("--allow-fallback", help="With an LLM agent and no usable key, let the rules backend decide "
                     "instead of refusing to start (the summary counts those decisions)."),
    ] = False,
    out: Annotated[Path | None, typer.Option("--out", help="Run directory (default: <runs_dir>/<run id>).")] = None,
    cache_dir: Annotated[Path, typer.Option("--cache-dir", help="Candle cache for --symbol.")] = DEFAULT_CACHE_DIR,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="TOML settings file.")] = None,
) -> None:
    """Backtest an agent on real candles (bundled BTC/USDT 1h by default) and write a run directory:
    metrics.json, trades.csv, equity and price charts (PNG) and a self-contained HTML report."""
    if agent not in AGENTS:
        raise typer.BadParameter(f"--agent must be one of {', '.join(AGENTS)}")
    settings = _settings(config, agent, cassette, seed, fees, slippage_bps, cash)
    if agent in LLM_AGENTS and not allow_fallback:
        refuse_without_llm(settings)
    chosen = select_data(data=data, symbol=symbol, timeframe=timeframe, start=_time(start, "--from"),
                         end=_time(end, "--to"), cache_dir=cache_dir, min_candles=warmup + 2)
    if agent == "sma":
        settings = sma_settings(settings, chosen.timeframe)
    disguise = None
    if anonymize_data if anonymize_data is not None else agent in LLM_AGENTS:
        chosen, disguise = anonymize(chosen)
    run_dir = out or settings.backtest.runs_dir / run_id(WallClock(), agent, chosen)
    request = BacktestRequest(settings, chosen, run_dir, _agent_choice(agent, chosen, record), warmup,
                              disguise=disguise)
    result = _run(request, quiet)
    print_summary(result)


def _settings(  # noqa: PLR0917 - the command's options, passed on as given
    config: Path | None, agent: str, cassette: Path | None, seed: int | None, fees: float | None,
    slippage_bps: float | None, cash: float | None,
) -> Settings:
    base = load_settings(config)
    llm: dict[str, Any] = {"backend": "rules" if agent == "sma" else agent}
    if cassette is not None:
        llm["cassette"] = cassette
    backtest = {k: v for k, v in {"seed": seed, "fee_pct": fees, "slippage_bps": slippage_bps,
                                  "initial_cash": cash}.items() if v is not None}
    return base.model_copy(update={
        "llm": base.llm.model_copy(update=llm),
        "backtest": base.backtest.model_copy(update=backtest),
    })


def _agent_choice(agent: str, data: BacktestData, record: Path | None) -> AgentChoice:
    if agent != "sma":
        return AgentChoice(record_to=record)

    def factory(desk: TradingDesk, journal: JournalSink, clock: Clock) -> AgentBackend:
        return SmaCrossAgent(desk, journal, data.candles, data.timeframe, SmaParams())

    return AgentChoice(factory=factory)


def run_id(clock: WallClock, agent: str, data: BacktestData) -> str:
    """``20261123T101500-rules-BTC-USDT-1h``: sortable by when it ran, readable at a glance."""
    market = re.sub(r"[^A-Za-z0-9]+", "-", data.symbol).strip("-")
    return f"{clock.now():%Y%m%dT%H%M%S}-{agent}-{market}-{data.timeframe}"


def _run(request: BacktestRequest, quiet: bool) -> BacktestResult:
    if quiet:
        return asyncio.run(run_backtest(request))
    columns = (TextColumn("backtest"), BarColumn(), MofNCompleteColumn(), TextColumn("candles"), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("backtest", total=None)

        def progress(done: int, total: int) -> None:
            if done % 50 == 0 or done == total:
                bar.update(task, completed=done, total=total)

        return asyncio.run(run_backtest(request, progress))


def print_summary(result: BacktestResult) -> None:
    perf, agent, facts = result.performance, result.agent, result.metrics["run"]
    lines = [
        f"{facts['symbol']} {facts['timeframe']}  {perf.start:%Y-%m-%d} .. {perf.end:%Y-%m-%d}  "
        f"{perf.bars} candles  agent={facts['agent']}",
        f"return {perf.total_return_pct:+.2f}%  CAGR {_pct(perf.cagr_pct)}  Sharpe {_num(perf.sharpe)}  "
        f"Sortino {_num(perf.sortino)}  max drawdown {perf.max_drawdown_pct:.2f}%",
        f"trades {perf.trades}  win rate {_pct(perf.win_rate_pct)}  profit factor {_num(perf.profit_factor)}  "
        f"exposure {perf.exposure_pct:.1f}%  fees {float(perf.fees):,.2f}",
        f"wakes {agent.wakes} ({agent.wake_rate_pct:.2f}% of candles)  decisions {agent.decisions}  "
        f"LLM calls {agent.llm_calls}  tokens {_tokens(agent):,}  cost ${agent.cost_usd:.2f}"
        + (f"  cached input {agent.cached_input_share_pct:.1f}%" if agent.cached_input_share_pct is not None else ""),
        "decided by: " + decided_by_text(agent.decided_by, agent.fallback_decisions),
        f"vetoes {sum(agent.vetoes_by_code.values())} {agent.vetoes_by_code or ''}  "
        f"breaker openings {agent.breaker_openings}",
        f"run: {result.run.path}",
        f"report: {result.run.report_path}",
    ]
    warnings = [facts.get("look_ahead_warning"), (agent.prompt_cache_check or {}).get("warning")]
    lines.extend(f"WARNING: {w}" for w in warnings if w)
    for line in lines:
        typer.echo(line)


def decided_by_text(decided_by: dict[str, int], fallbacks: dict[str, int]) -> str:
    """``anthropic 40, rules 3 (fallback: no_llm_configured 3)``: who decided, and why rules stepped in."""
    who = ", ".join(f"{backend} {count}" for backend, count in decided_by.items()) or "nobody (no wake)"
    why = ", ".join(f"{reason} {count}" for reason, count in fallbacks.items())
    return who + (f" (fallback: {why})" if why else "")


def _tokens(agent: AgentStats) -> int:
    return agent.input_tokens + agent.cache_write_tokens + agent.cache_read_tokens + agent.output_tokens


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}%"


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"
