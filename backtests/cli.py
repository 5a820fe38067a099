"""``tradewake backtest``: replay candles through the engine with the simulated exchange, write a run."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from core.clock import WallClock
from market.cli import parse_time

if TYPE_CHECKING:  # the engine, pandas and matplotlib load when a backtest runs, not when the CLI starts
    from backtests.data import BacktestData
    from backtests.runner import BacktestRequest, BacktestResult
    from core.ports import AgentBackend, Clock
    from core.settings import Settings
    from engine.wiring import AgentChoice
    from tools.context import JournalSink, TradingDesk

AGENTS = ("rules", "replay", "anthropic", "claude-code", "sma")
console = Console()


def _time(value: str | None, option: str) -> datetime | None:
    return parse_time(value, option) if value is not None else None


def backtest_cmd(  # noqa: PLR0917 - typer maps each option to one parameter
    data: Annotated[
        list[str] | None,
        typer.Option("--data", help="Candle CSV (.csv or .csv.gz) or a bundled file name. Repeat it for a portfolio: "
                     "the markets are replayed merged by time through one engine and one account."),
    ] = None,
    symbol: Annotated[
        list[str] | None,
        typer.Option("--symbol", help="The market, e.g. ETC/BTC or XRP/USDT:USDT: overrides the name --data's file "
                     "name implies (one per --data); with --timeframe (no --data): bundled or cached candles, "
                     "repeated for a portfolio."),
    ] = None,
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
        bool, typer.Option("--anonymize", help="Rebase prices, shift dates, hide the symbol from the agent.")
    ] = False,
    out: Annotated[Path | None, typer.Option("--out", help="Run directory (default: <runs_dir>/<run id>).")] = None,
    cache_dir: Annotated[
        Path | None, typer.Option("--cache-dir", help="Candle cache for --symbol (default var/candles).")
    ] = None,
    exact: Annotated[
        bool, typer.Option("--exact", help="Step the engine on every candle (slower): the path the default one, "
                           "which steps only where something can happen, is checked against.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="TOML settings file.")] = None,
) -> None:
    """Backtest an agent on real candles (bundled BTC/USDT 1h by default) and write a run directory:
    metrics.json, trades.csv, equity and price charts (PNG) and a self-contained HTML report."""
    if agent not in AGENTS:
        raise typer.BadParameter(f"--agent must be one of {', '.join(AGENTS)}")
    from backtests.anonymize import anonymize
    from backtests.data import DEFAULT_CACHE_DIR, select_data
    from backtests.runner import BacktestRequest
    from backtests.scripted import sma_settings

    settings = _settings(config, agent, cassette, seed, fees, slippage_bps, cash)
    markets = [select_data(data=path, symbol=name, timeframe=timeframe, start=_time(start, "--from"),
                           end=_time(end, "--to"), cache_dir=cache_dir or DEFAULT_CACHE_DIR, min_candles=warmup + 2)
               for path, name in _sources(data or [], [_symbol(s) for s in symbol or []])]  # fmt: skip
    if anonymize_data and len(markets) > 1:
        raise typer.BadParameter("disguises one market; run the markets one at a time", param_hint="--anonymize")
    chosen = markets[0]
    settings = for_market(settings, chosen.symbol)
    if agent == "sma":
        settings = sma_settings(settings, chosen.timeframe)
    disguise = None
    if anonymize_data:
        chosen, disguise = anonymize(chosen)
        markets = [chosen]
    run_dir = out or settings.backtest.runs_dir / run_id(WallClock(), agent, *markets)
    request = BacktestRequest(settings, chosen, run_dir, _agent_choice(agent, markets, record), warmup,
                              disguise=disguise, exact=exact, more=tuple(markets[1:]))  # fmt: skip
    result = _run(request, quiet)
    print_summary(result)


def _sources(data: list[str], symbols: list[str]) -> list[tuple[str | None, str | None]]:
    """Each market's file and symbol: files with their symbols (one each, or none), else the symbols alone
    (bundled or cached candles), else the bundled default."""
    if data:
        if symbols and len(symbols) != len(data):
            raise typer.BadParameter(f"give one --symbol per --data ({len(data)}), or none", param_hint="--symbol")
        names: list[str | None] = list(symbols) if symbols else [None] * len(data)
        return list(zip(data, names, strict=True))
    return [(None, name) for name in symbols] or [(None, None)]


def _symbol(raw: str) -> str:
    """``--symbol`` as a unified symbol (``etcbtc`` -> ``ETC/BTC``, ``XRP-USDT-USDT`` -> ``XRP/USDT:USDT``)."""
    from exchange.symbols import SymbolError, normalize_symbol

    try:
        return normalize_symbol(raw, "spot")
    except SymbolError as spot_error:
        try:
            return normalize_symbol(raw, "future")
        except SymbolError:
            raise typer.BadParameter(str(spot_error), param_hint="--symbol") from spot_error


def for_market(settings: Settings, symbol: str) -> Settings:
    """The account for the data's market: a perpetual (``BASE/QUOTE:SETTLE``) is a futures backtest, and the
    cash is held in the quote asset (BTC for ETH/BTC), so ``exchange.market_type`` and ``exchange.quote``
    follow the symbol."""
    pair, _, settle = symbol.partition(":")
    quote = settle or pair.partition("/")[2]
    exchange = {"market_type": "future" if settle else "spot", "quote": quote}
    return settings.model_copy(update={"exchange": settings.exchange.model_copy(update=exchange)})


def _settings(  # noqa: PLR0917 - the command's options, passed on as given
    config: Path | None, agent: str, cassette: Path | None, seed: int | None, fees: float | None,
    slippage_bps: float | None, cash: float | None,
) -> Settings:
    from core.settings import load_settings

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


def _agent_choice(agent: str, data: BacktestData | Sequence[BacktestData], record: Path | None) -> AgentChoice:
    from backtests.scripted import SmaCrossAgent, SmaParams
    from engine.wiring import AgentChoice

    if agent != "sma":
        return AgentChoice(record_to=record)
    markets = [data] if not isinstance(data, Sequence) else list(data)
    candles = {m.symbol: m.candles for m in markets}

    def factory(desk: TradingDesk, journal: JournalSink, clock: Clock) -> AgentBackend:
        return SmaCrossAgent(desk, journal, candles, markets[0].timeframe, SmaParams())

    return AgentChoice(factory=factory)


def run_id(clock: WallClock, agent: str, *markets: BacktestData) -> str:
    """``20261123T101500-rules-BTC-USDT-1h``: sortable by when it ran, readable at a glance."""
    market = "+".join(re.sub(r"[^A-Za-z0-9]+", "-", data.symbol).strip("-") for data in markets)
    return f"{clock.now():%Y%m%dT%H%M%S}-{agent}-{market}-{markets[0].timeframe}"


def _run(request: BacktestRequest, quiet: bool) -> BacktestResult:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from backtests.runner import run_backtest

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
        f"LLM calls {agent.llm_calls}  tokens {agent.input_tokens + agent.output_tokens:,}  cost ${agent.cost_usd:.2f}",
        f"vetoes {sum(agent.vetoes_by_code.values())} {agent.vetoes_by_code or ''}  "
        f"breaker openings {agent.breaker_openings}",
        *_rules_lines(facts),
        f"run: {result.run.path}",
        f"report: {result.run.report_path}",
    ]
    for line in lines:
        typer.echo(line)


def _rules_lines(facts: dict[str, Any]) -> list[str]:
    """Where the market's rules came from when not the recorded ones; inferred rules as a warning."""
    if "market_rules_warning" in facts:
        return [f"WARNING: {facts['market_rules_warning']}"]
    return [f"market rules: {facts['market_rules']}"] if "market_rules" in facts else []


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}%"


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"
