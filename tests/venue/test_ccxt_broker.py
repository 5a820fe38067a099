"""The project's own ``CcxtBroker`` against the venue, over real HTTP.

The broker is built exactly as ``tradewake run --mode testnet --venue URL`` builds it
(``engine.wiring.exchange_broker`` with ``exchange.venue_url`` set: every REST and websocket host of the
ccxt client is the venue's). The invariants are checked in the venue's ledger, not in the broker.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal as D
from pathlib import Path

import pytest

from core.clock import WallClock
from core.errors import OrderRejected, RejectCode
from core.ids import Symbol
from core.types import OrderStatus, OrderType, PositionSide, Side
from engine.wiring import exchange_broker
from exchange.ccxt_broker import CcxtBroker
from exchange.retry import Sleep, no_wait
from tests.exchange.ccxtkit import settings_for
from tests.exchange.simkit import intent
from tests.venue.ccxt_client import API_KEY, API_SECRET
from tests.venue.conftest import venue_config
from venue import FaultConfig, FaultRule, Venue, WireFault

BTC, FBTC = Symbol("BTC/USDT"), Symbol("BTC/USDT:USDT")


async def short_real_sleep(seconds: float) -> None:
    """Real waits, at most a little over the 1 s ``Retry-After`` the venue's rate-limit faults send: the
    broker's request budget honours that back-off in wall time (nothing is sent before it ends)."""
    await asyncio.sleep(min(seconds, 1.05))


def broker_for(venue: Venue, market: str, *, max_retries: int = 3, sleep: Sleep = no_wait) -> CcxtBroker:
    settings = settings_for(market, symbols=("BTC/USDT",), api_key=API_KEY, api_secret=API_SECRET,
                            request_timeout_s=0.5, max_retries=max_retries, venue_url=venue.url)
    broker = exchange_broker(settings, WallClock(), sleep=sleep, seed=1)
    broker.exchange.enableRateLimit = False
    return broker


@pytest.fixture
async def spot_broker(spot_venue: Venue) -> AsyncIterator[CcxtBroker]:
    broker = broker_for(spot_venue, "spot")
    yield broker
    await broker.close()


@pytest.fixture
async def futures_broker(futures_venue: Venue) -> AsyncIterator[CcxtBroker]:
    broker = broker_for(futures_venue, "future")
    yield broker
    await broker.close()


def accepted(venue: Venue, cid: str) -> int:
    return sum(1 for r in venue.ledger.records if r["kind"] == "order" and r["client_order_id"] == cid)


async def test_spot_access_check_orders_stops_and_trades(spot_broker: CcxtBroker, spot_venue: Venue) -> None:
    await spot_broker.check_access()
    bought = await spot_broker.create_order(intent("tw-b1", Side.BUY, OrderType.MARKET, "0.01"))
    assert bought.status is OrderStatus.FILLED and bought.filled_quantity == bought.intent.quantity
    assert (bought.fee_asset, bought.net_quantity) == ("BTC", D("0.00999"))  # Binance: a buy's fee in the base
    stop = await spot_broker.create_order(
        intent("tw-s1", Side.SELL, OrderType.STOP_MARKET, str(bought.net_quantity), stop="9000")
    )
    assert [o.client_order_id for o in await spot_broker.fetch_open_orders(BTC)] == ["tw-s1"]
    positions = await spot_broker.fetch_positions([BTC])
    assert [(p.side, p.quantity) for p in positions] == [(PositionSide.LONG, bought.net_quantity)]
    fills = await spot_broker.fetch_my_trades(BTC)
    assert [f.client_order_id for f in fills] == ["tw-b1"]
    cancelled = await spot_broker.cancel_order(stop.client_order_id, BTC)
    assert cancelled.status is OrderStatus.CANCELED


async def test_futures_stop_in_the_algo_book_survives_a_broker_restart(futures_broker: CcxtBroker,
                                                                      futures_venue: Venue) -> None:
    await futures_broker.check_access()
    await futures_broker.set_leverage(FBTC, 3)
    entry = await futures_broker.create_order(intent("tw-e1", Side.BUY, OrderType.MARKET, "0.02", symbol=FBTC))
    assert entry.status is OrderStatus.FILLED
    await futures_broker.create_order(intent("tw-st1", Side.SELL, OrderType.STOP_MARKET, "0.02", symbol=FBTC,
                                             stop="9111", reduce_only=True))
    restarted = broker_for(futures_venue, "future")
    try:
        open_orders = await restarted.fetch_open_orders(FBTC)
        assert [(o.client_order_id, o.intent.type) for o in open_orders] == [("tw-st1", OrderType.STOP_MARKET)]
        futures_venue.step()  # the forming candle dips to 9110.3: the stop triggers and fills
        done = await restarted.fetch_order(open_orders[0].client_order_id, FBTC)
        assert done.status is OrderStatus.FILLED and done.average_price is not None
        assert await restarted.fetch_positions([FBTC]) == []
        fills = await restarted.fetch_my_trades(FBTC)
        assert [f.client_order_id for f in fills] == ["tw-e1", "tw-st1"]
    finally:
        await restarted.close()


@pytest.mark.parametrize("kind", [WireFault.TIMEOUT_AFTER_ACCEPT, WireFault.TIMEOUT_BEFORE_ACCEPT])
async def test_a_lost_answer_never_makes_a_second_order(futures_broker: CcxtBroker, futures_venue: Venue,
                                                        kind: WireFault) -> None:
    futures_venue.faults.add(FaultRule(kind=kind, paths=("POST /fapi/v1/order",), hold_s=1.0, times=1))
    order = await futures_broker.create_order(intent("tw-x1", Side.BUY, OrderType.MARKET, "0.02", symbol=FBTC))
    assert order.status is OrderStatus.FILLED
    assert accepted(futures_venue, "tw-x1") == 1
    assert sum(1 for r in futures_venue.ledger.records if r["kind"] == "fill") == 1


async def test_a_stop_whose_answer_was_lost_is_found_in_the_algo_book(futures_broker: CcxtBroker,
                                                                     futures_venue: Venue) -> None:
    await futures_broker.create_order(intent("tw-e2", Side.BUY, OrderType.MARKET, "0.02", symbol=FBTC))
    futures_venue.faults.add(FaultRule(kind=WireFault.TIMEOUT_AFTER_ACCEPT, paths=("POST /fapi/v1/algoOrder",),
                                       hold_s=1.0, times=1))
    stop = await futures_broker.create_order(intent("tw-st2", Side.SELL, OrderType.STOP_MARKET, "0.02",
                                                    symbol=FBTC, stop="9000", reduce_only=True))
    assert stop.status is OrderStatus.OPEN and accepted(futures_venue, "tw-st2") == 1


async def test_an_html_5xx_on_create_is_an_unknown_outcome_resolved_by_lookup(futures_broker: CcxtBroker,
                                                                           futures_venue: Venue) -> None:
    futures_venue.faults.add(FaultRule(kind=WireFault.SERVER_ERROR, status=502, body="html", times=1,
                                       paths=("POST /fapi/v1/order",)))
    order = await futures_broker.create_order(intent("tw-5x", Side.BUY, OrderType.MARKET, "0.02", symbol=FBTC))
    assert order.status is OrderStatus.FILLED and accepted(futures_venue, "tw-5x") == 1


async def test_spot_rejections_reach_the_broker_as_order_rejections(spot_broker: CcxtBroker) -> None:
    with pytest.raises(OrderRejected) as raised:
        await spot_broker.create_order(intent("tw-big", Side.BUY, OrderType.MARKET, "5"))
    assert raised.value.code == RejectCode.INSUFFICIENT_FUNDS


# ccxt picks its per-market error tables by host name (``get_exceptions_by_url``: only fapi.binance.com,
# demo-fapi, the testnet hosts), so from any other host Binance's USDⓈ-M codes -2019, -2021, -4164 arrive as a
# plain ``ExchangeError``, and a JSON 503 -1001 is ``OperationFailed`` on every host. The broker reads Binance's
# ``code`` from the answer (``exchange.binance_errors``), so the venue and Binance are translated alike.


async def test_usdm_rejections_reach_the_broker_as_order_rejections(futures_broker: CcxtBroker) -> None:
    """USDⓈ-M -2019 "Margin is insufficient." from a host ccxt has no table for: still an order rejection."""
    with pytest.raises(OrderRejected) as raised:
        await futures_broker.create_order(intent("tw-big", Side.BUY, OrderType.MARKET, "900", symbol=FBTC))
    assert raised.value.code == RejectCode.INSUFFICIENT_FUNDS


async def test_a_stop_already_through_the_market_is_a_rejection_the_guard_can_act_on(
    futures_broker: CcxtBroker,
) -> None:
    """USDⓈ-M -2021 "Order would immediately trigger.": the guard exits at market on this code, not a halt."""
    await futures_broker.create_order(intent("tw-e3", Side.BUY, OrderType.MARKET, "0.02", symbol=FBTC))
    with pytest.raises(OrderRejected) as raised:
        await futures_broker.create_order(intent("tw-st3", Side.SELL, OrderType.STOP_MARKET, "0.02", symbol=FBTC,
                                                 stop="9500", reduce_only=True))
    assert raised.value.code == RejectCode.WOULD_IMMEDIATELY_TRIGGER


async def test_a_json_503_after_the_order_was_applied_is_an_unknown_outcome_not_a_halt(
    futures_broker: CcxtBroker, futures_venue: Venue
) -> None:
    """Binance: a 5XX "means that the issue is on Binance's side ... the execution status is UNKNOWN"
    (rest-api/http-return-codes); 503 -1001 is one. The order is looked up by client id, never sent twice."""
    futures_venue.faults.add(FaultRule(kind=WireFault.SERVER_ERROR_AFTER, times=1, paths=("POST /fapi/v1/order",)))
    order = await futures_broker.create_order(intent("tw-5y", Side.BUY, OrderType.MARKET, "0.02", symbol=FBTC))
    assert order.status is OrderStatus.FILLED and accepted(futures_venue, "tw-5y") == 1


async def _faulty_session(venue: Venue) -> list[tuple[str, str]]:
    venue.faults.replace(FaultConfig(seed=2, rules=(  # a seed whose draws hit all three kinds
        FaultRule(kind=WireFault.TIMEOUT_AFTER_ACCEPT, rate=0.2, paths=("POST /fapi/v1/order",), hold_s=1.0),
        FaultRule(kind=WireFault.SERVER_ERROR, rate=0.15, status=502, body="html", paths=("/fapi/*",)),
        FaultRule(kind=WireFault.RATE_LIMIT, rate=0.1, retry_after_s=1, paths=("/fapi/*",)),
    )))
    broker = broker_for(venue, "future", max_retries=8, sleep=short_real_sleep)
    try:
        for number in range(6):
            side = Side.BUY if number % 2 == 0 else Side.SELL
            order = await broker.create_order(intent(f"tw-r{number}", side, OrderType.MARKET, "0.02", symbol=FBTC))
            assert order.status is OrderStatus.FILLED
            venue.step()
    finally:
        await broker.close()
    records = venue.ledger.records
    orders = [r["client_order_id"] for r in records if r["kind"] == "order"]
    trades = [r["trade_id"] for r in records if r["kind"] == "fill"]
    assert orders == [f"tw-r{n}" for n in range(6)], "one order per intent, whatever the wire did"
    assert len(trades) == len(set(trades)) == 6
    return [(r["fault"], r["target"]) for r in records if r["kind"] == "fault"]


async def test_seeded_random_faults_never_duplicate_and_replay_identically(tmp_path: Path) -> None:
    runs = []
    for attempt in range(2):
        async with Venue(venue_config("future", tmp_path / str(attempt))) as venue:
            runs.append(await _faulty_session(venue))
    assert runs[0] == runs[1]
    assert {kind for kind, _ in runs[0]} == {"timeout_after_accept", "server_error", "rate_limit"}
