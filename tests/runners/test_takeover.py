"""Issue 21 item 1, the takeover at the safety layer: the real SafetyService on the simulated exchange (one
account shared by two runners' services), leases on a real redis-server. A symbol a runner acquires is
reconciled first (invariant 6), then protected, and only then traded; another runner's positions are not this
runner's mismatches; a position nobody handed over keeps the symbol out of trading (its exchange stop stays)."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal as D
from pathlib import Path

from core.clock import SimClock
from core.ids import Symbol
from exchange.sim import MarketFill, SimBroker, SimConfig, SimExchange, binance_spot_markets
from safety.leases import LeaseHolder, TakeoverStage
from safety.proposals import EntryProposal
from safety.verdicts import Approved, VetoCode, Vetoed
from store.leases import RedisLeases
from tests.redis_server import RedisServer
from tests.safety.desk import Desk, open_desk

BTC, ETH = Symbol("BTC/USDT"), Symbol("ETH/USDT")
T0 = datetime(2024, 1, 1, tzinfo=UTC)
PRICES = {BTC: D(40000), ETH: D(3000)}


def _venue() -> SimExchange:
    venue = SimExchange(binance_spot_markets(), SimClock(T0),
                        SimConfig(initial_balances={"USDT": D(10_000)}, market_fill=MarketFill.IMMEDIATE))
    venue.on_price("40000", symbol=BTC)
    venue.on_price("3000", symbol=ETH)
    return venue


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
    venue = _venue()
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
    venue = _venue()
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
