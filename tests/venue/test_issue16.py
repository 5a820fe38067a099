"""Issue 16 on the local venue: the safety layer over the project's ``CcxtBroker`` over real HTTP, as
``tradewake run --mode testnet`` with ``exchange.venue_url`` builds it. Each test names the Binance behaviour
it encodes; the venue shows it with unmodified ccxt on the wire. (Item 6's many-page history, more than 1,000
fills, is pinned on the recorded-payload fake, tests/exchange/test_trade_history.py; its time windows here,
across a 10-day gap in the replayed candles.)
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from decimal import Decimal as D
from pathlib import Path

import pytest

from core.clock import WallClock
from core.ids import Symbol
from core.settings import ExchangeSettings, RiskSettings
from core.types import OrderType, Side
from engine.exchange_setup import configure_account
from engine.wiring import exchange_broker
from exchange.ccxt_broker import CcxtBroker
from exchange.retry import no_wait
from safety.proposals import EntryProposal
from safety.verdicts import VetoCode, Vetoed
from tests.exchange.ccxtkit import settings_for
from tests.exchange.simkit import intent
from tests.safety.desk import Desk, open_desk
from tests.venue.ccxt_client import API_KEY, API_SECRET, client
from tests.venue.conftest import KLINES_1M, venue_config
from tests.venue.test_ccxt_broker import broker_for
from venue import FaultRule, Venue, WireFault

BTC, FBTC = Symbol("BTC/USDT"), Symbol("BTC/USDT:USDT")


def last(venue: Venue) -> D:
    return venue.market.replay.last_price(venue.market.replay.symbols[0])


class VenueTime:
    """The venue's replayed now: the time its fills and candles are stamped in ("Whose clock", docs/venue.md).
    The broker signs with it plus the offset it measures from ``GET time`` (the venue's wall clock)."""

    def __init__(self, venue: Venue) -> None:
        self.venue = venue

    def now(self) -> datetime:
        return self.venue.market.now


def venue_broker(venue: Venue, market: str) -> CcxtBroker:
    settings = settings_for(market, symbols=("BTC/USDT",), api_key=API_KEY, api_secret=API_SECRET,
                            request_timeout_s=0.5, max_retries=3, venue_url=venue.url)
    broker = exchange_broker(settings, VenueTime(venue), sleep=no_wait, seed=1)
    broker.exchange.enableRateLimit = False
    return broker


async def desk_on(venue: Venue, broker: CcxtBroker, tmp_path: Path, symbol: Symbol, **config: object) -> Desk:
    market_type = "future" if symbol == FBTC else "spot"
    return await open_desk(broker, tmp_path / "venue-safety.sqlite3", VenueTime(venue), {symbol: last(venue)},
                           market_type=market_type, **config)  # type: ignore[arg-type]


@pytest.fixture
async def spot_broker(spot_venue: Venue) -> AsyncIterator[CcxtBroker]:
    broker = venue_broker(spot_venue, "spot")
    yield broker
    await broker.close()


@pytest.fixture
async def futures_broker(futures_venue: Venue) -> AsyncIterator[CcxtBroker]:
    broker = venue_broker(futures_venue, "future")
    yield broker
    await broker.close()


async def test_item1_a_spot_position_and_its_stop_are_what_the_buy_delivered(
    spot_broker: CcxtBroker, spot_venue: Venue, tmp_path: Path
) -> None:
    """Binance spot takes a buy's fee in the base asset unless BNB pays (the venue has BNB fees off, ``GET
    /api/v3/account/commission``): the stop for the gross fill would be refused with -2010."""
    desk = await desk_on(spot_venue, spot_broker, tmp_path, BTC)
    terms = await spot_broker.fetch_fee_terms(BTC)
    assert not terms.bnb_pays
    price = last(spot_venue)
    result = await desk.enter(BTC, stop=spot_venue.market.book.rules(BTC).price(price * D("0.98")))
    assert result.status == "filled", result.message
    (position,) = desk.safety.positions()
    held = (await spot_broker.fetch_balance())["BTC"].total
    (opened,) = desk.journal("position.opened")
    assert D(opened["fee_in_base"]) > 0 and held == D(opened["filled"]) - D(opened["fee_in_base"])
    assert position.quantity == spot_venue.market.book.rules(BTC).quantity(held)  # what is held, rounded down
    (stop,) = [o for o in await spot_broker.fetch_open_orders(BTC) if o.intent.type is OrderType.STOP_MARKET]
    assert stop.intent.quantity == position.quantity
    assert not [r for r in spot_venue.ledger.records if r["kind"] == "rejected"]


async def test_item2_leverage_is_set_read_back_and_an_entry_the_account_would_liquidate_first_is_vetoed(
    futures_broker: CcxtBroker, futures_venue: Venue, tmp_path: Path
) -> None:
    """USDⓈ-M leverage is the account's (``POST /fapi/v1/leverage``, read back with ``GET
    /fapi/v1/symbolConfig``). The venue is cross margin only: at 20x a position 10 times the wallet is
    liquidated about 9.6 % below its entry, so a 7 % stop clears it by less than the 3 % margin asked."""
    await futures_broker.check_access()
    (found,) = await configure_account(futures_broker, ExchangeSettings(market_type="future", leverage=20))
    assert (found.leverage, found.margin_type.value) == (20, "cross") == (futures_venue.market.sim.leverage(FBTC), "cross")
    risk = RiskSettings(max_position_pct=1000, max_total_exposure_pct=1000, max_leverage=20,
                        liquidation_margin_pct=3)
    desk = await desk_on(futures_venue, futures_broker, tmp_path, FBTC, traded=(FBTC,), risk=risk)
    price = last(futures_venue)
    big = EntryProposal.model_validate({
        "symbol": FBTC, "side": "long", "size_pct": 1000, "stop_loss": (price * D("0.93")).quantize(D("0.1")),
        "signals": ("momentum",), "idempotency_key": "big"})
    verdict = desk.safety.check(big, futures_venue.market.now)
    assert isinstance(verdict, Vetoed) and verdict.code is VetoCode.STOP_BEYOND_LIQUIDATION, verdict
    assert "20x cross" in verdict.message


async def test_item3_an_order_placed_by_hand_is_reported_once_left_alone_and_a_better_stop_lends_its_level(
    futures_broker: CcxtBroker, futures_venue: Venue, tmp_path: Path
) -> None:
    """Binance lists every open order of the account, whoever placed it; one without our client-id prefix
    is not ours: never cancelled, reported once."""
    desk = await desk_on(futures_venue, futures_broker, tmp_path, FBTC)
    price = last(futures_venue)
    assert (await desk.enter(FBTC, stop=(price * D("0.97")).quantize(D("0.1")))).status == "filled"
    (position,) = desk.safety.positions()
    person = client("future", futures_venue.url)
    try:
        tighter = (price * D("0.98")).quantize(D("0.1"))
        await person.create_order(FBTC, "market", "sell", float(position.quantity), None,
                                  {"triggerPrice": float(tighter), "reduceOnly": True, "clientOrderId": "web_sl"})
    finally:
        await person.close()
    report = await desk.safety.reconcile(futures_venue.market.now, cancel_orphans=True)
    assert report.ok and report.foreign == ["web_sl"] and len(desk.alerts("foreign_order")) == 1
    assert desk.safety.positions()[0].stop_price == tighter
    await desk.safety.reconcile(futures_venue.market.now, cancel_orphans=True)
    assert len(desk.alerts("foreign_order")) == 1
    theirs = [o for o in await futures_broker.fetch_open_orders(FBTC) if o.client_order_id == "web_sl"]
    assert theirs and theirs[0].foreign, "still there, never cancelled"


async def test_item4_a_418_from_the_venue_stops_every_request_until_it_ends(
    futures_venue: Venue, tmp_path: Path
) -> None:
    """Binance 418 "IP banned until <ms>" with ``Retry-After``: a request before then prolongs the ban. The ban's
    end is wall-clock time, so this run keeps the wall clock (no position history to read)."""
    broker = broker_for(futures_venue, "future")
    clock = WallClock()
    try:
        desk = await open_desk(broker, tmp_path / "ban.sqlite3", clock, {FBTC: last(futures_venue)},
                               market_type="future")
        assert (await desk.enter(FBTC, stop=(last(futures_venue) * D("0.97")).quantize(D("0.1")))).status == "filled"
        futures_venue.faults.add(FaultRule(kind=WireFault.BAN, retry_after_s=120, times=1))
        report = await desk.safety.guard(clock.now())
        assert any("banned" in e for e in report.errors) and len(desk.alerts("ip_ban")) == 1
        sent = futures_venue.http.requests
        for _ in range(3):
            await desk.safety.guard(clock.now())
        assert futures_venue.http.requests == sent and len(desk.alerts("ip_ban")) == 1
        until = desk.safety.book.board.banned_until
        assert until is not None and timedelta(seconds=100) < until - clock.now() <= timedelta(seconds=120)
    finally:
        await broker.close()


async def test_item5_the_budget_follows_the_weight_the_venue_reports(futures_broker: CcxtBroker) -> None:
    """Every Binance answer carries ``X-MBX-USED-WEIGHT-1M``: the shared budget takes the exchange's figure."""
    await futures_broker.check_access()
    await futures_broker.fetch_balance()
    reported = int(futures_broker.exchange.last_response_headers["X-MBX-USED-WEIGHT-1M"])
    used = next(u.used for u in futures_broker.budget_usage().limits if u.limit.name == "weight_1m")
    assert reported > 0 and used >= reported


def gapped_candles(tmp_path: Path, gap: timedelta) -> Path:
    """The 1m fixture with ``gap`` inserted after its 150th candle: the venue jumps over a gap in its file as
    time did on Binance (docs/venue.md), so a fill before it is ``gap`` older than one after it."""
    lines = KLINES_1M.read_text().splitlines()
    shift = int(gap.total_seconds() * 1000)
    later = [",".join([str(int(row.split(",")[0]) + shift), *row.split(",")[1:]]) for row in lines[151:]]
    path = tmp_path / "BTCUSDT-1m-gapped.csv"
    path.write_text("\n".join([*lines[:151], *later]) + "\n")
    return path


@pytest.mark.parametrize("market", ["spot", "future"])
async def test_item6_fills_ten_days_apart_are_both_found(market: str, tmp_path: Path) -> None:
    """USDⓈ-M ``userTrades``: at most 7 days between ``startTime`` and ``endTime`` (-1127 beyond); spot
    ``myTrades``: 24 hours. ccxt asks for one window from ``since``, so a position's exit ten days after its
    entry was not found by reading its trades since the entry (ccxt's ``fetch_my_trades(symbol, since)`` on this
    venue returns the entry alone, on both markets)."""
    config = venue_config(market, tmp_path, data=(gapped_candles(tmp_path, timedelta(days=10)),))
    async with Venue(config) as venue:
        symbol = FBTC if market == "future" else BTC
        broker = venue_broker(venue, market)
        try:
            entry = await broker.create_order(intent("tw-p6-e0", quantity="0.02", symbol=symbol))
            opened = venue.market.now
            while venue.market.now - opened < timedelta(days=10):
                assert venue.step(), "the replay ended before the gap"
            exit_quantity = str(venue.market.book.rules(symbol).quantity(entry.net_quantity))  # what was delivered
            await broker.create_order(intent("tw-p6-x0", Side.SELL, quantity=exit_quantity, symbol=symbol,
                                             reduce_only=market == "future"))
            trades = await broker.fetch_my_trades(symbol, since=opened - timedelta(minutes=1))
        finally:
            await broker.close()
    assert [t.client_order_id for t in trades] == ["tw-p6-e0", "tw-p6-x0"]


async def test_item7_a_venue_whose_clock_is_30s_behind_is_measured_and_signed_for(tmp_path: Path) -> None:
    """Binance refuses a timestamp 1 s ahead of its clock or older than ``recvWindow`` (-1021). The broker
    measures the offset from ``GET /fapi/v1/time`` before its first signed request and signs with it."""

    class Behind(WallClock):
        def now(self) -> datetime:
            return super().now() - timedelta(seconds=30)

    async with Venue(venue_config("future", tmp_path), wall=Behind()) as venue:
        broker = broker_for(venue, "future")
        try:
            await broker.check_access()
            assert -31_000 < broker.clock_offset_ms < -29_000
            assert "USDT" in await broker.fetch_balance()
        finally:
            await broker.close()
