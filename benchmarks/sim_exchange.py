"""Throughput of the simulated exchange: bars per second with one resting stop and one take-profit.

The series is SYNTHETIC (a seeded, mean-reverting random walk), so the figure is about the matching
engine, not about any market. The reference, measured in the same run over the same bars, is a
plain Python loop doing only the OHLC comparisons a stop and a take-profit need; the ratio says how
many times slower the full simulation (Decimal conversion, priorities, bookkeeping) is.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from core.clock import SimClock
from core.ids import ClientOrderId, Symbol
from core.types import Candle, OrderIntent, OrderType, Side
from exchange.sim import MarketFill, SimConfig, SimExchange, binance_futures_markets

SEED = 20240101
BARS = 40_000
SYMBOL = Symbol("BTC/USDT:USDT")
START = datetime(2024, 1, 1, tzinfo=UTC)
STOP, TAKE_PROFIT = 20_000.0, 80_000.0


def synthetic_candles(count: int = BARS, seed: int = SEED) -> list[Candle]:
    """A seeded mean-reverting walk around 40,000 that never reaches the stop or the take-profit."""
    rng = random.Random(seed)
    price, candles = 40_000.0, []
    for i in range(count):
        open_ = price
        price = max(30_000.0, min(50_000.0, price + 0.02 * (40_000.0 - price) + rng.gauss(0, 60)))
        high = max(open_, price) + abs(rng.gauss(0, 25))
        low = min(open_, price) - abs(rng.gauss(0, 25))
        candles.append(
            Candle(
                symbol=SYMBOL,
                timeframe="1m",
                open_at=START + timedelta(minutes=i),
                open=round(open_, 1),
                high=round(high, 1),
                low=round(low, 1),
                close=round(price, 1),
                volume=round(abs(rng.gauss(50, 10)), 3),
            )
        )
    return candles


def protected_position(clock: SimClock) -> SimExchange:
    venue = SimExchange(
        binance_futures_markets()[:1],
        clock,
        SimConfig(market_type="future", market_fill=MarketFill.IMMEDIATE, default_leverage=3),
    )
    venue.on_price("40000", at=START)
    for cid, side, kind, quantity, stop in (
        ("bench-entry", Side.BUY, OrderType.MARKET, "0.1", None),
        ("bench-stop", Side.SELL, OrderType.STOP_MARKET, "0.1", STOP),
        ("bench-tp", Side.SELL, OrderType.TAKE_PROFIT, "0.1", TAKE_PROFIT),
    ):
        venue.place(
            OrderIntent(
                client_order_id=ClientOrderId(cid),
                symbol=SYMBOL,
                side=side,
                type=kind,
                quantity=Decimal(quantity),
                stop_price=Decimal(str(stop)) if stop else None,
                reduce_only=kind is not OrderType.MARKET,
            )
        )
    return venue


def run_sim(candles: list[Candle]) -> float:
    clock = SimClock(START)
    venue = protected_position(clock)
    begin = time.perf_counter()
    for candle in candles:
        venue.on_candle(candle)
    elapsed = time.perf_counter() - begin
    if len(venue.open_orders()) != 2 or venue.fills()[-1].client_order_id != "bench-entry":
        raise RuntimeError("the benchmark's stop or take-profit fired: the synthetic series left its band")
    return elapsed


def run_reference(candles: list[Candle]) -> float:
    """Only the comparisons: does this bar reach the stop, or the take-profit?"""
    begin = time.perf_counter()
    stop_hits = take_profit_hits = 0
    for candle in candles:
        if candle.open <= STOP or candle.low <= STOP:
            stop_hits += 1
        elif candle.open >= TAKE_PROFIT or candle.high >= TAKE_PROFIT:
            take_profit_hits += 1
    elapsed = time.perf_counter() - begin
    if stop_hits or take_profit_hits:
        raise RuntimeError("the reference loop saw a trigger the simulation did not")
    return elapsed


def best_of(runs: int, measure: Callable[[list[Candle]], float], candles: list[Candle]) -> float:
    return min(measure(candles) for _ in range(runs))


def main() -> None:
    candles = synthetic_candles()
    sim_s = best_of(3, run_sim, candles)
    reference_s = best_of(3, run_reference, candles)
    print(
        f"series: SYNTHETIC seeded random walk (seed {SEED}), {len(candles):,} one-minute bars, futures BTC/USDT:USDT"
    )
    print("book: one long position with one resting reduce-only stop and one take-profit (never triggered)")
    print(f"simulated exchange: {len(candles) / sim_s:,.0f} bars/s ({sim_s * 1e6 / len(candles):.2f} us/bar)")
    print(f"reference (plain OHLC comparisons): {len(candles) / reference_s:,.0f} bars/s")
    print(f"ratio: the simulation costs {sim_s / reference_s:,.1f}x the bare comparisons")


if __name__ == "__main__":
    main()
