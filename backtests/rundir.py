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
from typing import Any

from core.errors import ConfigError

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
