"""The robustness harness's fixtures: the CLI runner (forked from a warmed-up CLI, or a fresh interpreter
per invocation with TRADEWAKE_LONG_TESTS=1) and the *world* every case's sandbox starts from."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from store.sqlite_store import SqliteStore
from tests.robustness.candle_corpus import HEADER, bad_candle_files, real_lines
from tests.robustness.cases import WINDOW
from tests.robustness.runner import CliRunner, ForkRunner, Sandbox, SpawnRunner, base_env, check_success


@pytest.fixture(scope="session")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliRunner]:
    """Each invocation a process forked from a warmed-up CLI (see forkserver.py)."""
    runner = ForkRunner(tmp_path_factory.mktemp("fork"), workers=1)
    try:
        yield runner
    finally:
        runner.close()


@pytest.fixture(scope="session")
def fresh_cli() -> CliRunner:
    """Each invocation a fresh ``python -m engine.cli``: exactly the user's path, seconds per call."""
    return SpawnRunner()


@pytest.fixture(scope="session")
def world(cli: CliRunner, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What a user's directory holds: a complete run, damaged and foreign things, bad candle files."""
    sandbox = Sandbox.make(tmp_path_factory.mktemp("world"))
    work = sandbox.work
    done = cli.run(("backtest", "--quiet", *WINDOW, "--out", "runs/done"), work, base_env(sandbox), timeout=600)
    check_success(done)
    _copy_run(work / "runs/done", work / "runs/damaged")
    (work / "runs/damaged/metrics.json").write_text('{"performance": [1, 2', encoding="utf-8")
    _copy_run(work / "runs/done", work / "runs/done-with-notes")
    (work / "runs/done-with-notes/notes.txt").write_text("my notes\n", encoding="utf-8")
    (work / "notrun").mkdir()
    (work / "notrun/a.txt").write_text("not a run\n", encoding="utf-8")
    (work / "plain.txt").write_text("just text\n", encoding="utf-8")
    (work / "binary.bin").write_bytes(bytes(range(256)))
    (work / "array.jsonl").write_text("[1]\n", encoding="utf-8")
    os.symlink("runs/done", work / "link-to-done")
    (work / "garbage-run").mkdir()
    (work / "garbage-run/store.sqlite3").write_bytes(b"this is not a database" * 100)
    SqliteStore(work / "empty.sqlite3").close()
    candles = work / "candles"
    candles.mkdir()
    for bad in bad_candle_files():
        (candles / bad.file_name).write_bytes(bad.content)
    (candles / "binance_FOO-BAR_1h.csv").write_text("\n".join([HEADER, *real_lines()]) + "\n", encoding="utf-8")
    return work


def _copy_run(source: Path, target: Path) -> None:
    shutil.copytree(source, target)


@pytest.fixture
def sandbox(world: Path, tmp_path: Path) -> Sandbox:
    box = Sandbox.make(tmp_path / "sandbox")
    shutil.copytree(world, box.work, symlinks=True, dirs_exist_ok=True)
    return box
