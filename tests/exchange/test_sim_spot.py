"""The simulated exchange in spot mode: fills, fees, funds, precision, rejections."""

from datetime import timedelta
from decimal import Decimal as D

import pytest

from core.clock import SimClock
from core.errors import OrderRejected, RejectCode
from core.ids import ClientOrderId
from core.types import Liquidity, OrderStatus, OrderType, PositionSide, Side
from exchange.sim import Bar, FixedBpsSlippage, MarketFill, SimBroker
from exchange.sim.book import UnknownOrder
from tests.exchange.simkit import SPOT_BTC, T0, feed, intent, real_candles, spot_venue


def bar(o: str, h: str, low: str, c: str, v: str | None = None) -> Bar:
    return Bar(D(o), D(h), D(low), D(c), D(v) if v else None)


async def test_market_order_fills_at_the_next_price_with_slippage_and_taker_fee() -> None:
    clock = SimClock(T0)
    venue = spot_venue(clock, slippage=FixedBpsSlippage(D(10)))
    broker = SimBroker(venue)
    venue.on_price("40000")
    order = await broker.create_order(intent("tw-1", quantity="0.1"))
    assert order.status is OrderStatus.OPEN  # nothing fills before the next price
    clock.advance_by(60)
    fills = venue.on_price("40100")
    assert [(f.price, f.quantity, f.liquidity) for f in fills] == [(D("40140.10"), D("0.1"), Liquidity.TAKER)]
    assert (fills[0].fee, fills[0].fee_asset) == (D("0.1") * D("0.001"), "BTC")  # Binance: a buy pays in the base
    balances = await broker.fetch_balance()
    assert balances["BTC"].free == D("0.0999")
    assert balances["USDT"].total == D(10_000) - D("4014.010")
    assert balances["USDT"].used == 0


async def test_immediate_mode_fills_a_market_order_at_the_last_price() -> None:
    venue = spot_venue(market_fill=MarketFill.IMMEDIATE)
    venue.on_price("40000")
    order = await SimBroker(venue).create_order(intent("tw-1", quantity="0.1"))
    assert order.status is OrderStatus.FILLED and order.average_price == D(40000)


async def test_limit_buy_fills_only_when_price_trades_through_at_its_price_as_maker() -> None:
    venue = spot_venue()
    broker = SimBroker(venue)
    venue.on_price("40000")
    await broker.create_order(intent("tw-1", order_type=OrderType.LIMIT, price="39500", quantity="0.1"))
    assert venue.on_bar(SPOT_BTC, bar("40000", "40100", "39500", "39800")) == []  # touched, not through
    (fill,) = venue.on_bar(SPOT_BTC, bar("39800", "39900", "39400", "39600"))
    assert (fill.price, fill.liquidity, fill.fee) == (D(39500), Liquidity.MAKER, D("0.1") * D("0.001"))


async def test_a_limit_that_is_marketable_at_the_next_open_takes_at_the_open() -> None:
    venue = spot_venue()
    venue.on_price("40000")
    await SimBroker(venue).create_order(intent("tw-1", order_type=OrderType.LIMIT, price="40500", quantity="0.1"))
    (fill,) = venue.on_bar(SPOT_BTC, bar("40200", "40300", "40100", "40250"))
    assert (fill.price, fill.liquidity) == (D(40200), Liquidity.TAKER)


async def test_stop_triggers_on_the_range_and_a_gap_fills_at_the_open() -> None:
    venue = spot_venue(initial_balances={"USDT": D(0), "BTC": D(1)})
    broker = SimBroker(venue)
    venue.on_price("40000")
    await broker.create_order(intent("tw-s1", Side.SELL, OrderType.STOP_MARKET, "0.5", stop="39000"))
    await broker.create_order(intent("tw-s2", Side.SELL, OrderType.STOP_MARKET, "0.5", stop="38000"))
    (first,) = venue.on_bar(SPOT_BTC, bar("39800", "39900", "38900", "39100"))
    assert first.price == D(39000)
    (gapped,) = venue.on_bar(SPOT_BTC, bar("37000", "37200", "36500", "36900"))
    assert gapped.client_order_id == "tw-s2" and gapped.price == D(37000)  # the open, not the 38000 stop


async def test_partial_fills_take_a_share_of_each_bar_volume() -> None:
    venue = spot_venue(liquidity_fraction=D("0.1"))
    broker = SimBroker(venue)
    venue.on_price("100")
    await broker.create_order(intent("tw-1", order_type=OrderType.LIMIT, price="99", quantity="3"))
    (f1,) = venue.on_bar(SPOT_BTC, bar("100", "100", "98", "99", v="12"))
    assert f1.quantity == D("1.2")
    order = await broker.fetch_order(ClientOrderId("tw-1"), SPOT_BTC)
    assert order.status is OrderStatus.PARTIALLY_FILLED and order.filled_quantity == D("1.2")
    venue.on_bar(SPOT_BTC, bar("99", "99", "98", "98", v="50"))
    order = await broker.fetch_order(ClientOrderId("tw-1"), SPOT_BTC)
    assert order.status is OrderStatus.FILLED and order.filled_quantity == D(3)


async def test_open_orders_lock_funds_and_insufficient_funds_are_rejected() -> None:
    venue = spot_venue()
    broker = SimBroker(venue)
    venue.on_price("40000")
    await broker.create_order(intent("tw-1", order_type=OrderType.LIMIT, price="39000", quantity="0.2"))
    usdt = (await broker.fetch_balance())["USDT"]
    assert usdt.used == D("0.2") * D(39000)  # a buy's fee comes out of the base bought: only the notional locks
    with pytest.raises(OrderRejected) as raised:
        await broker.create_order(intent("tw-2", order_type=OrderType.LIMIT, price="39000", quantity="0.06"))
    assert raised.value.code == RejectCode.INSUFFICIENT_FUNDS
    await broker.cancel_order(ClientOrderId("tw-1"), SPOT_BTC)
    assert (await broker.fetch_balance())["USDT"].used == 0
    await broker.create_order(intent("tw-2", order_type=OrderType.LIMIT, price="39000", quantity="0.06"))


async def test_the_venue_refuses_off_grid_orders_and_the_broker_quantizes_them() -> None:
    venue = spot_venue()
    venue.on_price("40000")
    off_grid = intent("tw-1", order_type=OrderType.LIMIT, price="39000.005", quantity="0.0123456")
    with pytest.raises(OrderRejected) as raised:
        venue.place(off_grid)
    assert raised.value.code == RejectCode.INVALID_PRECISION
    order = await SimBroker(venue).create_order(off_grid)
    assert (order.intent.quantity, order.intent.price) == (D("0.01234"), D("39000.00"))


@pytest.mark.parametrize(
    ("order", "code"),
    [
        (intent("tw-n", quantity="0.0001"), RejectCode.BELOW_MIN_NOTIONAL),  # 4 USDT < 5
        (intent("tw-q", quantity="0.000001"), RejectCode.BELOW_MIN_QTY),
        (intent("tw-t", Side.SELL, OrderType.STOP_MARKET, stop="40001"), RejectCode.WOULD_IMMEDIATELY_TRIGGER),
        (intent("tw-p", order_type=OrderType.LIMIT, price="40001", post_only=True), RejectCode.POST_ONLY_WOULD_TAKE),
        (intent("tw-r", reduce_only=True), RejectCode.REDUCE_ONLY_REJECTED),
        (intent("tw-s", Side.SELL, quantity="0.01"), RejectCode.INSUFFICIENT_FUNDS),
        (intent("tw-u", symbol="DOGE/USDT"), RejectCode.UNKNOWN_SYMBOL),
    ],
)
async def test_rejections_carry_stable_codes(order, code) -> None:
    venue = spot_venue()
    venue.on_price("40000")
    with pytest.raises(OrderRejected) as raised:
        await SimBroker(venue).create_order(order)
    assert raised.value.code == code
    assert venue.all_orders() == []


async def test_a_market_order_needs_a_price_to_have_been_seen() -> None:
    with pytest.raises(OrderRejected) as raised:
        await SimBroker(spot_venue()).create_order(intent("tw-1"))
    assert raised.value.code == RejectCode.NO_MARKET_PRICE


async def test_client_ids_are_unique_among_open_orders_and_reusable_after() -> None:
    venue = spot_venue()
    venue.on_price("40000")
    venue.place(intent("tw-1", order_type=OrderType.LIMIT, price="39000"))
    with pytest.raises(OrderRejected) as raised:
        venue.place(intent("tw-1", order_type=OrderType.LIMIT, price="38000"))
    assert raised.value.code == RejectCode.DUPLICATE_CLIENT_ORDER_ID
    venue.cancel(ClientOrderId("tw-1"), SPOT_BTC)
    venue.place(intent("tw-1", order_type=OrderType.LIMIT, price="38000"))
    assert len(venue.orders_with_client_id(ClientOrderId("tw-1"))) == 2


async def test_cancel_of_a_filled_order_reports_the_fill() -> None:
    venue = spot_venue()
    broker = SimBroker(venue)
    venue.on_price("40000")
    await broker.create_order(intent("tw-1", quantity="0.1"))
    venue.on_price("40010")
    with pytest.raises(UnknownOrder):
        venue.cancel(ClientOrderId("tw-1"), SPOT_BTC)  # the venue says -2011 ...
    order = await broker.cancel_order(ClientOrderId("tw-1"), SPOT_BTC)  # ... the broker reports the fill
    assert order.status is OrderStatus.FILLED and order.filled_quantity == D("0.1")


async def test_unknown_orders_are_reported_as_not_found() -> None:
    broker = SimBroker(spot_venue())
    for call in (broker.fetch_order, broker.cancel_order):
        with pytest.raises(OrderRejected) as raised:
            await call(ClientOrderId("tw-nope"), SPOT_BTC)
        assert raised.value.code == RejectCode.ORDER_NOT_FOUND


async def test_stop_limit_fills_at_the_trigger_or_rests_when_gapped_past_its_limit() -> None:
    venue = spot_venue(initial_balances={"USDT": D(0), "BTC": D(1)})
    broker = SimBroker(venue)
    venue.on_price("40000")
    await broker.create_order(intent("tw-a", Side.SELL, OrderType.STOP_LIMIT, "0.1", stop="39000", price="38900"))
    (fill,) = venue.on_bar(SPOT_BTC, bar("39500", "39600", "38950", "39000"))
    assert fill.price == D(39000)
    await broker.create_order(intent("tw-b", Side.SELL, OrderType.STOP_LIMIT, "0.1", stop="38000", price="37900"))
    assert venue.on_bar(SPOT_BTC, bar("37000", "37100", "36900", "37000")) == []  # gapped past the limit
    assert (await broker.fetch_order(ClientOrderId("tw-b"), SPOT_BTC)).status is OrderStatus.OPEN
    (rest,) = venue.on_bar(SPOT_BTC, bar("37500", "38000", "37400", "37950"))
    assert (rest.price, rest.liquidity) == (D(37900), Liquidity.MAKER)


async def test_a_buy_that_cannot_be_paid_at_fill_time_fills_what_it_can_and_expires() -> None:
    venue = spot_venue(initial_balances={"USDT": D(1000)})
    broker = SimBroker(venue)
    venue.on_price("100")
    await broker.create_order(intent("tw-1", quantity="9.9"))
    (fill,) = venue.on_price("200")  # gapped up: 1000 USDT buys only 5 (the fee comes out of the BTC bought)
    order = await broker.fetch_order(ClientOrderId("tw-1"), SPOT_BTC)
    assert fill.quantity == D("5.0") and fill.net_quantity == D("4.995") and order.status is OrderStatus.EXPIRED
    assert venue.order_reason(ClientOrderId("tw-1")) == "insufficient funds at fill time"
    assert (await broker.fetch_balance())["USDT"].total >= 0


async def test_spot_positions_are_base_holdings_seen_as_longs() -> None:
    venue = spot_venue(initial_balances={"USDT": D(100), "BTC": D("0.5"), "ETH": D(0)})
    (position,) = await SimBroker(venue).fetch_positions()
    assert (position.symbol, position.side, position.quantity, position.entry_price) == (
        SPOT_BTC,
        PositionSide.LONG,
        D("0.5"),
        D(0),
    )


async def test_trades_and_open_orders_over_real_candles() -> None:
    candles = real_candles(limit=120)
    clock = SimClock(candles[0].open_at)
    venue = spot_venue(clock)
    broker = SimBroker(venue)
    venue.on_price(str(candles[0].open), at=candles[0].open_at)
    await broker.create_order(intent("tw-buy", quantity="0.05"))
    await broker.create_order(intent("tw-bid", order_type=OrderType.LIMIT, price="9000", quantity="0.05"))
    assert {o.client_order_id for o in await broker.fetch_open_orders(SPOT_BTC)} == {"tw-buy", "tw-bid"}
    feed(venue, clock, candles)
    trades = await broker.fetch_my_trades(SPOT_BTC)
    assert next(t.client_order_id for t in trades) == "tw-buy"
    assert trades[0].price == D(str(candles[0].open))  # the next price after the order was the first open
    since = await broker.fetch_my_trades(SPOT_BTC, since=trades[0].filled_at + timedelta(seconds=1))
    assert all(t.filled_at > trades[0].filled_at for t in since)
