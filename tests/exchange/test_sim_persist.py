"""A simulated exchange saved as JSON and restored into a fresh one is the same exchange: same balances, positions,
orders and fills, and the same fills from then on (what paper mode relies on across a restart)."""

from __future__ import annotations

import json
from decimal import Decimal as D

import pytest

from core.clock import SimClock
from core.types import OrderType, Side
from exchange.sim import MarketFill, SimBroker, SimExchange
from exchange.sim.persist import dump, restore
from tests.exchange.simkit import FUT_BTC, SPOT_BTC, feed, futures_venue, intent, real_candles, spot_venue


def state(venue: SimExchange) -> tuple[object, ...]:
    return (venue.balances(), venue.positions(), venue.all_orders(), venue.open_orders(), venue.fills(),
            venue.funding_payments(), venue.wallet())


async def trade_a_while(venue: SimExchange, clock: SimClock, symbol: str) -> None:
    """An entry, a protective stop and a take-profit resting, a limit that filled, another one resting."""
    broker = SimBroker(venue)
    candles = real_candles(symbol)
    feed(venue, clock, candles[:5])
    price = D(str(candles[4].close))
    await broker.create_order(intent("tw-e1", Side.BUY, OrderType.MARKET, "0.05", symbol=symbol))
    protected = "0.05" if symbol == FUT_BTC else "0.04995"  # spot: what the buy delivered, net of its fee in BTC
    await broker.create_order(intent("tw-s1", Side.SELL, OrderType.STOP_MARKET, protected, symbol=symbol,
                                     stop="9070", reduce_only=symbol == FUT_BTC))  # below the first 40 candles, not the next 200
    await broker.create_order(intent("tw-l1", Side.BUY, OrderType.LIMIT, "0.02", symbol=symbol,
                                     price=str((price * D("0.999")).quantize(D("0.01")))))
    await broker.create_order(intent("tw-l2", Side.BUY, OrderType.LIMIT, "0.02", symbol=symbol,
                                     price=str((price * D("0.9")).quantize(D("0.01")))))
    if symbol == FUT_BTC:
        venue.apply_funding("0.0001", symbol=symbol)
    feed(venue, clock, candles[5:40])


@pytest.mark.parametrize(("make", "symbol"), [(spot_venue, SPOT_BTC), (futures_venue, FUT_BTC)], ids=["spot", "usdm"])
async def test_a_restored_exchange_is_the_same_exchange_and_trades_on_identically(make, symbol) -> None:  # type: ignore[no-untyped-def]
    clock = SimClock(real_candles(symbol)[0].open_at)
    first = make(clock, market_fill=MarketFill.IMMEDIATE)
    await trade_a_while(first, clock, symbol)
    saved = json.loads(json.dumps(dump(first)))  # through JSON text, as the store keeps it
    second_clock = SimClock(clock.now())
    second = make(second_clock, market_fill=MarketFill.IMMEDIATE)
    restore(second, saved)
    assert state(second) == state(first)
    assert [o.client_order_id for o in second.open_orders()] == ["tw-s1", "tw-l2"]
    later = real_candles(symbol)[40:240]
    feed(first, clock, later)
    feed(second, second_clock, later)
    assert state(second) == state(first), "the restored exchange matches and fills exactly like the original"
    assert any(f.client_order_id == "tw-s1" for f in first.fills()), "the series went through the stop"


def test_a_saved_account_of_the_other_market_type_is_refused() -> None:
    with pytest.raises(ValueError, match="does not match"):
        restore(futures_venue(), dump(spot_venue()))
    with pytest.raises(ValueError, match="not a saved"):
        restore(spot_venue(), {"format": "something-else"})
