"""``tradewake learner show`` end to end: the real CLI in a subprocess over a real SQLite store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.clock import SimClock
from core.settings import LearnerSettings, StoreSettings
from core.types import Signal
from learning.service import Learner
from store.factory import open_store
from tests.conftest import REPO_ROOT
from tests.learning.trades import T0, closed_trade

NAMESPACE = "clitest"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A config whose store holds 5 low_vol trades and 1 global one; min_trades 3."""
    url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    path = tmp_path / "tradewake.toml"
    path.write_text(f'[store]\nurl = "{url}"\nnamespace = "{NAMESPACE}"\n\n[learner]\nmin_trades = 3\n')
    store = open_store(StoreSettings(url=url, namespace=NAMESPACE))
    learner = Learner.open(store, LearnerSettings(min_trades=3), SimClock(T0))
    for i in range(5):
        learner.record_trade(closed_trade(f"p{i}", Signal.MOMENTUM, win=i != 2, regime="low_vol", minute=i))
    learner.record_trade(closed_trade("g", Signal.BREAKOUT, win=False, minute=9))
    store.close()
    return path


def tradewake(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "COLUMNS": "160"}
    env.pop("TRADEWAKE_CONFIG", None)
    return subprocess.run(
        [sys.executable, "-m", "engine.cli", *args],
        check=False,
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_show_prints_a_table_of_every_signal(config: Path) -> None:
    run = tradewake("learner", "show", "--regime", "low_vol", "--config", str(config))
    assert run.returncode == 0, run.stderr
    for signal in Signal:
        assert signal.value in run.stdout
    assert "95 % CI" in run.stdout
    assert "low_vol: 5 trades (min_trades 3, enough: yes); weights use the low_vol posteriors" in run.stdout
    assert "regimes: low_vol (5)" in run.stdout


def test_show_json_and_plot(config: Path, tmp_path: Path) -> None:
    plot = tmp_path / "post.png"
    run = tradewake("learner", "show", "--json", "--plot", str(plot), "--config", str(config))
    assert run.returncode == 0, run.stderr
    shown = json.loads(run.stdout)
    assert (shown["scope"], shown["scope_trades"], shown["recorded_positions"]) == ("global", 6, 6)
    momentum = next(p for p in shown["posteriors"] if p["signal"] == "momentum")
    assert (momentum["alpha"], momentum["beta"], momentum["trades"], momentum["wins"]) == (5.0, 2.0, 5, 4)
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_regime_without_enough_trades_says_weights_fall_back(config: Path) -> None:
    run = tradewake("learner", "show", "--json", "--regime", "high_vol", "--config", str(config))
    shown = json.loads(run.stdout)
    assert (shown["scope_trades"], shown["enough_data"], shown["weights_use"]) == (0, False, "global")


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--regime", " low_vol"], "bad regime label"), (["--plot", "out.jpg"], "must end in .png")],
)
def test_user_mistakes_are_one_line_and_exit_2(config: Path, args: list[str], message: str) -> None:
    run = tradewake("learner", "show", *args, "--config", str(config))
    assert run.returncode == 2
    assert message in run.stderr
    assert "Traceback" not in run.stderr


def test_help() -> None:
    run = tradewake("learner", "show", "--help")
    assert run.returncode == 0
    assert "--plot" in run.stdout and "--regime" in run.stdout
