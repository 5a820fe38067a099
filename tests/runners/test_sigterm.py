"""Issue 21 reliability item 3: SIGTERM stops a runner promptly and hands its symbols over at once.

What blocked the stop, measured on the venue fleet: the stepper's round and the guard pass in progress were awaited
to the end, and either may be waiting for the shared request budget's next window (up to a minute per wait when the
runners' reads fill the window, ``tests/runners/test_restart_budget.py``); the leases were released only after the
exchange clients had closed. Now the step and the pass in progress get ``Cadence.stop_grace_wall_s`` (5 s) and are
then cancelled, and the leases are released before anything else closes.

A full ``tradewake run --runner`` process on the local venue and a real redis-server. Its account's weight window
is filled on Redis (as three busy runners did), so its next guard pass waits for the window's end (its leases
are renewed meanwhile, by their own task); SIGTERM then: it exits 0 within the grace plus the closing, and no lease of it is left in Redis (a standby takes over now,
not after the ttl).
"""

from __future__ import annotations

import signal
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.clock import WallClock
from core.ratelimit import Admit, BudgetPolicy, Cost, Priority
from core.request_budget import RequestBudget
from engine.live_health import Cadence
from store.redis_store import RedisStore
from tests.chaos.processes import wait_for
from tests.redis_server import RedisServer
from tests.runners.venue_fleet import SYMBOLS, VenueFleet

STOP_BOUND_S = Cadence().stop_grace_wall_s + 5.0
"""The grace, then closing (the store, ccxt's clients and sockets) on a loaded 2-core machine."""


def _fill_the_window(fleet: VenueFleet) -> None:
    """The account's per-IP weight window, filled past every priority's ceiling but the protective one."""
    budget = RequestBudget(RedisStore(fleet.redis_url, fleet.account), WallClock(), BudgetPolicy.binance_futures(),
                           ip=fleet.venue.url.removeprefix("http://"), account="any")
    weight = next(limit for limit in budget.policy.limits if limit.name == "weight_1m")
    used = next(u.used for u in budget.usage().limits if u.limit.name == weight.name)
    between = (budget.policy.allowed(weight, Priority.ACCOUNT) + budget.policy.allowed(weight, Priority.PROTECTIVE)) // 2
    assert used < between, f"the runner alone used {used} of the window"
    assert isinstance(budget.admit(Cost(between - used), Priority.PROTECTIVE), Admit)


@pytest.mark.timeout(300)
def test_sigterm_stops_a_runner_waiting_on_the_budget_within_the_grace_and_releases_its_leases(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    fleet = VenueFleet(tmp_path, redis_server.url, f"acct{uuid.uuid4().hex[:6]}", ttl_s=3.0)
    fleet.venue.start()
    try:
        bot = fleet.start_bot("r1")
        fleet.wait_held(SYMBOLS, 180)
        wait_for(lambda: datetime.now(UTC).second < 38, 40, "22 s or more left in the minute", every_s=0.2)
        _fill_the_window(fleet)
        time.sleep(Cadence().guard_fallback_wall_s + 2)  # a guard pass is waiting for the window's end by now
        assert all(owner == "r1" for owner in fleet.holders().values()), "its renewals go on meanwhile (item 1)"
        assert bot.process is not None
        sent = time.monotonic()
        bot.process.send_signal(signal.SIGTERM)
        code = bot.process.wait(timeout=60)
        took = time.monotonic() - sent
        print(f"SIGTERM to exit: {took:.2f} s")
        assert code == 0, bot.output()[-2000:]
        assert took <= STOP_BOUND_S, f"{took:.1f} s from SIGTERM to exit"
        assert not any(fleet.holders().values()), "its leases were released, not left to expire"
    finally:
        for bot in fleet.bots.values():
            if bot.running:
                bot.kill()
        fleet.venue.stop()
