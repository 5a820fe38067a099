"""Cost of the shared request budget per request: ``RequestBudget.admit`` + ``observe`` on each counter store.

Every request to Binance first asks the budget (one atomic count per limiter it draws on) and then feeds it
the response headers. The reference, measured in the same run, is the same sequence of window counts done
on a plain ``dict`` with no budget logic; the ratios say how many times that each store costs, and the
microseconds per request are set against a REST round trip to Binance (tens of milliseconds).
Redis is measured when ``TRADEWAKE_BENCH_REDIS_URL`` names a server (e.g. ``redis://127.0.0.1:6379/0``).
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from core.clock import SimClock
from core.ratelimit import BudgetPolicy, Cost, Priority
from core.request_budget import MemoryCounter, RequestBudget, WindowCounter

REQUESTS = 3_000
START = datetime(2024, 1, 1, tzinfo=UTC)


def _budget_loop(counter: WindowCounter) -> float:
    clock = SimClock(START)
    budget = RequestBudget(counter, clock, BudgetPolicy.binance_spot(), ip="bench", account="bench")
    started = time.perf_counter()
    for _ in range(REQUESTS):
        budget.admit(Cost(weight=1, orders=1), Priority.PROTECTIVE)
        budget.observe({"weight_1m": 1, "orders_10s": 1})
        clock.advance_by(0.05)
    return time.perf_counter() - started


def _reference() -> float:
    counts: dict[str, int] = {}
    started = time.perf_counter()
    for i in range(REQUESTS):
        for name in ("ban", "backoff", "w", "o10", "o1d", "w", "o10", "o1d"):
            counts[name] = counts.get(name, 0) + (i & 1)
    return time.perf_counter() - started


def _stores(directory: Path) -> list[tuple[str, Callable[[], WindowCounter]]]:
    from store.sqlite_store import SqliteStore

    stores: list[tuple[str, Callable[[], WindowCounter]]] = [
        ("memory", MemoryCounter),
        ("sqlite", lambda: SqliteStore(directory / "bench.sqlite3", "bench")),
    ]
    url = os.environ.get("TRADEWAKE_BENCH_REDIS_URL")
    if url:
        from store.redis_store import RedisStore

        stores.append(("redis", lambda: RedisStore(url, "bench")))
    return stores


def main() -> None:
    reference = _reference()
    print(f"reference (dict counts): {reference / REQUESTS * 1e6:8.2f} us per request", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name, make in _stores(Path(tmp)):
            counter = make()
            try:
                took = _budget_loop(counter)
            finally:
                close = getattr(counter, "close", None)
                if close is not None:
                    close()
            print(
                f"{name:>7}: {took / REQUESTS * 1e6:8.1f} us per request ({took / reference:7.0f}x the reference)",
                flush=True,
            )
