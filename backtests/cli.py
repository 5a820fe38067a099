"""``tradewake backtest``: replay candles through the engine with the simulated exchange, write a run.

Every user input is checked before any work (options, the output directory, the cassette files, the
data and the market), so a mistake is one line and nothing is written. The run is written beside its
target and moved into place when complete (:class:`backtests.rundir.StagedRun`). Ctrl-C stops within a
second: the candles done so far keep their store (decisions, journal) in a run marked interrupted.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from core.clock import WallClock
from market.cli import parse_time

if TYPE_CHECKING:  # the engine, pandas and matplotlib load when a backtest runs, not when the CLI starts
    from rich.progress import Progress

    from backtests.data import BacktestData
    from backtests.interrupt import Interrupted
    from backtests.rundir import RunDir, StagedRun
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
    fees: Annotated[float | None, typer.Option("--fees", help="Fee per fill in %, 0 to 5 (default 0.1).")] = None,
    slippage_bps: Annotated[
        float | None, typer.Option("--slippage-bps", help="Taker slippage in basis points, 0 to 500 (default 2).")
    ] = None,
    cash: Annotated[float | None, typer.Option("--cash", help="Initial cash in quote currency (default 10000).")] = (
        None
    ),
    warmup: Annotated[
        int, typer.Option("--warmup", min=0, max=100_000, help="Candles that only warm up the gate, not traded.")
    ] = 288,
    anonymize_data: Annotated[
        bool, typer.Option("--anonymize", help="Rebase prices, shift dates, hide the symbol from the agent.")
    ] = False,
    out: Annotated[Path | None, typer.Option("--out", help="Run directory (default: <runs_dir>/<run id>).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an earlier run at --out.")] = False,
    cache_dir: Annotated[
        Path | None, typer.Option("--cache-dir", help="Candle cache for --symbol (default var/candles).")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="TOML settings file.")] = None,
) -> None:
    """Backtest an agent on real candles (bundled BTC/USDT 1h by default) and write a run directory:
    metrics.json, trades.csv, equity and price charts (PNG) and a self-contained HTML report.

    The warm-up comes from the candles before --from when the file has them. Ctrl-C stops the run
    within a second and keeps the decisions made so far in a run marked interrupted (exit 130)."""
    if agent not in AGENTS:
        raise typer.BadParameter(f"--agent must be one of {', '.join(AGENTS)}")
    from backtests.anonymize import anonymize
    from backtests.data import DEFAULT_CACHE_DIR, select_data
    from backtests.markets import backtest_markets
    from backtests.rundir import StagedRun, unique_run_path
    from backtests.runner import BacktestRequest
    from backtests.scripted import sma_settings

    _check_files(cassette, record, out, force, timeframe)
    settings = _settings(config, agent, cassette, seed, fees, slippage_bps, cash)
    chosen = select_data(data=data, symbol=_symbol(symbol), timeframe=timeframe, start=_time(start, "--from"),
                         end=_time(end, "--to"), cache_dir=cache_dir or DEFAULT_CACHE_DIR, warmup=warmup)
    settings = for_market(settings, chosen.symbol)
    if agent == "sma":
        settings = sma_settings(settings, chosen.timeframe)
    backtest_markets(settings, chosen)  # the market and the account are checked before anything is written
    disguise = None
    if anonymize_data:
        chosen, disguise = anonymize(chosen)
    target = out or unique_run_path(settings.backtest.runs_dir, run_id(WallClock(), agent, chosen))
    staged = StagedRun.begin(target, force=force, rename_if_taken=out is None)
    request = BacktestRequest(settings, chosen, staged.staging, _agent_choice(agent, chosen, record), warmup,
                              disguise=disguise)
    result = _run_staged(staged, request, quiet, force)
    print_summary(result)


def _check_files(cassette: Path | None, record: Path | None, out: Path | None, force: bool,
                 timeframe: str | None) -> None:
    """The path and timeframe options, checked before any data is read or anything written."""
    from backtests.rundir import check_target
    from core.paths import check_input_file, check_output_file
    from market.candles import check_timeframe

    if cassette is not None:
        check_input_file(cassette, "--cassette")
    if record is not None:
        check_output_file(record, "--record")
    if out is not None:
        check_target(out, force=force)
    if timeframe is not None:
        check_timeframe(timeframe)


def _symbol(raw: str | None) -> str | None:
    """``--symbol`` as a unified symbol (``etcbtc`` -> ``ETC/BTC``, ``XRP-USDT-USDT`` -> ``XRP/USDT:USDT``)."""
    if raw is None:
        return None
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
    """File and environment, then the flags, validated together (a flag out of range is one line)."""
    from core.settings import load_inert_settings

    llm: dict[str, Any] = {"backend": "rules" if agent == "sma" else agent}
    if cassette is not None:
        llm["cassette"] = cassette
    backtest = {k: v for k, v in {"seed": seed, "fee_pct": fees, "slippage_bps": slippage_bps,
                                  "initial_cash": cash}.items() if v is not None}
    return load_inert_settings(config, llm=llm, backtest=backtest)


def _agent_choice(agent: str, data: BacktestData, record: Path | None) -> AgentChoice:
    from backtests.scripted import SmaCrossAgent, SmaParams
    from engine.wiring import AgentChoice

    if agent != "sma":
        return AgentChoice(record_to=record)

    def factory(desk: TradingDesk, journal: JournalSink, clock: Clock) -> AgentBackend:
        return SmaCrossAgent(desk, journal, data.candles, data.timeframe, SmaParams())

    return AgentChoice(factory=factory)


def run_id(clock: WallClock, agent: str, data: BacktestData) -> str:
    """``20261123T101500-rules-BTC-USDT-1h``: sortable by when it ran, readable at a glance."""
    market = re.sub(r"[^A-Za-z0-9]+", "-", data.symbol).strip("-")
    return f"{clock.now():%Y%m%dT%H%M%S}-{agent}-{market}-{data.timeframe}"


def _run_staged(staged: StagedRun, request: BacktestRequest, quiet: bool, force: bool) -> BacktestResult:
    """Run into the staging directory; complete -> moved into place, interrupted -> kept and marked,
    failed -> removed (the run created it), and the error goes on."""
    from backtests.interrupt import Interrupted, StopSwitch, run_interruptibly
    from backtests.runner import run_backtest

    switch = StopSwitch()
    try:
        result = run_interruptibly(lambda progress: run_backtest(request, progress), switch, _bar(quiet))
    except Interrupted as stop:
        _keep_interrupted(staged, stop)
        raise
    except BaseException:
        staged.discard()
        raise
    run = staged.commit(force=force)
    return _moved(result, run)


def _keep_interrupted(staged: StagedRun, stop: Interrupted) -> None:
    if stop.done == 0:
        staged.discard()
        stop.where = "nothing was written (no candle was complete)"
        return
    kept = staged.keep_interrupted({
        "interrupted": True, "candles_done": stop.done, "candles_total": stop.total,
        "last_candle_cut_short": stop.forced,
        "why": "stopped by the user (Ctrl-C); no metrics: a partial window is not the run that was asked for; "
               "the store keeps every decision made (and, when the last candle was cut short, its finished "
               "transactions)",
    })
    stop.where = f"the decisions and journal so far are in {kept.path} (marked {kept.path.name}/INTERRUPTED.json)"


def _moved(result: BacktestResult, run: RunDir) -> BacktestResult:
    """The result, pointing at where the run now is."""
    from backtests.runner import BacktestResult

    return BacktestResult(run, result.performance, result.agent, result.metrics, result.trades)


def _bar(quiet: bool) -> Progress | None:
    if quiet:
        return None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("backtest"), BarColumn(), MofNCompleteColumn(), TextColumn("candles"), TimeRemainingColumn())
    return Progress(*columns, console=console, transient=True)


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
        f"breaker openings {agent.breaker_openings}  alerts {result.metrics['alerts']['raised']} "
        "(journaled, not sent: notifiers are off in backtests)",
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
