"""Unmodified ccxt (``async_support``) against the venue's USDⓈ-M REST API, the Algo Order book included."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ccxt.base import errors as ccxt_errors

from tests.venue.conftest import venue_config
from venue import Venue

SYMBOL = "BTC/USDT:USDT"


async def test_load_markets_balance_and_the_account_settings(futures: Any, futures_venue: Venue) -> None:
    markets = await futures.load_markets()
    assert list(markets) == [SYMBOL] and markets[SYMBOL]["limits"]["cost"]["min"] == 100
    assert futures_venue.http.requests == 1
    balance = await futures.fetch_balance()
    assert balance["USDT"]["free"] == 10_000 and balance["USDT"]["total"] == 10_000
    assert (await futures.set_leverage(5, SYMBOL))["leverage"] == 5
    assert futures_venue.market.sim.leverage(SYMBOL) == 5
    with pytest.raises(ccxt_errors.ExchangeError, match="-4028"):  # ccxt itself refuses 200 in set_leverage
        await futures.fapiPrivatePostLeverage({"symbol": "BTCUSDT", "leverage": "200"})
    with pytest.raises(ccxt_errors.MarginModeAlreadySet):
        await futures.set_margin_mode("cross", SYMBOL)
    with pytest.raises(ccxt_errors.BadRequest, match="-1020"):  # isolated margin is not simulated
        await futures.set_margin_mode("isolated", SYMBOL)
    assert (await futures.fetch_position_mode(SYMBOL))["hedged"] is False
    brackets = await futures.fapiPrivateGetLeverageBracket({"symbol": "BTCUSDT"})
    assert brackets[0]["brackets"][0]["maintMarginRatio"] == float(futures_venue.market.sim.config.maintenance_margin_rate)


async def test_derivatives_data_the_live_poller_reads(futures: Any, futures_venue: Venue) -> None:
    funding = await futures.fetch_funding_rate(SYMBOL)
    assert funding["fundingRate"] == 0.0001 and funding["markPrice"] == float(
        futures_venue.market.replay.last_price(futures_venue.market.replay.symbols[0]))
    assert (await futures.fetch_open_interest(SYMBOL))["openInterestAmount"] == 0
    await futures.create_order(SYMBOL, "market", "buy", 0.02)
    assert (await futures.fetch_open_interest(SYMBOL))["openInterestAmount"] == 0.02
    assert await futures.fetch_long_short_ratio_history(SYMBOL, "5m", None, 1) == []


async def test_a_position_with_its_stop_in_the_algo_book(futures: Any, futures_venue: Venue) -> None:
    await futures.set_leverage(5, SYMBOL)
    entry = await futures.create_order(SYMBOL, "market", "buy", 0.02, params={"newClientOrderId": "tw-entry"})
    assert entry["status"] == "closed" and entry["filled"] == 0.02
    stop = await futures.create_order(SYMBOL, "market", "sell", 0.02, None,
                                      {"triggerPrice": 9000, "reduceOnly": True, "clientOrderId": "tw-stop"})
    assert stop["clientOrderId"] == "tw-stop" and stop["info"]["algoStatus"] == "NEW"
    assert await futures.fetch_open_orders(SYMBOL) == []
    algo = await futures.fetch_open_orders(SYMBOL, None, None, {"trigger": True})
    assert [(o["id"], o["clientOrderId"], o["triggerPrice"]) for o in algo] == [(stop["id"], "tw-stop", 9000)]
    with pytest.raises(ccxt_errors.OrderNotFound):  # ccxt issue 27486: a stop is not in the regular book
        await futures.fetch_order(stop["id"], SYMBOL)
    found = await futures.fetch_order(stop["id"], SYMBOL, {"trigger": True})
    assert found["clientOrderId"] == "tw-stop" and found["status"] == "open"
    positions = await futures.fetch_positions([SYMBOL])
    assert [(p["side"], p["contracts"], p["leverage"]) for p in positions] == [("long", 0.02, 5)]
    cancelled = await futures.cancel_order(stop["id"], SYMBOL, {"trigger": True})
    assert cancelled["id"] == stop["id"]
    assert await futures.fetch_open_orders(SYMBOL, None, None, {"trigger": True}) == []
    assert (await futures.fetch_order(None, SYMBOL, {"trigger": True, "clientAlgoId": "tw-stop"}))["status"] == "canceled"
    kinds = [(r["kind"], r.get("client_order_id")) for r in futures_venue.ledger.since(0) if r["kind"] != "leverage"]
    assert kinds == [("order", "tw-entry"), ("fill", "tw-entry"), ("order", "tw-stop"), ("canceled", "tw-stop")]


async def test_a_triggered_stop_closes_the_position_through_its_child_order(futures: Any, futures_venue: Venue) -> None:
    await futures.create_order(SYMBOL, "market", "buy", 0.02)
    # The forming candle (03:32) opened at 9113.0 and dips to 9110.3 first: a stop at 9111 triggers then.
    stop = await futures.create_order(SYMBOL, "market", "sell", 0.02, None, {"triggerPrice": 9111, "reduceOnly": True})
    futures_venue.step()
    algo = await futures.fetch_order(stop["id"], SYMBOL, {"trigger": True})
    info = algo["info"]
    assert info["algoStatus"] == "FINISHED" and info["actualOrderId"]
    child = await futures.fetch_order(info["actualOrderId"], SYMBOL)
    assert child["status"] == "closed" and child["average"] == 9111 and child["clientOrderId"] == stop["clientOrderId"]
    assert await futures.fetch_positions([SYMBOL]) == []
    trades = await futures.fetch_my_trades(SYMBOL)
    assert trades[-1]["order"] == info["actualOrderId"]
    assert float(trades[-1]["info"]["realizedPnl"]) == pytest.approx((9111 - trades[0]["price"]) * 0.02)


async def test_conditional_orders_on_the_regular_endpoint_and_other_refusals(futures: Any) -> None:
    await futures.load_markets()
    with pytest.raises(ccxt_errors.ExchangeError, match="-4120"):  # through ccxt's implicit API, as old clients did
        await futures.fapiPrivatePostOrder({"symbol": "BTCUSDT", "side": "SELL", "type": "STOP_MARKET",
                                            "quantity": "0.02", "stopPrice": "9000"})
    with pytest.raises(ccxt_errors.ExchangeError, match="-2021"):  # locally ccxt's generic class (notes/venue.md)
        await futures.create_order(SYMBOL, "market", "sell", 0.02, None, {"triggerPrice": 9500})
    with pytest.raises(ccxt_errors.ExchangeError, match=r"-4164.*no smaller than 100 "):
        await futures.create_order(SYMBOL, "market", "buy", 0.005)
    with pytest.raises(ccxt_errors.ExchangeError, match="-2019"):
        await futures.set_leverage(1, SYMBOL)
        await futures.create_order(SYMBOL, "market", "buy", 2)
    with pytest.raises(ccxt_errors.BadRequest, match="-1102"):
        await futures.fapiPrivatePostOrder({"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET"})
    with pytest.raises(ccxt_errors.BadSymbol, match="-1121"):
        await futures.fapiPublicGetKlines({"symbol": "DOGEUSDT", "interval": "1m"})
    with pytest.raises(ccxt_errors.OrderNotFound, match="-2011"):
        await futures.cancel_order("1000009999", SYMBOL, {"trigger": True})


async def test_positions_and_trades_follow_the_replay(futures: Any, futures_venue: Venue) -> None:
    await futures.create_order(SYMBOL, "market", "sell", 0.02)
    for _ in range(8):
        futures_venue.step()
    position = (await futures.fetch_positions([SYMBOL]))[0]
    last = float(futures_venue.market.replay.last_price(futures_venue.market.replay.symbols[0]))
    assert position["side"] == "short" and position["markPrice"] == last
    assert position["unrealizedPnl"] == pytest.approx((position["entryPrice"] - last) * 0.02)
    v2 = await futures.fapiPrivateV2GetPositionRisk({})
    assert [row["positionAmt"] for row in v2] == ["-0.02"]


async def test_funding_settles_every_eight_hours_of_venue_time(tmp_path: Path) -> None:
    config = venue_config("future", tmp_path, data=(Path("market/data/binance_BTC-USDT_5m.csv.gz").resolve(),),
                          symbols=(), start="2025-09-01T07:40:00Z", warmup=300)
    async with Venue(config) as venue:
        venue.market.sim.set_leverage(venue.market.replay.symbols[0], 5)
        from tests.venue.ccxt_client import client

        exchange = client("future", venue.url)
        try:
            await exchange.create_order(SYMBOL, "market", "buy", 0.01)
            wallet = venue.market.sim.wallet()
            for _ in range(6 * 4):
                venue.step()
            funding = venue.ledger.since(0, "funding")
            assert len(funding) == 1 and funding[0]["at"] == "2025-09-01T08:00:00Z"
            assert venue.market.sim.wallet() < wallet
            history = await exchange.fetch_funding_rate_history(SYMBOL)
            assert [h["timestamp"] for h in history] == [funding[0]["at_ms"]]
        finally:
            await exchange.close()


async def test_symbol_settings_read_back_and_the_fee_terms(futures: Any, futures_venue: Venue) -> None:
    """``GET /fapi/v1/symbolConfig``: each symbol's leverage and margin type as the account has them (what
    ``CcxtBroker`` reads back after setting them, issue 16 item 2); ``GET /fapi/v1/feeBurn``: BNB pays fees?"""
    await futures.set_leverage(7, SYMBOL)
    rows = await futures.fapiPrivateGetSymbolConfig()
    assert rows == [{"symbol": "BTCUSDT", "marginType": "CROSSED", "isAutoAddMargin": "false", "leverage": 7,
                     "maxNotionalValue": "1000000000"}]
    assert await futures.fapiPrivateGetSymbolConfig({"symbol": "BTCUSDT"}) == rows
    assert await futures.fapiPrivateGetFeeBurn() == {"feeBurn": False}
    assert (await futures.fapiPrivateGetMultiAssetsMargin())["multiAssetsMargin"] is False


async def test_one_orders_trades_by_order_id(futures: Any, futures_venue: Venue) -> None:
    """``userTrades?orderId=``: that order's trades only; with a time bound it is -1128 (a bad combination)."""
    first = await futures.create_order(SYMBOL, "market", "buy", 0.02)
    await futures.create_order(SYMBOL, "market", "buy", 0.03)
    trades = await futures.fetch_my_trades(SYMBOL, None, None, {"orderId": first["id"]})
    assert [(t["order"], t["amount"]) for t in trades] == [(first["id"], 0.02)]
    with pytest.raises(ccxt_errors.BadRequest, match="-1128"):
        await futures.fapiPrivateGetUserTrades({"symbol": "BTCUSDT", "orderId": first["id"], "startTime": 0})
