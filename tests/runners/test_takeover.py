"""Issue 21 item 1, the takeover at the safety layer: the real SafetyService on the simulated exchange (one
account shared by two runners' services), leases on a real redis-server. A symbol a runner acquires is
reconciled first (invariant 6), then protected, and only then traded; another runner's positions are not this
runner's mismatches; the previous holder's position is handed over (its record moves books), re-attached to its
stop and protected before the symbol trades; a position nobody handed over keeps the symbol out of trading."""

from __future__ import annotations

import time
import uuid
from datetime import datetime
from decimal import Decimal as D
from pathlib import Path

from core.ids import Symbol, fence_token
from exchange.sim import SimBroker, SimExchange
from safety.guard_state import GuardRecord
from safety.handover import take_records
from safety.leases import LeaseHolder, TakeoverStage
from safety.proposals import CloseProposal, EntryProposal
from safety.verdicts import Approved, VetoCode, Vetoed
from store.leases import RedisLeases
from tests.redis_server import RedisServer
from tests.runners.two_markets import BTC, ETH, two_market_venue
from tests.safety.desk import Desk, open_desk

PRICES = {BTC: D(40000), ETH: D(3000)}




def _entry(symbol: Symbol, stop: D, key: str) -> EntryProposal:
    return EntryProposal.model_validate({"symbol": symbol, "side": "long", "size_pct": 10, "stop_loss": stop,
                                         "signals": ("momentum",), "idempotency_key": key})


async def _runner(name: str, symbols: tuple[Symbol, ...], venue: SimExchange, leases: RedisLeases, tmp_path: Path,
                  ttl_ms: int = 60_000) -> tuple[Desk, LeaseHolder]:
    holder = LeaseHolder(name, symbols, leases, ttl_ms)
    desk = await open_desk(SimBroker(venue), tmp_path / f"{name}.sqlite3", venue.clock, PRICES, market_type="spot",
                           leases=holder)
    return desk, holder


async def test_an_acquired_symbol_is_reconciled_then_protected_then_traded(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    venue = two_market_venue()
    leases = RedisLeases(redis_server.url, f"take-{uuid.uuid4().hex[:8]}")
    desk, holder = await _runner("b", (BTC, ETH), venue, leases, tmp_path)
    before = desk.safety.check(_entry(BTC, D(39000), "k0"), venue.clock.now())
    assert isinstance(before, Vetoed) and before.code is VetoCode.NOT_LEASED
    outcome = await desk.safety.keep_leases(venue.clock.now())
    assert outcome is not None and set(outcome.outcome.acquired) == {BTC, ETH}
    assert holder.trading(BTC) and holder.trading(ETH)
    assert [e["symbol"] for e in desk.journal("lease.acquired")] == [BTC, ETH]
    assert isinstance(desk.safety.check(_entry(BTC, D(39000), "k1"), venue.clock.now()), Approved)


async def test_another_runners_position_is_not_a_mismatch_and_an_unexplained_one_blocks_the_takeover(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    venue = two_market_venue()
    leases = RedisLeases(redis_server.url, f"take-{uuid.uuid4().hex[:8]}")
    a_desk, a = await _runner("a", (BTC,), venue, leases, tmp_path, ttl_ms=150)
    await a_desk.safety.keep_leases(venue.clock.now())
    assert a.trading(BTC)
    assert (await a_desk.enter(BTC, stop=D(39000))).status == "filled"
    stops = venue.open_orders(BTC)
    assert stops, "a's stop rests on the exchange"

    b_desk, b = await _runner("b", (ETH, BTC), venue, leases, tmp_path)
    await b_desk.safety.keep_leases(venue.clock.now())
    assert b.trading(ETH) and not b.holds(BTC), "a still holds BTC: its position is not b's mismatch"
    assert b_desk.journal("reconcile.failed") == []

    time.sleep(0.2)  # a dies: its lease expires, b takes BTC over
    await b_desk.safety.keep_leases(venue.clock.now())
    assert b.holds(BTC) and b.held[BTC].stage is TakeoverStage.RECONCILING, (
        "a position b cannot explain (no record handed over): BTC stays out of trading"
    )
    assert b_desk.journal("reconcile.failed") and b_desk.alerts("reconciliation_mismatch")
    vetoed = b_desk.safety.check(_entry(BTC, D(39000), "k2"), venue.clock.now())
    assert isinstance(vetoed, Vetoed) and vetoed.code is VetoCode.NOT_LEASED
    assert venue.open_orders(BTC) == stops, "the dead runner's stop still protects the position"
    await a_desk.safety.guard(venue.clock.now())  # a wakes up: whatever its guard tries is fenced
    assert venue.open_orders(BTC) == stops


class BookHandover:
    """``safety.handover.Handover`` over the previous holder's real SQLite book (Redis in a run: engine.runners)."""

    def __init__(self, books: dict[str, Desk], runner: str) -> None:
        self.books, self.runner = books, runner

    def take(self, symbol: Symbol, previous: str, now: datetime) -> list[GuardRecord]:
        return take_records(self.books[previous].store, symbol, self.runner, now)


async def test_a_takeover_hands_the_position_over_reconciles_protects_and_then_trades(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    venue = two_market_venue()
    leases = RedisLeases(redis_server.url, f"take-{uuid.uuid4().hex[:8]}")
    books: dict[str, Desk] = {}
    a_desk, _ = await _runner("a", (BTC,), venue, leases, tmp_path, ttl_ms=150)
    books["a"] = a_desk
    await a_desk.safety.keep_leases(venue.clock.now())
    assert (await a_desk.enter(BTC, stop=D(39000))).status == "filled"
    (position,) = a_desk.safety.positions()
    stops = venue.open_orders(BTC)

    holder = LeaseHolder("b", (BTC,), leases, 60_000)
    b_desk = await open_desk(SimBroker(venue), tmp_path / "b.sqlite3", venue.clock, PRICES, market_type="spot",
                             leases=holder, handover=BookHandover(books, "b"))
    time.sleep(0.2)  # a dies
    report = await b_desk.safety.keep_leases(venue.clock.now())
    assert report is not None and report.outcome.acquired == (BTC,)
    assert b_desk.journal("lease.acquired")[0]["from"] == "a"
    (taken,) = b_desk.safety.positions()
    assert (taken.id, taken.quantity, taken.stop_order_id) == (position.id, position.quantity, position.stop_order_id)
    assert holder.trading(BTC), "handed over, reconciled (its stop re-attached), protected: b trades BTC"
    assert venue.open_orders(BTC) == stops, "the same stop protects it throughout: no gap, no duplicate"
    assert b_desk.journal("reconcile.failed") == []
    assert [e.kind for e in a_desk.store.read_journal() if e.kind == "lease.handed_over"] == ["lease.handed_over"]
    assert a_desk.store.keys("safety/pos/") == [], "exactly one book holds the record"
    await a_desk.safety.guard(venue.clock.now())  # a wakes from its pause: nothing it does reaches the venue
    assert venue.open_orders(BTC) == stops


async def test_every_order_carries_the_token_it_was_sent_under_and_a_takeover_still_knows_them_as_ours(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    """Issue 21 item 2: the exchange's own record of each order names its fencing token; the reconciliation of
    the runner that took over re-attaches the old holder's order (an older token) as its own."""
    venue = two_market_venue()
    leases = RedisLeases(redis_server.url, f"take-{uuid.uuid4().hex[:8]}")
    a_desk, a = await _runner("a", (BTC,), venue, leases, tmp_path, ttl_ms=150)
    await a_desk.safety.keep_leases(venue.clock.now())
    a_token = a.token(BTC)
    assert (await a_desk.enter(BTC, stop=D(39000))).status == "filled"
    a_cids = {o.client_order_id for o in venue.all_orders()}
    assert a_cids and {fence_token(cid, "tw") for cid in a_cids} == {a_token}

    holder = LeaseHolder("b", (BTC,), leases, 60_000)
    b_desk = await open_desk(SimBroker(venue), tmp_path / "b.sqlite3", venue.clock, PRICES, market_type="spot",
                             leases=holder, handover=BookHandover({"a": a_desk}, "b"))
    time.sleep(0.2)  # a dies
    await b_desk.safety.keep_leases(venue.clock.now())
    b_token = holder.token(BTC)
    assert holder.trading(BTC) and b_token is not None and a_token is not None and b_token > a_token
    assert b_desk.journal("reconcile.failed") == [] and b_desk.alerts("foreign_order") == []
    (position,) = b_desk.safety.positions()
    close = b_desk.safety.check(CloseProposal.model_validate({"symbol": BTC, "position_id": position.id}),
                                venue.clock.now())
    assert isinstance(close, Approved)
    await b_desk.safety.execute(close, venue.clock.now())
    assert not b_desk.safety.positions()
    b_cids = {o.client_order_id for o in venue.all_orders()} - a_cids
    assert b_cids and {fence_token(cid, "tw") for cid in b_cids} == {b_token}, "b's exit of a's position"


async def test_the_runs_handover_takes_the_records_from_the_previous_holders_redis_book(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    from contextlib import AsyncExitStack

    from core.settings import Settings
    from engine.runners import coordination
    from store.redis_store import RedisStore

    venue = two_market_venue()
    a_desk, _ = await _runner("a", (BTC,), venue, RedisLeases(redis_server.url, f"x{uuid.uuid4().hex[:6]}"), tmp_path)
    await a_desk.safety.keep_leases(venue.clock.now())
    assert (await a_desk.enter(BTC, stop=D(39000))).status == "filled"
    account = f"acct{uuid.uuid4().hex[:6]}"
    previous_book = RedisStore(redis_server.url, f"{account}-r0")
    for key, doc in a_desk.store.get_many(a_desk.store.keys("safety/pos/")).items():
        previous_book.put(key, doc.value)  # r0's book on Redis holds the position record
    RedisLeases(redis_server.url, account).register("r0", f"{account}-r0")
    settings = Settings.model_validate({"mode": "paper", "store": {"url": redis_server.url, "namespace": "r1-book"},
                                        "runner": {"id": "r1", "account_namespace": account}})
    async with AsyncExitStack() as resources:
        shared = coordination(settings, (BTC,), resources)
        assert shared is not None
        (record,) = shared.handover.take(BTC, "r0", venue.clock.now())
        assert record.id == a_desk.safety.positions()[0].id
        assert shared.handover.take(BTC, "nobody", venue.clock.now()) == []
    assert previous_book.keys("safety/pos/") == [], "gone from r0's book"
    assert [e.kind for e in previous_book.tail_journal(1)] == ["lease.handed_over"]
