"""Issue 21 item 4: one request-weight budget per IP and per account across runners. Two real processes on one
Redis store spend the same window: together they are admitted exactly what the IP's ceiling allows, never more;
a ban one of them records stops the other at once."""

from __future__ import annotations

import subprocess
import sys
import uuid
from datetime import timedelta

from core.clock import SimClock
from core.ratelimit import BudgetPolicy, Cost, Priority
from core.request_budget import Blocked, RequestBudget
from core.timeframes import ms_to_datetime
from store.redis_store import RedisStore
from tests.redis_server import RedisServer

AT_MS = 1_704_067_200_000 + 5_000  # 2024-01-01 00:00:05: one 1-minute window for everybody


def _spend(url: str, namespace: str, count: int, weight: int) -> list[subprocess.Popen[str]]:
    return [
        subprocess.Popen([sys.executable, "-m", "tests.runners.workers", "spend-budget", url, namespace, str(AT_MS),
                          str(count), str(weight)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]


def test_two_processes_share_the_ip_weight_budget_and_never_pass_it(redis_server: RedisServer) -> None:
    namespace = f"budget-{uuid.uuid4().hex[:8]}"
    processes = _spend(redis_server.url, namespace, 300, 10)  # 6,000 weight asked; market data may fill 60 %
    for process in processes:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    admitted = [int(process.communicate(timeout=60)[0]) for process in processes]
    allowed = BudgetPolicy.binance_spot().allowed(BudgetPolicy.binance_spot().limits[0], Priority.MARKET_DATA)
    assert sum(admitted) == allowed // 10, admitted
    assert all(a > 0 for a in admitted), "both processes drew on the one budget"
    store = RedisStore(redis_server.url, namespace)
    budget = RequestBudget(store, SimClock(ms_to_datetime(AT_MS)), BudgetPolicy.binance_spot(), ip="api.binance.com",
                           account="acct")
    assert budget.usage().limits[0].used == sum(admitted) * 10


def test_a_ban_recorded_by_one_process_blocks_the_other(redis_server: RedisServer) -> None:
    namespace = f"budget-{uuid.uuid4().hex[:8]}"
    store = RedisStore(redis_server.url, namespace)
    now = ms_to_datetime(AT_MS)
    RequestBudget(store, SimClock(now), BudgetPolicy.binance_spot(), ip="api.binance.com", account="acct").ban(
        now + timedelta(minutes=2)
    )
    processes = _spend(redis_server.url, namespace, 5, 1)
    for process in processes:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    assert [int(process.communicate(timeout=60)[0]) for process in processes] == [0, 0]
    other = RequestBudget(RedisStore(redis_server.url, namespace), SimClock(now), BudgetPolicy.binance_spot(),
                          ip="api.binance.com", account="acct")
    assert isinstance(other.admit(Cost(weight=1), Priority.PROTECTIVE), Blocked)
