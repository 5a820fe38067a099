"""``tradewake gate-report`` end to end: the real CLI in a subprocess on a slice of real candles."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from tests.e2e.cli_helpers import run_cli
from tests.gate.helpers import BTC_1M


@pytest.fixture(scope="module")
def small_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 6,000 real 1m candles, as a plain CSV named like the bundled files."""
    with gzip.open(BTC_1M, "rt") as source:
        lines = [next(source) for _ in range(6001)]
    path = tmp_path_factory.mktemp("data") / "binance_BTC-USDT_1m.csv"
    path.write_text("".join(lines))
    return path


def test_report_json(small_csv: Path, tmp_path: Path) -> None:
    done = run_cli("gate-report", "--data", str(small_csv), "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["symbol"], report["timeframe"], report["candles"], report["scored candles"]) == (
        "BTC/USDT",
        "1m",
        6000,
        5712,
    )
    assert 0 < report["wake rate"] < 0.05
    assert report["wakes"] == sum(v for k, v in report.items() if k.startswith("wakes: "))
    assert 0.0 <= report["anomaly recall"] <= 1.0
    assert report["events/s"] > 0


def test_report_table_and_settings_from_a_config_file(small_csv: Path, tmp_path: Path) -> None:
    config = tmp_path / "tw.toml"
    config.write_text('[gate]\ncandle_close_timeframes = ["1h"]\n')
    done = run_cli(
        "gate-report", "-d", str(small_csv), "-t", "1m", "--config", str(config), cwd=tmp_path, env={"COLUMNS": "120"}
    )
    assert done.returncode == 0, done.stderr
    for label in ("candles", "wake rate", "anomaly recall", "wakes: candle_close", "events/s"):
        assert label in done.stdout
    hourly = next(line for line in done.stdout.splitlines() if "wakes: candle_close" in line)
    assert int(hourly.split("│")[2].strip().replace(",", "")) > 60  # about one per hour of the 95 scored hours


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--data", "missing.csv"], "data file not found: missing.csv"),
        (["--timeframe", "7x"], "unknown timeframe '7x'"),
        (["--warmup", "100000"], "need more than 100001 candles"),
    ],
)
def test_user_mistakes_exit_2_with_one_clear_line(
    small_csv: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    full = args if "--data" in args else ["--data", str(small_csv), *args]
    done = run_cli("gate-report", *full, cwd=tmp_path)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_bad_file_contents(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("time,price\n1,2\n")
    done = run_cli("gate-report", "--data", str(bad), cwd=tmp_path)
    assert done.returncode == 2
    assert "expected header timestamp,open,high,low,close,volume, found time,price" in done.stderr
