"""``tradewake exchange check`` (the network is the fake Binance; ccxt is real). The command asks the composition
root for the broker of the configured mode (``engine.wiring.exchange_broker``); the tests hand it the rig's."""

from decimal import Decimal

import pytest

import engine.wiring
from engine.cli import main
from tests.exchange.ccxtkit import API_KEY, API_SECRET, ccxt_rig


def run(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exited:
        main(argv)
        raise SystemExit(0)
    return int(exited.value.code or 0)


def test_check_refuses_simulated_modes_and_missing_keys(monkeypatch, capsys) -> None:
    monkeypatch.setenv("TRADEWAKE_MODE", "backtest")
    assert run(["exchange", "check"]) == 2
    assert "simulated exchange" in capsys.readouterr().err
    monkeypatch.setenv("TRADEWAKE_MODE", "testnet")
    monkeypatch.delenv("TRADEWAKE_EXCHANGE__API_KEY", raising=False)
    assert run(["exchange", "check"]) == 2
    assert "api_key" in capsys.readouterr().err


def test_check_reports_the_venue_and_never_prints_the_key(monkeypatch, capsys) -> None:
    rig = ccxt_rig("spot", balances={"USDT": Decimal(1234)})
    monkeypatch.setattr(engine.wiring, "exchange_broker", lambda settings, clock, **_: rig.broker)
    monkeypatch.setenv("TRADEWAKE_MODE", "testnet")
    monkeypatch.setenv("TRADEWAKE_EXCHANGE__API_KEY", API_KEY)
    monkeypatch.setenv("TRADEWAKE_EXCHANGE__API_SECRET", API_SECRET)
    assert run(["exchange", "check"]) == 0
    out = capsys.readouterr()
    assert "spot testnet (sandbox) (testnet.binance.vision) accepted the key" in out.out
    assert "USDT available: 1234" in out.out
    assert API_KEY not in out.out + out.err and API_SECRET not in out.out + out.err


def test_a_refused_key_is_an_operational_error_naming_the_venue(monkeypatch, capsys) -> None:
    rig = ccxt_rig("future")
    rig.fake.reject_keys_with = "invalid_key"
    monkeypatch.setattr(engine.wiring, "exchange_broker", lambda settings, clock, **_: rig.broker)
    monkeypatch.setenv("TRADEWAKE_MODE", "testnet")
    monkeypatch.setenv("TRADEWAKE_EXCHANGE__MARKET_TYPE", "future")
    monkeypatch.setenv("TRADEWAKE_EXCHANGE__API_KEY", API_KEY)
    monkeypatch.setenv("TRADEWAKE_EXCHANGE__API_SECRET", API_SECRET)
    assert run(["exchange", "check"]) == 1
    err = capsys.readouterr().err
    assert "USDT-M futures demo trading" in err and "demo-fapi.binance.com" in err and API_KEY not in err


def use_rig(monkeypatch, rig, market_type: str = "spot") -> None:
    monkeypatch.setattr(engine.wiring, "exchange_broker", lambda settings, clock, **_: rig.broker)
    monkeypatch.setenv("TRADEWAKE_MODE", "testnet")
    monkeypatch.setenv("TRADEWAKE_EXCHANGE__MARKET_TYPE", market_type)
    monkeypatch.setenv("TRADEWAKE_EXCHANGE__API_KEY", API_KEY)
    monkeypatch.setenv("TRADEWAKE_EXCHANGE__API_SECRET", API_SECRET)


def test_check_reports_clock_offset_fee_asset_and_the_request_budget_on_spot(monkeypatch, capsys) -> None:
    rig = ccxt_rig("spot", balances={"USDT": Decimal(1234), "BNB": Decimal(1)})
    rig.fake.server_offset_ms, rig.fake.bnb_fees = -1_250, True
    use_rig(monkeypatch, rig)
    assert run(["exchange", "check"]) == 0
    out = capsys.readouterr().out
    assert "clock offset: -1250 ms" in out
    assert "BTC/USDT fees paid in: BNB (25 % off)" in out and "ETH/USDT fees paid in: BNB (25 % off)" in out
    assert "request budget (this process only): weight " in out and "/6000 per 1m (ip)" in out
    assert "orders 0/100 per 10s (account), orders 0/200000 per 1d (account)" in out
    assert "position mode" not in out


def test_check_reports_position_mode_leverage_and_margin_type_on_futures(monkeypatch, capsys) -> None:
    rig = ccxt_rig("future", leverage=3)
    rig.fake.margin_types["ETHUSDT"] = "ISOLATED"
    use_rig(monkeypatch, rig, "future")
    assert run(["exchange", "check"]) == 0
    out = capsys.readouterr().out
    assert "position mode: one-way; Multi-Assets Mode: off" in out
    assert "BTC/USDT:USDT: leverage 3x, cross margin" in out and "ETH/USDT:USDT: leverage 3x, isolated margin" in out
    assert "BTC/USDT:USDT fees paid in: USDT" in out and "/2400 per 1m (ip)" in out


def test_check_of_a_hedge_mode_account_reports_then_fails_with_one_line(monkeypatch, capsys) -> None:
    rig = ccxt_rig("future")
    rig.fake.hedge_mode = True
    use_rig(monkeypatch, rig, "future")
    assert run(["exchange", "check"]) == 1
    captured = capsys.readouterr()
    assert "position mode: HEDGE (not supported)" in captured.out
    (line,) = captured.err.strip().splitlines()
    assert "hedge mode" in line and "One-way" in line
