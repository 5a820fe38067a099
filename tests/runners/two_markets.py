"""The simulated spot venue the in-process runner tests share: BTC/USDT at 40,000 and ETH/USDT at 3,000, 10,000 USDT,
market orders filled at once, on a simulated clock at ``T0``."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

from core.clock import SimClock
from core.ids import Symbol
from exchange.sim import MarketFill, SimConfig, SimExchange, binance_spot_markets

BTC, ETH = Symbol("BTC/USDT"), Symbol("ETH/USDT")
T0 = datetime(2024, 1, 1, tzinfo=UTC)


def two_market_venue() -> SimExchange:
    venue = SimExchange(binance_spot_markets(), SimClock(T0),
                        SimConfig(initial_balances={"USDT": D(10_000)}, market_fill=MarketFill.IMMEDIATE))
    venue.on_price("40000", symbol=BTC)
    venue.on_price("3000", symbol=ETH)
    return venue
