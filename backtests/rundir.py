"""A backtest's run directory: what it writes, where, and how inspection finds runs again.

    runs/<run id>/
        metrics.json   performance (with buy-and-hold), agent cost and behaviour, the run's inputs, the positions
                       left open at the end (byte-identical per inputs)
        trades.csv     every closed trade, and every position still open at the end (status=open, marked to market)
        bars.csv       per bar close: the market's close and the account's equity (the report's charts)
        equity.png     equity curve;  price.png  price with entries and exits
        report.html    self-contained report (backtests/report: cards, interactive charts, trades, decisions ...)
        store.sqlite3  the run's store: hash-chained journal (wakes, tool calls, vetoes, orders, fills,
                       closes, learner updates, decisions), safety book, learner, gate, agent memory
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import ConfigError

if TYPE_CHECKING:
    from backtests.stats import RunRecorder
    from core.settings import Settings

METRICS = "metrics.json"
STORE = "store.sqlite3"


@dataclass(frozen=True)
class RunDir:
    path: Path

    @classmethod
    def create(cls, path: Path) -> RunDir:
        """A fresh directory: an earlier run at the same path is replaced, never mixed with this one."""
        if path.exists():
            if not (path / METRICS).is_file() and any(path.iterdir()):
                raise ConfigError(f"{path} exists and is not a tradewake run directory; choose another --out")
            shutil.rmtree(path)
        path.mkdir(parents=True)
        return cls(path)

    @classmethod
    def find(cls, run: str, runs_dir: Path) -> RunDir:
        """A run by id (a directory under ``runs_dir``) or by path."""
        for candidate in (runs_dir / run, Path(run)):
            if (candidate / STORE).is_file():
                return cls(candidate)
        known = ", ".join(r.path.name for r in list_runs(runs_dir)) or "none yet"
        raise ConfigError(f"no run {run!r} in {runs_dir} (runs: {known})")

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def metrics_path(self) -> Path:
        return self.path / METRICS

    @property
    def store_path(self) -> Path:
        return self.path / STORE

    @property
    def report_path(self) -> Path:
        return self.path / "report.html"

    def metrics(self) -> dict[str, Any] | None:
        if not self.metrics_path.is_file():
            return None
        loaded: dict[str, Any] = json.loads(self.metrics_path.read_text(encoding="utf-8"))
        return loaded


def list_runs(runs_dir: Path) -> list[RunDir]:
    """Every run directory under ``runs_dir``, oldest name first (run ids sort by time)."""
    if not runs_dir.is_dir():
        return []
    return [RunDir(p) for p in sorted(runs_dir.iterdir()) if (p / STORE).is_file()]


def write_metrics(run: RunDir, metrics: dict[str, Any]) -> None:
    run.metrics_path.write_text(json.dumps(metrics, sort_keys=True, indent=2) + "\n", encoding="utf-8")


def write_run_outputs(run: RunDir, title: str, metrics: dict[str, Any], recorder: RunRecorder,
                      settings: Settings) -> None:  # fmt: skip
    """Trades and bars CSV, both PNG charts and the HTML report (the metrics file is written first, by the runner).

    ``title`` replaces the report's own title (symbol, timeframe, period, agent) when not empty.
    """
    from backtests.report.files import write_bars_csv, write_trades_csv
    from backtests.report.plots import plot_equity, plot_price_with_trades
    from backtests.report.render import write_report

    symbol = str(metrics["run"]["symbol"])
    write_trades_csv(run.path / "trades.csv", recorder.trades, recorder.open_positions())
    write_bars_csv(run.path / "bars.csv", recorder.times, recorder.closes, recorder.equity)
    plot_equity(run.path / "equity.png", recorder.times, recorder.equity)
    plot_price_with_trades(run.path / "price.png", recorder.times, recorder.closes, recorder.trades, symbol)
    write_report(run, namespace=settings.store.namespace, learner=settings.learner, title=title or None)
