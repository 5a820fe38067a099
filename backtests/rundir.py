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

A run is written into a staging directory beside its target (:class:`StagedRun`) and moved into place
only when it is complete, so a failing or interrupted run never leaves half a run under the target's
name and never touches an earlier run. Nothing is deleted that the run did not create: an existing
directory that is not a run is refused, an existing run is refused unless ``--force`` (and even then
only a directory holding nothing but run files is replaced). An interrupted run keeps its store (every
decision made and paid for) under its own name, marked by ``INTERRUPTED.json``, without metrics.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import ConfigError, OperationalError
from store.runs import RUN_STORE, find_run, run_paths

METRICS = "metrics.json"
STORE = RUN_STORE
INTERRUPTED = "INTERRUPTED.json"
RUN_FILES = frozenset({
    METRICS, STORE, f"{STORE}-wal", f"{STORE}-shm", f"{STORE}-journal", INTERRUPTED,
    "trades.csv", "bars.csv", "equity.png", "price.png", "report.html",
})
"""Every file a run writes: ``--force`` replaces a directory holding nothing else."""


@dataclass(frozen=True)
class RunDir:
    path: Path
    label: str | None = None
    """The run's id while it is written into a staging directory (``.<id>.partial-*``): what its report shows."""

    @classmethod
    def create(cls, path: Path, label: str | None = None) -> RunDir:
        """A fresh run directory at ``path``, which must not exist or be empty: nothing is ever deleted here."""
        if path.is_dir() and not any(path.iterdir()):
            return cls(path, label)
        try:
            path.mkdir(parents=True)
        except FileExistsError as exc:
            raise ConfigError(f"{path} already exists; a run is written into a new directory") from exc
        return cls(path, label)

    @classmethod
    def find(cls, run: str, runs_dir: Path) -> RunDir:
        """A run by id (a directory under ``runs_dir``) or by path."""
        return cls(find_run(run, runs_dir))

    @property
    def name(self) -> str:
        return self.label or self.path.name

    @property
    def metrics_path(self) -> Path:
        return self.path / METRICS

    @property
    def store_path(self) -> Path:
        return self.path / STORE

    @property
    def report_path(self) -> Path:
        return self.path / "report.html"

    @property
    def interrupted(self) -> dict[str, Any] | None:
        """The interruption marker's facts, when the run was stopped before its end."""
        marker = self.path / INTERRUPTED
        return _json_object(marker) if marker.is_file() else None

    def metrics(self) -> dict[str, Any] | None:
        """The run's metrics, ``None`` before they are written; a damaged file is a ``ConfigError``."""
        if not self.metrics_path.is_file():
            return None
        metrics = _json_object(self.metrics_path)
        for section in ("performance", "agent", "run"):
            if not isinstance(metrics.get(section), dict):
                raise ConfigError(f"{self.metrics_path} is damaged: no {section!r} section")
        return metrics


def _json_object(path: Path) -> dict[str, Any]:
    try:
        loaded = json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path} is unreadable ({type(exc).__name__}: {exc})") from exc
    if not isinstance(loaded, dict):
        raise ConfigError(f"{path} is damaged: not a JSON object")
    return loaded


def list_runs(runs_dir: Path) -> list[RunDir]:
    """Every run directory under ``runs_dir``, oldest name first (run ids sort by time); staging
    directories of runs still being written (``.<id>.partial-*``) are not runs yet."""
    return [RunDir(p) for p in run_paths(runs_dir)]


def is_run(path: Path) -> bool:
    return (path / METRICS).is_file() or (path / STORE).is_file()


def check_target(target: Path, *, force: bool) -> None:
    """Refuse a target the run must not write to (pure check, no writes): a file, a symbolic link, a
    directory that is not a run, a run without ``force``, or a run holding files a run does not write."""
    if target.is_symlink():
        raise ConfigError(f"--out {target} is a symbolic link; give the directory itself")
    if target.exists() and not target.is_dir():
        raise ConfigError(f"--out {target} is a file, not a run directory")
    for parent in target.parents:
        if parent.exists() and not parent.is_dir():
            raise ConfigError(f"--out {target}: {parent} is a file, not a directory")
    if not target.is_dir() or not any(target.iterdir()):
        return
    if not is_run(target):
        raise ConfigError(f"--out {target} exists and is not a tradewake run directory (it holds "
                          f"{_listing(target)}); choose another --out")
    if not force:
        raise ConfigError(f"--out {target} holds an earlier run; pass --force to replace it, or choose another --out")
    foreign = sorted(p.name for p in target.iterdir() if p.name not in RUN_FILES or not p.is_file())
    if foreign:
        raise ConfigError(f"--out {target} holds files a run does not write ({', '.join(foreign[:5])}); "
                          "--force replaces only run files: move them or choose another --out")


def _listing(path: Path) -> str:
    names = sorted(p.name for p in path.iterdir())
    return ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")


def unique_run_path(runs_dir: Path, run_id: str) -> Path:
    """``runs_dir/run_id``, or ``run_id-2``, ``-3`` ... when that name is taken or being written: two runs
    started in the same second get distinct ids."""
    for n in range(1, 10_000):
        candidate = runs_dir / (run_id if n == 1 else f"{run_id}-{n}")
        if not candidate.exists() and not _staging_dirs(candidate):
            return candidate
    raise ConfigError(f"no free run id for {run_id} in {runs_dir}")


def _staging_dirs(target: Path) -> list[Path]:
    parent = target.parent
    return list(parent.glob(f".{target.name}.partial-*")) if parent.is_dir() else []


@dataclass(frozen=True)
class StagedRun:
    """A run being written beside its target, moved into place when complete (see the module docstring)."""

    target: Path
    staging: Path
    rename_if_taken: bool
    """A default run id may move to the next free id if another run took it meanwhile; an explicit --out may not."""

    @classmethod
    def begin(cls, target: Path, *, force: bool, rename_if_taken: bool = False) -> StagedRun:
        check_target(target, force=force)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            staging = target.parent / f".{target.name}.partial-{uuid.uuid4().hex[:8]}"
            staging.mkdir()
        except OSError as exc:
            raise ConfigError(f"cannot create the run directory beside {target}: {exc.strerror or exc}") from exc
        return cls(target, staging, rename_if_taken)

    def commit(self, *, force: bool) -> RunDir:
        """Move the complete run into place (replacing an earlier run only with ``force``)."""
        target = self._free_target(force)
        previous = self._move_aside(target) if target.is_dir() and any(target.iterdir()) else None
        os.replace(self.staging, target)  # onto a missing or empty directory: atomic
        if previous is not None:
            _remove_run(previous)
        return RunDir(target)

    def keep_interrupted(self, facts: dict[str, Any]) -> RunDir:
        """Mark the partial run and move it under a name of its own (never over a complete run)."""
        (self.staging / INTERRUPTED).write_text(json.dumps(facts, sort_keys=True, indent=2) + "\n", encoding="utf-8")
        target = self.target
        if target.exists() and (not target.is_dir() or any(target.iterdir())):
            target = unique_run_path(target.parent, f"{target.name}-interrupted")
        os.replace(self.staging, target)
        return RunDir(target)

    def discard(self) -> None:
        """Remove the staging directory (this run created it and everything in it)."""
        _remove_tree(self.staging)

    def _free_target(self, force: bool) -> Path:
        try:
            check_target(self.target, force=force)
        except ConfigError as exc:
            if not self.rename_if_taken:
                raise OperationalError(f"{exc}; this run was kept in {self.staging}") from exc
            return unique_run_path(self.target.parent, self.target.name)
        return self.target

    def _move_aside(self, target: Path) -> Path:
        aside = target.parent / f".{target.name}.replaced-{uuid.uuid4().hex[:8]}"
        os.replace(target, aside)
        return aside


def _remove_run(path: Path) -> None:
    """Delete a replaced run: only the files a run writes; anything else stays, with the directory."""
    for name in RUN_FILES:
        (path / name).unlink(missing_ok=True)
    if not any(path.iterdir()):
        path.rmdir()


def _remove_tree(path: Path) -> None:
    if not path.is_dir():
        return
    for child in path.iterdir():
        if child.is_dir() and not child.is_symlink():
            _remove_tree(child)
        else:
            child.unlink(missing_ok=True)
    path.rmdir()


def write_metrics(run: RunDir, metrics: dict[str, Any]) -> None:
    run.metrics_path.write_text(json.dumps(metrics, sort_keys=True, indent=2) + "\n", encoding="utf-8")
