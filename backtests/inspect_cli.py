"""``tradewake runs list|show``, ``tradewake decisions RUN``, ``tradewake memory RUN``.

RUN is a backtest run id (a directory under ``backtest.runs_dir``), a run directory's path, or ``live``
for the store the settings name (the one live runners, the dashboard and the operator share).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from core.errors import ConfigError

if TYPE_CHECKING:  # the run store, settings and reports load when a command runs, not when the CLI starts
    from backtests.rundir import RunDir
    from core.ports import Store
    from core.settings import Settings

runs_app = typer.Typer(help="Backtest runs: list them, show one's metrics.", no_args_is_help=True)
console = Console()

ConfigOption = Annotated[Path | None, typer.Option("--config", "-c", help="TOML settings file.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]
RunArgument = Annotated[str, typer.Argument(help="Run id, run directory, or 'live' (the configured store).")]
RunsDirOption = Annotated[
    Path | None, typer.Option("--runs-dir", help="Where backtest runs are (default: backtest.runs_dir).")
]


def _runs_dir(settings: Settings, given: Path | None) -> Path:
    return given if given is not None else settings.backtest.runs_dir


@contextmanager
def open_run_store(run: str, settings: Settings, runs_dir: Path) -> Iterator[Store]:
    """The store a run wrote to, opened read-mostly for inspection and closed afterwards."""
    from backtests.rundir import RunDir

    if run == "live":
        from store.factory import open_store

        store: Store = open_store(settings.store, create=False)
    else:
        from store.sqlite_store import SqliteStore

        store = SqliteStore(RunDir.find(run, runs_dir).store_path, namespace=settings.store.namespace)
    try:
        yield store
    finally:
        store.close()


@runs_app.command("list")
def runs_list(config: ConfigOption = None, runs_dir: RunsDirOption = None, as_json: JsonOption = False) -> None:
    """Every backtest run with its headline numbers."""
    from backtests.rundir import list_runs
    from core.settings import load_inert_settings

    settings = load_inert_settings(config)
    rows = [_summary(run) for run in list_runs(_runs_dir(settings, runs_dir))]
    if as_json:
        console.print_json(json.dumps(rows))
        return
    if not rows:
        console.print(f"no runs in {_runs_dir(settings, runs_dir)} yet (run: tradewake backtest)")
        return
    table = Table("run", "status", "data", "agent", "decided by", "return %", "max DD %", "trades", "decisions",
                  "cost $")
    for row in rows:
        table.add_row(*(str(row[k]) for k in ("run", "status", "data", "agent", "decided_by", "return_pct",
                                                "max_dd_pct", "trades", "decisions", "cost_usd")))
    console.print(table)


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
        console.print_json(json.dumps(metrics))
        return
    for section in ("performance", "agent", "run"):
        table = Table(section, "value")
        for key, value in metrics[section].items():
            table.add_row(key, json.dumps(value) if isinstance(value, dict) else str(value))
        console.print(table)
    console.print(f"report: {found.report_path}", markup=False)


def decisions_cmd(  # noqa: PLR0917 - typer maps each option to one parameter
    run: RunArgument,
    vetoed: Annotated[bool, typer.Option("--vetoed", help="Only decisions with a vetoed tool call.")] = False,
    tool: Annotated[str | None, typer.Option("--tool", help="Only decisions that called this tool.")] = None,
    last: Annotated[int | None, typer.Option("--last", min=1, help="Only the latest N matching decisions.")] = None,
    config: ConfigOption = None,
    runs_dir: RunsDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """The agent's decisions: wake reason, tool calls with arguments and results, vetoes, reasoning, cost."""
    from core.settings import load_inert_settings
    from engine.inspection import DecisionFilter, decision_json, decision_lines, decisions

    settings = load_inert_settings(config)
    with open_run_store(run, settings, _runs_dir(settings, runs_dir)) as store:
        chosen = decisions(store, DecisionFilter(vetoed_only=vetoed, tool=tool, limit=last))
    if as_json:
        console.print_json(json.dumps([decision_json(seq, record) for seq, record in chosen]))
        return
    for seq, record in chosen:
        for line in decision_lines(seq, record):
            console.print(line, markup=False, highlight=False)
    console.print(f"{len(chosen)} decision(s)", style="dim")


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
        console.print_json(json.dumps(history))
        return
    if not history:
        console.print("the agent never wrote to its memory in this run")
    for note in history:
        flag = " (secret redacted)" if note["redacted"] else ""
        console.print(f"v{note['version']} {note['updated_at']}{flag}\n  {note['text']}", markup=False)


def _summary(run: RunDir) -> dict[str, Any]:
    """One row of ``runs list``; a run with damaged or missing metrics is listed as such, never an error."""
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
        "data": f"{facts.get('symbol', '?')} {facts.get('timeframe', '?')}",
        "agent": facts.get("agent", "?"),
        "decided_by": ", ".join(f"{k} {v}" for k, v in agent.get("decided_by", {}).items()) or "?",
        "return_pct": perf.get("total_return_pct"),
        "max_dd_pct": perf.get("max_drawdown_pct"),
        "trades": perf.get("trades"),
        "decisions": agent.get("decisions"),
        "cost_usd": agent.get("cost_usd"),
    }
