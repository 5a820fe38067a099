"""Replay candles through the one ``Engine`` with the simulated clock and exchange, and write a run directory.

A thin driver: ``engine.wiring.build_run`` assembles the backtest (simulated clock and exchange, the run's
SQLite store, the engine, the gate's warm-up); this module picks the candles, steps them
(``engine.replay.CandleReplay``), records equity and wakes per candle, and writes the results. The first
``warmup`` candles only feed the gate's baselines and the exchange's last price (a live start preloads
that much history); nothing trades on them.

Same inputs and seed -> byte-identical ``metrics.json`` (no wall-clock time or path is in it).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from backtests.anonymize import Disguise
from backtests.bars import BarRecorder
from backtests.data import BacktestData
from backtests.markets import backtest_markets
from backtests.metrics import PerformanceMetrics, compute_metrics
from backtests.outputs import write_run_outputs
from backtests.portfolio import check_markets, market_stats, portfolio_facts
from backtests.rundir import RunDir, write_metrics
from backtests.stats import AgentStats, RunRecorder
from core.ids import Symbol
from core.money import MarketRules
from core.ports import Store
from core.settings import Settings
from core.timeframes import timeframe_seconds
from core.types import ClosedTrade
from engine.replay import CandleReplay, Progress
from engine.runs import Replay, ReplaySeries, Run
from engine.wiring import AgentChoice, backtest_settings, build_run
from store.sqlite_store import SqliteStore

_log = logging.getLogger(__name__)


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
    exact: bool = False
    """Step every candle through the engine (the oracle) instead of only those where something can happen."""
    eager_regime: bool = False
    """Read the regime at every step, as a live run does (the oracle of ``tests/backtests/test_regime_on_demand.py``),
    instead of only when something asks for it (same values, fewer weekly model fits)."""
    more: tuple[BacktestData, ...] = ()
    """Further markets replayed with ``data`` through the same engine and account (a portfolio: one timeframe,
    one quote asset; ``backtests.portfolio``)."""
    run_id: str = ""
    """The id the run will have when ``run_dir`` is a staging directory moved into place at the end (the CLI's):
    the report names the run by it, not by the staging directory's name."""

    @property
    def markets(self) -> tuple[BacktestData, ...]:
        return (self.data, *self.more)


@dataclass(frozen=True)
class BacktestResult:
    run: RunDir
    performance: PerformanceMetrics
    agent: AgentStats
    metrics: dict[str, Any]
    trades: list[ClosedTrade]


async def run_backtest(request: BacktestRequest, progress: Progress | None = None) -> BacktestResult:
    settings, markets = backtest_settings(request.settings), request.markets
    check_markets(markets, anonymized=request.disguise is not None)
    run_dir = RunDir.create(request.run_dir, request.run_id or None)
    rules: dict[Symbol, MarketRules] = {}
    facts: dict[str, dict[str, str]] = {}
    series = []
    for data in markets:
        warmup, candles = _split(data, request.warmup)
        market_rules, facts[data.symbol] = backtest_markets(settings, data, request.disguise)
        rules.update(market_rules)
        series.append(ReplaySeries(data.symbol, data.all_candles, warmup, candles))
    replay = Replay(tuple(series), request.data.timeframe, run_dir.store_path, rules, exact=request.exact,
                    eager_regime=request.eager_regime)
    run = await build_run(settings, replay, agent=request.agent)
    engine_closed = False
    try:
        recorder = RunRecorder()
        bars = BarRecorder(run.feed.timeline, run.feed.exchange, settings.exchange.quote, recorder)
        await run.feed.run(bars, progress)
        bars.into(recorder)
        recorder.open_at_end = run.engine.safety.positions()
        await run.engine.close()
        engine_closed = True
        journal = _journal_facts(run.store)
        fees = run.feed.fees()
        fees_by_market = {str(data.symbol): run.feed.fees(data.symbol) for data in request.markets}
    except BaseException as failure:  # a failure, Ctrl-C (backtests.interrupt) or a cancellation: closed all the same
        await _close_after(failure, run, engine_closed=engine_closed)
        raise
    await run.close()
    by_market = _by_market(request, bars, recorder, fees_by_market, facts) if request.more else None
    market_facts = facts[request.data.symbol] if not request.more else {}
    return _finish(request, run_dir, recorder, journal, fees=fees, facts=market_facts, by_market=by_market)


async def _close_after(failure: BaseException, run: Run[CandleReplay], *, engine_closed: bool) -> None:
    """Close a run that failed or was stopped, as a finished one is closed: the engine (the gate's statistics saved
    in the store, the agent's connections closed), then what the run opened (the store, its last batch flushed).

    ``failure`` is what the caller raises: a close that fails too must not take its place. Each such failure is
    added to ``failure`` as a note (shown with its traceback, ``TRADEWAKE_DEBUG=1``) and logged (one line on stderr
    from the CLI, where logging is not configured), and the next close is still tried."""
    closes = [("the engine", run.engine.close)] if not engine_closed else []
    for what, close in [*closes, ("the run's store", run.close)]:
        try:
            await close()
        except Exception as also:  # noqa: BLE001 - reported on the failure the caller raises, not swallowed
            said = f"closing {what} after {type(failure).__name__} also failed: {type(also).__name__}: {also}"
            failure.add_note(said)
            _log.error("%s", said)


def _by_market(request: BacktestRequest, bars: BarRecorder, recorder: RunRecorder, fees: dict[str, Decimal],
               facts: dict[str, dict[str, str]]) -> dict[str, dict[str, Any]]:  # fmt: skip
    return market_stats(request.markets, bars, recorder.trades, open_positions=recorder.open_positions(), fees=fees,
                        rules_facts=facts)  # fmt: skip


def _split(data: BacktestData, warmup: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Warm-up candles (from the history before the window when there is enough, else the window's
    first ones) and the candles to trade on."""
    if len(data.history) >= warmup:
        history = data.history.iloc[len(data.history) - warmup :] if warmup else data.history.iloc[:0]
        return history, data.candles
    if len(data.candles) <= warmup + 1:
        raise ValueError(f"{len(data.candles)} candles do not cover the warm-up of {warmup} and leave some to trade")
    return data.candles.iloc[:warmup], data.candles.iloc[warmup:]


@dataclass(frozen=True)
class _JournalFacts:
    breaker_openings: int
    cache_check: dict[str, Any] | None
    alerts: int


def _journal_facts(store: Store) -> _JournalFacts:
    """What the run's journal says: LLM breaker openings, the prompt-cache check at start-up, the alerts raised
    (journaled, never sent: a backtest has no notifiers). Only those kinds are read back from a SQLite store."""
    kinds = ["llm_breaker", "llm.cache_check", "alert.raised"]
    events = store.read_journal_kinds(kinds) if isinstance(store, SqliteStore) else store.read_journal()
    openings = sum(1 for e in events if e.kind == "llm_breaker" and e.payload.get("to") == "open")
    checks = [e.payload for e in events if e.kind == "llm.cache_check"]
    alerts = sum(1 for e in events if e.kind == "alert.raised")
    return _JournalFacts(openings, checks[-1] if checks else None, alerts)


def _finish(
    request: BacktestRequest, run: RunDir, recorder: RunRecorder, journal: _JournalFacts, *, fees: Decimal,
    facts: dict[str, str], by_market: dict[str, dict[str, Any]] | None = None,
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
    agent = recorder.agent_stats(journal.breaker_openings, journal.cache_check)
    metrics = {
        "performance": performance.model_dump(mode="json"),
        "agent": agent.model_dump(mode="json"),
        "run": {**_run_facts(request), **facts},
        "open_positions": [p.model_dump(mode="json") for p in open_positions],
        "alerts": {"raised": journal.alerts, "sent": 0},
    }
    if by_market is not None:
        metrics["markets"] = by_market
    write_metrics(run, metrics)
    write_run_outputs(run, request.title, metrics, recorder, request.settings)
    return BacktestResult(run, performance, agent, metrics, list(recorder.trades))


def _run_facts(request: BacktestRequest) -> dict[str, Any]:
    settings, data = request.settings, request.data
    named = portfolio_facts(request.markets) if request.more else {
        "symbol": data.symbol,
        "timeframe": data.timeframe,
        "data": data.source,
        "data_sha256": data.digest,
        "first_candle": data.start.isoformat(),
        "last_candle": data.end.isoformat(),
        "candles": len(data.candles),
    }
    return {
        **named,
        "timeframe": data.timeframe,
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
