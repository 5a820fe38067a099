"""A takeover's handover: the previous holder's position records of a symbol move into the new holder's book.

Each runner keeps its own book (its own store namespace). When a runner takes a symbol over (``safety.leases``),
the positions the previous holder opened on it are still on the exchange, with their stops, and their records
are still in the previous holder's book. :func:`take_records` removes them from there in one compare-and-set
transaction (journaled there as ``lease.handed_over``), so exactly one book holds each record: a previous holder
that wakes from a pause finds its save refused (a version conflict: loud) and is fenced from the exchange anyway.
The new holder puts them into its book and then reconciles (invariant 6): their orders re-attach by their client
ids, the guard protects them, and only then does the symbol trade.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from core.ids import Symbol
from core.ports import NewEvent, Store, Write
from safety.book import POSITION_PREFIX
from safety.guard_state import GuardRecord


class Handover(Protocol):
    """Where a runner takes a symbol's records from (``engine.runners``: the previous holder's book on Redis)."""

    def take(self, symbol: Symbol, previous: str, now: datetime) -> list[GuardRecord]: ...


def take_records(store: Store, symbol: Symbol, to_runner: str, now: datetime) -> list[GuardRecord]:
    """Remove every position record of ``symbol`` from ``store`` (the previous holder's book), atomically."""
    docs = store.get_many(store.keys(POSITION_PREFIX))
    parsed = {key: (doc.version, GuardRecord.from_dict(doc.value)) for key, doc in docs.items()}
    taken = {key: (version, record) for key, (version, record) in parsed.items() if record.symbol == symbol}
    if not taken:
        return []
    records = [record for _, record in taken.values()]
    writes = [Write(key=key, value=None, expected_version=version) for key, (version, _) in taken.items()]
    event = NewEvent(
        kind="lease.handed_over",
        at=now,
        payload={"symbol": symbol, "to": to_runner, "positions": sorted(r.id for r in records)},
    )
    store.transact(writes, [event])
    return records


@dataclass(frozen=True)
class StoreHandover:
    """``Handover`` over the previous holders' own stores: ``open_book(runner)`` opens one (``None`` when the
    runner never registered: nothing of its to take; reconciliation reports what it finds)."""

    open_book: Callable[[str], Store | None]
    runner: str

    def take(self, symbol: Symbol, previous: str, now: datetime) -> list[GuardRecord]:
        store = self.open_book(previous)
        if store is None:
            return []
        try:
            return take_records(store, symbol, self.runner, now)
        finally:
            store.close()
