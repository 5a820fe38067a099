"""Binance's errors are translated by their ``code``, whatever host answered (recorded payloads, real ccxt).

ccxt selects the exception class of a Binance error from per-market tables chosen by host name
(``binance.get_exceptions_by_url``): from a host it has no table for (a proxy, the local venue) USDⓈ-M's
-2019 "Margin is insufficient." and -2021 "Order would immediately trigger." arrive as a bare
``ExchangeError``; and ``503 {"code":-1001,"msg":"Internal error; unable to process your request."}`` is
``OperationFailed`` on every host, though Binance says of 5XX answers that "the execution status is
UNKNOWN" (``rest-api/http-return-codes``). These tests run the broker at such a host
(``exchange.venue_url``), where only reading the code gives the right answer.
"""

from decimal import Decimal as D

import pytest

from core.errors import OperationalError, OrderRejected, RejectCode, TemporaryError
from core.ids import ClientOrderId, Symbol
from core.types import OrderStatus, OrderType, Side
from exchange.binance_errors import BinanceError, Outcome, outcome, parse_error, rejection_code
from tests.exchange.ccxtkit import ccxt_rig, settings_for
from tests.exchange.simkit import intent

FBTC = Symbol("BTC/USDT:USDT")
OTHER_HOST = "http://127.0.0.1:9"
"""Not a Binance host: ccxt applies none of its per-market error tables to answers from it."""
JSON_503 = {"code": -1001, "msg": "Internal error; unable to process your request. Please try again."}


def fut(cid: str, side: Side = Side.BUY, order_type: OrderType = OrderType.MARKET, quantity: str = "0.01",
        **kwargs: object) -> object:
    return intent(cid, side, order_type, quantity, symbol=FBTC, **kwargs)


def rig_at_another_host(market_type: str = "future"):
    rig = ccxt_rig(market_type, settings=settings_for(market_type, venue_url=OTHER_HOST))
    assert rig.broker.venue.hosts == "127.0.0.1:9"
    return rig


@pytest.mark.parametrize(
    ("order", "code"),
    [
        (fut("tw-1", quantity="2"), RejectCode.INSUFFICIENT_FUNDS),  # -2019 Margin is insufficient.
        (fut("tw-1", Side.SELL, OrderType.STOP_MARKET, stop="40001"), RejectCode.WOULD_IMMEDIATELY_TRIGGER),  # -2021
        (fut("tw-1", quantity="0.001"), RejectCode.BELOW_MIN_NOTIONAL),  # -4164
        (fut("tw-1", Side.SELL, reduce_only=True), RejectCode.REDUCE_ONLY_REJECTED),  # -2022
    ],
)
async def test_usdm_rejections_from_any_host_are_order_rejections(order, code) -> None:
    rig = rig_at_another_host()
    rig.venue.on_price("40000", symbol=FBTC)
    with pytest.raises(OrderRejected) as raised:
        await rig.broker.create_order(order)
    assert raised.value.code == code


async def test_a_json_503_after_the_order_was_applied_is_looked_up_not_sent_again() -> None:
    rig = rig_at_another_host()
    rig.venue.on_price("40000", symbol=FBTC)
    rig.fake.fail_next("POST", "/fapi/v1/order", "status", status=503, body=JSON_503)
    order = await rig.broker.create_order(fut("tw-5y"))
    assert order.status is OrderStatus.FILLED
    assert len(rig.venue.orders_with_client_id(ClientOrderId("tw-5y"))) == 1
    assert len(rig.fake.sent("POST", "/fapi/v1/order")) == 1 and rig.fake.sent("GET", "/fapi/v1/order")


async def test_a_json_503_on_a_read_is_retried_and_a_refused_key_is_operational() -> None:
    rig = rig_at_another_host("spot")
    rig.fake.fail_next("GET", "/api/v3/account", "status", status=503, body=JSON_503)
    assert (await rig.broker.fetch_balance())["USDT"].free == D(10_000)
    rig.fake.fail_next("GET", "/api/v3/account", "status", status=503, body=JSON_503, times=5)  # 1 + 4 retries
    with pytest.raises(TemporaryError):
        await rig.broker.fetch_balance()
    rig.fake.fail_next("GET", "/api/v3/account", "status", status=401,
                       body={"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."})
    with pytest.raises(OperationalError, match=r"127\.0\.0\.1:9"):
        await rig.broker.fetch_balance()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('binanceusdm {"code":-2019,"msg":"Margin is insufficient."}', BinanceError(-2019, "Margin is insufficient.")),
        ('binance 503 Service Unavailable {"code": -1001, "msg": "Internal error"}', BinanceError(-1001, "Internal error")),
        ("binance GET http://x/api 502 Bad Gateway <html>502</html>", None),
        ('{"code":200,"msg":"success"}', None),
    ],
)
def test_the_code_is_read_from_the_answer(text: str, expected: BinanceError | None) -> None:
    assert parse_error(text) == expected
    assert parse_error(None, text) == expected  # from the raw body when the exception does not quote it


@pytest.mark.parametrize(
    ("code", "creating", "expected"),
    [
        (-1001, True, Outcome.UNKNOWN),
        (-1007, False, Outcome.UNKNOWN),
        (-1021, True, Outcome.TIMESTAMP),
        (-2013, False, Outcome.REJECTED),
        (-2013, True, Outcome.OPERATIONAL),  # placing an order never answers "unknown order"
        (-2019, True, Outcome.REJECTED),
        (-2019, False, Outcome.OPERATIONAL),
        (-2015, True, Outcome.OPERATIONAL),  # the key, not the order
        (-4120, True, Outcome.OPERATIONAL),  # an algo-only type on the regular endpoint: our bug
        (-4061, True, Outcome.REJECTED),  # position side does not match (an order refusal)
    ],
)
def test_each_code_means_one_thing(code: int, creating: bool, expected: Outcome) -> None:
    assert outcome(BinanceError(code, ""), creating=creating) is expected


def test_spot_refusals_shared_by_one_code_are_told_apart_by_their_message() -> None:
    assert rejection_code(BinanceError(-2010, "Account has insufficient balance for requested action.")) == (
        RejectCode.INSUFFICIENT_FUNDS
    )
    assert rejection_code(BinanceError(-2010, "Stop price would trigger immediately.")) == (
        RejectCode.WOULD_IMMEDIATELY_TRIGGER
    )
    assert rejection_code(BinanceError(-1013, "Filter failure: NOTIONAL")) == RejectCode.BELOW_MIN_NOTIONAL
    assert rejection_code(BinanceError(-2011, "Unknown order sent.")) == RejectCode.ORDER_NOT_FOUND
