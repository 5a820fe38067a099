"""Client-side preparation shared by both brokers (``exchange.orders.prepare_intent``)."""

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import OrderRejected, RejectCode
from core.ids import ClientOrderId, Symbol
from core.types import OrderIntent, OrderType, Side
from exchange.orders import prepare_intent
from exchange.sim.markets import binance_futures_markets, binance_spot_markets

SPOT = binance_spot_markets()[0]  # BTC/USDT: tick 0.01, step 0.00001, min notional 5
FUT = binance_futures_markets()[0]  # BTC/USDT:USDT: tick 0.1, step 0.001, min notional 100


def intent(symbol: str = "BTC/USDT", **fields: object) -> OrderIntent:
    base: dict[str, object] = {
        "client_order_id": ClientOrderId("tw-1"),
        "symbol": Symbol(symbol),
        "side": Side.BUY,
        "type": OrderType.LIMIT,
        "quantity": Decimal("0.0123456"),
        "price": Decimal("40000.004"),
    }
    base.update(fields)
    return OrderIntent.model_validate(base)


def test_quantity_down_prices_to_the_tick() -> None:
    prepared = prepare_intent(intent(), SPOT)
    assert prepared.quantity == Decimal("0.01234") and prepared.price == Decimal("40000.00")


def test_stop_price_is_quantized_and_used_for_the_notional() -> None:
    stop = intent(
        type=OrderType.STOP_MARKET,
        price=None,
        stop_price=Decimal("39000.126"),
        side=Side.SELL,
        quantity=Decimal("0.0001"),
    )
    with pytest.raises(OrderRejected) as raised:  # 0.0001 x 39000 = 3.9 < 5
        prepare_intent(stop, SPOT)
    assert raised.value.code == RejectCode.BELOW_MIN_NOTIONAL
    ok = prepare_intent(stop.model_copy(update={"quantity": Decimal("0.0002")}), SPOT)
    assert ok.stop_price == Decimal("39000.13")


def test_market_order_notional_needs_a_reference_price() -> None:
    tiny = intent(type=OrderType.MARKET, price=None, quantity=Decimal("0.0001"))
    assert prepare_intent(tiny, SPOT).quantity == Decimal("0.0001")  # no price: the exchange checks notional
    with pytest.raises(OrderRejected, match="below the minimum"):
        prepare_intent(tiny, SPOT, reference_price=Decimal("40000"))


def test_reduce_only_futures_orders_are_exempt_from_min_notional() -> None:
    small = intent(
        "BTC/USDT:USDT", type=OrderType.MARKET, price=None, side=Side.SELL, quantity=Decimal("0.001"), reduce_only=True
    )
    assert prepare_intent(small, FUT, reference_price=Decimal("40000")).quantity == Decimal("0.001")
    with pytest.raises(OrderRejected):
        prepare_intent(small.model_copy(update={"reduce_only": False}), FUT, reference_price=Decimal("40000"))


def test_a_reduce_only_buy_on_spot_is_refused() -> None:
    with pytest.raises(OrderRejected) as raised:
        prepare_intent(intent(reduce_only=True), SPOT)
    assert raised.value.code == RejectCode.REDUCE_ONLY_REJECTED


def test_below_min_qty_after_rounding() -> None:
    with pytest.raises(OrderRejected) as raised:
        prepare_intent(intent("BTC/USDT:USDT", quantity=Decimal("0.0009"), price=Decimal("200000")), FUT)
    assert raised.value.code == RejectCode.BELOW_MIN_QTY


def test_rules_must_match_the_symbol() -> None:
    with pytest.raises(ValueError):
        prepare_intent(intent("ETH/USDT"), SPOT)


@settings(max_examples=300, deadline=None)
@given(
    quantity=st.decimals(min_value=Decimal("0.000001"), max_value=Decimal("50"), places=7),
    price=st.decimals(min_value=Decimal("1"), max_value=Decimal("200000"), places=4),
    futures=st.booleans(),
)
def test_prepared_orders_are_never_larger_and_never_below_min_notional(
    quantity: Decimal, price: Decimal, futures: bool
) -> None:
    rules = FUT if futures else SPOT
    try:
        prepared = prepare_intent(intent(str(rules.symbol), quantity=quantity, price=price), rules)
    except OrderRejected:
        return
    assert prepared.price is not None
    assert prepared.quantity <= quantity
    assert prepared.quantity % rules.step_size == 0 and prepared.price % rules.tick_size == 0
    assert prepared.quantity * prepared.price >= rules.min_notional
