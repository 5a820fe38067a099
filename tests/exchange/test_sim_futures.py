"""The simulated exchange in USDT-M futures mode: margin, P&L, reduce-only, funding, liquidation."""

from decimal import Decimal as D

import pytest

from core.clock import SimClock
from core.errors import OrderRejected, RejectCode
from core.ids import ClientOrderId
from core.types import OrderStatus, OrderType, PositionSide, Side
from exchange.sim import Bar, MarketFill, SimBroker
from tests.exchange.simkit import FUT_BTC, T0, futures_venue, intent


def fut(cid: str, side: Side = Side.BUY, order_type: OrderType = OrderType.MARKET, quantity: str = "0.1", **kw):
    return intent(cid, side, order_type, quantity, symbol=FUT_BTC, **kw)


def bar(o: str, h: str, low: str, c: str) -> Bar:
    return Bar(D(o), D(h), D(low), D(c))


async def opened_long(quantity: str = "0.1", leverage: int = 5, **config):
    venue = futures_venue(market_fill=MarketFill.IMMEDIATE, default_leverage=leverage, **config)
    broker = SimBroker(venue)
    venue.on_price("40000")
    order = await broker.create_order(fut("tw-entry", quantity=quantity))
    assert order.status is OrderStatus.FILLED
    return venue, broker


async def test_a_long_holds_margin_and_reports_entry_leverage_and_unrealized_pnl() -> None:
    venue, broker = await opened_long()
    venue.on_price("40500")
    (position,) = await broker.fetch_positions()
    assert (position.side, position.quantity, position.entry_price, position.leverage) == (
        PositionSide.LONG,
        D("0.1"),
        D(40000),
        D(5),
    )
    assert position.unrealized_pnl == D(50)
    usdt = (await broker.fetch_balance())["USDT"]
    fee = D("0.1") * D(40000) * D("0.0005")
    assert usdt.used == D("0.1") * D(40500) / 5
    assert usdt.total == D(10_000) - fee + D(50)


async def test_realized_pnl_and_fees_land_in_the_wallet_when_the_position_closes() -> None:
    venue, broker = await opened_long()
    venue.on_price("41000")
    await broker.create_order(fut("tw-exit", Side.SELL, reduce_only=True))
    assert await broker.fetch_positions() == []
    fees = D("0.1") * (D(40000) + D(41000)) * D("0.0005")
    assert venue.wallet() == D(10_000) + D(100) - fees


async def test_insufficient_margin_is_rejected() -> None:
    venue = futures_venue(default_leverage=2)
    venue.on_price("40000")
    with pytest.raises(OrderRejected) as raised:
        await SimBroker(venue).create_order(fut("tw-1", quantity="0.6"))  # 24000 notional / 2 > 10000
    assert raised.value.code == RejectCode.INSUFFICIENT_FUNDS


async def test_a_short_and_a_flip_through_zero() -> None:
    venue = futures_venue(market_fill=MarketFill.IMMEDIATE, default_leverage=10)
    broker = SimBroker(venue)
    venue.on_price("40000")
    await broker.create_order(fut("tw-s", Side.SELL, quantity="0.2"))
    venue.on_price("39000")
    await broker.create_order(fut("tw-flip", Side.BUY, quantity="0.3"))
    (position,) = await broker.fetch_positions()
    assert (position.side, position.quantity, position.entry_price) == (PositionSide.LONG, D("0.1"), D(39000))
    fees = (D("0.2") * D(40000) + D("0.3") * D(39000)) * D("0.0005")
    assert venue.wallet() == D(10_000) + D(200) - fees


async def test_reduce_only_market_order_without_a_position_is_rejected() -> None:
    venue = futures_venue()
    venue.on_price("40000")
    with pytest.raises(OrderRejected) as raised:
        await SimBroker(venue).create_order(fut("tw-1", Side.SELL, reduce_only=True))
    assert raised.value.code == RejectCode.REDUCE_ONLY_REJECTED


async def test_reduce_only_caps_at_the_position_and_never_opens_the_other_way() -> None:
    _venue, broker = await opened_long(quantity="0.1")
    order = await broker.create_order(fut("tw-exit", Side.SELL, quantity="0.25", reduce_only=True))
    assert order.filled_quantity == D("0.1") and order.status is OrderStatus.EXPIRED
    assert await broker.fetch_positions() == []


async def test_a_bar_through_both_stop_and_take_profit_fills_the_stop_first() -> None:
    venue, broker = await opened_long()
    await broker.create_order(fut("tw-sl", Side.SELL, OrderType.STOP_MARKET, stop="39000", reduce_only=True))
    await broker.create_order(fut("tw-tp", Side.SELL, OrderType.TAKE_PROFIT, stop="41000", reduce_only=True))
    (fill,) = venue.on_bar(FUT_BTC, bar("40000", "41500", "38500", "40000"))
    assert (fill.client_order_id, fill.price) == ("tw-sl", D(39000))
    take_profit = await broker.fetch_order(ClientOrderId("tw-tp"), FUT_BTC)
    assert take_profit.status is OrderStatus.EXPIRED and take_profit.filled_quantity == 0
    assert venue.order_reason(ClientOrderId("tw-tp")) == "reduce-only: nothing left to reduce"


async def test_a_resting_reduce_only_stop_outlives_its_position_until_cancelled() -> None:
    _venue, broker = await opened_long()
    await broker.create_order(fut("tw-sl", Side.SELL, OrderType.STOP_MARKET, stop="39000", reduce_only=True))
    await broker.create_order(fut("tw-exit", Side.SELL, reduce_only=True))
    assert [o.client_order_id for o in await broker.fetch_open_orders(FUT_BTC)] == ["tw-sl"]


async def test_funding_longs_pay_shorts_when_the_rate_is_positive() -> None:
    venue, _broker = await opened_long(quantity="0.5")
    before = venue.wallet()
    paid = venue.apply_funding("0.0001", mark_price="40000")
    assert paid == -D("0.5") * D(40000) * D("0.0001") == venue.wallet() - before
    assert venue.apply_funding("-0.0002") == D("0.5") * D(40000) * D("0.0002")  # mark = last price
    (at, symbol, rate, payment) = venue.funding_payments()[0]
    assert (at, symbol, rate, payment) == (T0, FUT_BTC, D("0.0001"), paid)


async def test_equity_below_maintenance_liquidates_at_the_bars_worst_price() -> None:
    venue, broker = await opened_long(quantity="2", leverage=20, initial_balances={"USDT": D(5000)})
    await broker.create_order(
        fut("tw-sl", Side.SELL, OrderType.STOP_MARKET, quantity="2", stop="30000", reduce_only=True)
    )
    venue.on_bar(FUT_BTC, bar("40000", "40100", "37400", "37500"))  # -5200 at the low: under water
    assert await broker.fetch_positions() == []
    liquidation = [f for f in venue.fills() if f.client_order_id.startswith("autoclose-")]
    assert [(f.side, f.quantity, f.price) for f in liquidation] == [(Side.SELL, D(2), D(37400))]
    assert (await broker.fetch_order(ClientOrderId("tw-sl"), FUT_BTC)).status is OrderStatus.CANCELED
    assert venue.wallet() == 0


async def test_leverage_is_per_symbol_and_bounded() -> None:
    venue = futures_venue(default_leverage=3)
    broker = SimBroker(venue)
    await broker.set_leverage(FUT_BTC, 10)
    venue.on_price("40000")
    await broker.create_order(fut("tw-1", order_type=OrderType.LIMIT, price="39000", quantity="1"))
    assert (await broker.fetch_balance())["USDT"].used == D(39000) / 10 + D(39000) * D("0.0005")
    with pytest.raises(OrderRejected):
        await broker.set_leverage(FUT_BTC, 126)


async def test_funding_needs_a_futures_account_and_a_mark() -> None:
    venue = futures_venue()
    with pytest.raises(ValueError, match="mark price"):
        venue.apply_funding("0.0001")
    assert venue.apply_funding("0.0001", mark_price="40000") == 0  # no position, nothing paid


def test_time_never_goes_back() -> None:
    clock = SimClock(T0)
    venue = futures_venue(clock)
    clock.advance_by(60)
    venue.on_price("40000")
    with pytest.raises(ValueError, match="cannot go back"):
        venue.on_price("40000", at=T0)
