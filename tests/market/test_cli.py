"""``tradewake snapshot`` and ``tradewake data ...`` through the real entry point (engine.cli.main)."""

from __future__ import annotations

import json

import pytest

from engine.cli import main
from market.bundled import BTC_1H, BTC_5M, bundled_names, bundled_path
from market.candles import read_candles


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        main(list(argv))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_snapshot_prints_the_prompt_and_its_token_count(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "snapshot", "--data", BTC_5M, "--at", "2025-10-10T21:07")
    assert code == 0
    assert out.startswith("MARKET SNAPSHOT BTC/USDT as_of 2025-10-10T21:07:00Z")
    assert "last price 115062.01: close of the last closed 5m candle (10-10 21:05Z)" in out
    assert "regime: high_vol" in out
    assert "tokens (chars/3, the budget estimate)" in out


def test_snapshot_json_is_the_tool_result(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "snapshot", "--data", BTC_1H, "--at", "2024-06-01", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["symbol"] == "BTC/USDT" and data["base_timeframe"] == "1h"
    assert [t["timeframe"] for t in data["timeframes"]] == ["1h", "4h", "1d"]
    assert data["regime"]["label"] in ("low_vol", "high_vol")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("snapshot", "--data", "nope.csv", "--at", "2024-01-01"), "data file not found"),
        (("snapshot", "--data", BTC_1H, "--at", "yesterday"), "not an ISO 8601 date"),
        (("snapshot", "--data", BTC_1H, "--at", "2020-01-01"), "no 1h candle of BTC/USDT closed"),
        (("data", "download", "BTC/USDT", "7x", "--since", "2024-01-01"), "unknown timeframe"),
        (("data", "download", "BTC/USDT", "5m", "--since", "2024-01-02", "--until", "2024-01-01"), "nothing to"),
    ],
)
def test_user_mistakes_are_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], message: str
) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert message in err
    assert "Traceback" not in out + err


def test_inspect_lists_gaps(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "data", "inspect", BTC_1H)
    assert code == 0
    assert "24420 candles 1h 2023-01-01T00:00 .. 2025-10-14T12:00; 1 missing in 1 gaps" in out
    assert "missing 2023-03-24T13:00:00+00:00 .. 2023-03-24T13:00:00+00:00 (1)" in out


def test_help_texts(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (("data", "--help"), ("data", "download", "--help"), ("snapshot", "--help")):
        code, out, _ = run(capsys, *argv)
        assert code == 0 and "Usage" in out


def test_bundled_files_are_real_and_valid() -> None:
    assert bundled_names() == [BTC_1H, BTC_5M]
    _, hourly = read_candles(bundled_path(BTC_1H))
    _, five = read_candles(bundled_path(BTC_5M))
    assert (hourly.rows, hourly.missing_candles) == (24_420, 1)
    assert (five.rows, five.missing_candles) == (17_149, 0)
    assert five.first_open_at is not None and five.first_open_at.isoformat() == "2025-08-18T00:00:00+00:00"
    assert sum(p.stat().st_size for p in (bundled_path(BTC_1H), bundled_path(BTC_5M))) < 2_000_000
