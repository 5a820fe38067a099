"""The real parts the holdings tests run on, importable from worker processes too.

Real BTC/USDT and ETH/USDT 1h candles (``tests/fixtures/holdings``, see its README), a real regime
tracker fitted on them, Binance's spot rules, SQLite files opened through the store factory.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd

from core.ids import Symbol
from core.ports import OperatorCommand, Store
from core.settings import RiskSettings, RunMode, StoreSettings, load_settings
from core.types import Balance
from exchange.sim.markets import binance_spot_markets
from holdings.commands import HoldingsCommand
from holdings.config import HoldingsConfig, ModePolicy
from holdings.sources import SnapshotMarketSource, Wallet
from market.candles import load_candles
from market.regime import RegimeTracker
from store.factory import open_store

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "holdings"
BTC = Symbol("BTC/USDT")
ETH = Symbol("ETH/USDT")

AT = datetime(2022, 10, 20, 12, tzinfo=UTC)
"""BTC at 19,208.09, daily ATR 3.40 %, regime low_vol (p 1.00), ETH correlation 0.89 over 30 days."""


@cache
def candles(symbol: Symbol) -> pd.DataFrame:
    name = {BTC: "binance_BTC-USDT_1h_2022-07.csv.gz", ETH: "binance_ETH-USDT_1h_2022-07.csv.gz"}[symbol]
    return load_candles(FIXTURES / name)


@cache
def market_source(with_regime: bool = True) -> SnapshotMarketSource:
    """``with_regime=False`` skips fitting the HMM (worker processes that do not need the regime)."""
    rules = {r.symbol: r for r in binance_spot_markets()}
    tracker = RegimeTracker(BTC, candles(BTC)) if with_regime else None
    return SnapshotMarketSource.from_candles({BTC: candles(BTC), ETH: candles(ETH)}, rules, regime=tracker)


@cache
def policy(mode: RunMode = RunMode.TESTNET, risk: RiskSettings | None = None) -> ModePolicy:
    """What the composition root makes of ``mode`` for holdings (``engine/wiring.py`` is the one module that
    names run modes; settings are copied into the mode so mainnet needs no confirmation here)."""
    from engine.wiring import holdings_config

    settings = load_settings(None).model_copy(update={"mode": mode, "risk": risk or RiskSettings()})
    return holdings_config(settings).policy


def config(mode: RunMode = RunMode.TESTNET, risk: RiskSettings | None = None, **overrides: Any) -> HoldingsConfig:
    return HoldingsConfig(policy=policy(mode, risk), **overrides)


def open_url(url: str, namespace: str = "tw") -> Store:
    return open_store(StoreSettings(url=url, namespace=namespace))


def sqlite_store(path: Path, namespace: str = "tw") -> Store:
    return open_url(f"sqlite:///{path}", namespace)


def wallet(btc: str = "0.5", usdt: str = "10000", equity: str = "20000", **others: str) -> Wallet:
    balances = {"BTC": btc, "USDT": usdt, **others}
    return Wallet({a: Balance(asset=a, free=Decimal(q), used=Decimal(0)) for a, q in balances.items()}, Decimal(equity))


def command(
    kind: HoldingsCommand | str, key: str, at: datetime = AT, by: str = "alice", **args: Any
) -> OperatorCommand:
    return OperatorCommand(idempotency_key=key, kind=str(kind), args=args, submitted_at=at, submitted_by=by)
