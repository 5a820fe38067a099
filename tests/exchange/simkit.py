"""Small helpers for the simulated-exchange tests (real components, no mocks)."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from core.clock import SimClock
from core.ids import ClientOrderId, Symbol
from core.types import Candle, OrderIntent, OrderType, Side
from exchange.sim import SimConfig, SimExchange, binance_futures_markets, binance_spot_markets

T0 = datetime(2024, 1, 1, tzinfo=UTC)
SPOT_BTC = Symbol("BTC/USDT")
FUT_BTC = Symbol("BTC/USDT:USDT")
CANDLES = Path(__file__).resolve().parent.parent / "fixtures" / "binance" / "klines_BTCUSDT_1m_2018-04-28.csv"


def spot_venue(clock: SimClock | None = None, *, both: bool = False, **config: Any) -> SimExchange:
    """BTC/USDT only (so prices need no symbol), or BTC and ETH with ``both``."""
    config.setdefault("initial_balances", {"USDT": Decimal(10_000), "BTC": Decimal(0)})
    markets = binance_spot_markets() if both else binance_spot_markets()[:1]
    return SimExchange(markets, clock or SimClock(T0), SimConfig(market_type="spot", **config))


def futures_venue(clock: SimClock | None = None, *, both: bool = False, **config: Any) -> SimExchange:
    config.setdefault("initial_balances", {"USDT": Decimal(10_000)})
    markets = binance_futures_markets() if both else binance_futures_markets()[:1]
    return SimExchange(markets, clock or SimClock(T0), SimConfig(market_type="future", **config))


def intent(
    cid: str,
    side: Side = Side.BUY,
    order_type: OrderType = OrderType.MARKET,
    quantity: str = "0.01",
    *,
    symbol: str = SPOT_BTC,
    price: str | None = None,
    stop: str | None = None,
    reduce_only: bool = False,
    post_only: bool = False,
) -> OrderIntent:
    return OrderIntent(
        client_order_id=ClientOrderId(cid),
        symbol=Symbol(symbol),
        side=side,
        type=order_type,
        quantity=Decimal(quantity),
        price=Decimal(price) if price is not None else None,
        stop_price=Decimal(stop) if stop is not None else None,
        reduce_only=reduce_only,
        post_only=post_only,
    )


def real_candles(symbol: str = SPOT_BTC, limit: int | None = None) -> list[Candle]:
    with CANDLES.open() as handle:
        rows = list(csv.DictReader(handle))[:limit]
    return [
        Candle(
            symbol=Symbol(symbol),
            timeframe="1m",
            open_at=datetime.fromtimestamp(int(row["timestamp"]) / 1000, tz=UTC),
            open=float(row["open"]),
            high=float(row["high"]),
            low=float(row["low"]),
            close=float(row["close"]),
            volume=float(row["volume"]),
        )
        for row in rows
    ]


def feed(venue: SimExchange, clock: SimClock, candles: list[Candle]) -> None:
    """Feed closed candles the way a backtest does: move the clock to each bar's close, then match."""
    for candle in candles:
        clock.advance_to(candle.open_at + timedelta(minutes=1))
        venue.on_candle(candle)
