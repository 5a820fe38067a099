"""Entry points of the real processes the runner tests start (``python -m tests.runners.workers ...``): each
imports only what it needs, so a process starts in a fraction of a second."""

from __future__ import annotations

import sys


def hammer_book(url: str, namespace: str, name: str, count: int, notional: int, cap: int) -> int:
    """Reserve ``count`` entries of ``notional`` under ``cap``; returns how many passed."""
    from store.shared_book import RedisSharedBook

    book = RedisSharedBook(url, namespace)
    won = 0
    for i in range(count):
        answer = book.reserve(f"{name}-{i}", name, notional, exposure_cap=cap, day="20240101",
                              orders_per_day=10**6, trades_per_day=10**6, daily_loss_limit=10**15)
        won += answer.ok
    book.close()
    return won


def spend_budget(url: str, namespace: str, at_ms: int, count: int, weight: int) -> int:
    """Admit ``count`` market-data requests of ``weight`` on the Redis store's shared budget at one instant
    (a fixed clock: every process in the same window); returns how many were admitted."""
    from core.clock import SimClock
    from core.ratelimit import Admit, BudgetPolicy, Cost, Priority
    from core.request_budget import RequestBudget
    from core.timeframes import ms_to_datetime
    from store.redis_store import RedisStore

    store = RedisStore(url, namespace)
    budget = RequestBudget(store, SimClock(ms_to_datetime(at_ms)), BudgetPolicy.binance_spot(), ip="api.binance.com",
                           account="acct")
    admitted = sum(isinstance(budget.admit(Cost(weight=weight), Priority.MARKET_DATA), Admit) for _ in range(count))
    store.close()
    return admitted


def main(argv: list[str]) -> int:
    if argv[0] == "hammer-book":
        url, namespace, name, count, notional, cap = argv[1:7]
        sys.stdin.readline()  # the start line: every process races from the same instant
        print(hammer_book(url, namespace, name, int(count), int(notional), int(cap)), flush=True)
        return 0
    if argv[0] == "spend-budget":
        url, namespace, at_ms, count, weight = argv[1:6]
        sys.stdin.readline()
        print(spend_budget(url, namespace, int(at_ms), int(count), int(weight)), flush=True)
        return 0
    print(f"unknown worker {argv[0]!r}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
