"""Backtest runs for the dashboard: the list with each run's headline numbers, a comparison, one run's view.

Runs are read through ``backtests.rundir`` (the same run directories ``tradewake runs`` lists) and
``backtests.report`` (the same view ``report.html`` renders). A run's view is cached while its
``metrics.json`` is unchanged: a finished run never changes, and a re-run at the same path rewrites it.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backtests.report.compare import COMPARED, excess_pct
from backtests.report.files import read_bars_csv
from backtests.report.view import BARS, RunView, load_run_view
from backtests.rundir import RunDir, list_runs
from core.errors import ConfigError
from core.settings import Settings

__all__ = ["COMPARED", "RunRow", "ViewCache", "equity_from_start", "find_run", "run_rows"]

CACHED_VIEWS = 4


@dataclass(frozen=True, slots=True)
class RunRow:
    """One line of the runs list: who, what, when, and the numbers to compare."""

    run_id: str
    facts: dict[str, Any]
    performance: dict[str, Any]
    agent: dict[str, Any]

    @property
    def excess_pct(self) -> float | None:
        return excess_pct(self.performance)


def run_rows(runs_dir: Path) -> list[RunRow]:
    """Every run under ``runs_dir``, newest first."""
    rows = []
    for run in reversed(list_runs(runs_dir)):
        metrics = run.metrics() or {}
        rows.append(RunRow(run.name, metrics.get("run", {}), metrics.get("performance", {}), metrics.get("agent", {})))
    return rows


def find_run(runs_dir: Path, run_id: str) -> RunDir:
    """A run by id, only under ``runs_dir`` (a page never opens a path it was handed)."""
    if "/" in run_id or "\\" in run_id or run_id in ("", ".", ".."):
        raise ConfigError(f"no run {run_id!r}")
    return RunDir.find(run_id, runs_dir)


def equity_from_start(run: RunDir) -> list[dict[str, float]]:
    """The run's equity as % change from its start, per bar (for overlaying runs of different sizes)."""
    path = run.path / BARS
    if not path.is_file():
        return []
    bars = read_bars_csv(path)
    first = bars.equity[0] if bars.equity else 0.0
    return [{"time": int(t.timestamp()), "value": round((e / first - 1) * 100, 6) if first else 0.0}
            for t, e in zip(bars.times, bars.equity, strict=True)]  # fmt: skip


class ViewCache:
    """The last few run views, keyed by run directory and the modification time of its metrics."""

    def __init__(self, settings: Settings, size: int = CACHED_VIEWS) -> None:
        self._settings = settings
        self._size = size
        self._views: OrderedDict[tuple[Path, int], RunView] = OrderedDict()

    def get(self, run: RunDir) -> RunView:
        key = (run.path.resolve(), run.metrics_path.stat().st_mtime_ns if run.metrics_path.is_file() else 0)
        if key in self._views:
            self._views.move_to_end(key)
            return self._views[key]
        view = load_run_view(run, namespace=self._settings.store.namespace, learner=self._settings.learner)
        self._views[key] = view
        while len(self._views) > self._size:
            self._views.popitem(last=False)
        return view
