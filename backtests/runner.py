"""Replay candles through the one ``Engine`` with the simulated clock and exchange, and write a run directory.

Per candle: the clock moves to its open and the simulated exchange sees the bar (pending market orders
fill at the open, stops and take-profits trigger on the range), then the clock moves to its close and
the engine steps on ``CandleClosed``. The first ``warmup`` candles only feed the gate's baselines and
the exchange's last price (a live start preloads that much history); nothing trades on them.

Same inputs and seed -> byte-identical ``metrics.json`` (no wall-clock time or path is in it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from backtests.anonymize import Disguise
from backtests.data import BacktestData
from backtests.metrics import PerformanceMetrics, compute_metrics
from backtests.rundir import RunDir, write_metrics, write_run_outputs
from backtests.stats import AgentStats, RunRecorder
from core.settings import Settings
from core.timeframes import timeframe_seconds
from core.types import Candle, ClosedTrade
from engine.engine import Engine, StepReport
from engine.events import CandleClosed
from engine.wiring import AgentChoice, Core, SimParts, build_engine, market_for, sim_markets, sim_parts
from market.builder import Market
from market.candles import frame_to_candles
from safety.reconcile import equity as account_equity
from store.sqlite_store import SqliteStore

Progress = Callable[[int, int], None]
"""``progress(done, total)`` after every candle."""


@dataclass(frozen=True)
class BacktestRequest:
    settings: Settings
    data: BacktestData
    run_dir: Path
    agent: AgentChoice = field(default_factory=AgentChoice)
    warmup: int = 288
    title: str = ""
    disguise: Disguise | None = None
    """Set when ``data`` is an anonymized copy (``backtests.anonymize``)."""


@dataclass(frozen=True)
class BacktestResult:
    run: RunDir
    performance: PerformanceMetrics
    agent: AgentStats
    metrics: dict[str, Any]
    trades: list[ClosedTrade]


async def run_backtest(request: BacktestRequest, progress: Progress | None = None) -> BacktestResult:
    settings, data = request.settings, request.data
    warmup, candles = _split(data, request.warmup)
    run = RunDir.create(request.run_dir)
    rules = sim_markets(settings, settings.backtest.fee_pct)
    if request.disguise is not None and request.disguise.real_symbol in rules:
        rules[request.disguise.symbol] = request.disguise.rules(rules[request.disguise.real_symbol])
    if data.symbol not in rules:
        raise ValueError(f"the simulated exchange has no market {data.symbol}; it lists {', '.join(rules)}")
    parts = sim_parts(settings, (warmup or candles)[0].open_at, rules)
    store = SqliteStore(run.store_path, namespace=settings.store.namespace, durable=False)
    try:
        market = market_for(data.symbol, data.all_candles, data.timeframe)
        engine = await _engine(settings, parts, store, market, request)
        recorder = RunRecorder()
        _warm_up(engine, parts, warmup)
        await _replay(engine, parts, candles, recorder, progress)
        await engine.close()
        journal = _journal_facts(store)
    finally:
        store.close()
    return _finish(request, run, recorder, journal, fees=_fees(parts))


async def _engine(
    settings: Settings, parts: SimParts, store: SqliteStore, market: Market, request: BacktestRequest
) -> Engine:
    core = Core(
        settings=settings,
        clock=parts.clock,
        broker=parts.broker,
        store=store,
        market=market,
        rules=parts.venue.markets(),
        initial_equity=Decimal(str(settings.backtest.initial_cash)),
        seed=settings.backtest.seed,
    )
    return await build_engine(core, request.agent, gate_persist_every=1_000_000)


def _split(data: BacktestData, warmup: int) -> tuple[list[Candle], list[Candle]]:
    """Warm-up candles (from the history before the window when there is enough, else the window's
    first ones) and the candles to trade on."""
    if len(data.history) >= warmup:
        history = data.history.iloc[len(data.history) - warmup :] if warmup else data.history.iloc[:0]
        return frame_to_candles(history, data.symbol, data.timeframe), frame_to_candles(
            data.candles, data.symbol, data.timeframe)
    candles = frame_to_candles(data.candles, data.symbol, data.timeframe)
    if len(candles) <= warmup + 1:
        raise ValueError(f"{len(candles)} candles do not cover the warm-up of {warmup} and leave some to trade")
    return candles[:warmup], candles[warmup:]


def _warm_up(engine: Engine, parts: SimParts, candles: list[Candle]) -> None:
    for candle in candles:
        parts.clock.advance_to(candle.open_at)
        parts.venue.on_candle(candle)
    engine.gate.warm_up(candles)


async def _replay(
    engine: Engine, parts: SimParts, candles: list[Candle], recorder: RunRecorder, progress: Progress | None
) -> None:
    quote = engine.safety.quote_asset
    for done, candle in enumerate(candles, start=1):
        report = await feed_candle(engine, parts, candle)
        _record(recorder, report)
        price = Decimal(str(candle.close))
        equity = account_equity(parts.venue.balances(), {candle.symbol: price}, quote)
        in_position = any(p.quantity > 0 for p in parts.venue.positions([candle.symbol]))
        recorder.bar(report.at, equity, candle.close, in_position=in_position)
        if progress is not None:
            progress(done, len(candles))


async def feed_candle(engine: Engine, parts: SimParts, candle: Candle) -> StepReport:
    """One candle of a backtest: the exchange sees the bar at its open, the engine steps at its close."""
    parts.clock.advance_to(candle.open_at)
    parts.venue.on_candle(candle)
    close_at = candle.open_at + timedelta(seconds=timeframe_seconds(candle.timeframe))
    parts.clock.advance_to(close_at)
    return await engine.step(CandleClosed(at=close_at, candle=candle))


def _record(recorder: RunRecorder, report: StepReport) -> None:
    recorder.steps += 1
    recorder.trades.extend(report.closed)
    recorder.guard_errors += len(report.guard_errors)
    if report.wake is not None:
        recorder.wakes[report.wake.kind.value] += 1
    if report.blocked is not None:
        recorder.blocked += 1
    if report.decision is not None:
        recorder.decision(report.decision)


@dataclass(frozen=True)
class _JournalFacts:
    breaker_openings: int
    cache_check: dict[str, Any] | None


def _journal_facts(store: SqliteStore) -> _JournalFacts:
    """What the run's journal says about the LLM: breaker openings, the prompt-cache check at start-up."""
    events = store.read_journal()
    openings = sum(1 for e in events if e.kind == "llm_breaker" and e.payload.get("to") == "open")
    checks = [e.payload for e in events if e.kind == "llm.cache_check"]
    return _JournalFacts(openings, checks[-1] if checks else None)


def _fees(parts: SimParts) -> Decimal:
    return sum((fill.fee for fill in parts.venue.fills()), Decimal(0))


def _finish(
    request: BacktestRequest, run: RunDir, recorder: RunRecorder, journal: _JournalFacts, *, fees: Decimal
) -> BacktestResult:
    data = request.data
    performance = compute_metrics(
        recorder.times,
        recorder.equity,
        trades=recorder.trades,
        bar_seconds=timeframe_seconds(data.timeframe),
        bars_in_position=recorder.bars_in_position,
        fees=fees,
    )
    agent = recorder.agent_stats(journal.breaker_openings, journal.cache_check)
    metrics = {
        "performance": performance.model_dump(mode="json"),
        "agent": agent.model_dump(mode="json"),
        "run": _run_facts(request),
    }
    write_metrics(run, metrics)
    write_run_outputs(run, request.title or _title(request), metrics, recorder)
    return BacktestResult(run, performance, agent, metrics, list(recorder.trades))


def _run_facts(request: BacktestRequest) -> dict[str, Any]:
    settings, data = request.settings, request.data
    return {
        "symbol": data.symbol,
        "timeframe": data.timeframe,
        "data": data.source,
        "data_sha256": data.digest,
        "first_candle": data.start.isoformat(),
        "last_candle": data.end.isoformat(),
        "candles": len(data.candles),
        "warmup_candles": request.warmup,
        "agent": settings.llm.backend if request.agent.factory is None else "scripted",
        "model": settings.llm.model if settings.llm.backend in ("anthropic", "claude-code") else None,
        "seed": settings.backtest.seed,
        "fee_pct": settings.backtest.fee_pct,
        "slippage_bps": settings.backtest.slippage_bps,
        "initial_cash": settings.backtest.initial_cash,
        "market_type": settings.exchange.market_type,
        **(request.disguise.facts() if request.disguise else {"anonymized": False}),
        "look_ahead_warning": look_ahead_warning(settings.llm.backend, request),
    }


LLM_AGENTS = frozenset({"anthropic", "claude-code"})
"""Backends whose model may have seen the period: backtests anonymize for them by default."""


def look_ahead_warning(backend: str, request: BacktestRequest) -> str | None:
    """Said out loud in the summary and the metrics: a model shown real prices and dates may remember them."""
    if backend not in LLM_AGENTS or request.agent.factory is not None or request.disguise is not None:
        return None
    return ("not anonymized (--no-anonymize): the model sees real prices, dates and the symbol and may recognise "
            "the period; treat the result as optimistic")


def _title(request: BacktestRequest) -> str:
    data = request.data
    return f"tradewake backtest: {data.symbol} {data.timeframe} {data.start:%Y-%m-%d} to {data.end:%Y-%m-%d}"
