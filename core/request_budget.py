"""One request budget per IP and per account, shared by every ccxt instance and every process on a store.

``RequestBudget`` keeps its counts in a ``WindowCounter`` (the port below): ``MemoryCounter`` shares them
inside one process; ``store.sqlite_store.SqliteStore`` shares them between the processes of one machine and
``store.redis_store.RedisStore`` between machines (both pass ``tests/contracts/test_counter_contract.py``).
The decisions are ``core.ratelimit``'s pure functions; this module only counts, atomically:

- ``admit(cost, priority)`` adds the request's cost to each window first and refunds it when the decision
  is to wait, so two processes racing for the last units can both wait, never both go over;
- ``observe(headers, sent=...)`` raises each count to what the exchange reported (requests from elsewhere count
  too), unless the answer came back after the window it reports had ended;
- ``ban(until)`` (a 418) and ``back_off(until)`` (a 429's ``Retry-After``) set deadlines during which
  ``admit`` answers ``Blocked`` for everybody on the IP: no request is sent at all.

Time comes from the injected ``Clock``; nothing here reads the wall clock.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol, runtime_checkable

from core.ports import Clock
from core.ratelimit import (
    Admit,
    BudgetPolicy,
    Cost,
    Limit,
    Priority,
    Scope,
    Throttle,
    decide,
    still_current,
    window_of,
)
from core.timeframes import datetime_to_ms, ms_to_datetime


@runtime_checkable
class WindowCounter(Protocol):
    """Atomic counters that live in fixed windows: the one operation a shared request budget needs."""

    def count(self, name: str, window: int, *, add: int = 0, at_least: int = 0) -> int:
        """Atomically set counter ``name`` to ``max(current, at_least) + add`` and return the new value.

        ``current`` is 0 when the stored window is older than ``window`` (a new window starts empty). A call
        for an older window than the stored one counts in the stored one (windows never go back).
        ``add`` may be negative (a refund).
        """
        ...


class MemoryCounter:
    """A ``WindowCounter`` for one process (threads included)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, tuple[int, int]] = {}

    def count(self, name: str, window: int, *, add: int = 0, at_least: int = 0) -> int:
        with self._lock:
            stored_window, value = self._values.get(name, (window, 0))
            if stored_window < window:
                stored_window, value = window, 0
            value = max(value, at_least) + add
            self._values[name] = (stored_window, value)
            return value


class BlockKind(StrEnum):
    BAN = "ban"
    """Binance answered 418: the IP is banned until the time it named."""
    BACKOFF = "backoff"
    """Binance answered 429 with ``Retry-After``: nothing goes before it has passed."""


@dataclass(frozen=True)
class Blocked:
    kind: BlockKind
    until: datetime


Admission = Admit | Throttle | Blocked


@dataclass(frozen=True)
class LimitUsage:
    limit: Limit
    used: int
    scope_id: str


@dataclass(frozen=True)
class BudgetUsage:
    """What ``tradewake exchange check`` and the safety status show."""

    limits: tuple[LimitUsage, ...]
    blocked: Blocked | None


class RequestBudget:
    """The budget of one IP (``ip``: e.g. the venue's host family) and one account (``account``: a key id)."""

    def __init__(self, counter: WindowCounter, clock: Clock, policy: BudgetPolicy, *, ip: str, account: str) -> None:
        self.counter = counter
        self.clock = clock
        self.policy = policy
        self.ip = ip
        self.account = account

    def admit(self, cost: Cost, priority: Priority) -> Admission:
        """Reserve ``cost`` and answer ``Admit``; or ``Throttle`` (nothing reserved) or ``Blocked``."""
        blocked = self.blocked()
        if blocked is not None:
            return blocked
        now_ms = self._now_ms()
        drawn = [(limit, cost.of(limit)) for limit in self.policy.limits if cost.of(limit) > 0]
        totals = {limit.name: self._count(limit, now_ms, add=amount) for limit, amount in drawn}
        before = {limit.name: totals[limit.name] - amount for limit, amount in drawn}
        decision = decide(before, cost, priority, self.policy, now_ms)
        if isinstance(decision, Throttle):
            for limit, amount in drawn:
                self._count(limit, now_ms, add=-amount)
        return decision

    async def reserve(
        self, cost: Cost, priority: Priority, sleep: Callable[[float], Awaitable[None]], *, max_waits: int = 3
    ) -> Admission:
        """``admit``, waiting (``sleep``) for the next window on a ``Throttle`` at most ``max_waits`` times:
        ``Admit`` (the cost is reserved), ``Blocked`` at once, or the ``Throttle`` still in force after the waits."""
        waits = 0
        while True:
            decision = self.admit(cost, priority)
            if not isinstance(decision, Throttle) or waits == max_waits:
                return decision
            await sleep(max(0.0, (decision.until_ms - self._now_ms()) / 1000))
            waits += 1

    def observe(self, usage: dict[str, int], *, sent: datetime | None = None) -> None:
        """Raise each limiter's count to the exchange's own figure (from ``core.ratelimit.usage_from_headers``).

        ``sent``: when the request that brought the figures left (default: now). A limiter whose window turned
        since then reported the window that is over (``core.ratelimit.still_current``): its figure is dropped."""
        now_ms = self._now_ms()
        if sent is not None:
            usage = still_current(usage, self.policy.limits, sent_ms=datetime_to_ms(sent), now_ms=now_ms)
        for limit in self.policy.limits:
            if limit.name in usage:
                self._count(limit, now_ms, at_least=usage[limit.name])

    def ban(self, until: datetime) -> None:
        self.counter.count(self._block_key(BlockKind.BAN), 0, at_least=datetime_to_ms(until))

    def back_off(self, until: datetime) -> None:
        self.counter.count(self._block_key(BlockKind.BACKOFF), 0, at_least=datetime_to_ms(until))

    def blocked(self) -> Blocked | None:
        """The ban or back-off in force now (a ban wins), if any."""
        now_ms = self._now_ms()
        for kind in (BlockKind.BAN, BlockKind.BACKOFF):
            until_ms = self.counter.count(self._block_key(kind), 0)
            if until_ms > now_ms:
                return Blocked(kind, ms_to_datetime(until_ms))
        return None

    def usage(self) -> BudgetUsage:
        now_ms = self._now_ms()
        return BudgetUsage(
            tuple(LimitUsage(limit, self._count(limit, now_ms), self._scope_id(limit)) for limit in self.policy.limits),
            self.blocked(),
        )

    def _count(self, limit: Limit, now_ms: int, *, add: int = 0, at_least: int = 0) -> int:
        name = f"budget:{self._scope_id(limit)}:{limit.name}"
        return self.counter.count(name, window_of(now_ms, limit.interval_s), add=add, at_least=at_least)

    def _scope_id(self, limit: Limit) -> str:
        return f"ip:{self.ip}" if limit.scope is Scope.IP else f"account:{self.account}"

    def _block_key(self, kind: BlockKind) -> str:
        return f"budget:ip:{self.ip}:{kind.value}_until_ms"

    def _now_ms(self) -> int:
        return datetime_to_ms(self.clock.now())


__all__ = [
    "Admission",
    "Admit",
    "BlockKind",
    "Blocked",
    "BudgetUsage",
    "Cost",
    "LimitUsage",
    "MemoryCounter",
    "Priority",
    "RequestBudget",
    "Throttle",
    "WindowCounter",
]
