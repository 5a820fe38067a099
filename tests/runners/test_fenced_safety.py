"""Issue 21 item 1 through the safety layer: the real SafetyService on the simulated exchange, its leases on a
real redis-server. A runner paused past its lease, whose symbol another runner took, has every order-side write
refused before the broker (journaled, alerted), and enters nowhere it does not hold, reconciled and protected."""

from __future__ import annotations

import time
import uuid
from decimal import Decimal as D
from pathlib import Path

from core.ids import Symbol
from exchange.sim import SimBroker
from safety.leases import LeaseHolder
from safety.proposals import CloseProposal, EntryProposal
from safety.verdicts import Approved, VetoCode, Vetoed
from store.leases import RedisLeases
from tests.redis_server import RedisServer
from tests.runners.two_markets import BTC, ETH, two_market_venue
from tests.safety.desk import open_desk


def _trading(holder: LeaseHolder, *symbols: Symbol) -> None:
    for symbol in symbols:
        holder.advance(symbol, reconciled=True, unprotected=0)
        holder.advance(symbol, reconciled=True, unprotected=0)


async def test_a_paused_runners_writes_are_refused_after_a_takeover(tmp_path: Path, redis_server: RedisServer) -> None:
    venue = two_market_venue()
    leases = RedisLeases(redis_server.url, f"fence-{uuid.uuid4().hex[:8]}")
    a = LeaseHolder("a", (BTC,), leases, ttl_ms=150)
    a.round(0)
    _trading(a, BTC)
    desk = await open_desk(SimBroker(venue), tmp_path / "a.sqlite3", venue.clock, {BTC: D(40000), ETH: D(3000)},
                           market_type="spot", leases=a)
    assert (await desk.enter(BTC, stop=D(39000))).status == "filled"
    (position,) = desk.safety.positions()
    orders_before = len(venue.open_orders(BTC))

    entry = EntryProposal.model_validate({"symbol": ETH, "side": "long", "size_pct": 5, "stop_loss": D(2900),
                                          "signals": ("momentum",), "idempotency_key": "k2"})
    vetoed = desk.safety.check(entry, venue.clock.now())
    assert isinstance(vetoed, Vetoed) and vetoed.code is VetoCode.NOT_LEASED

    time.sleep(0.2)  # paused past its lease; b takes BTC over
    b = LeaseHolder("b", (BTC,), leases, ttl_ms=60_000)
    assert b.round(10_000).acquired == (BTC,)

    close = desk.safety.check(CloseProposal.model_validate({"symbol": BTC, "position_id": position.id}),
                              venue.clock.now())
    assert isinstance(close, Approved), "exits are never vetoed; the fence stops them at the broker"
    await desk.safety.execute(close, venue.clock.now())
    assert len(venue.open_orders(BTC)) == orders_before, "nothing reached the exchange: the stop is still there"
    refused = desk.journal("safety.fence_refused")
    assert refused and refused[0]["symbol"] == BTC and refused[0]["holder"] == "b"
    assert desk.alerts("lease_lost") and a.refused >= 1 and not a.holds(BTC)
    again = desk.safety.check(entry.model_copy(update={"symbol": BTC, "stop_loss": D(39000)}), venue.clock.now())
    assert isinstance(again, Vetoed) and again.code is VetoCode.NOT_LEASED, "it stops trading the symbol"


async def test_a_runner_without_leases_is_unchanged(tmp_path: Path) -> None:
    venue = two_market_venue()
    desk = await open_desk(SimBroker(venue), tmp_path / "s.sqlite3", venue.clock, {BTC: D(40000)}, market_type="spot")
    assert (await desk.enter(BTC, stop=D(39000))).status == "filled"
    assert desk.journal("safety.fence_refused") == []
