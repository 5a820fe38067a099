"""Binance-like market rules for simulations, tests and benchmarks.

The recorded markets below are Binance's published filters for these markets (PRICE_FILTER tick,
LOT_SIZE step and limits, NOTIONAL / MIN_NOTIONAL) and its default fees; the recorded exchangeInfo
payloads in ``tests/fixtures/binance/`` carry the same numbers, so the simulated and the ccxt broker
agree. Any other symbol: :func:`market_rules_for` (the markets file, else inferred from the candles).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

import numpy.typing as npt

from core.errors import ConfigError
from core.ids import Symbol
from core.money import MarketRules
from exchange.markets import (
    FUTURES_MAKER_FEE,
    FUTURES_TAKER_FEE,
    SPOT_FEE,
    MarketsFile,
    MarketType,
    default_markets,
    infer_rules,
)

RulesOrigin = Literal["recorded", "markets file", "inferred"]


@dataclass(frozen=True)
class ResolvedRules:
    """A symbol's rules and where they came from (said in a backtest's summary and metrics)."""

    rules: MarketRules
    origin: RulesOrigin
    detail: str

    @property
    def warning(self) -> str | None:
        """Inferred rules change what is tested: said out loud, not only in a metrics file."""
        return self.detail if self.origin == "inferred" else None

    def facts(self) -> dict[str, str]:
        """For a run's metrics: nothing for the recorded markets (the golden run's metrics stay as they are)."""
        if self.origin == "recorded":
            return {}
        facts = {"market_rules": f"{self.origin}: {self.detail}"}
        if self.warning is not None:
            facts["market_rules_warning"] = self.warning
        return facts


def recorded_markets(market_type: MarketType) -> list[MarketRules]:
    return binance_spot_markets() if market_type == "spot" else binance_futures_markets()


def known_market_rules(symbol: Symbol, market_type: MarketType, markets: MarketsFile) -> ResolvedRules | None:
    """The recorded rules of ``symbol``, else the markets file's; ``None`` when neither lists it."""
    recorded = {m.symbol: m for m in recorded_markets(market_type)}
    if symbol in recorded:
        return ResolvedRules(recorded[symbol], "recorded", "exchange.sim.markets")
    found = markets.find(symbol, market_type)
    if found is None:
        return None
    rules, snapshot = found
    return ResolvedRules(rules, "markets file", f"{snapshot.describe()} ({markets.path})")


def market_rules_for(
    symbol: Symbol,
    market_type: MarketType,
    *,
    prices: npt.ArrayLike | None = None,
    markets: MarketsFile | None = None,
) -> ResolvedRules:
    """The rules to simulate ``symbol`` with: the recorded markets, else the markets file (``markets``, by
    default ``exchange.markets.default_markets()``), else inferred from ``prices`` (the candles' OHLC)."""
    markets = markets if markets is not None else default_markets()
    known = known_market_rules(symbol, market_type, markets)
    if known is not None:
        return known
    if prices is None:
        raise ConfigError(
            f"no market rules for {symbol} ({market_type}) in {markets.path} and no candles to infer them from; "
            "refresh the markets with: tradewake data markets"
        )
    rules, how = infer_rules(symbol, market_type, prices, markets)
    return ResolvedRules(rules, "inferred", how)


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
            maker_fee=SPOT_FEE,
            taker_fee=SPOT_FEE,
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
            maker_fee=SPOT_FEE,
            taker_fee=SPOT_FEE,
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
            maker_fee=FUTURES_MAKER_FEE,
            taker_fee=FUTURES_TAKER_FEE,
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
            maker_fee=FUTURES_MAKER_FEE,
            taker_fee=FUTURES_TAKER_FEE,
            contract=True,
        ),
    ]
