"""The ccxt broker through real ccxt code; Binance's HTTP layer is answered by ``FakeBinance``.

These tests assert on the requests ccxt sends (host, endpoint, client id fields, algo routing) and
on how the broker translates Binance's answers. No network.
"""

import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest

from core.clock import SimClock
from core.errors import ConfigError, OperationalError, OrderRejected, OutcomeUnknownError, RejectCode, TemporaryError
from core.ids import ClientOrderId, Symbol
from core.settings import MAINNET_CONFIRM_ENV, MAINNET_CONFIRM_VALUE, RunMode
from core.types import Liquidity, OrderStatus, OrderType, PositionSide, Side
from engine.wiring import exchange_broker
from exchange.ccxt_broker import reject_code
from exchange.errors import IpBanned
from tests.exchange.ccxtkit import API_KEY, API_SECRET, broker_for, ccxt_rig, settings_for
from tests.exchange.simkit import T0, feed, intent, real_candles

BTC, FBTC = Symbol("BTC/USDT"), Symbol("BTC/USDT:USDT")


def public(params: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in params.items() if k not in ("timestamp", "signature", "recvWindow")}


def fut(cid: str, side: Side = Side.BUY, order_type: OrderType = OrderType.MARKET, quantity: str = "0.01", **kw):
    return intent(cid, side, order_type, quantity, symbol=FBTC, **kw)


# ---------------------------------------------------------------- venues and start-up


@pytest.mark.parametrize(
    ("market_type", "mode", "host", "label"),
    [
        ("spot", RunMode.TESTNET, "testnet.binance.vision", "spot testnet (sandbox)"),
        ("future", RunMode.TESTNET, "demo-fapi.binance.com", "USDT-M futures demo trading"),
        ("spot", RunMode.MAINNET, "api.binance.com", "spot mainnet"),
        ("future", RunMode.MAINNET, "fapi.binance.com", "USDT-M futures mainnet"),
    ],
)
async def test_each_mode_talks_to_its_own_binance(market_type, mode, host, label, monkeypatch) -> None:
    monkeypatch.setenv(MAINNET_CONFIRM_ENV, MAINNET_CONFIRM_VALUE)
    rig = ccxt_rig(market_type, settings=settings_for(market_type, mode))
    assert (rig.broker.venue.label, rig.broker.venue.hosts) == (label, host)
    await rig.broker.check_access()
    assert {r.host for r in rig.fake.requests} == {host}
    assert [r.path for r in rig.fake.requests][-1].endswith("/account")  # one private call
    await rig.broker.close()


def test_simulated_modes_and_missing_keys_are_config_errors() -> None:
    for mode in (RunMode.BACKTEST, RunMode.PAPER):
        with pytest.raises(ConfigError, match="simulated exchange"):
            exchange_broker(settings_for("spot", mode), SimClock(T0))
    with pytest.raises(ConfigError, match="api_key"):
        exchange_broker(settings_for("spot", api_key=None), SimClock(T0))


async def test_start_up_check_names_the_mode_and_hosts_when_the_key_is_refused() -> None:
    rig = ccxt_rig("future")
    rig.fake.reject_keys_with = "demo_key_on_wrong_host"
    with pytest.raises(OperationalError) as raised:
        await rig.broker.check_access()
    message = str(raised.value)
    assert "USDT-M futures demo trading" in message and "demo-fapi.binance.com" in message
    assert "Invalid Api-Key ID" in message
    assert API_KEY not in message and API_SECRET not in message


async def test_load_markets_builds_exact_rules_from_binance_filters() -> None:
    spot, futures = ccxt_rig("spot"), ccxt_rig("future")
    btc = (await spot.broker.load_markets())[BTC]
    assert (btc.tick_size, btc.step_size, btc.min_qty, btc.min_notional) == (D("0.01"), D("0.00001"), D("0.00001"), 5)
    assert (btc.maker_fee, btc.taker_fee, btc.contract) == (D("0.001"), D("0.001"), False)
    fbtc = (await futures.broker.load_markets())[FBTC]
    assert (fbtc.tick_size, fbtc.step_size, fbtc.min_notional, fbtc.contract) == (D("0.1"), D("0.001"), 100, True)
    assert (fbtc.maker_fee, fbtc.taker_fee) == (D("0.0002"), D("0.0005"))
    assert set(await futures.broker.load_markets()) == {FBTC, Symbol("ETH/USDT:USDT")}


# ---------------------------------------------------------------- orders: what ccxt sends


async def test_spot_orders_are_quantized_and_carry_our_client_id() -> None:
    rig = ccxt_rig("spot")
    rig.venue.on_price("40000", symbol=BTC)
    order = await rig.broker.create_order(intent("tw-1", quantity="0.0123456"))
    limit = await rig.broker.create_order(
        intent("tw-2", order_type=OrderType.LIMIT, quantity="0.01", price="39000.004", post_only=True)
    )
    first, second = (public(r.params) for r in rig.fake.sent("POST", "/api/v3/order"))
    assert first == {
        "symbol": "BTCUSDT",
        "side": "BUY",
        "type": "MARKET",
        "quantity": "0.01234",
        "newClientOrderId": "tw-1",
        "newOrderRespType": "FULL",
    }
    assert (second["type"], second["price"], second["newClientOrderId"]) == ("LIMIT_MAKER", "39000", "tw-2")
    assert order.status is OrderStatus.FILLED and order.filled_quantity == D("0.01234")
    assert (order.average_price, order.fee, order.fee_asset) == (D(40000), D("0.01234") / 1000, "BTC")
    assert limit.status is OrderStatus.OPEN and limit.intent.price == D("39000.00")


async def test_spot_stops_use_the_regular_endpoint() -> None:
    rig = ccxt_rig("spot", balances={"USDT": D(0), "BTC": D(1)})
    rig.venue.on_price("40000", symbol=BTC)
    await rig.broker.create_order(intent("tw-sl", Side.SELL, OrderType.STOP_MARKET, "0.5", stop="39000"))
    await rig.broker.create_order(intent("tw-tp", Side.SELL, OrderType.TAKE_PROFIT, "0.5", stop="42000"))
    stop, take = (public(r.params) for r in rig.fake.sent("POST", "/api/v3/order"))
    assert (stop["type"], stop["stopPrice"], stop["newClientOrderId"]) == ("STOP_LOSS", "39000", "tw-sl")
    assert (take["type"], take["stopPrice"]) == ("TAKE_PROFIT", "42000")
    assert [o.client_order_id for o in await rig.broker.fetch_open_orders(BTC)] == ["tw-sl", "tw-tp"]


async def test_futures_stops_go_to_the_algo_book_and_every_later_call_says_so() -> None:
    rig = ccxt_rig("future")
    rig.venue.on_price("40000", symbol=FBTC)
    await rig.broker.create_order(fut("tw-in", quantity="0.01"))
    stop = await rig.broker.create_order(fut("tw-sl", Side.SELL, OrderType.STOP_MARKET, stop="39000", reduce_only=True))
    (sent,) = rig.fake.sent("POST", "/fapi/v1/algoOrder")
    assert public(sent.params) == {
        "symbol": "BTCUSDT",
        "side": "SELL",
        "type": "STOP_MARKET",
        "quantity": "0.01",
        "triggerPrice": "39000",
        "reduceOnly": "true",
        "clientAlgoId": "tw-sl",
        "algoType": "CONDITIONAL",
        "newOrderRespType": "RESULT",
    }
    assert [public(r.params)["type"] for r in rig.fake.sent("POST", "/fapi/v1/order")] == ["MARKET"]
    assert stop.status is OrderStatus.OPEN
    looked_up = await rig.broker.fetch_order(ClientOrderId("tw-sl"), FBTC)
    assert looked_up.intent == stop.intent
    assert public(rig.fake.sent("GET", "/fapi/v1/algoOrder")[-1].params) == {
        "symbol": "BTCUSDT",
        "clientAlgoId": "tw-sl",
    }
    (listed,) = await rig.broker.fetch_open_orders(FBTC)
    assert listed.client_order_id == "tw-sl" and rig.fake.sent("GET", "/fapi/v1/openAlgoOrders")
    cancelled = await rig.broker.cancel_order(ClientOrderId("tw-sl"), FBTC)
    assert cancelled.status is OrderStatus.CANCELED
    assert public(rig.fake.sent("DELETE", "/fapi/v1/algoOrder")[0].params) == {
        "symbol": "BTCUSDT",
        "clientAlgoId": "tw-sl",
    }
    assert not rig.fake.sent("GET", "/fapi/v1/order") and not rig.fake.sent("DELETE", "/fapi/v1/order")


async def test_a_take_profit_and_a_post_only_limit_on_futures() -> None:
    rig = ccxt_rig("future")
    rig.venue.on_price("40000", symbol=FBTC)
    await rig.broker.create_order(fut("tw-in", quantity="0.01"))
    await rig.broker.create_order(fut("tw-tp", Side.SELL, OrderType.TAKE_PROFIT, stop="42000", reduce_only=True))
    await rig.broker.create_order(fut("tw-bid", order_type=OrderType.LIMIT, price="39000", post_only=True))
    (take,) = rig.fake.sent("POST", "/fapi/v1/algoOrder")
    assert (take.params["type"], take.params["triggerPrice"]) == ("TAKE_PROFIT_MARKET", "42000")
    bid = public(rig.fake.sent("POST", "/fapi/v1/order")[-1].params)
    assert (bid["type"], bid["timeInForce"], bid["price"]) == ("LIMIT", "GTX", "39000")


async def test_after_a_restart_a_stop_is_found_in_the_algo_book_and_cancelled_there() -> None:
    rig = ccxt_rig("future")
    rig.venue.on_price("40000", symbol=FBTC)
    await rig.broker.create_order(fut("tw-in"))
    await rig.broker.create_order(fut("tw-sl", Side.SELL, OrderType.STOP_MARKET, stop="39000", reduce_only=True))
    restarted = broker_for(settings_for("future"), clock=rig.clock, seed=2)
    rig.fake.install(restarted.exchange)
    stop = await restarted.fetch_order(ClientOrderId("tw-sl"), FBTC)  # regular book -2013, then the algo book
    assert (stop.intent.type, stop.intent.stop_price, stop.intent.reduce_only) == (OrderType.STOP_MARKET, 39000, True)
    assert (await restarted.cancel_order(ClientOrderId("tw-sl"), FBTC)).status is OrderStatus.CANCELED
    assert rig.venue.open_orders() == []


async def test_a_triggered_algo_order_reports_its_child_orders_fill() -> None:
    rig = ccxt_rig("future")
    rig.venue.on_price("40000", symbol=FBTC)
    await rig.broker.create_order(fut("tw-in"))
    await rig.broker.create_order(fut("tw-sl", Side.SELL, OrderType.STOP_MARKET, stop="39000", reduce_only=True))
    rig.venue.on_price("38900", symbol=FBTC)
    order = await rig.broker.fetch_order(ClientOrderId("tw-sl"), FBTC)
    assert (order.status, order.filled_quantity, order.average_price) == (OrderStatus.FILLED, D("0.01"), D(38900))
    (child,) = rig.fake.sent("GET", "/fapi/v1/order")
    assert public(child.params) == {"symbol": "BTCUSDT", "orderId": "9000002"}
    trades = await rig.broker.fetch_my_trades(FBTC)
    assert [(t.client_order_id, t.side, t.liquidity) for t in trades] == [
        ("tw-in", Side.BUY, Liquidity.TAKER),
        ("tw-sl", Side.SELL, Liquidity.TAKER),
    ]
    assert await rig.broker.fetch_positions() == []


async def test_trades_of_orders_placed_before_a_restart_are_mapped_to_their_client_ids() -> None:
    rig = ccxt_rig("spot")
    rig.venue.on_price("40000", symbol=BTC)
    await rig.broker.create_order(intent("tw-1", quantity="0.01"))
    restarted = broker_for(settings_for("spot"), clock=rig.clock, seed=2)
    rig.fake.install(restarted.exchange)
    (trade,) = await restarted.fetch_my_trades(BTC, since=datetime(2023, 12, 31, tzinfo=UTC))
    assert trade.client_order_id == "tw-1" and trade.price == D(40000) and (trade.fee, trade.fee_asset) == (
        D("0.00001"), "BTC"
    )
    assert public(rig.fake.sent("GET", "/api/v3/order")[-1].params) == {"symbol": "BTCUSDT", "orderId": "1"}


async def test_positions_and_balances() -> None:
    spot = ccxt_rig("spot", balances={"USDT": D(500), "BTC": D("0.25")})
    (holding,) = await spot.broker.fetch_positions()
    assert (holding.symbol, holding.side, holding.quantity, holding.entry_price) == (
        BTC,
        PositionSide.LONG,
        D("0.25"),
        0,
    )
    futures = ccxt_rig("future", leverage=4)
    futures.venue.on_price("40000", symbol=FBTC)
    await futures.broker.create_order(fut("tw-s", Side.SELL, quantity="0.1"))
    futures.venue.on_price("39000", symbol=FBTC)
    (short,) = await futures.broker.fetch_positions([FBTC])
    assert (short.side, short.quantity, short.entry_price, short.unrealized_pnl) == (
        PositionSide.SHORT,
        D("0.1"),
        40000,
        100,
    )
    usdt = (await futures.broker.fetch_balance())["USDT"]
    assert usdt.total == D(10_000) - D(2) + D(100)  # wallet minus the taker fee, plus unrealized P&L
    assert usdt.used == D("0.1") * 39000 / 4


async def test_set_leverage_is_sent_for_futures_only() -> None:
    rig = ccxt_rig("future")
    await rig.broker.set_leverage(FBTC, 7)
    assert public(rig.fake.sent("POST", "/fapi/v1/leverage")[0].params) == {"symbol": "BTCUSDT", "leverage": "7"}
    with pytest.raises(OperationalError):
        await ccxt_rig("spot").broker.set_leverage(BTC, 2)


# ---------------------------------------------------------------- errors, translated once


@pytest.mark.parametrize(
    ("market_type", "order", "code"),
    [
        ("spot", intent("tw-1", quantity="1"), RejectCode.INSUFFICIENT_FUNDS),  # 40000 USDT > 10000
        ("spot", intent("tw-1", quantity="0.0001"), RejectCode.BELOW_MIN_NOTIONAL),  # 4 USDT, checked by Binance
        ("spot", intent("tw-1", Side.SELL, OrderType.STOP_MARKET, stop="40001"), RejectCode.WOULD_IMMEDIATELY_TRIGGER),
        (
            "spot",
            intent("tw-1", order_type=OrderType.LIMIT, price="40001", post_only=True),
            RejectCode.POST_ONLY_WOULD_TAKE,
        ),
        ("future", fut("tw-1", quantity="2"), RejectCode.INSUFFICIENT_FUNDS),  # margin
        ("future", fut("tw-1", quantity="0.001"), RejectCode.BELOW_MIN_NOTIONAL),  # 40 < 100 USDT
        ("future", fut("tw-1", Side.SELL, reduce_only=True), RejectCode.REDUCE_ONLY_REJECTED),
        ("future", fut("tw-1", Side.SELL, OrderType.STOP_MARKET, stop="40001"), RejectCode.WOULD_IMMEDIATELY_TRIGGER),
        (
            "future",
            fut("tw-1", order_type=OrderType.LIMIT, price="40001", post_only=True),
            RejectCode.POST_ONLY_WOULD_TAKE,
        ),
    ],
)
async def test_binance_rejections_become_order_rejected_with_our_codes(market_type, order, code) -> None:
    rig = ccxt_rig(market_type)
    rig.venue.on_price("40000", symbol=order.symbol)
    with pytest.raises(OrderRejected) as raised:
        await rig.broker.create_order(order)
    assert raised.value.code == code
    assert rig.venue.all_orders() == []


async def test_a_limit_below_min_notional_never_leaves_the_process() -> None:
    rig = ccxt_rig("spot")
    with pytest.raises(OrderRejected) as raised:
        await rig.broker.create_order(intent("tw-1", order_type=OrderType.LIMIT, price="100", quantity="0.01"))
    assert raised.value.code == RejectCode.BELOW_MIN_NOTIONAL and not rig.fake.sent("POST", "/api/v3/order")


@pytest.mark.parametrize("kind", ["timeout_after", "timeout_before"])
async def test_a_timeout_on_create_looks_the_client_id_up_and_never_duplicates(kind: str) -> None:
    rig = ccxt_rig("spot")
    rig.venue.on_price("40000", symbol=BTC)
    rig.fake.fail_next("POST", "/api/v3/order", kind)
    order = await rig.broker.create_order(intent("tw-1", quantity="0.01"))
    assert order.status is OrderStatus.FILLED
    assert len(rig.venue.orders_with_client_id(ClientOrderId("tw-1"))) == 1
    lookup = rig.fake.sent("GET", "/api/v3/order")[0]
    assert public(lookup.params) == {"symbol": "BTCUSDT", "origClientOrderId": "tw-1"}
    assert len(rig.fake.sent("POST", "/api/v3/order")) == (1 if kind == "timeout_after" else 2)


async def test_a_5xx_on_a_futures_stop_is_an_unknown_outcome_resolved_in_the_algo_book() -> None:
    rig = ccxt_rig("future")
    rig.venue.on_price("40000", symbol=FBTC)
    await rig.broker.create_order(fut("tw-in"))
    rig.fake.fail_next("POST", "/fapi/v1/algoOrder", "status", status=503, body="Service Unavailable")
    stop = await rig.broker.create_order(fut("tw-sl", Side.SELL, OrderType.STOP_MARKET, stop="39000", reduce_only=True))
    assert stop.status is OrderStatus.OPEN and len(rig.venue.orders_with_client_id(ClientOrderId("tw-sl"))) == 1
    assert rig.fake.sent("GET", "/fapi/v1/algoOrder")  # looked up where the stop lives


async def test_a_5xx_with_binance_internal_error_body_is_unknown_on_a_write_and_retried_on_a_read() -> None:
    """503 ``{"code": -1001}`` ("Internal error; unable to process your request. Please try again."): ccxt raises a
    bare ``OperationFailed``, which once ended a live run as an operational error."""
    rig = ccxt_rig("future")
    rig.venue.on_price("40000", symbol=FBTC)
    internal = {"code": -1001, "msg": "Internal error; unable to process your request. Please try again."}
    rig.fake.fail_next("GET", "/fapi/v2/balance", "status", status=503, body=internal)
    assert "USDT" in await rig.broker.fetch_balance()
    await rig.broker.create_order(fut("tw-in"))
    rig.fake.fail_next("POST", "/fapi/v1/algoOrder", "status", status=503, body=internal)
    stop = await rig.broker.create_order(fut("tw-sl", Side.SELL, OrderType.STOP_MARKET, stop="39000", reduce_only=True))
    assert stop.status is OrderStatus.OPEN and len(rig.venue.orders_with_client_id(ClientOrderId("tw-sl"))) == 1


async def test_429_is_retried_after_retry_after_and_418_is_an_ip_ban_never_retried() -> None:
    rig = ccxt_rig("spot")
    delays = rig.slept
    rig.fake.fail_next(
        "GET",
        "/api/v3/account",
        "status",
        status=429,
        headers={"Retry-After": "7"},
        body={"code": -1003, "msg": "Too much request weight used"},
    )
    assert "USDT" in await rig.broker.fetch_balance()
    assert delays and delays[0] >= 7
    rig.fake.fail_next(
        "GET",
        "/api/v3/account",
        "status",
        status=418,
        body={"code": -1003, "msg": "Way too much request weight used; IP banned until 1524884400000."},
    )
    before = len(rig.fake.requests)
    with pytest.raises(IpBanned) as raised:
        await rig.broker.fetch_balance()
    assert raised.value.until == datetime(2018, 4, 28, 3, 0, tzinfo=UTC)
    assert len(rig.fake.requests) == before + 1


async def test_a_lasting_outage_surfaces_as_a_temporary_error_after_the_retries() -> None:
    rig = ccxt_rig("spot")
    rig.fake.fail_next("GET", "/api/v3/openOrders", "status", status=502, body="Bad Gateway", times=10)
    with pytest.raises(TemporaryError):
        await rig.broker.fetch_open_orders(BTC)
    assert len(rig.fake.sent("GET", "/api/v3/openOrders")) == 5  # 1 + max_retries (4)


async def test_a_timeout_on_cancel_is_resolved_by_looking_the_order_up() -> None:
    rig = ccxt_rig("spot")
    rig.venue.on_price("40000", symbol=BTC)
    await rig.broker.create_order(intent("tw-1", order_type=OrderType.LIMIT, price="39000"))
    rig.fake.fail_next("DELETE", "/api/v3/order", "timeout_after")
    order = await rig.broker.cancel_order(ClientOrderId("tw-1"), BTC)
    assert order.status is OrderStatus.CANCELED


async def test_unknown_orders_are_not_found_and_unexpected_answers_are_operational() -> None:
    rig = ccxt_rig("spot")
    with pytest.raises(OrderRejected) as raised:
        await rig.broker.fetch_order(ClientOrderId("tw-nope"), BTC)
    assert raised.value.code == RejectCode.ORDER_NOT_FOUND
    rig.fake.fail_next("GET", "/api/v3/account", "status", status=400, body={"code": -1099, "msg": "Not found"})
    with pytest.raises(OperationalError, match="spot testnet"):
        await rig.broker.fetch_balance()


async def test_keys_never_reach_logs_or_errors(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    rig = ccxt_rig("spot")
    # ccxt logs request headers (the API key) at DEBUG inside its real fetch: its logger stays above DEBUG.
    assert not rig.broker.exchange.logger.isEnabledFor(logging.DEBUG)
    rig.venue.on_price("40000", symbol=BTC)
    rig.fake.fail_next("POST", "/api/v3/order", "timeout_after")
    await rig.broker.create_order(intent("tw-1"))
    rig.fake.reject_keys_with = "invalid_key"
    with pytest.raises(OperationalError) as raised:
        await rig.broker.check_access()
    text = caplog.text + str(raised.value) + repr(raised.value.__cause__)
    assert API_KEY not in text and API_SECRET not in text
    assert "signature=" not in str(raised.value) or "signature=***" in str(raised.value)
    assert all(API_KEY not in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ('binance {"code":-1013,"msg":"Filter failure: NOTIONAL"}', RejectCode.BELOW_MIN_NOTIONAL),
        (
            'binance order amount should be evenly divisible by lot size {"msg":"Filter failure: LOT_SIZE"}',
            RejectCode.INVALID_QUANTITY,
        ),
        ('binance {"code":-4164,"msg":"Order\'s notional must be no smaller than 100"}', RejectCode.BELOW_MIN_NOTIONAL),
        ('binance {"code":-2010,"msg":"Duplicate order sent."}', RejectCode.DUPLICATE_CLIENT_ORDER_ID),
        ('binance {"code":-4116,"msg":"ClientOrderId is duplicated."}', RejectCode.DUPLICATE_CLIENT_ORDER_ID),
        ('binance {"code":-2022,"msg":"ReduceOnly Order is rejected."}', RejectCode.REDUCE_ONLY_REJECTED),
        ('binance {"code":-1121,"msg":"Invalid symbol."}', RejectCode.UNKNOWN_SYMBOL),
        ('binance {"code":-9999,"msg":"Something else."}', RejectCode.INVALID_ORDER),
    ],
)
def test_rejection_messages_map_to_codes(message: str, code: RejectCode) -> None:
    assert reject_code(message) == code


async def test_a_create_whose_outcome_stays_unknown_raises_outcome_unknown() -> None:
    rig = ccxt_rig("spot")
    rig.venue.on_price("40000", symbol=BTC)
    rig.fake.fail_next("POST", "/api/v3/order", "timeout_before", times=10)
    with pytest.raises(OutcomeUnknownError):
        await rig.broker.create_order(intent("tw-1"))
    assert rig.venue.all_orders() == []
    assert len(rig.fake.sent("GET", "/api/v3/order")) == 4  # looked up before every resend


async def test_a_stop_ridden_over_real_candles_reports_the_fill_ccxt_parses() -> None:
    candles = real_candles()
    rig = ccxt_rig("spot", balances={"USDT": D(0), "BTC": D("0.5")}, start=candles[0].open_at)
    rig.venue.on_price(str(candles[0].open), at=candles[0].open_at, symbol=BTC)
    await rig.broker.create_order(intent("tw-sl", Side.SELL, OrderType.STOP_MARKET, "0.5", stop="9070.00"))
    feed(rig.venue, rig.clock, candles)
    trigger = next(c for c in candles if c.low <= 9070.0)
    order = await rig.broker.fetch_order(ClientOrderId("tw-sl"), BTC)
    assert order.status is OrderStatus.FILLED
    assert order.average_price == min(D("9070.00"), D(str(trigger.open)))  # the stop, or the open if gapped
    (trade,) = await rig.broker.fetch_my_trades(BTC)
    assert trade.filled_at == trigger.open_at + timedelta(minutes=1) and trade.fee == trade.price * D("0.5") / 1000
    assert (await rig.broker.fetch_balance())["USDT"].free == trade.price * D("0.5") - trade.fee


async def test_after_a_restart_a_spot_cancel_reports_our_client_id_not_the_cancels() -> None:
    rig = ccxt_rig("spot")
    rig.venue.on_price("40000", symbol=BTC)
    await rig.broker.create_order(intent("tw-bid", order_type=OrderType.LIMIT, price="39000"))
    restarted = broker_for(settings_for("spot"), clock=rig.clock, seed=2)
    rig.fake.install(restarted.exchange)
    order = await restarted.cancel_order(ClientOrderId("tw-bid"), BTC)
    assert (order.client_order_id, order.status, order.intent.price) == ("tw-bid", OrderStatus.CANCELED, 39000)
    assert rig.fake.requests[-1].path == "/api/v3/order" and rig.fake.requests[-1].method == "DELETE"


async def test_a_client_id_reused_after_its_order_closed_follows_the_new_orders_book() -> None:
    rig = ccxt_rig("future")
    rig.venue.on_price("40000", symbol=FBTC)
    await rig.broker.create_order(fut("tw-in"))
    await rig.broker.create_order(fut("tw-x", Side.SELL, OrderType.STOP_MARKET, stop="39000", reduce_only=True))
    await rig.broker.cancel_order(ClientOrderId("tw-x"), FBTC)
    await rig.broker.create_order(fut("tw-x", Side.SELL, OrderType.LIMIT, price="41000", reduce_only=True))
    found = await rig.broker.fetch_order(ClientOrderId("tw-x"), FBTC)
    assert (found.intent.type, found.status) == (OrderType.LIMIT, OrderStatus.OPEN)
    assert public(rig.fake.requests[-1].params) == {"symbol": "BTCUSDT", "origClientOrderId": "tw-x"}
