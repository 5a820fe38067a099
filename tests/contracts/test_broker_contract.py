"""The behaviour every ``Broker`` must show, run against the simulated exchange and against the ccxt
broker (real ccxt, Binance's HTTP layer answered by ``FakeBinance``), for spot and USDT-M futures.

The simulated broker runs in its backtest configuration (market orders fill at the next price), so
the contract only promises what both give: a market order is filled by the next price at the latest.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal as D
from typing import Any

import pytest

from core.clock import SimClock
from core.errors import OrderRejected, RejectCode
from core.ids import ClientOrderId, Symbol
from core.ports import Broker
from core.types import Order, OrderIntent, OrderStatus, OrderType, PositionSide, Side
from exchange.sim import (
    Fault,
    FaultKind,
    FaultPlan,
    Op,
    SimBroker,
    SimConfig,
    SimExchange,
    binance_futures_markets,
    binance_spot_markets,
)
from tests.exchange.ccxtkit import ccxt_rig
from tests.exchange.simkit import T0


@dataclass
class Harness:
    """One broker under test plus the hooks the contract needs to move its world."""

    name: str
    broker: Broker
    venue: SimExchange
    clock: SimClock
    symbol: Symbol
    futures: bool
    fail_create_after_accept: Any

    def move(self, price: str) -> None:
        """The market trades at ``price`` a minute later."""
        self.clock.advance_by(60)
        self.venue.on_price(price, symbol=self.symbol)

    def orders_with(self, cid: str) -> list[Order]:
        return self.venue.orders_with_client_id(ClientOrderId(cid))

    def intent(
        self,
        cid: str,
        side: Side = Side.BUY,
        order_type: OrderType = OrderType.MARKET,
        quantity: str = "0.01",
        **fields: Any,
    ) -> OrderIntent:
        for key in ("price", "stop_price"):
            if key in fields:
                fields[key] = D(fields[key])
        return OrderIntent(
            client_order_id=ClientOrderId(cid),
            symbol=self.symbol,
            side=side,
            type=order_type,
            quantity=D(quantity),
            **fields,
        )

    async def exit_side_setup(self) -> Side:
        """Hold 0.01 BTC long (bought on futures; granted on spot) and return the exit side."""
        if self.futures:
            await self.broker.create_order(self.intent("tw-entry", quantity="0.01"))
            self.move("40000")
        return Side.SELL


def sim_harness(futures: bool, **sim: Any) -> Harness:
    clock = SimClock(T0)
    markets = binance_futures_markets() if futures else binance_spot_markets()
    balances = {"USDT": D(10_000)} if futures else {"USDT": D(10_000), "BTC": D("0.01")}
    venue = SimExchange(
        markets,
        clock,
        SimConfig(market_type="future" if futures else "spot", initial_balances=balances, default_leverage=5, **sim),
    )
    plan = FaultPlan.none()
    symbol = markets[0].symbol
    venue.on_price("40000", symbol=symbol)

    def fail() -> None:
        plan.inject(Fault(FaultKind.TIMEOUT_AFTER_ACCEPT, op=Op.CREATE_ORDER))

    return Harness(
        f"sim-{'futures' if futures else 'spot'}", SimBroker(venue, faults=plan), venue, clock, symbol, futures, fail
    )


def ccxt_harness(futures: bool, **sim: Any) -> Harness:
    balances = {"USDT": D(10_000)} if futures else {"USDT": D(10_000), "BTC": D("0.01")}
    rig = ccxt_rig("future" if futures else "spot", balances=balances, **sim)
    symbol = Symbol("BTC/USDT:USDT" if futures else "BTC/USDT")
    rig.venue.on_price("40000", symbol=symbol)

    def fail() -> None:
        for path in ("/fapi/v1/order", "/fapi/v1/algoOrder") if futures else ("/api/v3/order",):
            rig.fake.fail_next("POST", path, "timeout_after")

    return Harness(f"ccxt-{'futures' if futures else 'spot'}", rig.broker, rig.venue, rig.clock, symbol, futures, fail)


BUILDERS = {
    "sim-spot": lambda: sim_harness(False),
    "sim-futures": lambda: sim_harness(True),
    "ccxt-spot": lambda: ccxt_harness(False),
    "ccxt-futures": lambda: ccxt_harness(True),
}


BINANCE_FEES = {"spot_fees_in_received_asset": True}
"""Spot fees taken from the asset a trade delivers, as Binance does unless BNB pays (futures: unchanged)."""
BUILDERS_WITH_BINANCE_FEES = {
    "sim-spot": lambda: sim_harness(False, **BINANCE_FEES),
    "sim-futures": lambda: sim_harness(True, **BINANCE_FEES),
    "ccxt-spot": lambda: ccxt_harness(False, **BINANCE_FEES),
    "ccxt-futures": lambda: ccxt_harness(True, **BINANCE_FEES),
}


@pytest.fixture(params=sorted(BUILDERS))
async def h(request: pytest.FixtureRequest) -> AsyncIterator[Harness]:
    harness = BUILDERS[request.param]()
    await harness.broker.load_markets()
    yield harness
    await harness.broker.close()


@pytest.fixture(params=sorted(BUILDERS_WITH_BINANCE_FEES))
async def hb(request: pytest.FixtureRequest) -> AsyncIterator[Harness]:
    harness = BUILDERS_WITH_BINANCE_FEES[request.param]()
    await harness.broker.load_markets()
    yield harness
    await harness.broker.close()


# ---------------------------------------------------------------- lifecycle


async def test_a_limit_order_rests_is_listed_fills_when_traded_through_and_leaves_the_book(h: Harness) -> None:
    placed = await h.broker.create_order(h.intent("tw-bid", order_type=OrderType.LIMIT, quantity="0.01", price="39000"))
    assert placed.status is OrderStatus.OPEN and placed.client_order_id == "tw-bid"
    assert [o.client_order_id for o in await h.broker.fetch_open_orders(h.symbol)] == ["tw-bid"]
    assert (await h.broker.fetch_order(ClientOrderId("tw-bid"), h.symbol)).intent == placed.intent
    h.move("39500")
    assert (await h.broker.fetch_order(ClientOrderId("tw-bid"), h.symbol)).status is OrderStatus.OPEN
    h.move("38900")
    filled = await h.broker.fetch_order(ClientOrderId("tw-bid"), h.symbol)
    assert (filled.status, filled.filled_quantity, filled.average_price) == (OrderStatus.FILLED, D("0.01"), D(39000))
    assert await h.broker.fetch_open_orders(h.symbol) == []
    trades = await h.broker.fetch_my_trades(h.symbol)
    assert [(t.client_order_id, t.quantity, t.price) for t in trades] == [("tw-bid", D("0.01"), D(39000))]


async def test_a_market_order_is_filled_by_the_next_price_at_the_latest(h: Harness) -> None:
    await h.broker.create_order(h.intent("tw-mkt", quantity="0.01"))
    h.move("40100")
    order = await h.broker.fetch_order(ClientOrderId("tw-mkt"), h.symbol)
    assert order.status is OrderStatus.FILLED and order.filled_quantity == D("0.01")
    assert order.average_price in (D(40000), D(40100))
    positions = await h.broker.fetch_positions([h.symbol])
    assert [(p.symbol, p.side) for p in positions] == [(h.symbol, PositionSide.LONG)]
    # spot: the 0.01 held before plus what the buy delivered net of its fee, taken in BTC as Binance does
    assert positions[0].quantity == (D("0.01") if h.futures else D("0.01999"))


# ---------------------------------------------------------------- precision and limits


async def test_orders_are_quantized_down_to_the_step_and_to_the_tick(h: Harness) -> None:
    order = await h.broker.create_order(
        h.intent("tw-q", order_type=OrderType.LIMIT, quantity="0.0129999", price="39000.004")
    )
    assert order.intent.quantity == (D("0.012") if h.futures else D("0.01299"))
    assert order.intent.price == D(39000)  # tick 0.01 on spot, 0.1 on futures
    assert len(h.orders_with("tw-q")) == 1 and h.orders_with("tw-q")[0].intent == order.intent


@pytest.mark.parametrize(
    ("quantity", "price", "code"),
    [("0.002", "1000", RejectCode.BELOW_MIN_NOTIONAL), ("0.0000001", "39000", RejectCode.BELOW_MIN_QTY)],
)
async def test_orders_below_the_markets_minimums_are_rejected(h: Harness, quantity: str, price: str, code: str) -> None:
    with pytest.raises(OrderRejected) as raised:
        await h.broker.create_order(h.intent("tw-small", order_type=OrderType.LIMIT, quantity=quantity, price=price))
    assert raised.value.code == code
    assert h.orders_with("tw-small") == []


# ---------------------------------------------------------------- idempotency


async def test_a_timeout_after_the_exchange_accepted_the_order_never_makes_a_second_one(h: Harness) -> None:
    h.fail_create_after_accept()
    order = await h.broker.create_order(h.intent("tw-once", order_type=OrderType.LIMIT, price="39000"))
    assert order.client_order_id == "tw-once" and order.status is OrderStatus.OPEN
    assert len(h.orders_with("tw-once")) == 1


async def test_resending_an_open_order_returns_it_and_a_different_one_is_refused(h: Harness) -> None:
    first = await h.broker.create_order(h.intent("tw-dup", order_type=OrderType.LIMIT, price="39000"))
    again = await h.broker.create_order(h.intent("tw-dup", order_type=OrderType.LIMIT, price="39000"))
    assert again.exchange_order_id == first.exchange_order_id
    with pytest.raises(OrderRejected) as raised:
        await h.broker.create_order(h.intent("tw-dup", order_type=OrderType.LIMIT, price="38000"))
    assert raised.value.code == RejectCode.DUPLICATE_CLIENT_ORDER_ID
    assert len(h.orders_with("tw-dup")) == 1


# ---------------------------------------------------------------- cancel


async def test_cancel_of_an_open_order_then_again_then_of_an_unknown_one(h: Harness) -> None:
    await h.broker.create_order(h.intent("tw-c", order_type=OrderType.LIMIT, price="39000"))
    cancelled = await h.broker.cancel_order(ClientOrderId("tw-c"), h.symbol)
    assert cancelled.status is OrderStatus.CANCELED and cancelled.filled_quantity == 0
    assert (await h.broker.cancel_order(ClientOrderId("tw-c"), h.symbol)).status is OrderStatus.CANCELED
    with pytest.raises(OrderRejected) as raised:
        await h.broker.cancel_order(ClientOrderId("tw-never"), h.symbol)
    assert raised.value.code == RejectCode.ORDER_NOT_FOUND


async def test_cancel_of_a_filled_order_reports_the_fill(h: Harness) -> None:
    await h.broker.create_order(h.intent("tw-f", order_type=OrderType.LIMIT, price="39000"))
    h.move("38000")
    order = await h.broker.cancel_order(ClientOrderId("tw-f"), h.symbol)
    assert (order.status, order.filled_quantity) == (OrderStatus.FILLED, D("0.01"))


# ---------------------------------------------------------------- reduce-only


async def test_reduce_only_never_increases_a_position(h: Harness) -> None:
    if h.futures:
        with pytest.raises(OrderRejected) as raised:
            await h.broker.create_order(h.intent("tw-ro", Side.SELL, reduce_only=True))
        assert raised.value.code == RejectCode.REDUCE_ONLY_REJECTED
        await h.exit_side_setup()
    else:
        with pytest.raises(OrderRejected) as raised:
            await h.broker.create_order(h.intent("tw-ro", Side.BUY, reduce_only=True))
        assert raised.value.code == RejectCode.REDUCE_ONLY_REJECTED
    await h.broker.create_order(h.intent("tw-exit", Side.SELL, quantity="0.01", reduce_only=True))
    h.move("40000")
    assert (await h.broker.fetch_order(ClientOrderId("tw-exit"), h.symbol)).status is OrderStatus.FILLED
    assert await h.broker.fetch_positions([h.symbol]) == []


# ---------------------------------------------------------------- protective stops


async def test_a_stop_is_placed_looked_up_listed_and_cancelled(h: Harness) -> None:
    side = await h.exit_side_setup()
    stop = h.intent("tw-sl", side, OrderType.STOP_MARKET, "0.01", stop_price="39000", reduce_only=h.futures)
    placed = await h.broker.create_order(stop)
    assert placed.status is OrderStatus.OPEN
    found = await h.broker.fetch_order(ClientOrderId("tw-sl"), h.symbol)
    assert (found.intent.type, found.intent.stop_price, found.status) == (
        OrderType.STOP_MARKET,
        39000,
        OrderStatus.OPEN,
    )
    assert "tw-sl" in [o.client_order_id for o in await h.broker.fetch_open_orders(h.symbol)]
    assert (await h.broker.cancel_order(ClientOrderId("tw-sl"), h.symbol)).status is OrderStatus.CANCELED
    assert "tw-sl" not in [o.client_order_id for o in await h.broker.fetch_open_orders(h.symbol)]


async def test_a_stop_gapped_through_fills_at_the_first_price_beyond_it(h: Harness) -> None:
    side = await h.exit_side_setup()
    await h.broker.create_order(
        h.intent("tw-sl", side, OrderType.STOP_MARKET, "0.01", stop_price="39000", reduce_only=h.futures)
    )
    h.move("38500")
    order = await h.broker.fetch_order(ClientOrderId("tw-sl"), h.symbol)
    assert (order.status, order.average_price) == (OrderStatus.FILLED, D(38500))
    assert await h.broker.fetch_positions([h.symbol]) == []


async def test_a_stop_already_through_the_market_is_refused(h: Harness) -> None:
    side = await h.exit_side_setup()
    with pytest.raises(OrderRejected) as raised:
        await h.broker.create_order(
            h.intent("tw-sl", side, OrderType.STOP_MARKET, "0.01", stop_price="40500", reduce_only=h.futures)
        )
    assert raised.value.code == RejectCode.WOULD_IMMEDIATELY_TRIGGER


# ---------------------------------------------------------------- fees and ownership


async def held(h: Harness) -> D:
    positions = await h.broker.fetch_positions([h.symbol])
    return positions[0].quantity if positions else D(0)


async def test_a_buy_reports_the_quantity_it_delivered_and_that_is_what_the_account_holds(hb: Harness) -> None:
    """Binance spot takes a buy's fee from the base asset bought (0.1 %: 0.01 -> 0.00999) unless BNB pays;
    a stop sized from anything more is refused. Futures fees are taken in the margin asset."""
    before = await held(hb)
    await hb.broker.create_order(hb.intent("tw-in", quantity="0.01"))
    hb.move("40000")
    order = await hb.broker.fetch_order(ClientOrderId("tw-in"), hb.symbol)
    assert order.filled_quantity == D("0.01")
    assert order.net_quantity == (D("0.01") if hb.futures else D("0.00999"))
    assert await held(hb) - before == order.net_quantity
    trades = await hb.broker.fetch_my_trades(hb.symbol)
    assert sum(t.net_quantity for t in trades if t.client_order_id == "tw-in") == order.net_quantity


async def test_orders_we_placed_are_never_reported_foreign(h: Harness) -> None:
    side = await h.exit_side_setup()
    await h.broker.create_order(h.intent("tw-bid", order_type=OrderType.LIMIT, price="39000"))
    await h.broker.create_order(
        h.intent("tw-sl", side, OrderType.STOP_MARKET, "0.01", stop_price="39000", reduce_only=h.futures)
    )
    listed = await h.broker.fetch_open_orders(h.symbol)
    assert {o.client_order_id for o in listed} == {"tw-bid", "tw-sl"}
    assert not any(o.foreign for o in listed)
