"""Several runners on one account (``docs/runners.md``): what ``runner`` settings add to a live run.

With ``runner.id`` set, the run's safety layer gets this runner's symbol leases (``safety.leases`` over
``store.leases``) and the account-wide book (``safety.shared_book`` over ``store.shared_book``), both in
``runner.account_namespace`` on the store's Redis server, and the request budget counts there too, so every
runner of the account draws on one budget per IP and per account. Without it: nothing (a single runner).
"""

from __future__ import annotations

import os
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

from core.ids import Symbol
from core.settings import Settings
from safety.service import LeaseHolder, SharedPortfolio, StoreHandover


@dataclass(frozen=True)
class Coordination:
    leases: LeaseHolder
    shared: SharedPortfolio
    handover: StoreHandover
    counter: object
    """The store the request budget counts in (the account's namespace)."""

    def safety_fields(self) -> dict[str, Any]:
        """What ``SafetyConfig`` takes from here."""
        return {"leases": self.leases, "shared": self.shared, "handover": self.handover}


def coordination(settings: Settings, symbols: tuple[Symbol, ...], resources: AsyncExitStack) -> Coordination | None:
    """The runner's shared parts on Redis, closed with the run; ``None`` for a single runner."""
    runner = settings.runner
    if runner.id is None:
        return None
    from store.leases import RedisLeases
    from store.redis_store import RedisStore
    from store.shared_book import RedisSharedBook

    url, namespace = settings.store.url, runner.account_namespace
    leases = RedisLeases(url, namespace)
    resources.callback(leases.close)
    leases.register(runner.id, settings.store.namespace)  # the control plane queues this runner's commands there
    book = RedisSharedBook(url, namespace)
    resources.callback(book.close)
    counter = RedisStore(url, namespace)
    resources.callback(counter.close)
    holder = LeaseHolder(runner.id, symbols, leases, int(runner.lease_ttl_s * 1000), pid=os.getpid())
    resources.callback(holder.release_all)  # a clean stop hands the symbols over at once (after the run closed)

    def open_book(previous: str) -> RedisStore | None:
        """The previous holder's own book (its registered namespace on the same server)."""
        book_namespace = leases.books().get(previous)
        return RedisStore(url, book_namespace) if book_namespace is not None else None

    return Coordination(holder, SharedPortfolio(book, runner.id), StoreHandover(open_book, runner.id), counter)
