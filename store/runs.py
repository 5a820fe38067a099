"""Find a backtest run's store, so every inspecting command can be pointed at a run with ``--run RUN``.

A run is a directory holding ``store.sqlite3`` (``backtests/rundir.py`` writes it); RUN is its id (a
directory under ``backtest.runs_dir``), its path, or ``live`` for the store the settings name. The
lookup lives here, below the packages whose commands inspect a store (``learner show``, ``journal``,
``status``, ``decisions``), so each can take ``--run`` without importing the backtest driver.

Inspecting never creates a store: the answer is the settings of an existing file, opened with
``create=False``.
"""

from __future__ import annotations

from pathlib import Path

from core.errors import ConfigError
from core.settings import StoreSettings

RUN_STORE = "store.sqlite3"
LIVE = "live"
"""The RUN that means the configured store (the one live runners, the dashboard and the operator share)."""


def run_paths(runs_dir: Path) -> list[Path]:
    """Every run directory under ``runs_dir``, oldest name first (run ids sort by time); staging
    directories of runs still being written (``.<id>.partial-*``) are not runs yet."""
    if not runs_dir.is_dir():
        return []
    return [p for p in sorted(runs_dir.iterdir()) if not p.name.startswith(".") and (p / RUN_STORE).is_file()]


def find_run(run: str, runs_dir: Path) -> Path:
    """A run's directory by id (under ``runs_dir``) or by path; a ``ConfigError`` naming the known runs."""
    for candidate in (runs_dir / run, Path(run)):
        if (candidate / RUN_STORE).is_file():
            return candidate
    known = ", ".join(p.name for p in run_paths(runs_dir)) or "none yet"
    raise ConfigError(f"no run {run!r} in {runs_dir} (runs: {known})")


def inspected_store(store: StoreSettings, run: str | None, runs_dir: Path) -> StoreSettings:
    """The store a command inspects: the configured one (no ``--run``, or ``--run live``), else the run's
    own SQLite file, under the configured namespace."""
    if run is None or run == LIVE:
        return store
    path = find_run(run, runs_dir).absolute()
    return store.model_copy(update={"url": f"sqlite:///{path / RUN_STORE}"})
