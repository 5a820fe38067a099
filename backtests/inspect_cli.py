"""``tradewake runs list|show|compare``, ``tradewake decisions RUN``, ``tradewake memory RUN``.

RUN is a backtest run id (a directory under ``backtest.runs_dir``), a run directory's path, or ``live``
for the store the settings name (the one live runners, the dashboard and the operator share).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from core.errors import ConfigError
from core.json_output import print_json

if TYPE_CHECKING:  # the run store, settings and reports load when a command runs, not when the CLI starts
    from backtests.report.timeline import DecisionLine
    from backtests.rundir import RunDir
    from core.ports import Store
    from core.settings import Settings
    from core.types import DecisionRecord

runs_app = typer.Typer(help="Backtest runs: list them, show one's metrics, compare several.", no_args_is_help=True)
console = Console()


ConfigOption = Annotated[Path | None, typer.Option("--config", "-c", help="TOML settings file.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]
RunArgument = Annotated[
    str, typer.Argument(metavar="RUN", help="Run id, run directory, or 'live' (the configured store).")
]
RunsDirOption = Annotated[
    Path | None, typer.Option("--runs-dir", help="Where backtest runs are (default: backtest.runs_dir).")
]


def _runs_dir(settings: Settings, given: Path | None) -> Path:
    return given if given is not None else settings.backtest.runs_dir


@contextmanager
def open_run_store(run: str, settings: Settings, runs_dir: Path) -> Iterator[Store]:
    """The store a run wrote to (or, for ``live``, the configured one), opened for inspection and closed
    afterwards; never a new one."""
    from store.factory import open_store
    from store.runs import inspected_store

    store = open_store(inspected_store(settings.store, run, runs_dir), create=False)
    try:
        yield store
    finally:
        store.close()


@runs_app.command("list")
def runs_list(config: ConfigOption = None, runs_dir: RunsDirOption = None, as_json: JsonOption = False) -> None:
    """Every backtest run: period, the agent that decided, return against buy-and-hold, Sharpe, drawdown, cost."""
    from backtests.rundir import list_runs
    from core.settings import load_inert_settings

    settings = load_inert_settings(config)
    rows = [_summary(run) for run in list_runs(_runs_dir(settings, runs_dir))]
    if as_json:
        print_json(console, rows)
        return
    if not rows:
        console.print(f"no runs in {_runs_dir(settings, runs_dir)} yet (run: tradewake backtest)", markup=False)
        return
    console.print(_runs_table(rows), markup=False, highlight=False, soft_wrap=True)


def _runs_table(rows: list[dict[str, Any]]) -> str:
    from backtests.report import fmt

    header = ("run", "market", "period", "agent", "return", "buy & hold", "Sharpe", "max DD", "trades", "LLM cost")
    lines = [
        (row["run"], row["data"] or fmt.MISSING,
         f"{fmt.day(row['start'])} → {fmt.day(row['end'])}" if row["status"] == "complete" else row["status"],
         row["decided_by"] or fmt.MISSING, fmt.signed_pct(row["return_pct"]), fmt.signed_pct(row["buy_and_hold_pct"]),
         fmt.num(row["sharpe"]), fmt.pct(row["max_dd_pct"]), fmt.count(row["trades"]), fmt.usd(row["cost_usd"]))
        for row in rows
    ]  # fmt: skip
    return text_table(header, lines, right_from=4)


def text_table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]], right_from: int) -> str:
    """Plain aligned columns (numbers right-aligned from column ``right_from``): read the same in a terminal,
    a pipe or a log, never wrapped to the terminal's width."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]

    def line(cells: tuple[str, ...]) -> str:
        paired = enumerate(zip(cells, widths, strict=True))
        return "  ".join(str(c).rjust(w) if i >= right_from else str(c).ljust(w) for i, (c, w) in paired).rstrip()

    return "\n".join([line(header), *(line(r) for r in rows)])


@runs_app.command("compare")
def runs_compare(
    runs: Annotated[list[str], typer.Argument(metavar="RUN...", help="Two or more run ids or run directories.")],
    config: ConfigOption = None,
    runs_dir: RunsDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Runs side by side: return against buy-and-hold, risk, trades, the agent and its cost."""
    from backtests.rundir import RunDir
    from core.settings import load_inert_settings

    if len(runs) < 2:
        raise typer.BadParameter("name two or more runs to compare", param_hint="RUNS")
    settings = load_inert_settings(config)
    found = [RunDir.find(run, _runs_dir(settings, runs_dir)) for run in runs]
    metrics = {run.name: _complete_metrics(run) for run in found}
    if as_json:
        print_json(console, metrics)
        return
    console.print(_compare_table(metrics), markup=False, highlight=False, soft_wrap=True)


def _complete_metrics(run: RunDir) -> dict[str, Any]:
    metrics = run.metrics()
    if metrics is None:
        raise ConfigError(f"run {run.name} has no metrics.json (interrupted or still running): nothing to compare")
    return metrics


def _compare_table(metrics: dict[str, dict[str, Any]]) -> str:
    from backtests.report import fmt
    from backtests.report.compare import AGENT_COMPARED, COMPARED, decided_by

    sections = list(metrics.values())
    rows = [
        ("market", *(f"{m['run'].get('symbol', '?')} {m['run'].get('timeframe', '?')}" for m in sections)),
        ("from", *(fmt.day(m["performance"].get("start")) for m in sections)),
        ("to", *(fmt.day(m["performance"].get("end")) for m in sections)),
        ("agent", *(decided_by(m["run"], m["agent"]) for m in sections)),
        *((label, *(fmt.by(m["performance"].get(key), shown) for m in sections)) for key, label, shown in COMPARED),
        *((label, *(fmt.by(m["agent"].get(key), shown) for m in sections)) for key, label, shown in AGENT_COMPARED),
        ("vetoes", *(fmt.count(sum((m["agent"].get("vetoes_by_code") or {}).values())) for m in sections)),
    ]
    return text_table(("", *metrics), rows, right_from=1)


@runs_app.command("show")
def runs_show(run: RunArgument, config: ConfigOption = None, runs_dir: RunsDirOption = None,
              as_json: JsonOption = False) -> None:
    """A run's metrics (performance, agent cost and behaviour, inputs) and where its report is."""
    from backtests.rundir import RunDir
    from core.settings import load_inert_settings

    settings = load_inert_settings(config)
    found = RunDir.find(run, _runs_dir(settings, runs_dir))
    metrics = found.metrics()
    if metrics is None:
        stopped = found.interrupted
        why = (f"it was interrupted after {stopped.get('candles_done', '?')} candles (its decisions: tradewake "
               f"decisions {run})" if stopped is not None else "did it finish?")
        raise ConfigError(f"run {run} has no metrics.json ({why})")
    if as_json:
        print_json(console, metrics)
        return
    from backtests.summary import open_position_lines

    lines = [_compare_table({found.name: metrics}), _inputs_line(metrics["run"]),
             *open_position_lines(metrics.get("open_positions", [])),
             f"report: {found.report_path}  (every number in full: --json)"]
    for line in lines:
        console.print(line, markup=False, highlight=False, soft_wrap=True)



DECISIONS_SHOWN = 30
"""``decisions RUN`` shows the latest this many (``--last N``, ``--all``): a long run has tens of thousands."""


def _inputs_line(facts: dict[str, Any]) -> str:
    """What was run: the data, the costs and the seed (every input in full: ``runs show RUN --json``)."""
    from backtests.report import fmt

    return (f"inputs: {facts.get('data', '?')}, {fmt.count(facts.get('candles'))} candles after "
            f"{fmt.count(facts.get('warmup_candles'))} of warm-up, cash {fmt.money(facts.get('initial_cash'))}, "
            f"fees {fmt.num(facts.get('fee_pct'))} %, slippage {fmt.num(facts.get('slippage_bps'), 1)} bps, "
            f"seed {facts.get('seed', '?')}")


def decisions_cmd(  # noqa: PLR0917 - typer maps each option to one parameter
    run: RunArgument,
    last: Annotated[
        int, typer.Option("--last", min=1, help=f"The latest N matching decisions (default {DECISIONS_SHOWN}).")
    ] = DECISIONS_SHOWN,
    show_all: Annotated[bool, typer.Option("--all", help="Every matching decision, not only the latest.")] = False,
    start: Annotated[str | None, typer.Option("--from", help="From this UTC date/time, inclusive.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Up to this UTC date/time, exclusive.")] = None,
    entries: Annotated[bool, typer.Option("--entries", help="Only decisions whose order went through.")] = False,
    vetoed: Annotated[bool, typer.Option("--vetoed", help="Only decisions with a vetoed tool call.")] = False,
    tool: Annotated[str | None, typer.Option("--tool", help="Only decisions that called this tool.")] = None,
    details: Annotated[
        bool, typer.Option("--details", help="Each decision in full: tool calls, results, reasoning.")
    ] = False,
    config: ConfigOption = None,
    runs_dir: RunsDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """The agent's decisions, one line each: time, why it woke, what it did (or the veto code), tokens, cost.

    The latest 30 by default (--last N, --all); --details or --json for the tool calls, results and
    reasoning behind each (--json keeps every number and the full text)."""
    from core.settings import load_inert_settings
    from engine.inspection import DecisionFilter, decision_json, matching_decisions
    from market.cli import parse_time

    keep = DecisionFilter(
        vetoed_only=vetoed, tool=tool, limit=None if show_all else last, entries_only=entries,
        start=parse_time(start, "--from") if start else None, end=parse_time(end, "--to") if end else None,
    )
    settings = load_inert_settings(config)
    with open_run_store(run, settings, _runs_dir(settings, runs_dir)) as store:
        chosen, matched = matching_decisions(store, keep)
    if as_json:
        print_json(console, [decision_json(seq, record) for seq, record in chosen])
        return
    _print_decisions(chosen, details)
    more = " (--all for every one, --last N for more)" if len(chosen) < matched else ""
    shown = f"the latest {len(chosen):,} of {matched:,}" if len(chosen) < matched else f"{matched:,}"
    console.print(f"{shown} decision(s){more}", style="dim", markup=False, highlight=False)


def _print_decisions(chosen: list[tuple[int, DecisionRecord]], details: bool) -> None:
    from backtests.report.timeline import decision_line
    from engine.inspection import decision_lines

    for seq, record in chosen:
        if details:
            for line in decision_lines(seq, record):
                console.print(line, markup=False, highlight=False, soft_wrap=True)
        else:
            console.print(decision_row(decision_line(seq, record)), markup=False, highlight=False, soft_wrap=True)


def decision_row(line: DecisionLine) -> str:
    """One decision on one line, for people: ``#812 2025-02-03 14:00 timer  long 10 % @ market  1.2k tok $0.01``."""
    from backtests.report import fmt

    return (f"#{line.seq:<6} {fmt.when(line.at)}  {line.wake:<16} {line.action:<40} "
            f"{fmt.tokens(line.tokens):>7} tok {fmt.usd(line.cost_usd):>8}")


def memory_cmd(
    run: RunArgument,
    last: Annotated[int, typer.Option("--last", min=1, help="How many versions, latest last.")] = 20,
    config: ConfigOption = None,
    runs_dir: RunsDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """The agent memory's history: every version of its note, with when it changed."""
    from core.settings import load_inert_settings
    from engine.inspection import memory_history

    settings = load_inert_settings(config)
    with open_run_store(run, settings, _runs_dir(settings, runs_dir)) as store:
        history = memory_history(store, last)
    if as_json:
        print_json(console, history)
        return
    if not history:
        console.print("the agent never wrote to its memory in this run")
    for note in history:
        flag = " (secret redacted)" if note["redacted"] else ""
        console.print(f"v{note['version']} {note['updated_at']}{flag}\n  {note['text']}", markup=False)


def _summary(run: RunDir) -> dict[str, Any]:
    """One row of ``runs list`` (full precision: the table rounds); a run with damaged or missing metrics is
    listed as such, never an error."""
    from backtests.report.compare import decided_by

    status = "complete"
    try:
        metrics = run.metrics() or {}
    except ConfigError:
        metrics, status = {}, "damaged metrics.json"
    if not metrics and status == "complete":
        status = "interrupted" if run.interrupted is not None else "no metrics"
    perf, agent, facts = metrics.get("performance", {}), metrics.get("agent", {}), metrics.get("run", {})
    return {
        "run": run.name,
        "status": status,
        "data": f"{facts.get('symbol', '?')} {facts.get('timeframe', '?')}" if facts else None,
        "start": perf.get("start"),
        "end": perf.get("end"),
        "agent": facts.get("agent", "?"),
        "decided_by": decided_by(facts, agent) if facts else None,
        "return_pct": perf.get("total_return_pct"),
        "buy_and_hold_pct": perf.get("buy_and_hold_return_pct"),
        "sharpe": perf.get("sharpe"),
        "max_dd_pct": perf.get("max_drawdown_pct"),
        "trades": perf.get("trades"),
        "decisions": agent.get("decisions"),
        "cost_usd": agent.get("cost_usd"),
    }
