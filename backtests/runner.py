"""Replay candles through the one ``Engine`` with the simulated clock and exchange, and write a run directory.

A thin driver: ``engine.wiring.build_run`` assembles the backtest (simulated clock and exchange, the run's
SQLite store, the engine, the gate's warm-up); this module picks the candles, steps them
(``engine.replay.CandleReplay``), records equity and wakes per candle, and writes the results. The first
``warmup`` candles only feed the gate's baselines and the exchange's last price (a live start preloads
that much history); nothing trades on them.

Same inputs and seed -> byte-identical ``metrics.json`` (no wall-clock time or path is in it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from backtests.anonymize import Disguise
from backtests.data import BacktestData
from backtests.markets import backtest_markets
from backtests.metrics import PerformanceMetrics, compute_metrics
from backtests.outputs import write_run_outputs
from backtests.rundir import RunDir, write_metrics
from backtests.stats import AgentStats, RunRecorder
from core.ports import Store
from core.settings import Settings
from core.timeframes import timeframe_seconds
from core.types import Candle, ClosedTrade
from engine.engine import StepReport
from engine.replay import CandleReplay
from engine.runs import Replay
from engine.wiring import AgentChoice, backtest_settings, build_run
from market.candles import frame_to_candles
from safety.reconcile import equity as account_equity

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
    settings, data = backtest_settings(request.settings), request.data
    warmup, candles = _split(data, request.warmup)
    run_dir = RunDir.create(request.run_dir)
    rules, rules_facts = backtest_markets(settings, data, request.disguise)
    replay = Replay(data.symbol, data.timeframe, data.all_candles, warmup, candles, run_dir.store_path, markets=rules)
    run = await build_run(settings, replay, agent=request.agent)
    try:
        recorder = RunRecorder()
        await _replay(run.feed, recorder, progress, settings.exchange.quote)
        recorder.open_at_end = run.engine.safety.positions()
        await run.engine.close()
        breaker_openings, alerts = _journal_counts(run.store)
    finally:
        await run.close()
    return _finish(request, run_dir, recorder, breaker_openings, fees=run.feed.fees(), facts=rules_facts,
                   alerts=alerts)


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


async def _replay(replay: CandleReplay, recorder: RunRecorder, progress: Progress | None, quote: str) -> None:
    exchange = replay.exchange
    for done, candle in enumerate(replay.candles, start=1):
        report = await replay.step(candle)
        _record(recorder, report)
        price = Decimal(str(candle.close))
        equity = account_equity(exchange.balances(), {candle.symbol: price}, quote)
        in_position = any(p.quantity > 0 for p in exchange.positions([candle.symbol]))
        recorder.bar(report.at, equity, candle.close, in_position=in_position)
        if progress is not None:
            progress(done, len(replay.candles))


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


def _journal_counts(store: Store) -> tuple[int, int]:
    """LLM breaker openings, and alerts raised (journaled, never sent: a backtest has no notifiers)."""
    events = store.read_journal()
    openings = sum(1 for e in events if e.kind == "llm_breaker" and e.payload.get("to") == "open")
    return openings, sum(1 for e in events if e.kind == "alert.raised")


def _finish(
    request: BacktestRequest, run: RunDir, recorder: RunRecorder, breaker_openings: int, *, fees: Decimal,
    facts: dict[str, str], alerts: int,
) -> BacktestResult:
    data = request.data
    open_positions = recorder.open_positions()
    performance = compute_metrics(
        recorder.times,
        recorder.equity,
        trades=recorder.trades,
        bar_seconds=timeframe_seconds(data.timeframe),
        bars_in_position=recorder.bars_in_position,
        fees=fees,
        closes=recorder.closes,
        open_positions=open_positions,
    )
    agent = recorder.agent_stats(breaker_openings)
    metrics = {
        "performance": performance.model_dump(mode="json"),
        "agent": agent.model_dump(mode="json"),
        "run": {**_run_facts(request), **facts},
        "open_positions": [p.model_dump(mode="json") for p in open_positions],
        "alerts": {"raised": alerts, "sent": 0},
    }
    write_metrics(run, metrics)
    write_run_outputs(run, request.title, metrics, recorder, request.settings)
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
    }
