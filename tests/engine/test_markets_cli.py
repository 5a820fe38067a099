"""``tradewake data markets``: real ccxt fetches Binance's two exchangeInfo answers (recorded 2022 answers,
served at ccxt's HTTP layer) and writes the markets file backtests then use."""

from __future__ import annotations

from pathlib import Path

import pytest

import market.ccxt_rest
from core.ids import Symbol
from engine.cli import main
from exchange.markets import load_markets_file
from exchange.sim.markets import market_rules_for
from tests.market.binance_replay import IP_BANNED, BinanceReplay, load_json

SPOT, FAPI = "/api/v3/exchangeInfo", "/fapi/v1/exchangeInfo"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        main(list(argv))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def binance(monkeypatch: pytest.MonkeyPatch) -> BinanceReplay:
    replay = BinanceReplay({
        SPOT: lambda _: load_json("binance_spot_exchangeInfo_2022-11-28_head.json"),
        FAPI: lambda _: load_json("binance_fapi_exchangeInfo_2022-05-04_head.json"),
    })
    real = market.ccxt_rest.make_exchange
    monkeypatch.setattr(market.ccxt_rest, "make_exchange", lambda *a, **k: replay.install(real(*a, **k)))
    return replay


def test_refresh_writes_both_answers_and_backtests_use_them(
    binance: BinanceReplay, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "data", "markets")
    assert code == 0, err
    assert (binance.count(SPOT), binance.count(FAPI)) == (1, 1)
    assert out.splitlines() == [
        "wrote var/markets/binance_markets.json.gz",
        "  spot: 4 markets (3 trading) as of 2022-11-28 01:05 UTC",
        "  future: 2 perpetuals (2 trading) as of 2022-05-04 20:00 UTC",
    ]
    markets = load_markets_file(tmp_path / "var/markets/binance_markets.json.gz")
    spot = markets.snapshots["spot"]
    assert spot.complete and spot.source.startswith("Binance GET /api/v3/exchangeInfo through ccxt ")
    resolved = market_rules_for(Symbol("LTC/BTC"), "spot")
    assert resolved.origin == "markets file" and "var/markets/binance_markets.json.gz" in resolved.detail


def test_a_ban_is_one_line_exit_1_and_writes_nothing(
    binance: BinanceReplay, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    binance.script(FAPI, IP_BANNED)
    out_file = tmp_path / "m.json.gz"
    code, out, err = run(capsys, "data", "markets", "--out", str(out_file))
    assert code == 1
    assert len(err.strip().splitlines()) == 1 and "rate limit ban (HTTP 418)" in err
    assert "Traceback" not in out + err and not out_file.exists()
