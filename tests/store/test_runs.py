"""Finding a backtest run's store for ``--run`` (store/runs.py): by id or path, ``live`` is the configured
store, a missing run names the known ones, and nothing is ever created."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import ConfigError
from core.settings import StoreSettings
from store.factory import SqliteTarget, parse_store_url
from store.runs import RUN_STORE, find_run, inspected_store, run_paths

CONFIGURED = StoreSettings(url="sqlite:///configured.sqlite3", namespace="ns1")


def make_run(path: Path) -> Path:
    path.mkdir(parents=True)
    (path / RUN_STORE).write_bytes(b"")
    return path


def test_no_run_or_live_is_the_configured_store(tmp_path: Path) -> None:
    assert inspected_store(CONFIGURED, None, tmp_path) is CONFIGURED
    assert inspected_store(CONFIGURED, "live", tmp_path) is CONFIGURED


def test_a_run_by_id_or_path_is_its_own_sqlite_file_under_the_configured_namespace(tmp_path: Path) -> None:
    run = make_run(tmp_path / "runs" / "feb")
    for given in ("feb", str(run)):
        chosen = inspected_store(CONFIGURED, given, tmp_path / "runs")
        target = parse_store_url(chosen.url)
        assert isinstance(target, SqliteTarget) and target.path == (run / RUN_STORE).absolute()
        assert chosen.namespace == "ns1"


def test_an_unknown_run_names_the_runs_there_and_creates_nothing(tmp_path: Path) -> None:
    make_run(tmp_path / "runs" / "a")
    make_run(tmp_path / "runs" / ".b.partial-1234")  # still being written: not a run yet
    (tmp_path / "runs" / "empty").mkdir()  # no store: not a run
    with pytest.raises(ConfigError, match=r"no run 'nope' in .*runs \(runs: a\)"):
        find_run("nope", tmp_path / "runs")
    assert [p.name for p in run_paths(tmp_path / "runs")] == ["a"]
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == [".b.partial-1234", "a", "empty"]
    assert run_paths(tmp_path / "nowhere") == [] and not (tmp_path / "nowhere").exists()
