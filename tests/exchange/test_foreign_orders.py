"""Every Binance order type reads, and orders that are not ours are marked foreign (issue 16, item 3).

An order placed by hand on a traded symbol (the Binance app's close-position TP/SL, whose quantity is 0; a
trailing stop; an OCO) made ``fetch_open_orders`` raise, and the engine could not start while a position
was open. The raw orders below are Binance's documented shapes (spot ``GET /api/v3/openOrders``, USDT-M
``GET /fapi/v1/openOrders`` and ``GET /fapi/v1/openAlgoOrders``), parsed by real ccxt.
"""

import itertools
from decimal import Decimal as D
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.ids import Symbol
from core.types import Order, OrderType, Side
from exchange.binance_orders import BINANCE_TYPES, FAR_PRICE, read_order
from exchange.sim import binance_spot_markets
from tests.exchange.ccxtkit import ccxt_rig
from tests.exchange.fake_binance import fixture
from tests.exchange.simkit import intent

BTC, FBTC = Symbol("BTC/USDT"), Symbol("BTC/USDT:USDT")
IDS = itertools.count(700)
RULES = next(m for m in binance_spot_markets() if m.symbol == BTC)


def spot_order(cid: str, kind: str, side: str = "SELL", **fields: Any) -> dict[str, Any]:
    raw = fixture("spot/order.json")
    raw.update(clientOrderId=cid, type=kind, side=side, orderId=next(IDS), origQty="0.01000000")
    raw.update(fields)
    return raw


def algo_order(cid: str, kind: str, **fields: Any) -> dict[str, Any]:
    raw = fixture("futures/algo_order.json")
    raw.update(
        clientAlgoId=cid,
        orderType=kind,
        symbol="BTCUSDT",
        side="SELL",
        algoStatus="NEW",
        quantity="0.010",
        triggerPrice="39000",
        price="0.000",
        algoId=3_000_000 + next(IDS),
    )
    raw.update(fields)
    return raw


def by_cid(orders: list[Order]) -> dict[str, Order]:
    return {o.client_order_id: o for o in orders}


async def test_every_spot_order_type_reads_and_orders_without_our_prefix_are_foreign() -> None:
    """Spot ``openOrders`` lists OCO legs (``orderListId``), LIMIT_MAKER, take-profit limits and trailing stops (``trailingDelta``, ``stopPrice`` 0)."""
    rig = ccxt_rig("spot", balances={"USDT": D(10_000), "BTC": D(1)})
    rig.venue.on_price("40000", symbol=BTC)
    await rig.broker.create_order(intent("tw-p1-s1", Side.SELL, OrderType.STOP_MARKET, "0.01", stop="39000"))
    rig.fake.foreign_orders += [
        spot_order("ios_oco_above", "LIMIT_MAKER", price="42000.00", orderListId=9),
        spot_order("ios_oco_below", "STOP_LOSS_LIMIT", price="38900.00", stopPrice="39000.00", orderListId=9),
        spot_order("web_tpl", "TAKE_PROFIT_LIMIT", price="43000.00", stopPrice="43000.00"),
        spot_order("web_tp", "TAKE_PROFIT", price="0.00", stopPrice="44000.00"),
        spot_order("and_trail", "STOP_LOSS", price="0.00", stopPrice="0.00", trailingDelta=150, trailingTime=-1),
        spot_order("web_buy", "LIMIT", side="BUY", price="35000.00"),
    ]
    orders = by_cid(await rig.broker.fetch_open_orders(BTC))
    assert not orders["tw-p1-s1"].foreign and orders["tw-p1-s1"].venue_type == "STOP_LOSS"
    foreign = {cid: o for cid, o in orders.items() if o.foreign}
    assert set(foreign) == {"ios_oco_above", "ios_oco_below", "web_tpl", "web_tp", "and_trail", "web_buy"}
    above, below = foreign["ios_oco_above"], foreign["ios_oco_below"]
    assert (above.intent.type, above.intent.post_only, above.intent.price, above.order_list_id) == (
        OrderType.LIMIT,
        True,
        D(42000),
        "9",
    )
    assert (below.intent.type, below.intent.stop_price, below.intent.price, below.order_list_id) == (
        OrderType.STOP_LIMIT,
        D(39000),
        D(38900),
        "9",
    )
    # A take-profit limit triggers above the market for a sell: it reads as a take-profit, never as a stop.
    assert (foreign["web_tpl"].intent.type, foreign["web_tpl"].venue_type) == (
        OrderType.TAKE_PROFIT,
        "TAKE_PROFIT_LIMIT",
    )
    assert foreign["web_tp"].intent.stop_price == D(44000)
    trail = foreign["and_trail"]
    assert (trail.intent.type, trail.trigger_known, trail.trailing_callback_pct) == (
        OrderType.STOP_MARKET,
        False,
        D("1.5"),
    )
    assert trail.intent.stop_price == D("0.01")  # unknown trigger: the farthest sell stop, never looks tighter


async def test_the_apps_close_position_tp_sl_and_trailing_stops_read_on_futures() -> None:
    """The app's TP/SL are algo orders with ``closePosition: true`` and quantity 0; trailing stops carry ``callbackRate``."""
    rig = ccxt_rig("future")
    rig.venue.on_price("40000", symbol=FBTC)
    await rig.broker.create_order(intent("tw-p1-e0", quantity="0.01", symbol=FBTC))
    await rig.broker.create_order(
        intent("tw-p1-s1", Side.SELL, OrderType.STOP_MARKET, "0.01", stop="39000", symbol=FBTC, reduce_only=True)
    )
    regular_trailing = fixture("futures/order.json")  # Binance's TRAILING_STOP_MARKET example (a short's)
    rig.fake.foreign_orders.append(regular_trailing)
    rig.fake.foreign_algo_orders += [
        algo_order("web_close_sl", "STOP_MARKET", quantity="0", closePosition=True, triggerPrice="38000"),
        algo_order("web_close_tp", "TAKE_PROFIT_MARKET", quantity="", closePosition=True, triggerPrice="45000"),
        algo_order("and_trail", "TRAILING_STOP_MARKET", triggerPrice="", activatePrice="41000", callbackRate="0.8"),
        algo_order("web_stop_limit", "STOP", price="38900", triggerPrice="39000"),
        algo_order("web_tp_limit", "TAKE_PROFIT", price="45100", triggerPrice="45000"),
        algo_order("web_new_kind", "SOMETHING_BINANCE_ADDS_LATER"),
    ]
    orders = by_cid(await rig.broker.fetch_open_orders(FBTC))
    assert not orders["tw-p1-s1"].foreign and orders["tw-p1-s1"].intent.stop_price == D(39000)
    close_sl = orders["web_close_sl"]
    assert close_sl.foreign and close_sl.close_position and close_sl.intent.reduce_only
    assert (close_sl.intent.type, close_sl.intent.stop_price, close_sl.intent.quantity) == (
        OrderType.STOP_MARKET,
        D(38000),
        D(1000),  # quantity 0 on Binance: the market's maximum, it closes any position
    )
    assert orders["web_close_tp"].close_position and orders["web_close_tp"].intent.type is OrderType.TAKE_PROFIT
    trail = orders["and_trail"]
    assert (trail.venue_type, trail.trigger_known, trail.trailing_callback_pct, trail.intent.stop_price) == (
        "TRAILING_STOP_MARKET",
        False,
        D("0.8"),
        D("0.1"),
    )
    short_trail = orders["abc"]  # a buy (a short's) trailing stop: its unknown trigger is the farthest buy stop
    assert (short_trail.intent.side, short_trail.intent.stop_price, short_trail.trailing_callback_pct) == (
        Side.BUY,
        FAR_PRICE,
        D("0.3"),
    )
    assert (orders["web_stop_limit"].intent.type, orders["web_stop_limit"].intent.price) == (
        OrderType.STOP_LIMIT,
        38900,
    )
    assert orders["web_tp_limit"].intent.type is OrderType.TAKE_PROFIT
    assert (orders["web_new_kind"].venue_type, orders["web_new_kind"].trigger_known) == (
        "SOMETHING_BINANCE_ADDS_LATER",
        False,
    )
    assert all(o.foreign for cid, o in orders.items() if not cid.startswith("tw-"))


async def test_an_order_with_our_prefix_is_read_strictly() -> None:
    """Ours must read back exactly as sent; a type we never send under our prefix is a loud error."""
    rig = ccxt_rig("future")
    rig.fake.foreign_algo_orders.append(algo_order("tw-p9-s1", "SOMETHING_BINANCE_ADDS_LATER"))
    with pytest.raises(ValueError, match="unsupported Binance order type"):
        await rig.broker.fetch_open_orders(FBTC)


async def test_the_prefix_is_the_brokers_setting() -> None:
    """Binance knows no owner: the client-id prefix is the only mark of our orders."""
    rig = ccxt_rig("spot")
    rig.venue.on_price("40000", symbol=BTC)
    await rig.broker.create_order(intent("tw-p1-e0", order_type=OrderType.LIMIT, quantity="0.01", price="39000"))
    rig.broker._orders.prefix = "bot2"
    (order,) = await rig.broker.fetch_open_orders(BTC)
    assert order.foreign


junk_text = st.one_of(st.none(), st.text(max_size=8), st.sampled_from(["0", "", "-1", "1e400", "NaN", "0.01", "39000"]))


@given(
    kind=st.one_of(st.sampled_from(sorted(BINANCE_TYPES)), st.text(max_size=12)),
    side=st.one_of(st.none(), st.sampled_from(["buy", "sell", "BUY", "sideways"])),
    info=st.dictionaries(
        st.sampled_from(
            [
                "origQty",
                "quantity",
                "price",
                "stopPrice",
                "triggerPrice",
                "closePosition",
                "reduceOnly",
                "callbackRate",
                "priceRate",
                "trailingDelta",
                "orderListId",
                "timeInForce",
                "activatePrice",
            ]
        ),
        junk_text,
    ),
)
def test_reading_a_foreign_order_never_raises_whatever_binance_sends(kind: str, side: str | None, info: dict) -> None:
    """Whatever another client's order looks like (types Binance adds later, odd fields), listing it never fails."""
    raw = {"symbol": BTC, "side": side, "type": "market", "clientOrderId": "web_x", "info": {"type": kind, **info}}
    venue = read_order(raw, RULES, lenient=True)
    assert venue.intent.quantity > 0 and venue.intent.client_order_id == "web_x"
    if venue.intent.type.is_conditional and not venue.trigger_known:
        assert venue.intent.stop_price in (RULES.tick_size, FAR_PRICE)
