"""The operator's surface of the safety layer, for readers that run no engine (the dashboard, status views):
what a running engine's safety layer has persisted, read without changing it, and the command kinds an
operator may queue. Nothing here places an order or writes a document."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from core.ports import Store
from core.types import Position
from safety.book import BOARD_KEY, SafetyBook
from safety.breakers import BreakerBoard
from safety.command_checks import check_key
from safety.controls import CommandKind
from safety.guard_state import PendingEntry

__all__ = [
    "BreakerBoard",
    "CommandKind",
    "PendingEntry",
    "StoredSafety",
    "check_key",
    "engine_has_written",
    "read_stored_safety",
]


@dataclass(frozen=True)
class StoredSafety:
    """The persisted breaker board (kill switch, sleep, breakers), open positions and pending entries."""

    board: BreakerBoard
    positions: tuple[Position, ...]
    entries: tuple[PendingEntry, ...]


def read_stored_safety(store: Store, now: datetime) -> StoredSafety | None:
    """The safety state an engine saved in ``store``, or ``None`` when no engine has written one."""
    if store.get(BOARD_KEY) is None:
        return None
    book = SafetyBook.load(store, Decimal(0), now)
    return StoredSafety(
        board=book.board,
        positions=tuple(record.position for record in book.records.values()),
        entries=tuple(book.entries.values()),
    )


def engine_has_written(store: Store) -> bool:
    """An engine saves its safety board and journals from its first step; a store with neither is unused (a command
    queued there would never be applied)."""
    return store.get(BOARD_KEY) is not None or bool(store.tail_journal(1))
