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
    monkeypatch.setattr(engine.wiring, "exchange_broker", lambda settings, clock: rig.broker)
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
    monkeypatch.setattr(engine.wiring, "exchange_broker", lambda settings, clock: rig.broker)
    monkeypatch.setenv("TRADEWAKE_MODE", "testnet")
    monkeypatch.setenv("TRADEWAKE_EXCHANGE__MARKET_TYPE", "future")
    monkeypatch.setenv("TRADEWAKE_EXCHANGE__API_KEY", API_KEY)
    monkeypatch.setenv("TRADEWAKE_EXCHANGE__API_SECRET", API_SECRET)
    assert run(["exchange", "check"]) == 1
    err = capsys.readouterr().err
    assert "USDT-M futures demo trading" in err and "demo-fapi.binance.com" in err and API_KEY not in err
