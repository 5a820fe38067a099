"""Binance-like market rules for simulations, tests and benchmarks.

The values are Binance's published filters for these markets (PRICE_FILTER tick, LOT_SIZE step and
limits, NOTIONAL / MIN_NOTIONAL) and its default fees; the recorded exchangeInfo payloads in
``tests/fixtures/binance/`` carry the same numbers, so the simulated and the ccxt broker agree.
"""

from __future__ import annotations

from decimal import Decimal

from core.ids import Symbol
from core.money import MarketRules

_SPOT_FEE = Decimal("0.001")
_FUTURES_MAKER = Decimal("0.0002")
_FUTURES_TAKER = Decimal("0.0005")


def binance_spot_markets() -> list[MarketRules]:
    return [
        MarketRules(
            symbol=Symbol("BTC/USDT"),
            base="BTC",
            quote="USDT",
            tick_size=Decimal("0.01"),
            step_size=Decimal("0.00001"),
            min_qty=Decimal("0.00001"),
            max_qty=Decimal("9000"),
            min_notional=Decimal("5"),
            maker_fee=_SPOT_FEE,
            taker_fee=_SPOT_FEE,
        ),
        MarketRules(
            symbol=Symbol("ETH/USDT"),
            base="ETH",
            quote="USDT",
            tick_size=Decimal("0.01"),
            step_size=Decimal("0.0001"),
            min_qty=Decimal("0.0001"),
            max_qty=Decimal("9000"),
            min_notional=Decimal("5"),
            maker_fee=_SPOT_FEE,
            taker_fee=_SPOT_FEE,
        ),
    ]


def binance_futures_markets() -> list[MarketRules]:
    return [
        MarketRules(
            symbol=Symbol("BTC/USDT:USDT"),
            base="BTC",
            quote="USDT",
            tick_size=Decimal("0.1"),
            step_size=Decimal("0.001"),
            min_qty=Decimal("0.001"),
            max_qty=Decimal("1000"),
            min_notional=Decimal("100"),
            maker_fee=_FUTURES_MAKER,
            taker_fee=_FUTURES_TAKER,
            contract=True,
        ),
        MarketRules(
            symbol=Symbol("ETH/USDT:USDT"),
            base="ETH",
            quote="USDT",
            tick_size=Decimal("0.01"),
            step_size=Decimal("0.001"),
            min_qty=Decimal("0.001"),
            max_qty=Decimal("10000"),
            min_notional=Decimal("20"),
            maker_fee=_FUTURES_MAKER,
            taker_fee=_FUTURES_TAKER,
            contract=True,
        ),
    ]
