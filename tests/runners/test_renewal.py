"""Issue 21 reliability item 1: lease renewal is its own task (``engine.live_leases``), not a rider on guard passes.

The real ``LeaseHolder`` over ``RedisLeases`` on a real redis-server, the real SafetyService on the simulated
exchange. A guard pass that hangs (it holds the engine's lock and awaits an event nobody sets) does not stop the
renewals: the lease outlives several ttls under the same token. A renewal that finds its token superseded drops
the symbol at once (no entry, no write passes the fence) and the next lease round reports ``lease_lost`` as for any
lost renewal.
"""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal as D
from pathlib import Path

from core.clock import SimClock
from engine.live_leases import LeaseRenewal
from exchange.sim import SimBroker
from safety.leases import LeaseHolder
from safety.proposals import EntryProposal
from safety.verdicts import VetoCode, Vetoed
from store.leases import RedisLeases
from store.sqlite_store import SqliteStore
from tests.redis_server import RedisServer
from tests.runners.two_markets import BTC, ETH, T0, two_market_venue
from tests.safety.desk import open_desk

TTL_MS = 300




def _leases(redis_server: RedisServer) -> RedisLeases:
    return RedisLeases(redis_server.url, f"renew-{uuid.uuid4().hex[:8]}")


def test_the_renewal_period_is_a_third_of_the_ttl(tmp_path: Path, redis_server: RedisServer) -> None:
    leases = _leases(redis_server)
    renewal = LeaseRenewal(LeaseHolder("a", (BTC,), leases, 3000), SimClock(T0), SqliteStore(tmp_path / "a.db"))
    assert renewal.period_s == 1.0


async def test_leases_renew_while_a_guard_pass_hangs_on_the_engines_lock(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    leases = _leases(redis_server)
    holder = LeaseHolder("a", (BTC, ETH), leases, TTL_MS)
    assert set(holder.round(0).acquired) == {BTC, ETH}
    tokens = {s: holder.token(s) for s in (BTC, ETH)}
    renewal = LeaseRenewal(holder, SimClock(T0), SqliteStore(tmp_path / "a.db"))
    lock, released, closing = asyncio.Lock(), asyncio.Event(), asyncio.Event()

    async def hung_guard_pass() -> None:
        async with lock:  # what Engine.guard holds for its whole pass
            await released.wait()

    guard = asyncio.create_task(hung_guard_pass())
    task = asyncio.create_task(renewal.run(closing))
    await asyncio.sleep(TTL_MS / 1000 * 5)  # five ttls with no guard pass and no lease round
    assert lock.locked() and not guard.done(), "the guard pass is still hanging"
    observed = leases.read((BTC, ETH), 0)
    assert all(observed[s] is not None and observed[s].owner == "a" for s in (BTC, ETH)), observed  # type: ignore[union-attr]
    assert {s: holder.token(s) for s in (BTC, ETH)} == tokens, "the same leases, renewed, never re-acquired"
    assert renewal.renewals >= 10 and renewal.failures == 0
    other = LeaseHolder("b", (BTC, ETH), leases, TTL_MS)
    assert other.round(0).acquired == (), "nobody else gets in while the guard hangs"
    closing.set()
    released.set()
    await asyncio.gather(task, guard)
    renewal.release()
    assert other.round(0).acquired == (BTC, ETH), "released on stop: taken over at once, not after the ttl"


async def test_a_renewal_that_finds_its_token_superseded_stops_trading_the_symbol_and_reports_lease_lost(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    venue = two_market_venue()
    leases = _leases(redis_server)
    a = LeaseHolder("a", (BTC,), leases, TTL_MS)
    desk = await open_desk(SimBroker(venue), tmp_path / "a.sqlite3", venue.clock, {BTC: D(40000), ETH: D(3000)},
                           market_type="spot", leases=a)
    assert (await desk.safety.keep_leases(venue.clock.now())) is not None and a.trading(BTC)
    renewal = LeaseRenewal(a, venue.clock, SqliteStore(tmp_path / "journal.db"))
    await asyncio.sleep(TTL_MS / 1000 * 1.5)  # the runner was away past its ttl (no renewal ran): b takes BTC
    b = LeaseHolder("b", (BTC,), leases, 60_000)
    assert b.round(0).acquired == (BTC,)

    renewal.renew()
    assert not a.holds(BTC) and a.token(BTC) is None, "dropped at the renewal itself, not at the next round"
    entry = EntryProposal.model_validate({"symbol": BTC, "side": "long", "size_pct": 5, "stop_loss": D(39000),
                                          "signals": ("momentum",), "idempotency_key": "k1"})
    vetoed = desk.safety.check(entry, venue.clock.now())
    assert isinstance(vetoed, Vetoed) and vetoed.code is VetoCode.NOT_LEASED
    assert not a.check_write(BTC).ok, "no order-side write passes the fence for it"
    report = await desk.safety.keep_leases(venue.clock.now())
    assert report is not None and report.outcome.lost == (BTC,), "the next round reports the renewal's loss"
    assert [e["symbol"] for e in desk.journal("lease.lost")] == [BTC]
    assert desk.alerts("lease_lost")
    again = await desk.safety.keep_leases(venue.clock.now())
    assert again is not None and again.outcome.lost == (), "reported once"


async def test_redis_unreachable_at_a_renewal_is_journaled_and_the_next_renewal_tries_again(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    leases = _leases(redis_server)
    holder = LeaseHolder("a", (BTC,), leases, 60_000)
    holder.round(0)
    journal = SqliteStore(tmp_path / "a.db")
    renewal = LeaseRenewal(holder, SimClock(T0), journal)
    redis_server.stop()
    try:
        renewal.renew()
    finally:
        redis_server.start()
    assert renewal.failures == 1 and holder.holds(BTC)
    assert [e.kind for e in journal.read_journal()] == ["lease.renew_failed"]
    renewal.renew()  # Redis is back, without the lease (no appendonly): a lease Redis forgot is lost, not kept
    assert renewal.renewals == 1 and not holder.holds(BTC)
