"""``RunView``: everything a run's page shows, assembled once from the run directory.

``build_run_view`` is pure (metrics, trades, bars and the journal's contents in, a view out);
``load_run_view`` reads them from a run directory. Old runs without ``bars.csv`` or the newer metrics
still load: what is missing shows as ``—`` and the charts say why they are absent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from backtests.report import fmt
from backtests.report.chart import chart_data
from backtests.report.files import Bars, TradeRow, read_bars_csv, read_trades_csv
from backtests.report.journal import LearnerScope, RunJournal, read_run_journal
from backtests.report.timeline import DecisionLine, VetoRow, veto_rows
from backtests.rundir import RunDir
from core.settings import LearnerSettings

BARS = "bars.csv"
TRADES = "trades.csv"


@dataclass(frozen=True, slots=True)
class Card:
    label: str
    value: str
    sub: str = ""
    tone: str = "flat"
    """``pos``, ``neg`` or ``flat``: the colour of the value."""


@dataclass(frozen=True, slots=True)
class MonthRow:
    year: int
    months: tuple[float | None, ...]
    """Twelve cells, January first; ``None`` where the run has no bar."""
    total: float


@dataclass(frozen=True)
class RunView:
    run_id: str
    title: str
    facts: dict[str, Any]
    performance: dict[str, Any]
    agent: dict[str, Any]
    cards: list[Card]
    trades: list[TradeRow]
    open_positions: list[TradeRow]
    monthly: list[MonthRow]
    decisions: list[DecisionLine]
    vetoes: list[VetoRow]
    memory: list[dict[str, Any]]
    learner: list[LearnerScope]
    chart: dict[str, Any] | None
    blocked_wakes: int = 0
    notes: list[str] = field(default_factory=list)
    """Things a reader must know about this view (e.g. an old run without per-bar data)."""

    @property
    def exit_reasons_seen(self) -> set[str]:
        return {t.exit_reason for t in self.trades}

    def held_at_end(self, trade: TradeRow) -> float | None:
        """Seconds an open position had been held when the run ended."""
        end = self.performance.get("end")
        return (datetime.fromisoformat(end) - trade.opened_at).total_seconds() if end else None

    @property
    def acted(self) -> list[DecisionLine]:
        """Decisions that did something (a trade, a veto, an error or a memory update)."""
        return [d for d in self.decisions if d.kind != "quiet" or d.memory_update is not None]


def load_run_view(run: RunDir, *, namespace: str, learner: LearnerSettings, bars: Bars | None = None,
                  quiet_lines: int | None = None) -> RunView:  # fmt: skip
    """Read a run directory (metrics, trades, bars, its store) into a ``RunView``. ``bars``: the run's bars as
    ``bars.csv`` holds them, when the caller has them in memory (the run that just wrote the file): not read back.
    ``quiet_lines``: a report's cap of quiet lines; the decisions it leaves out are read in outline
    (``read_run_journal``)."""
    from store.sqlite_store import SqliteStore

    store = SqliteStore(run.store_path, namespace=namespace)
    try:
        journal = read_run_journal(store, learner, quiet_lines=quiet_lines)
    finally:
        store.close()
    return build_run_view(run.name, run.metrics() or {}, _trades(run.path / TRADES), run.path / BARS, journal,
                          bars=bars)


def _trades(path: Path) -> list[TradeRow]:
    return read_trades_csv(path) if path.is_file() else []


def build_run_view(run_id: str, metrics: dict[str, Any], trades: list[TradeRow], bars_path: Path,
                   journal: RunJournal, *, bars: Bars | None = None) -> RunView:  # fmt: skip
    perf, agent, facts = metrics.get("performance", {}), metrics.get("agent", {}), metrics.get("run", {})
    decisions = journal.decisions
    notes = []
    chart = None
    if bars is not None or bars_path.is_file():  # a portfolio's price line is its basket (100 at the start): no
        stops = [] if facts.get("symbols") else journal.stops  # market's stop fits it
        chart = chart_data(bars if bars is not None else read_bars_csv(bars_path), trades, stops, decisions)
    else:
        notes.append("This run was written before per-bar data (bars.csv) was kept: no charts.")
    return RunView(
        run_id=run_id,
        title=_title(facts, run_id),
        facts=facts,
        performance=perf,
        agent=agent,
        cards=headline_cards(perf, agent, facts),
        trades=[t for t in trades if not t.is_open],
        open_positions=[t for t in trades if t.is_open],
        monthly=monthly_rows(perf.get("monthly_returns_pct", {})),
        decisions=decisions,
        vetoes=veto_rows(decisions),
        memory=journal.memory,
        learner=journal.learner,
        chart=chart,
        blocked_wakes=len(journal.blocked_wakes),
        notes=notes,
    )


def _title(facts: dict[str, Any], run_id: str) -> str:
    if not facts:
        return run_id
    return (f"{facts.get('symbol', '?')} {facts.get('timeframe', '')} · {fmt.day(facts.get('first_candle'))} to "
            f"{fmt.day(facts.get('last_candle'))} · {facts.get('agent', '?')} agent")  # fmt: skip


def headline_cards(perf: dict[str, Any], agent: dict[str, Any], facts: dict[str, Any]) -> list[Card]:
    """The numbers a trader looks at first, each against what it should be compared with."""
    ret, hold = perf.get("total_return_pct"), perf.get("buy_and_hold_return_pct")
    beat = None if ret is None or hold is None else ret - hold
    open_count = perf.get("open_positions") or 0
    initial = facts.get("initial_cash") or perf.get("initial_equity")
    fees = perf.get("fees")
    fees_share = float(fees) / float(initial) * 100 if fees not in (None, "") and initial else None
    market = "an equal-weight basket" if facts.get("symbols") else str(facts.get("symbol", "the market")).split("/")[0]
    return [
        Card("Return", fmt.signed_pct(ret), f"final equity {fmt.money(perf.get('final_equity'))}", fmt.tone(ret)),
        Card("vs buy & hold", "—" if beat is None else f"{fmt.signed(beat)} pp",
             f"holding {market}: {fmt.signed_pct(hold)}", fmt.tone(beat)),
        Card("CAGR", fmt.signed_pct(perf.get("cagr_pct")), "annualised", fmt.tone(perf.get("cagr_pct"))),
        Card("Sharpe", fmt.num(perf.get("sharpe")), "annualised, risk-free 0"),
        Card("Sortino", fmt.num(perf.get("sortino")), "downside risk only"),
        Card("Max drawdown", fmt.pct(-(perf.get("max_drawdown_pct") or 0.0)) if "max_drawdown_pct" in perf else "—",
             f"longest under water {fmt.days(perf.get('max_drawdown_duration_days'))}", "neg"),
        Card("Calmar", fmt.num(perf.get("calmar")), "CAGR / max drawdown"),
        Card("Trades", fmt.count(perf.get("trades")),
             f"+ {open_count} still open at the end" if open_count else "none left open at the end"),
        Card("Win rate", fmt.pct(perf.get("win_rate_pct"), 1), _profit_factor(perf)),
        Card("Exposure", fmt.pct(perf.get("exposure_pct"), 1), "of bars with a position open"),
        Card("Fees", fmt.money(fees), f"{fmt.pct(fees_share)} of the initial equity" if fees_share is not None else ""),
        Card("LLM", fmt.usd(agent.get("cost_usd")),
             f"{fmt.count(agent.get('llm_calls'))} calls · {fmt.tokens(_tokens(agent))} tokens"),
    ]  # fmt: skip


def _profit_factor(perf: dict[str, Any]) -> str:
    factor = perf.get("profit_factor")
    if factor is None:
        return "no losing trade" if perf.get("trades") else "no trade"
    return f"profit factor {fmt.num(factor)}"


def _tokens(agent: dict[str, Any]) -> int | None:
    keys = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")
    if not any(k in agent for k in keys):
        return None
    return sum(int(agent.get(k) or 0) for k in keys)


def monthly_rows(monthly: dict[str, float]) -> list[MonthRow]:
    """Monthly returns as a year x month grid, each year's total compounded from its months."""
    years: dict[int, list[float | None]] = {}
    for key, value in sorted(monthly.items()):
        year, month = (int(part) for part in key.split("-"))
        years.setdefault(year, [None] * 12)[month - 1] = value
    return [MonthRow(year, tuple(cells), _compound(cells)) for year, cells in years.items()]


def _compound(cells: list[float | None]) -> float:
    growth = math.prod(1 + c / 100 for c in cells if c is not None)
    return (growth - 1) * 100
