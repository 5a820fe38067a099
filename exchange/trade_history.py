"""A symbol's whole trade history since a time, however old and however long (Binance pages by time and id).

USDT-M futures ``GET /fapi/v1/userTrades``: "The time between startTime and endTime cannot be longer than
7 days", at most 1,000 rows per page (500 by default) and "fromId cannot be sent with startTime or
endTime". ccxt sends ``endTime = since + 7 days`` and one page: a position opened ten days ago, or one
with more than 500 fills, lost fills to reconciliation. Spot ``GET /api/v3/myTrades`` allows 24 hours
between ``startTime`` and ``endTime``. So the history is read window by window (7 days on futures, 24 hours
on spot), oldest first; a full page means more rows share the window, and those are read on by id
(``fromId``) until a page is short or passes the window's end. Rows are kept once, by trade id.
A spot history costs one request (weight 20) per day it spans; the request budget spreads a long one out.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

Raw = Mapping[str, Any]
PAGE_LIMIT = 1000
FUTURES_WINDOW_MS = 7 * 24 * 3600 * 1000
SPOT_WINDOW_MS = 24 * 3600 * 1000


@dataclass(frozen=True)
class PageRequest:
    """One ``fetch_my_trades`` call: by time (``since_ms`` .. ``until_ms``) or by id (``from_id``)."""

    since_ms: int | None = None
    until_ms: int | None = None
    from_id: int | None = None
    limit: int = PAGE_LIMIT

    def params(self) -> dict[str, Any]:
        if self.from_id is not None:
            return {"fromId": self.from_id}
        return {"endTime": self.until_ms} if self.until_ms is not None else {}


FetchPage = Callable[[PageRequest], Awaitable[list[Raw]]]


def windows(since_ms: int, until_ms: int, window_ms: int) -> list[tuple[int, int]]:
    """``[since, until]`` cut into consecutive inclusive windows of at most ``window_ms`` (oldest first)."""
    if window_ms <= 0:
        raise ValueError("window must be positive")
    cuts = []
    cursor = since_ms
    while cursor <= until_ms:
        end = min(cursor + window_ms - 1, until_ms)
        cuts.append((cursor, end))
        cursor = end + 1
    return cuts


async def all_trades(
    fetch: FetchPage, since_ms: int | None, until_ms: int, *, window_ms: int, limit: int = PAGE_LIMIT
) -> list[Raw]:
    """Every trade from ``since_ms`` (None: the exchange's latest page) to ``until_ms``, oldest first, each once."""
    found: dict[str, Raw] = {}
    if since_ms is None:
        page = await fetch(PageRequest(limit=limit))
        _keep(found, page)
        await _on_by_id(fetch, page, limit, found, until_ms)
        return _ordered(found)
    for start, end in windows(since_ms, until_ms, window_ms):
        page = await fetch(PageRequest(since_ms=start, until_ms=end, limit=limit))
        _keep(found, page)
        await _on_by_id(fetch, page, limit, found, end)
    return [row for row in _ordered(found) if int(row.get("timestamp") or 0) >= since_ms]


async def _on_by_id(fetch: FetchPage, page: list[Raw], limit: int, found: dict[str, Raw], end_ms: int) -> None:
    """After a full page, read on by id until a page is short or reaches past ``end_ms``."""
    while len(page) >= limit:
        last = max(int(row["id"]) for row in page)
        page = await fetch(PageRequest(from_id=last + 1, limit=limit))
        _keep(found, page)
        if any(int(row.get("timestamp") or 0) > end_ms for row in page):
            return


def _keep(found: dict[str, Raw], page: list[Raw]) -> None:
    for row in page:
        found[str(row["id"])] = row


def _ordered(found: dict[str, Raw]) -> list[Raw]:
    return sorted(found.values(), key=lambda row: (int(row.get("timestamp") or 0), int(row["id"])))


HISTORY_MARGIN_MS = 3_600_000
TRUSTED_LEAD_MS = 86_400_000


def history_end_ms(clock_ms: int, offset_ms: int) -> int:
    """Where a trade history ends: our clock's now, plus the exchange clock's lead when it is a clock error (up to
    a day: trades are stamped on the exchange's clock), plus an hour. A larger lead is no clock error but a
    replayed venue (its trades are stamped in replay time, its clock is the wall's): walking windows up to the
    wall clock would cost a request per 7 days (24 hours on spot) of nothing."""
    lead = offset_ms if 0 < offset_ms <= TRUSTED_LEAD_MS else 0
    return clock_ms + lead + HISTORY_MARGIN_MS
