"""Issue 21 item 5 with real processes on a real redis-server: three runners over six symbols (each symbol
configured on two runners). SIGKILL a runner: its symbols are taken over within lease expiry + one guard
interval, and no write goes out under a stale token. SIGSTOP a runner past its lease, then SIGCONT: its writes
are refused by the fence. Short leases (1 s) here; ``TRADEWAKE_LONG_TESTS=1`` repeats the kill many times."""

from __future__ import annotations

import os
import signal
import time
import uuid

import pytest

from tests.redis_server import RedisServer
from tests.runners.fleet import Fleet, stale_writes

SYMBOLS = ("BTC/USDT", "ETH/USDT", "SOL/USDT", "BNB/USDT", "XRP/USDT", "ADA/USDT")
CONFIG = {  # every symbol on two runners: one holds it, the other stands by
    "r1": SYMBOLS[0:4],
    "r2": SYMBOLS[2:6],
    "r3": (*SYMBOLS[4:6], *SYMBOLS[0:2]),
}
TTL_MS, INTERVAL_MS = 1000, 200
SLACK_S = 0.5  # process scheduling on a loaded 2-core machine and the poll


def _fleet(redis_server: RedisServer) -> Fleet:
    fleet = Fleet(redis_server.url, f"fleet-{uuid.uuid4().hex[:8]}", TTL_MS, INTERVAL_MS)
    for runner, symbols in CONFIG.items():
        fleet.start(runner, symbols)
    assert fleet.wait_held(SYMBOLS, 20) is not None, "every symbol gets a holder"
    time.sleep(0.5)
    return fleet


def _kill_one(fleet: Fleet) -> float:
    holders = fleet.holders(SYMBOLS)
    victim = max(CONFIG, key=lambda r: sum(owner == r for owner in holders.values()))
    theirs = [s for s, owner in holders.items() if owner == victim]
    fleet.signal(victim, signal.SIGKILL)
    took = fleet.wait_held(theirs, 10, not_by=victim)
    assert took is not None, f"{victim}'s symbols {theirs} were not taken over"
    fleet.processes.pop(victim).wait()
    fleet.start(victim, CONFIG[victim])  # it comes back as a standby
    return took


def test_a_killed_runners_symbols_are_taken_over_within_expiry_plus_one_interval(redis_server: RedisServer) -> None:
    fleet = _fleet(redis_server)
    try:
        took = _kill_one(fleet)
        assert took <= (TTL_MS + INTERVAL_MS) / 1000 + SLACK_S, took
        time.sleep(0.5)
    finally:
        summaries = fleet.stop()
    ledger = fleet.ledger()
    assert stale_writes(ledger) == 0, "no write under a stale token"
    assert {symbol for symbol, *_ in ledger} == set(SYMBOLS)
    assert len(summaries) == 3


def test_a_runner_paused_past_its_lease_has_its_writes_refused(redis_server: RedisServer) -> None:
    fleet = _fleet(redis_server)
    try:
        holders = fleet.holders(SYMBOLS)
        paused = next(r for r in CONFIG if r in holders.values())
        theirs = [s for s, owner in holders.items() if owner == paused]
        fleet.signal(paused, signal.SIGSTOP)
        assert fleet.wait_held(theirs, 10, not_by=paused) is not None
        time.sleep(INTERVAL_MS / 1000)
        fleet.signal(paused, signal.SIGCONT)
        time.sleep(3 * INTERVAL_MS / 1000)
    finally:
        summaries = fleet.stop()
    assert summaries[paused]["refused"] >= 1, "its writes in flight were refused by the fence"
    assert stale_writes(fleet.ledger()) == 0


@pytest.mark.skipif(os.environ.get("TRADEWAKE_LONG_TESTS") != "1", reason="long soak: TRADEWAKE_LONG_TESTS=1")
def test_soak_many_kills(redis_server: RedisServer) -> None:
    fleet = _fleet(redis_server)
    try:
        times = [_kill_one(fleet) for _ in range(20)]
    finally:
        fleet.stop()
    assert max(times) <= (TTL_MS + INTERVAL_MS) / 1000 + SLACK_S, times
    assert stale_writes(fleet.ledger()) == 0


def test_the_ledger_tells_a_stale_token_write_from_one_in_flight_at_the_pause() -> None:
    from tests.runners.fleet import in_flight_writes

    # r1 passed the fence under token 1 at 100 ms, was paused, and landed after r2's token-2 write (checked 150):
    in_flight = [("BTC", "r2", 2, 150), ("BTC", "r1", 1, 100)]
    assert (stale_writes(in_flight), in_flight_writes(in_flight)) == (0, 1)
    # a token-1 write whose fence check came after token 2 was in use: what the fence must refuse
    stale = [("BTC", "r2", 2, 150), ("BTC", "r1", 1, 200)]
    assert (stale_writes(stale), in_flight_writes(stale)) == (1, 0)
