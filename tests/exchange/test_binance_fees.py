"""Spot fees as Binance takes them: from the asset a trade delivers unless BNB pays (issue 16, item 1).

Binance spot charges a trade's commission in the asset received (``commissionAsset`` of each fill): a buy
of 0.01 BTC at 0.1 % credits 0.00999 BTC; a stop or exit for 0.01 is then refused with -2010 "Account has
insufficient balance for requested action". With the BNB discount switched on (``GET
/api/v3/account/commission`` -> ``discount.enabledForAccount``) and BNB held, the commission is taken in BNB
instead and the full 0.01 is credited.
"""

from decimal import Decimal as D

import pytest

from core.clock import SimClock
from core.errors import OrderRejected, RejectCode
from core.ids import ClientOrderId, Symbol
from core.types import OrderStatus, OrderType, Side
from exchange.sim import SimConfig, SimExchange, binance_spot_markets
from tests.exchange.ccxtkit import ccxt_rig
from tests.exchange.simkit import T0, intent

BTC = Symbol("BTC/USDT")
FBTC = Symbol("BTC/USDT:USDT")


def test_the_simulated_spot_exchange_takes_a_buys_fee_in_the_base_asset_when_asked() -> None:
    """Binance spot: the commission is taken from the asset received (a buy's in the base, a sell's in the quote)."""
    venue = SimExchange(
        binance_spot_markets(),
        SimClock(T0),
        SimConfig(initial_balances={"USDT": D(1000)}, spot_fees_in_received_asset=True),
    )
    venue.on_price("40000", symbol=BTC)
    venue.place(intent("tw-buy", quantity="0.01"))
    (fill,) = venue.on_price("40000", symbol=BTC)
    assert (fill.fee, fill.fee_asset, fill.base_fee, fill.net_quantity) == (
        D("0.00001"),
        "BTC",
        D("0.00001"),
        D("0.00999"),
    )
    order = venue.order(ClientOrderId("tw-buy"))
    assert (order.filled_quantity, order.base_fee, order.net_quantity) == (D("0.01"), D("0.00001"), D("0.00999"))
    balances = venue.balances()
    assert (balances["BTC"].total, balances["USDT"].total) == (D("0.00999"), D(600))  # no fee in USDT
    venue.place(intent("tw-sell", Side.SELL, quantity="0.00999"))
    (sale,) = venue.on_price("40000", symbol=BTC)
    assert (sale.fee_asset, sale.base_fee, sale.net_quantity) == ("USDT", 0, D("0.00999"))
    assert venue.balances()["USDT"].total == D(600) + D("399.6") - D("0.3996")


def test_by_default_the_simulated_exchange_takes_fees_as_binance_spot_does() -> None:
    """The default is Binance's (a buy's fee in the base asset); ``spot_fees_in_received_asset=False`` charges
    every fee in the quote asset, as an account whose fees BNB pays."""
    venue = SimExchange(binance_spot_markets(), SimClock(T0), SimConfig(initial_balances={"USDT": D(1000)}))
    venue.on_price("40000", symbol=BTC)
    venue.place(intent("tw-buy", quantity="0.01"))
    (fill,) = venue.on_price("40000", symbol=BTC)
    assert (fill.fee, fill.fee_asset, fill.net_quantity) == (D("0.00001"), "BTC", D("0.00999"))
    quote_fees = SimExchange(
        binance_spot_markets(), SimClock(T0),
        SimConfig(initial_balances={"USDT": D(1000)}, spot_fees_in_received_asset=False),
    )
    quote_fees.on_price("40000", symbol=BTC)
    quote_fees.place(intent("tw-buy", quantity="0.01"))
    (fill,) = quote_fees.on_price("40000", symbol=BTC)
    assert (fill.fee, fill.fee_asset, fill.net_quantity) == (D("0.4"), "USDT", D("0.01"))
    assert quote_fees.balances()["BTC"].total == D("0.01")


async def test_a_stop_sized_from_the_gross_fill_is_refused_and_one_from_the_net_quantity_is_placed() -> None:
    """The issue's loss: after buying 0.01 BTC the account holds 0.00999; a stop for 0.01 gets -2010."""
    rig = ccxt_rig("spot", spot_fees_in_received_asset=True)
    rig.venue.on_price("40000", symbol=BTC)
    bought = await rig.broker.create_order(intent("tw-in", quantity="0.01"))
    assert (bought.filled_quantity, bought.fee_asset, bought.base_fee) == (D("0.01"), "BTC", D("0.00001"))
    assert bought.net_quantity == D("0.00999") == (await rig.broker.fetch_balance())["BTC"].free
    with pytest.raises(OrderRejected) as refused:
        await rig.broker.create_order(intent("tw-sl1", Side.SELL, OrderType.STOP_MARKET, "0.01", stop="39000"))
    assert refused.value.code == RejectCode.INSUFFICIENT_FUNDS and "insufficient balance" in refused.value.message
    stop = await rig.broker.create_order(
        intent("tw-sl2", Side.SELL, OrderType.STOP_MARKET, str(bought.net_quantity), stop="39000")
    )
    assert stop.status is OrderStatus.OPEN and stop.intent.quantity == D("0.00999")


async def test_a_buy_read_back_by_id_reports_its_net_quantity_from_its_trades_once() -> None:
    """``GET /api/v3/order`` carries no ``fills``: the commission is in the order's trades (``myTrades?orderId``)."""
    rig = ccxt_rig("spot", spot_fees_in_received_asset=True)
    rig.venue.on_price("40000", symbol=BTC)
    await rig.broker.create_order(intent("tw-bid", order_type=OrderType.LIMIT, quantity="0.02", price="39000"))
    rig.clock.advance_by(60)
    rig.venue.on_price("38900", symbol=BTC)
    order = await rig.broker.fetch_order(ClientOrderId("tw-bid"), BTC)
    assert (order.status, order.fee, order.fee_asset, order.net_quantity) == (
        OrderStatus.FILLED,
        D("0.00002"),
        "BTC",
        D("0.01998"),
    )
    (lookup,) = rig.fake.sent("GET", "/api/v3/myTrades")
    assert lookup.params["orderId"] == order.exchange_order_id
    await rig.broker.fetch_order(ClientOrderId("tw-bid"), BTC)
    assert len(rig.fake.sent("GET", "/api/v3/myTrades")) == 1  # a filled order's fees do not change
    (trade,) = await rig.broker.fetch_my_trades(BTC)
    assert (trade.fee_asset, trade.net_quantity) == ("BTC", D("0.01998"))


async def test_when_bnb_pays_the_whole_fill_is_delivered_and_the_account_says_bnb_pays() -> None:
    """BNB discount on and BNB held: ``commissionAsset`` is BNB (25 % off on spot) and the full quantity is credited."""
    rig = ccxt_rig("spot", balances={"USDT": D(10_000), "BNB": D(2)})
    rig.fake.bnb_fees, rig.fake.bnb_fee_price = True, D(500)
    rig.venue.on_price("40000", symbol=BTC)
    bought = await rig.broker.create_order(intent("tw-in", quantity="0.01"))
    assert (bought.fee, bought.fee_asset, bought.base_fee, bought.net_quantity) == (
        D("0.0008"),  # 0.4 USDT of commission, paid as BNB at 500
        "BNB",
        0,
        D("0.01"),
    )
    terms = await rig.broker.fetch_fee_terms(BTC)
    assert terms.bnb_pays and terms.describe(futures=False, quote="USDT") == "BNB (25 % off)"


async def test_the_bnb_switch_without_bnb_to_pay_with_falls_back_to_the_trades_assets() -> None:
    """``discount.enabledForAccount`` without a BNB balance: Binance takes the fee in the trade's assets."""
    rig = ccxt_rig("spot")
    rig.fake.bnb_fees = True
    terms = await rig.broker.fetch_fee_terms(BTC)
    assert (terms.bnb_enabled, terms.bnb_held, terms.bnb_pays) == (True, False, False)
    assert terms.describe(futures=False, quote="USDT") == (
        "base asset on buys, USDT on sells (BNB discount on, but no BNB held)"
    )
    (sent,) = rig.fake.sent("GET", "/api/v3/account/commission")
    assert sent.params["symbol"] == "BTCUSDT"


async def test_futures_fees_are_in_the_margin_asset_unless_bnb_burn_is_on() -> None:
    """USDT-M fees are taken in the margin asset unless ``GET /fapi/v1/feeBurn`` is on and BNB is held."""
    rig = ccxt_rig("future")
    assert (await rig.broker.fetch_fee_terms(FBTC)).describe(futures=True, quote="USDT") == "USDT"
    rig.fake.bnb_fees = True
    assert not (await rig.broker.fetch_fee_terms(FBTC)).bnb_pays  # no BNB in the futures wallet
    assert rig.fake.sent("GET", "/fapi/v1/feeBurn")


async def test_a_futures_entry_whose_answer_was_lost_carries_its_fee_from_its_trades() -> None:
    """Futures order answers never carry the commission: the order found by its client id after a lost answer
    (and any filled order read back) takes its fee from ``userTrades?orderId=`` (the chaos run booked 0)."""
    rig = ccxt_rig("future")
    rig.venue.on_price("40000", symbol=FBTC)
    rig.fake.fail_next("POST", "/fapi/v1/order", "timeout_after")
    order = await rig.broker.create_order(
        intent("tw-in", Side.BUY, OrderType.MARKET, "0.01", symbol=FBTC)
    )
    (fill,) = rig.venue.fills(FBTC)
    assert order.status is OrderStatus.FILLED and fill.fee > 0
    assert (order.fee, order.fee_asset) == (fill.fee, "USDT") == (D("0.2"), "USDT")  # 0.05 % taker of 400 USDT
    (lookup,) = rig.fake.sent("GET", "/fapi/v1/userTrades")
    assert lookup.params["orderId"] == order.exchange_order_id
    await rig.broker.fetch_order(ClientOrderId("tw-in"), FBTC)
    assert len(rig.fake.sent("GET", "/fapi/v1/userTrades")) == 1  # a filled order's fees do not change
