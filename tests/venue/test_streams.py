"""Unmodified ``ccxt.pro`` on the venue's websockets: market streams, user data (spot WebSocket API and
USDⓈ-M listen keys) and the stream faults, with the replay stepped by the test."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from ccxt.base import errors as ccxt_errors

from core.ids import Symbol
from tests.venue.ccxt_client import client
from venue import Venue
from venue.klines import klines

SPOT, PERP = "BTC/USDT", "BTC/USDT:USDT"


async def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


async def watching(venue: Venue, watch: Awaitable[Any], ready: Callable[[], bool]) -> asyncio.Task[Any]:
    """Start a watch and return once the venue has its subscription (so no step is missed)."""
    task = asyncio.ensure_future(watch)
    await wait_for(lambda: ready() or task.done())
    return task


def streaming(venue: Venue, stream: str) -> Callable[[], bool]:
    return lambda: venue.hub.listeners(stream)


def user_connected(venue: Venue) -> Callable[[], bool]:
    return lambda: any(c.kind == "user" or c.subscriptions for c in venue.hub.connections)


@pytest.fixture
async def spot_pro(spot_venue: Venue) -> AsyncIterator[Any]:
    exchange = client("spot", spot_venue.url, pro=True)
    await exchange.load_markets()
    yield exchange
    await exchange.close()


@pytest.fixture
async def futures_pro(futures_venue: Venue) -> AsyncIterator[Any]:
    exchange = client("future", futures_venue.url, pro=True)
    await exchange.load_markets()
    yield exchange
    await exchange.close()


async def test_watch_ohlcv_streams_the_forming_candle_then_closes_it_as_the_file_says(spot_pro: Any,
                                                                                    spot_venue: Venue) -> None:
    task = await watching(spot_venue, spot_pro.watch_ohlcv(SPOT, "1m"), streaming(spot_venue, "btcusdt@kline_1m"))
    spot_venue.step()
    forming = (await task)[-1]
    series = spot_venue.market.replay.series(Symbol(SPOT))
    rest = klines(spot_venue.market.replay, series, 60_000, start_ms=None, end_ms=None, limit=1)[0]
    assert forming == [rest.open_ms, rest.open, rest.high, rest.low, rest.close, pytest.approx(rest.volume)]
    for _ in range(3):
        spot_venue.step()
        await spot_pro.watch_ohlcv(SPOT, "1m")
    cache = spot_pro.ohlcvs[SPOT]["1m"]
    closed = [c for c in cache if c[0] == rest.open_ms][-1]
    assert closed[1:6] == pytest.approx(list(series.values[100]))


async def test_watch_ohlcv_on_a_longer_interval_and_watch_trades_on_usdm(futures_pro: Any,
                                                                        futures_venue: Venue) -> None:
    bars = await watching(futures_venue, futures_pro.watch_ohlcv(PERP, "5m"),
                          streaming(futures_venue, "btcusdt@kline_5m"))
    futures_venue.step()
    candle = (await bars)[-1]
    assert candle[0] == 1524886200000  # 03:30, the 5m bucket of the forming 1m candle
    trades = await watching(futures_venue, futures_pro.watch_trades(PERP), streaming(futures_venue, "btcusdt@trade"))
    futures_venue.step()
    trade = (await trades)[-1]
    last = float(futures_venue.market.replay.last_price(Symbol(PERP)))
    assert trade["price"] == last and trade["timestamp"] == futures_venue.market.now_ms
    assert trade["id"] == str(100 * 3 + 2)  # candle 100, second segment
    aggregated = await watching(futures_venue, futures_pro.watch_trades(PERP, params={"name": "aggTrade"}),
                                streaming(futures_venue, "btcusdt@aggTrade"))
    futures_venue.step()
    assert (await aggregated)[-1]["info"]["e"] == "aggTrade"


async def test_a_stream_the_venue_does_not_have_is_refused_loudly(spot_pro: Any) -> None:
    with pytest.raises(ccxt_errors.ExchangeError, match="no stream"):
        await asyncio.wait_for(spot_pro.watch_order_book(SPOT), 5)


async def test_spot_user_data_through_the_websocket_api(spot_pro: Any, spot_venue: Venue) -> None:
    orders = await watching(spot_venue, spot_pro.watch_orders(SPOT), user_connected(spot_venue))
    balance = asyncio.ensure_future(spot_pro.watch_balance())
    await asyncio.sleep(0.05)
    created = await spot_pro.create_order(SPOT, "market", "buy", 0.01)
    update = (await asyncio.wait_for(orders, 5))[-1]
    assert update["id"] == created["id"] and update["status"] == "closed" and update["filled"] == 0.01
    assert update["info"]["e"] == "executionReport"
    funds = await asyncio.wait_for(balance, 5)
    assert funds["BTC"]["free"] == 0.00999 and funds["USDT"]["free"] == pytest.approx(10_000 - created["cost"])


async def test_a_bad_secret_on_the_websocket_api_is_refused_and_ccxt_surfaces_it_as_a_key_error(
    spot_venue: Venue,
) -> None:
    """ccxt 4.5.90 deletes the spot subscription twice when the subscribe is refused (``handle_ws_error``,
    then ``ensure_user_data_stream_ws_subscribe_signature``), so the caller gets ``KeyError('spot')`` with
    the ``AuthenticationError`` only as its context: a client must not rely on the exception class here."""
    exchange = client("spot", spot_venue.url, pro=True, secret="not-the-secret")
    try:
        await exchange.load_markets()
        with pytest.raises(KeyError, match="spot") as raised:
            await asyncio.wait_for(exchange.watch_balance(), 5)
        assert isinstance(raised.value.__context__, ccxt_errors.AuthenticationError)
        assert "-1022" in str(raised.value.__context__)
    finally:
        await exchange.close()


async def test_usdm_user_data_a_stop_triggers_and_the_position_closes(futures_pro: Any, futures_venue: Venue) -> None:
    orders = await watching(futures_venue, futures_pro.watch_orders(PERP), user_connected(futures_venue))
    entry = await futures_pro.create_order(PERP, "market", "buy", 0.02)
    first = (await asyncio.wait_for(orders, 5))[-1]
    assert first["id"] == entry["id"] and first["status"] == "closed"
    balance = asyncio.ensure_future(futures_pro.watch_balance())
    stop = await futures_pro.create_order(PERP, "market", "sell", 0.02, None, {"triggerPrice": 9111, "reduceOnly": True})
    await asyncio.sleep(0.05)
    futures_venue.step()
    algo_states: list[str] = []
    async with asyncio.timeout(5):
        while "FINISHED" not in algo_states:
            for order in await futures_pro.watch_orders(PERP):
                if order["id"] == stop["id"]:
                    assert order["clientOrderId"] == stop["clientOrderId"]
                    algo_states.append(order["info"]["X"])
    assert algo_states[-2:] == ["TRIGGERED", "FINISHED"]
    funds = await asyncio.wait_for(balance, 5)
    assert funds["USDT"]["total"] == pytest.approx(float(futures_venue.market.sim.wallet()))
    events = [r["kind"] for r in futures_venue.ledger.records if r["kind"] != "leverage"]
    assert events == ["order", "fill", "order", "triggered", "fill"]


async def test_watch_positions_takes_its_rest_snapshot_then_follows_account_updates(futures_pro: Any,
                                                                                   futures_venue: Venue) -> None:
    snapshot = await asyncio.wait_for(futures_pro.watch_positions([PERP]), 5)
    assert all(p["contracts"] in (0, None) for p in snapshot)
    moved = asyncio.ensure_future(futures_pro.watch_positions([PERP]))
    await asyncio.sleep(0.05)
    await futures_pro.create_order(PERP, "market", "sell", 0.02)
    position = (await asyncio.wait_for(moved, 5))[-1]
    assert position["side"] == "short" and position["contracts"] == 0.02


async def test_dropped_websockets_reject_the_watch_and_the_next_watch_reconnects(spot_pro: Any,
                                                                                spot_venue: Venue) -> None:
    pending = await watching(spot_venue, spot_pro.watch_ohlcv(SPOT, "1m"), streaming(spot_venue, "btcusdt@kline_1m"))
    assert spot_venue.hub.drop("market") == 1
    with pytest.raises(ccxt_errors.NetworkError):
        await asyncio.wait_for(pending, 5)
    again = await watching(spot_venue, spot_pro.watch_ohlcv(SPOT, "1m"), streaming(spot_venue, "btcusdt@kline_1m"))
    spot_venue.step()
    assert (await asyncio.wait_for(again, 5))[-1][0] == spot_venue.market.now_ms - spot_venue.market.now_ms % 60_000


async def test_a_silenced_stream_stays_open_and_quiet_then_speaks_again(spot_pro: Any, spot_venue: Venue) -> None:
    await watching(spot_venue, spot_pro.watch_trades(SPOT), streaming(spot_venue, "btcusdt@trade"))
    spot_venue.hub.silence(spot_venue.market.wall_ms() + 400)
    quiet = asyncio.ensure_future(spot_pro.watch_trades(SPOT))
    spot_venue.step()
    spot_venue.step()
    await asyncio.sleep(0.2)
    assert not quiet.done()
    await asyncio.sleep(0.3)
    spot_venue.step()
    assert (await asyncio.wait_for(quiet, 5))[-1]["timestamp"] == spot_venue.market.now_ms


async def test_stream_faults_drawn_per_step_drop_connections_and_are_in_the_ledger(spot_pro: Any,
                                                                                  spot_venue: Venue) -> None:
    from venue import FaultRule, WireFault

    pending = await watching(spot_venue, spot_pro.watch_trades(SPOT), streaming(spot_venue, "btcusdt@trade"))
    spot_venue.faults.add(FaultRule(kind=WireFault.WS_DROP, times=1, streams="market"))
    spot_venue.step()
    with pytest.raises(ccxt_errors.NetworkError):
        await asyncio.wait_for(pending, 5)
    faults = spot_venue.ledger.since(0, "fault")
    assert [(f["fault"], f["connections"]) for f in faults] == [("ws_drop", 1)]


async def test_an_expired_listen_key_ends_its_stream_and_cannot_be_kept_alive(futures_pro: Any,
                                                                              futures_venue: Venue) -> None:
    futures_venue.keys.validity_ms = 300
    orders = await watching(futures_venue, futures_pro.watch_orders(PERP), user_connected(futures_venue))
    with pytest.raises(ccxt_errors.NetworkError):
        await asyncio.wait_for(orders, 5)
    assert futures_venue.ledger.since(0, "listen_key_expired")
    key = futures_pro.options["linear"]["listenKey"]
    with pytest.raises(ccxt_errors.AuthenticationError, match="-1125"):
        await futures_pro.fapiPrivatePutListenKey({"listenKey": key})


async def test_usdm_user_events_in_binance_s_order_on_a_raw_listen_key_socket(futures: Any,
                                                                            futures_venue: Venue) -> None:
    import aiohttp

    key = (await futures.fapiPrivatePostListenKey())["listenKey"]
    async with aiohttp.ClientSession() as http, http.ws_connect(
        f"{futures_venue.ws_url}/private/ws?listenKey={key}"
    ) as socket:
        await futures.create_order(PERP, "limit", "buy", 0.02, 9000)
        await futures.create_order(PERP, "market", "buy", 0.02)
        events = []
        async with asyncio.timeout(5):
            while len(events) < 4:
                message = await socket.receive_json()
                events.append((message["e"], message.get("o", {}).get("x"), message.get("a", {}).get("m")))
    assert events == [
        ("ORDER_TRADE_UPDATE", "NEW", None),  # a resting limit changes no balance: no ACCOUNT_UPDATE
        ("ORDER_TRADE_UPDATE", "NEW", None),
        ("ORDER_TRADE_UPDATE", "TRADE", None),
        ("ACCOUNT_UPDATE", None, "ORDER"),
    ]
