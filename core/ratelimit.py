"""The request-weight budget's pure decisions: which request may go now, which must wait, until when.

Binance counts request weight per IP (``REQUEST_WEIGHT``, per minute) and new orders per account
(``ORDERS``, per 10 seconds and per day on spot, per 10 seconds and per minute on USDT-M futures), in
fixed windows, and reports what is used in response headers (``X-MBX-USED-WEIGHT-1M``,
``X-MBX-ORDER-COUNT-10S`` ...). Going over answers 429; continuing after a 429 bans the IP (418, from
2 minutes up to 3 days). So every ccxt instance of every process on one IP and account draws from one
budget, and the budget stops each kind of traffic short of the limit, the least important first:

- ``MARKET_DATA`` may fill 60 % of a window, ``ENTRY`` 75 %, ``ACCOUNT`` reads 85 %, ``PROTECTIVE``
  orders (stops, exits, cancels) 95 %: market data and entries can never starve a stop, and nothing
  ever fills a window, so the budget throttles before a 429 and never earns a 418.

Everything here is a pure function of its inputs (no clock read, no I/O); ``core.request_budget`` keeps
the counts in a store shared by processes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum


class Priority(IntEnum):
    """Lower value, more important. Each may fill its ``BudgetPolicy.ceilings`` share of a window."""

    PROTECTIVE = 0
    """Orders that protect an open position: stops, take-profits, exits, cancels."""
    ACCOUNT = 1
    """Reads the safety layer needs: orders, positions, balances, trades, account settings."""
    ENTRY = 2
    """Orders that add exposure."""
    MARKET_DATA = 3
    """Candles, funding, open interest."""


class Scope(StrEnum):
    IP = "ip"
    ACCOUNT = "account"


class Counts(StrEnum):
    WEIGHT = "weight"
    ORDERS = "orders"


@dataclass(frozen=True)
class Limit:
    """One Binance rate limiter: ``capacity`` units of ``counts`` per fixed window of ``interval_s``."""

    name: str
    scope: Scope
    counts: Counts
    interval_s: int
    capacity: int

    @property
    def header(self) -> str:
        """The response header that reports this limiter's use (lower case), e.g. ``x-mbx-used-weight-1m``."""
        kind = "used-weight" if self.counts is Counts.WEIGHT else "order-count"
        return f"x-mbx-{kind}-{interval_text(self.interval_s)}"


DEFAULT_CEILINGS: Mapping[Priority, float] = {
    Priority.PROTECTIVE: 0.95,
    Priority.ACCOUNT: 0.85,
    Priority.ENTRY: 0.75,
    Priority.MARKET_DATA: 0.60,
}


@dataclass(frozen=True)
class BudgetPolicy:
    limits: tuple[Limit, ...]
    ceilings: Mapping[Priority, float] = field(default_factory=lambda: dict(DEFAULT_CEILINGS))

    def __post_init__(self) -> None:
        shares = [self.ceilings[p] for p in Priority]
        if any(not 0 < share < 1 for share in shares) or shares != sorted(shares, reverse=True):
            raise ValueError("ceilings must be in (0, 1) and shrink from PROTECTIVE to MARKET_DATA")
        if len({limit.name for limit in self.limits}) != len(self.limits):
            raise ValueError("limit names must be unique")

    def allowed(self, limit: Limit, priority: Priority) -> int:
        """The most a window may hold once a request of ``priority`` is counted."""
        return math.floor(limit.capacity * self.ceilings[priority])

    @classmethod
    def binance_spot(cls) -> BudgetPolicy:
        """Binance spot's published limits (``exchangeInfo.rateLimits``)."""
        return cls(
            (
                Limit("weight_1m", Scope.IP, Counts.WEIGHT, 60, 6000),
                Limit("orders_10s", Scope.ACCOUNT, Counts.ORDERS, 10, 100),
                Limit("orders_1d", Scope.ACCOUNT, Counts.ORDERS, 86_400, 200_000),
            )
        )

    @classmethod
    def binance_futures(cls) -> BudgetPolicy:
        """Binance USDT-M futures' published limits (``fapi/v1/exchangeInfo.rateLimits``)."""
        return cls(
            (
                Limit("weight_1m", Scope.IP, Counts.WEIGHT, 60, 2400),
                Limit("orders_10s", Scope.ACCOUNT, Counts.ORDERS, 10, 300),
                Limit("orders_1m", Scope.ACCOUNT, Counts.ORDERS, 60, 1200),
            )
        )


@dataclass(frozen=True)
class Cost:
    """What one request draws: request weight (IP) and new orders (account)."""

    weight: int = 1
    orders: int = 0

    def __post_init__(self) -> None:
        if self.weight < 0 or self.orders < 0:
            raise ValueError("a request cannot cost less than nothing")

    def of(self, limit: Limit) -> int:
        return self.weight if limit.counts is Counts.WEIGHT else self.orders


@dataclass(frozen=True)
class Admit:
    """Send it now."""


@dataclass(frozen=True)
class Throttle:
    """Wait until ``until_ms`` (the end of the fullest window), then ask again."""

    until_ms: int
    limit: str


Decision = Admit | Throttle


def window_of(now_ms: int, interval_s: int) -> int:
    """The index of the fixed window (aligned on the epoch, like Binance's) that ``now_ms`` falls in."""
    return now_ms // (interval_s * 1000)


def window_end_ms(now_ms: int, interval_s: int) -> int:
    return (window_of(now_ms, interval_s) + 1) * interval_s * 1000


def decide(used: Mapping[str, int], cost: Cost, priority: Priority, policy: BudgetPolicy, now_ms: int) -> Decision:
    """Admit ``cost`` at ``priority`` when every limiter it draws on stays within the priority's ceiling.

    ``used`` is each limiter's count in its current window before this request (missing: 0). A request
    bigger than a ceiling on an empty window is admitted alone (it could never go otherwise; Binance
    takes it, as it is below the capacity), so ``decide`` never throttles forever.
    """
    blocking: list[tuple[int, str]] = []
    for limit in policy.limits:
        amount = cost.of(limit)
        if amount == 0:
            continue
        before = used.get(limit.name, 0)
        if before + amount > policy.allowed(limit, priority) and before > 0:
            blocking.append((window_end_ms(now_ms, limit.interval_s), limit.name))
    if not blocking:
        return Admit()
    until_ms, name = max(blocking)
    return Throttle(until_ms, name)


# ---------------------------------------------------------------- response headers

_INTERVALS = {"S": 1, "M": 60, "H": 3600, "D": 86_400}
_USAGE_HEADER = re.compile(r"^x-mbx-(used-weight|order-count)-(\d+)([smhd])$")


def interval_text(interval_s: int) -> str:
    """``60`` -> ``1m``, ``10`` -> ``10s``, ``86400`` -> ``1d`` (Binance's header suffixes)."""
    for letter, seconds in (("d", 86_400), ("h", 3600), ("m", 60)):
        if interval_s % seconds == 0:
            return f"{interval_s // seconds}{letter}"
    return f"{interval_s}s"


def still_current(usage: Mapping[str, int], limits: Iterable[Limit], *, sent_ms: int, now_ms: int) -> dict[str, int]:
    """The figures of ``usage`` (one answer's headers) that still describe the window in force at ``now_ms``.

    Binance counts a request in the window it arrives in and reports that window's use. An answer that comes
    back after the window turned (sent before the boundary, read after it) reports a window that is over;
    raising the new window to that figure would count the old window's weight twice and hold back a whole
    window for weight the exchange no longer counts. Such a limiter's figure is dropped; the request's own
    reservation was counted in its window already. (A clock a little ahead of Binance's can still carry an old
    figure over for a few ms after a boundary: cautious, never blind.)
    """
    by_name = {limit.name: limit for limit in limits}
    return {
        name: value
        for name, value in usage.items()
        if name in by_name
        and window_of(sent_ms, by_name[name].interval_s) == window_of(now_ms, by_name[name].interval_s)
    }


def usage_from_headers(headers: Mapping[str, str] | None, limits: Iterable[Limit]) -> dict[str, int]:
    """Each limiter's use as the exchange reported it in one response (limiters it did not mention: absent)."""
    by_header = {limit.header: limit.name for limit in limits}
    found: dict[str, int] = {}
    for name, value in (headers or {}).items():
        key = str(name).lower()
        if key in by_header and _USAGE_HEADER.match(key) and str(value).strip().isdigit():
            found[by_header[key]] = int(str(value).strip())
    return found


def retry_after_s(headers: Mapping[str, str] | None) -> float | None:
    """The ``Retry-After`` header in seconds (Binance sends it with 429 and 418), if present and readable."""
    for name, value in (headers or {}).items():
        if str(name).lower() == "retry-after":
            try:
                seconds = float(value)
            except ValueError:
                return None
            return seconds if seconds >= 0 else None
    return None


DEFAULT_BAN_S = 120
"""A 418 that names no end and sends no ``Retry-After``: Binance's shortest ban (2 minutes)."""
_BANNED_UNTIL = re.compile(r"banned until (\d+)")


def banned_until_ms(message: str, retry_after: float | None, now_ms: int) -> int:
    """When a 418 ban ends: the ``IP banned until <ms>`` of Binance's message, else ``Retry-After``, else
    :data:`DEFAULT_BAN_S` from now."""
    named = _BANNED_UNTIL.search(message)
    if named is not None:
        return int(named.group(1))
    return now_ms + int((retry_after if retry_after is not None else DEFAULT_BAN_S) * 1000)
