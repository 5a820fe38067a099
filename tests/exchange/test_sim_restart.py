"""Restart, snapshots and determinism of the simulated exchange."""

from decimal import Decimal as D

import pytest

from core.clock import SimClock
from core.errors import OperationalError
from core.ids import ClientOrderId
from core.types import OrderStatus, OrderType, Side
from exchange.sim import FixedBpsSlippage, SimBroker
from tests.exchange.simkit import SPOT_BTC, feed, intent, real_candles, spot_venue


async def test_a_new_broker_over_the_same_exchange_is_a_restart() -> None:
    venue = spot_venue(initial_balances={"USDT": D(10_000), "BTC": D(1)})
    before = SimBroker(venue)
    venue.on_price("40000")
    await before.create_order(intent("tw-sl", Side.SELL, OrderType.STOP_MARKET, "0.5", stop="39000"))
    await before.close()
    with pytest.raises(OperationalError):
        await before.fetch_open_orders()
    after = SimBroker(venue)  # the process restarted: the exchange kept the stop
    (stop,) = await after.fetch_open_orders(SPOT_BTC)
    assert stop.client_order_id == "tw-sl" and stop.intent.stop_price == D(39000)
    venue.on_price("38500")
    assert (await after.fetch_order(ClientOrderId("tw-sl"), SPOT_BTC)).status is OrderStatus.FILLED


async def test_snapshot_and_restore_put_everything_back() -> None:
    venue = spot_venue()
    broker = SimBroker(venue)
    venue.on_price("40000")
    await broker.create_order(intent("tw-1", order_type=OrderType.LIMIT, price="39000", quantity="0.1"))
    snapshot = venue.snapshot()
    balances, orders, events = venue.balances(), venue.all_orders(), venue.events()
    venue.on_price("38000")
    await broker.create_order(intent("tw-2", order_type=OrderType.LIMIT, price="37000", quantity="0.1"))
    assert venue.all_orders() != orders
    venue.restore(snapshot)
    assert (venue.balances(), venue.all_orders(), venue.events()) == (balances, orders, events)
    venue.on_price("38000")  # the restored state keeps working, and the snapshot stays independent
    assert venue.fills()[0].client_order_id == "tw-1"
    venue.restore(snapshot)
    assert venue.fills() == []


def run_real_series() -> tuple[object, ...]:
    candles = real_candles()
    clock = SimClock(candles[0].open_at)
    venue = spot_venue(clock, slippage=FixedBpsSlippage(D(3)))
    venue.on_price(str(candles[0].open), at=candles[0].open_at)
    venue.place(intent("tw-buy", quantity="0.5"))
    feed(venue, clock, candles[:10])
    venue.place(intent("tw-sl", Side.SELL, OrderType.STOP_MARKET, "0.4995", stop="9070.00"))  # net of the BTC fee
    feed(venue, clock, candles[10:])
    return tuple(venue.fills()), tuple(venue.all_orders()), tuple(venue.balances().items())


def test_the_same_candles_give_byte_identical_results() -> None:
    first, second = run_real_series(), run_real_series()
    assert first == second
    assert repr(first) == repr(second)
    fills = first[0]
    assert isinstance(fills, tuple) and [f.client_order_id for f in fills] == ["tw-buy", "tw-sl"]
