"""Unmodified ccxt (``async_support``) against the venue's spot REST API."""

from __future__ import annotations

from typing import Any

import pytest
from ccxt.base import errors as ccxt_errors

from tests.venue.ccxt_client import API_KEY, client
from venue import Venue

SYMBOL = "BTC/USDT"


def ledger_kinds(venue: Venue) -> list[tuple[str, str | None]]:
    return [(r["kind"], r.get("client_order_id")) for r in venue.ledger.records if r["kind"] != "leverage"]


async def test_load_markets_asks_exchange_info_only_and_gets_binance_s_filters(spot: Any, spot_venue: Venue) -> None:
    markets = await spot.load_markets()
    assert list(markets) == [SYMBOL]
    market = markets[SYMBOL]
    assert market["precision"]["price"] == 0.01 and market["limits"]["cost"]["min"] == 5
    assert spot_venue.http.requests == 1


async def test_server_time_is_the_clock_signed_requests_are_checked_against(spot: Any, spot_venue: Venue) -> None:
    """Binance's ``GET /api/v3/time`` is the time its ``recvWindow`` check uses, so a client can measure its
    clock offset from it (issue 16 item 7); venue time (replayed) is ``/_venue/info``'s, not this."""
    before = spot_venue.market.wall_ms()
    server_ms = await spot.fetch_time()
    assert before <= server_ms <= spot_venue.market.wall_ms()
    assert server_ms != spot_venue.market.now_ms


async def test_klines_and_ticker_are_the_replayed_candles_up_to_now(spot: Any, spot_venue: Venue) -> None:
    candles = await spot.fetch_ohlcv(SYMBOL, "1m", limit=5)
    assert candles[-1][0] == spot_venue.market.now_ms
    assert candles[-1][1] == candles[-1][4]  # the forming candle has only its open so far
    spot_venue.step()
    ticker = await spot.fetch_ticker(SYMBOL)
    assert ticker["last"] == float(spot_venue.market.replay.last_price(spot_venue.market.replay.symbols[0]))
    assert ticker["timestamp"] == spot_venue.market.now_ms


async def test_a_market_buy_fills_at_the_last_price_and_shows_in_balance_and_trades(spot: Any,
                                                                                  spot_venue: Venue) -> None:
    last = float(spot_venue.market.replay.last_price(spot_venue.market.replay.symbols[0]))
    order = await spot.create_order(SYMBOL, "market", "buy", 0.01, params={"newClientOrderId": "tw-buy-1"})
    assert order["status"] == "closed" and order["filled"] == 0.01 and order["average"] == last
    # Binance spot takes a buy's commission in the base asset bought (BNB not paying): 0.01 BTC credits 0.00999.
    assert order["clientOrderId"] == "tw-buy-1" and order["fee"] == {"cost": 0.00001, "currency": "BTC"}
    balance = await spot.fetch_balance()
    assert balance["BTC"]["free"] == 0.00999
    assert balance["USDT"]["total"] == pytest.approx(10_000 - last * 0.01)
    trades = await spot.fetch_my_trades(SYMBOL)
    assert [(t["order"], t["amount"], t["price"]) for t in trades] == [(order["id"], 0.01, last)]
    assert ledger_kinds(spot_venue) == [("order", "tw-buy-1"), ("fill", "tw-buy-1")]


async def test_a_limit_order_rests_then_fills_as_maker_when_the_replay_trades_through_it(spot: Any,
                                                                                       spot_venue: Venue) -> None:
    # The forming candle (2018-04-28 03:32) opened at 9112.95 and dips to 9110.34 on its way to the close.
    price = 9111.0
    order = await spot.create_order(SYMBOL, "limit", "buy", 0.002, price)
    assert order["status"] == "open"
    assert [o["id"] for o in await spot.fetch_open_orders(SYMBOL)] == [order["id"]]
    balance = await spot.fetch_balance()
    assert balance["USDT"]["used"] == pytest.approx(0.002 * price)  # the fee comes out of the BTC bought
    spot_venue.step()
    filled = await spot.fetch_order(order["id"], SYMBOL)
    assert filled["status"] == "closed" and filled["average"] == price
    trades = await spot.fetch_my_trades(SYMBOL)
    assert trades[-1]["takerOrMaker"] == "maker"
    assert await spot.fetch_open_orders(SYMBOL) == []


async def test_a_stop_loss_rests_triggers_on_the_path_and_can_be_cancelled_before(spot: Any, spot_venue: Venue) -> None:
    await spot.create_order(SYMBOL, "market", "buy", 0.01)
    stop = await spot.create_order(SYMBOL, "market", "sell", 0.004, None, {"triggerPrice": 9000})
    kept = await spot.create_order(SYMBOL, "market", "sell", 0.004, None, {"triggerPrice": 8000})
    assert stop["type"] == "market" and stop["triggerPrice"] == 9000 and stop["status"] == "open"
    assert {o["id"] for o in await spot.fetch_open_orders(SYMBOL)} == {stop["id"], kept["id"]}
    cancelled = await spot.cancel_order(stop["id"], SYMBOL)
    assert cancelled["status"] == "canceled"
    again = await spot.fetch_order(stop["id"], SYMBOL)
    assert again["status"] == "canceled" and again["clientOrderId"] == stop["clientOrderId"]
    assert (await spot.fetch_balance())["BTC"]["used"] == 0.004


async def test_a_spot_stop_triggers_inside_the_candle_and_fills_at_its_trigger(spot: Any, spot_venue: Venue) -> None:
    await spot.create_order(SYMBOL, "market", "buy", 0.01)
    # The forming candle (03:32) opened at 9112.95 and dips to 9110.34 before its close.
    stop = await spot.create_order(SYMBOL, "market", "sell", 0.00999, None, {"triggerPrice": 9111})  # what is held
    spot_venue.step()
    done = await spot.fetch_order(stop["id"], SYMBOL)
    assert done["status"] == "closed" and done["average"] == 9111 and done["filled"] == 0.00999
    assert (await spot.fetch_balance())["BTC"]["total"] == 0


async def test_order_errors_come_back_as_ccxt_s_exceptions(spot: Any) -> None:
    with pytest.raises(ccxt_errors.InsufficientFunds):
        await spot.create_order(SYMBOL, "market", "buy", 5)
    with pytest.raises(ccxt_errors.BadRequest, match=r"-1013.*NOTIONAL"):  # locally -1013 maps to BadRequest
        await spot.create_order(SYMBOL, "limit", "buy", 0.0001, 9000)
    with pytest.raises(ccxt_errors.OrderNotFound):
        await spot.fetch_order("424242", SYMBOL)
    with pytest.raises(ccxt_errors.OrderNotFound):
        await spot.cancel_order("424242", SYMBOL)
    with pytest.raises(ccxt_errors.BadSymbol):
        await spot.public_get_klines({"symbol": "DOGEUSDT", "interval": "1m"})
    with pytest.raises(ccxt_errors.InvalidOrder):  # the trigger is already through the market
        await spot.create_order(SYMBOL, "market", "sell", 0.001, None, {"triggerPrice": 9500})


async def test_an_off_step_quantity_is_refused_not_rounded(spot: Any) -> None:
    await spot.load_markets()
    with pytest.raises(ccxt_errors.InvalidOrder, match="LOT_SIZE"):
        await spot.private_post_order({"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET",
                                       "quantity": "0.0010001"})


async def test_bad_credentials_and_clocks_are_refused_like_binance(spot_venue: Venue) -> None:
    wrong_secret = client("spot", spot_venue.url, secret="not-the-secret")
    wrong_key = client("spot", spot_venue.url, key="not-the-key")
    late = client("spot", spot_venue.url)
    late.options["timeDifference"] = 60_000  # ccxt signs with its clock minus this: a minute behind
    try:
        with pytest.raises(ccxt_errors.AuthenticationError, match="-1022"):
            await wrong_secret.fetch_balance()
        with pytest.raises(ccxt_errors.AuthenticationError, match="-2015"):
            await wrong_key.fetch_balance()
        with pytest.raises(ccxt_errors.InvalidNonce, match="-1021"):
            await late.fetch_balance()
    finally:
        for exchange in (wrong_secret, wrong_key, late):
            await exchange.close()
    assert spot_venue.credentials.api_key == API_KEY


async def test_every_answer_carries_the_weight_headers(spot: Any) -> None:
    await spot.load_markets()
    await spot.fetch_balance()
    headers = {k.upper(): v for k, v in spot.last_response_headers.items()}
    assert headers["X-MBX-USED-WEIGHT-1M"] == "40"  # exchangeInfo 20 + account 20
    await spot.create_order(SYMBOL, "market", "buy", 0.001)
    headers = {k.upper(): v for k, v in spot.last_response_headers.items()}
    assert headers["X-MBX-ORDER-COUNT-10S"] == "1" and headers["X-MBX-ORDER-COUNT-1D"] == "1"


async def test_fee_terms_and_one_orders_trades(spot: Any, spot_venue: Venue) -> None:
    """``GET /api/v3/account/commission``: the symbol's rates and whether BNB pays (off on the venue);
    ``myTrades?orderId=``: one order's trades, how a spot order read back without ``fills`` gets its fee
    (issue 16 item 1)."""
    terms = await spot.privateGetAccountCommission({"symbol": "BTCUSDT"})
    assert terms["standardCommission"]["taker"] == "0.001" and terms["discount"]["enabledForAccount"] is False
    first = await spot.create_order(SYMBOL, "market", "buy", 0.01)
    await spot.create_order(SYMBOL, "market", "buy", 0.02)
    trades = await spot.fetch_my_trades(SYMBOL, None, None, {"orderId": first["id"]})
    assert [(t["order"], t["amount"]) for t in trades] == [(first["id"], 0.01)]
