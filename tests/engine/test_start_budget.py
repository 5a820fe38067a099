"""A restart protects first even when the killed run has used most of the wall minute's request weight.

Binance counts weight per IP per wall minute; a run killed and started again finds the minute it left behind in
the shared budget (the store). Its start (the candle history its stops are placed at, the account checks, the
reconciliation that places them) is its protection path and goes at ``PROTECTIVE`` priority (95 % of a window,
``engine/wiring.py``): at market data's 60 % or the reads' 85 % it slept to the next wall minute and beyond.
A real start (``build_run``, as ``tradewake run --mode testnet`` builds it) against the local venue.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from core.clock import WallClock
from core.ratelimit import Admit, Cost, Priority, Throttle, window_of
from core.timeframes import datetime_to_ms
from engine.exchange_setup import venue_budget
from engine.runs import LiveFeed
from engine.wiring import AgentChoice, build_run, plan_for
from store.sqlite_store import SqliteStore
from tests.live.harness import live_settings, venue_config
from venue import Venue

KILLED_RUNS_SHARE = 0.90
"""Over the account reads' 85 % of a window, under the stops' 95 % (spot: 5,400 of 6,000)."""


async def test_a_restart_reconciles_at_once_in_a_minute_the_killed_run_has_nearly_filled(tmp_path: Path) -> None:
    async with Venue(venue_config(tmp_path)) as venue:
        settings = live_settings(venue, tmp_path)
        plan = plan_for(settings)
        assert plan.venue is not None
        store = SqliteStore(tmp_path / "bot.sqlite3")
        try:
            budget = venue_budget(plan.venue, store, WallClock(), settings.exchange)
            weight = budget.policy.limits[0]
            now_ms = datetime_to_ms(budget.clock.now())
            # This minute and the next (the counter keeps the newer window): however late in the minute the test
            # starts, a start at the reads' priority would sleep past a minute.
            store.count(f"budget:ip:{budget.ip}:{weight.name}", window_of(now_ms, weight.interval_s) + 1,
                        at_least=int(weight.capacity * KILLED_RUNS_SHARE))  # fmt: skip
            assert isinstance(budget.admit(Cost(weight=20), Priority.ACCOUNT), Throttle)
        finally:
            store.close()
        started = time.monotonic()
        run = await asyncio.wait_for(build_run(settings, LiveFeed("5m"), agent=AgentChoice()), 30)
        try:
            took = time.monotonic() - started
            budget = venue_budget(plan.venue, run.store, WallClock(), settings.exchange)
            assert [e for e in run.store.read_journal() if e.kind == "reconcile.done"], "reconciled"
            assert took < 30
            assert isinstance(budget.admit(Cost(weight=20), Priority.ACCOUNT), Throttle), "the loop's reads still wait"
            assert budget.admit(Cost(weight=1), Priority.PROTECTIVE) == Admit()
        finally:
            await run.close()
