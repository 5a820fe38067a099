"""Backtests on any pair (issue 18, part 4): real ETH/BTC and ADA/BTC candles that used to fail with "the
simulated exchange has no market ..."; rules from the markets file, or inferred with a warning."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from backtests.cli import for_market
from backtests.data import select_data
from backtests.runner import BacktestRequest, BacktestResult, run_backtest
from core.errors import ConfigError
from core.settings import load_settings
from tests.conftest import SHARED_DATA
from tests.e2e.cli_helpers import run_cli

ETH_BTC = SHARED_DATA / "unknown_ETH-BTC_5m.csv"
ADA_BTC = SHARED_DATA / "binance_ADA-BTC_1h.csv"


def backtest(path: Path, out: Path, end: datetime | None = None, **facts: str) -> BacktestResult:
    data = select_data(data=path, end=end, **facts)
    settings = for_market(load_settings(None), data.symbol)
    return asyncio.run(run_backtest(BacktestRequest(settings, data, out)))


def test_eth_btc_trades_on_the_rules_of_the_markets_file(tmp_path: Path) -> None:
    result = backtest(ETH_BTC, tmp_path / "run", end=datetime(2018, 1, 17, tzinfo=UTC))
    facts = result.metrics["run"]
    assert facts["symbol"] == "ETH/BTC"
    assert facts["market_rules"].startswith("markets file: Binance spot exchangeInfo of 2022-11-28")
    assert "market_rules_warning" not in facts
    assert result.trades, "the rules agent trades ETH/BTC in these days"
    assert all(t.quantity % Decimal("0.0001") == 0 for t in result.trades), "ETHBTC's LOT_SIZE step"
    assert all(t.entry_price % Decimal("0.000001") == 0 for t in result.trades), "ETHBTC's tick"


def test_ada_btc_runs_on_inferred_rules_and_says_so(tmp_path: Path) -> None:
    result = backtest(ADA_BTC, tmp_path / "run")
    facts = result.metrics["run"]
    assert facts["market_rules"].startswith("inferred: ADA/BTC is not in the markets file")
    assert facts["market_rules_warning"] == facts["market_rules"].removeprefix("inferred: ")
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["run"] == facts


def test_an_account_in_another_currency_is_refused(tmp_path: Path) -> None:
    data = select_data(data=ETH_BTC, end=datetime(2018, 1, 12, tzinfo=UTC))
    with pytest.raises(ConfigError, match="ETH/BTC is quoted in BTC but the account holds USDT"):
        asyncio.run(run_backtest(BacktestRequest(load_settings(None), data, tmp_path / "run")))
    perpetual = select_data(data=ETH_BTC, end=datetime(2018, 1, 12, tzinfo=UTC), symbol="ETH/BTC:BTC")
    with pytest.raises(ConfigError, match="is not a spot market"):
        asyncio.run(run_backtest(BacktestRequest(load_settings(None), perpetual, tmp_path / "run2")))


def test_cli_symbol_override_and_the_warning_in_the_summary(tmp_path: Path) -> None:
    done = run_cli("backtest", "--data", str(ADA_BTC), "--symbol", "xrpbtc", "--quiet", "--out", "runs/xrp",
                   cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("XRP/BTC 1h")
    assert "WARNING: XRP/BTC is not in the markets file: rules inferred from the candles" in done.stdout
    facts = json.loads((tmp_path / "runs/xrp/metrics.json").read_text())["run"]
    assert facts["symbol"] == "XRP/BTC" and facts["data"] == ADA_BTC.name and "market_rules_warning" in facts
    wrong = run_cli("backtest", "--data", str(ADA_BTC), "--symbol", "XRP/BTC/USDT/X", cwd=tmp_path)
    assert wrong.returncode == 2 and "too many separators" in wrong.stderr and "Traceback" not in wrong.stderr


def test_an_anonymized_run_names_inferred_rules_by_the_disguised_symbol(tmp_path: Path) -> None:
    from backtests.anonymize import anonymize

    data, disguise = anonymize(select_data(data=ADA_BTC))
    settings = for_market(load_settings(None), data.symbol)
    result = asyncio.run(run_backtest(BacktestRequest(settings, data, tmp_path / "run", disguise=disguise)))
    facts = result.metrics["run"]
    assert facts["symbol"] == "ASSET/BTC" and facts["market_rules_warning"].startswith("ASSET/BTC is not in")
    assert "ADA" not in json.dumps(result.metrics)
