"""Issue 21 item 4: an entry's account-wide reservation follows the entry to its end, also a limit entry that
rested first. Cancelled by the agent or by the exchange (an expiry) with nothing filled: the reservation is given
back (exposure, order and trade); partly filled: only the filled part stays in the book. The real SafetyService
on the simulated exchange, the shared book on a real redis-server."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal as D
from pathlib import Path

from core.clock import SimClock
from core.ids import Symbol
from exchange.sim import MarketFill, SimBroker, SimConfig, SimExchange, binance_spot_markets
from safety.proposals import CancelEntryProposal, EntryProposal
from safety.shared_book import SharedPortfolio, micro
from safety.verdicts import Approved
from store.shared_book import RedisSharedBook
from tests.redis_server import RedisServer
from tests.safety.desk import Desk, open_desk

BTC = Symbol("BTC/USDT")
T0 = datetime(2024, 1, 1, tzinfo=UTC)
LIMIT = D(39500)


async def _resting_entry(tmp_path: Path, redis_server: RedisServer, **sim: object) -> tuple[Desk, SimExchange, str]:
    """A runner whose limit entry (1,000 USDT at 39,500, below the market) rests on the exchange."""
    venue = SimExchange(binance_spot_markets(), SimClock(T0),
                        SimConfig(initial_balances={"USDT": D(10_000)}, market_fill=MarketFill.IMMEDIATE, **sim))
    venue.on_price("40000", symbol=BTC)
    namespace = f"rest-{uuid.uuid4().hex[:8]}"
    shared = SharedPortfolio(RedisSharedBook(redis_server.url, namespace), "r1")
    desk = await open_desk(SimBroker(venue), tmp_path / "r1.sqlite3", venue.clock, {BTC: D(40000)},
                           market_type="spot", shared=shared)
    proposal = EntryProposal.model_validate({
        "symbol": BTC, "side": "long", "size_pct": 10, "order_type": "limit", "limit_price": LIMIT,
        "stop_loss": D(38500), "signals": ("momentum",), "idempotency_key": "rest-1"})
    verdict = desk.safety.check(proposal, venue.clock.now())
    assert isinstance(verdict, Approved) and verdict.quantity is not None
    result = await desk.safety.execute(verdict, venue.clock.now())
    assert result.status == "working"  # type: ignore[union-attr]
    state = RedisSharedBook(redis_server.url, namespace).state()
    assert (state.exposure, state.orders, state.reservations) == (micro(verdict.quantity * LIMIT, up=True), 1, 1)
    return desk, venue, namespace


async def test_a_rested_entry_the_agent_cancels_gives_its_reservation_back(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    desk, venue, namespace = await _resting_entry(tmp_path, redis_server)
    (pid,) = desk.safety.book.entries
    cancel = desk.safety.check(CancelEntryProposal(symbol=BTC, position_id=pid), venue.clock.now())
    assert isinstance(cancel, Approved)
    await desk.safety.execute(cancel, venue.clock.now())
    assert not desk.safety.book.entries and venue.open_orders(BTC) == []
    state = RedisSharedBook(redis_server.url, namespace).state()
    assert (state.exposure, state.orders, state.trades, state.reservations) == (0, 0, 0, 0)


async def test_a_rested_entry_the_exchange_expires_gives_its_reservation_back_at_the_next_pass(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    desk, venue, namespace = await _resting_entry(tmp_path, redis_server)
    (entry,) = desk.safety.book.entries.values()
    venue.cancel(entry.order_id, BTC)  # the exchange ends it (an expiry); the runner learns at its next pass
    assert RedisSharedBook(redis_server.url, namespace).state().reservations == 1, "not yet seen"
    await desk.safety.guard(venue.clock.now())
    assert desk.journal("entry.ended") and not desk.safety.book.entries
    state = RedisSharedBook(redis_server.url, namespace).state()
    assert (state.exposure, state.orders, state.trades, state.reservations) == (0, 0, 0, 0)


async def test_a_partly_filled_entry_keeps_only_the_filled_part_in_the_account_book(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    desk, venue, namespace = await _resting_entry(tmp_path, redis_server, liquidity_fraction=D("0.5"))
    (entry,) = desk.safety.book.entries.values()
    venue.on_price("39400", symbol=BTC, volume="0.02")  # half of the 0.02 traded fills: 0.01 of ~0.0253
    assert D(0) < venue.order(entry.order_id).filled_quantity < entry.quantity
    await desk.safety.guard(venue.clock.now())  # cancels the rest, opens what filled, protects it
    (position,) = desk.safety.positions()
    assert position.quantity < entry.quantity and venue.open_orders(BTC) != []
    state = RedisSharedBook(redis_server.url, namespace).state()
    filled = micro(position.quantity * position.entry_price, up=True)
    assert (state.exposure, state.orders, state.reservations) == (filled, 1, 1)
    assert filled < micro(entry.quantity * LIMIT, up=True)
