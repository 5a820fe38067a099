"""``tradewake backtest``: replay candles through the engine with the simulated exchange, write a run.

Every user input is checked before any work (options, the output directory, the cassette files, the
data and the market), so a mistake is one line and nothing is written. The run is written beside its
target and moved into place when complete (:class:`backtests.rundir.StagedRun`). Ctrl-C stops within a
second: the candles done so far keep their store (decisions, journal) in a run marked interrupted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from core.clock import WallClock
from core.errors import ConfigError
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
    force: Annotated[bool, typer.Option("--force", help="Replace an earlier run at --out.")] = False,
    cache_dir: Annotated[
        Path | None, typer.Option("--cache-dir", help="Candle cache for --symbol (default var/candles).")
    ] = None,
    exact: Annotated[
        bool, typer.Option("--exact", help="Step the engine on every candle (slower): the path the default one, "
                           "which steps only where something can happen, is checked against.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON (every number in full).")] = False,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="TOML settings file.")] = None,
) -> None:
    """Backtest an agent on real candles (bundled BTC/USDT 1h by default) and write a run directory:
    metrics.json, trades.csv, equity and price charts (PNG) and a self-contained HTML report.

    The warm-up comes from the candles before --from when the file has them. Ctrl-C stops the run
    within a second and keeps the decisions made so far in a run marked interrupted (exit 130)."""
    from agent.llm_ready import refuse_without_llm

    if agent not in AGENTS:
        raise typer.BadParameter(f"--agent must be one of {', '.join(AGENTS)}")
    window = (_time(start, "--from"), _time(end, "--to"))
    _check_files(cassette, record, out, force, timeframe)
    sources = _sources(data or [], [_symbol(s) for s in symbol or []], timeframe, cache_dir)
    settings = _settings(config, agent, cassette, seed, fees, slippage_bps, cash)
    if not allow_fallback:
        refuse_without_llm(settings)
    # Every argument is checked: only now the data, the engine, ccxt and matplotlib load (a refusal is instant).
    from backtests.anonymize import anonymize
    from backtests.data import select_data
    from backtests.markets import backtest_markets
    from backtests.rundir import StagedRun, unique_run_path
    from backtests.runner import LLM_AGENTS, BacktestRequest
    from backtests.scripted import sma_settings
    from backtests.sources import DEFAULT_CACHE_DIR

    markets = [select_data(data=path, symbol=name, timeframe=timeframe, start=window[0], end=window[1],
                           cache_dir=cache_dir or DEFAULT_CACHE_DIR, warmup=warmup)
               for path, name in sources]  # fmt: skip
    disguised = anonymize_data if anonymize_data is not None else agent in LLM_AGENTS
    if disguised and len(markets) > 1:
        raise typer.BadParameter("disguises one market; run the markets one at a time (or --no-anonymize)",
                                 param_hint="--anonymize")
    chosen = markets[0]
    settings = for_market(settings, chosen.symbol)
    if agent == "sma":
        settings = sma_settings(settings, chosen.timeframe)
    backtest_markets(settings, chosen)  # the market and the account are checked before anything is written
    disguise = None
    if disguised:
        chosen, disguise = anonymize(chosen)
        markets = [chosen]
    target = out or unique_run_path(settings.backtest.runs_dir, run_id(WallClock(), agent, *markets))
    staged = StagedRun.begin(target, force=force, rename_if_taken=out is None)
    request = BacktestRequest(settings, chosen, staged.staging, _agent_choice(agent, markets, record), warmup,
                              disguise=disguise, exact=exact, more=tuple(markets[1:]),
                              run_id=staged.target.name)  # fmt: skip
    result = _run_staged(staged, request, quiet, force)
    print_summary(result, as_json)


def _check_files(cassette: Path | None, record: Path | None, out: Path | None, force: bool,
                 timeframe: str | None) -> None:
    """The path and timeframe options, checked before any data is read or anything written."""
    from backtests.rundir import check_target
    from core.paths import check_input_file, check_output_file
    from core.timeframes import timeframe_seconds

    if cassette is not None:
        check_input_file(cassette, "--cassette")
    if record is not None:
        check_output_file(record, "--record")
    if out is not None:
        check_target(out, force=force)
    if timeframe is not None:
        try:
            timeframe_seconds(timeframe)
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc


def _sources(
    data: list[str], symbols: list[str], timeframe: str | None, cache_dir: Path | None
) -> list[tuple[str | None, str | None]]:
    """Each market's file and symbol: files with their symbols (one each, or none), else the symbols alone
    (bundled or cached candles), else the bundled default. A file that is neither on disk nor bundled, and a
    symbol and timeframe with no candles bundled or cached, are refused here, before the candle readers load."""
    from backtests.sources import DEFAULT_CACHE_DIR, locate_candles
    from market.bundled import resolve_data_path

    if data:
        if symbols and len(symbols) != len(data):
            raise typer.BadParameter(f"give one --symbol per --data ({len(data)}), or none", param_hint="--symbol")
        names: list[str | None] = list(symbols) if symbols else [None] * len(data)
        return [(str(resolve_data_path(path)), name) for path, name in zip(data, names, strict=True)]
    for name in symbols:
        locate_candles(None, name, timeframe, cache_dir or DEFAULT_CACHE_DIR)
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
    """File and environment, then the flags, validated together (a flag out of range is one line)."""
    from core.settings import load_inert_settings

    llm: dict[str, Any] = {"backend": "rules" if agent == "sma" else agent}
    if cassette is not None:
        llm["cassette"] = cassette
    backtest = {k: v for k, v in {"seed": seed, "fee_pct": fees, "slippage_bps": slippage_bps,
                                  "initial_cash": cash}.items() if v is not None}
    return load_inert_settings(config, llm=llm, backtest=backtest)


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
    return Progress(*columns, console=Console(stderr=True), transient=True)  # stdout keeps only the summary


def print_summary(result: BacktestResult, as_json: bool = False) -> None:
    from backtests.summary import summary_json, summary_lines

    if as_json:
        typer.echo(json.dumps(summary_json(result.metrics, result.run.path, result.run.report_path), indent=2))
        return
    for line in summary_lines(result.metrics, result.run.path, result.run.report_path):
        typer.echo(line)
