"""The safety layer's persisted state, staged in memory and committed to the ``Store`` atomically.

Every document is written with compare-and-set on the version we last saw, so a second process
writing the same state is a loud ``ConflictError``, never a silent overwrite. A closed trade is
written with ``expected_version=0`` in the same transaction that deletes the position: a position
can be finalized exactly once, whoever tries, however often.

When a commit fails the staged writes and events stay staged (nothing is dropped); the caller
alerts, switches to REDUCING and keeps protecting from the in-memory state, and the next
:meth:`SafetyBook.commit` retries them all. Nothing claims a save happened before it did.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from core.errors import ConflictError, OperationalError, TemporaryError
from core.ids import ClientOrderId, PositionId, Symbol
from core.portfolio import FillView
from core.ports import NewEvent, Store, Write
from core.types import ClosedTrade
from safety import views
from safety.breakers import BreakerBoard, trading_on_agent_order
from safety.guard_state import GuardRecord, PendingEntry
from safety.portfolio_view import entry_fill, leg_fills

BOARD_KEY = "safety/board"
CLEANUP_KEY = "safety/cleanup"
FOREIGN_KEY = "safety/foreign"
POSITION_PREFIX = "safety/pos/"
ENTRY_PREFIX = "safety/entry/"
CLOSED_PREFIX = "safety/closed/"
RECENT_FILLS = 8
"""How many of the latest fills the book keeps for the agent's view (in memory: a restart starts empty)."""

SAVE_ERRORS = (OperationalError, ConflictError, TemporaryError)
"""What a store may raise for a failed save (the backends translate their driver errors into these)."""


def position_key(pid: PositionId) -> str:
    return POSITION_PREFIX + pid


def entry_key(pid: PositionId) -> str:
    return ENTRY_PREFIX + pid


def closed_key(pid: PositionId) -> str:
    return CLOSED_PREFIX + pid


@dataclass(frozen=True, slots=True)
class CommitResult:
    ok: bool
    closed: tuple[ClosedTrade, ...] = ()
    """Trades whose finalization this commit recorded (emit ``PositionClosed`` for exactly these)."""
    duplicates: tuple[PositionId, ...] = ()
    """Finalizations refused because the position was already closed in the store."""
    error: str | None = None


@dataclass
class SafetyBook:
    store: Store
    board: BreakerBoard
    records: dict[PositionId, GuardRecord] = field(default_factory=dict)
    entries: dict[PositionId, PendingEntry] = field(default_factory=dict)
    cleanup: dict[ClientOrderId, Symbol] = field(default_factory=dict)
    """Sibling orders of finalized positions whose cancel has not been confirmed yet."""
    recent_fills: deque[FillView] = field(default_factory=lambda: deque(maxlen=RECENT_FILLS))
    """The latest entry and exit fills booked in this process, oldest first (``PortfolioView.recent_fills``)."""
    foreign_reported: set[ClientOrderId] = field(default_factory=set)
    """Client ids of orders that are not ours, already reported once (journal and alert)."""
    _versions: dict[str, int] = field(default_factory=dict)
    _staged: dict[str, Write] = field(default_factory=dict)
    _events: list[NewEvent] = field(default_factory=list)
    _closing: dict[PositionId, ClosedTrade] = field(default_factory=dict)

    # ------------------------------------------------------------------ load

    @classmethod
    def load(cls, store: Store, equity: Decimal, now: datetime) -> SafetyBook:
        """Read every safety document; a fresh board when none exists (first run)."""
        board_doc = store.get(BOARD_KEY)
        board = BreakerBoard.from_dict(board_doc.value) if board_doc else BreakerBoard.fresh(equity, now)
        # A restart must reconcile again before any entry (invariant 6).
        book = cls(store=store, board=board.model_copy(update={"reconciled_at": None}))
        if board_doc:
            book._versions[BOARD_KEY] = board_doc.version
        for doc in store.get_many(store.keys(POSITION_PREFIX)).values():
            record = GuardRecord.from_dict(doc.value)
            book.records[record.id] = record
            book._versions[doc.key] = doc.version
        for doc in store.get_many(store.keys(ENTRY_PREFIX)).values():
            entry = PendingEntry.from_dict(doc.value)
            book.entries[entry.position_id] = entry
            book._versions[doc.key] = doc.version
        cleanup_doc = store.get(CLEANUP_KEY)
        if cleanup_doc:
            book._versions[CLEANUP_KEY] = cleanup_doc.version
            book.cleanup = {ClientOrderId(k): Symbol(v) for k, v in cleanup_doc.value.get("orders", {}).items()}
        foreign_doc = store.get(FOREIGN_KEY)
        if foreign_doc:
            book._versions[FOREIGN_KEY] = foreign_doc.version
            book.foreign_reported = {ClientOrderId(c) for c in foreign_doc.value.get("reported", [])}
        return book

    def was_closed(self, pid: PositionId) -> bool:
        """Whether the store records this position as closed (finalized by this or an earlier process)."""
        return self.store.get(closed_key(pid)) is not None

    def closed_trade(self, pid: PositionId) -> ClosedTrade | None:
        """The position's recorded close, when it was finalized (by this or an earlier process)."""
        doc = self.store.get(closed_key(pid))
        return ClosedTrade.model_validate(doc.value) if doc is not None else None
    def closed_trades(self) -> list[ClosedTrade]:
        """Every close the store records, oldest position id first (finalized by this or an earlier process)."""
        docs = self.store.get_many(self.store.keys(CLOSED_PREFIX))
        return [ClosedTrade.model_validate(docs[key].value) for key in sorted(docs)]

    # ------------------------------------------------------------------ the veto's view

    def portfolio(self, equity: Decimal) -> views.Portfolio:
        """The account as the veto sees it: open positions, pending entries (their notional at the
        reference price counts towards exposure) and, per symbol, the last exit (re-entry cooldown)."""
        pending = tuple(
            views.PendingEntry(e.position_id, e.symbol, e.side, e.quantity * e.reference_price)
            for e in self.entries.values()
        )
        return views.Portfolio(
            equity,
            tuple(r.position for r in self.records.values()),
            pending,
            {Symbol(k): v for k, v in self.board.last_exit_at.items()},
        )

    # ------------------------------------------------------------------ staging (memory first)

    def _stage(self, key: str, value: dict[str, Any] | None) -> None:
        self._staged[key] = Write(key=key, value=value, expected_version=self._versions.get(key, 0))

    def journal(self, kind: str, at: datetime, payload: Mapping[str, Any]) -> None:
        self._events.append(NewEvent(kind=kind, at=at, payload=dict(payload)))

    def put_record(self, record: GuardRecord) -> None:
        self._note_fills(self.records.get(record.id), record)
        self.records[record.id] = record
        self._stage(position_key(record.id), record.to_dict())

    def drop_record(self, pid: PositionId) -> None:
        """Stop guarding a position without closing it (a managed holding the operator took back)."""
        self.records.pop(pid, None)
        self._stage(position_key(pid), None)

    def put_entry(self, entry: PendingEntry) -> None:
        self.entries[entry.position_id] = entry
        self._stage(entry_key(entry.position_id), entry.to_dict())

    def drop_entry(self, pid: PositionId) -> None:
        self.entries.pop(pid, None)
        self._stage(entry_key(pid), None)

    def put_board(self, board: BreakerBoard) -> None:
        self.board = board
        self._stage(BOARD_KEY, board.to_dict())

    def count_agent_order(self) -> None:
        """One more order the agent asked for today (entries, take-profit changes): the daily cap counts them."""
        self.put_board(self.board.model_copy(update={"trading": trading_on_agent_order(self.board.trading)}))

    def set_cleanup(self, orders: Mapping[ClientOrderId, Symbol]) -> None:
        self.cleanup = dict(orders)
        self._stage(CLEANUP_KEY, {"orders": dict(self.cleanup)})

    def note_foreign(self, cid: ClientOrderId) -> bool:
        """Remember that the order ``cid`` (not ours) was reported; ``False`` when it already was."""
        if cid in self.foreign_reported:
            return False
        self.foreign_reported.add(cid)
        self._stage(FOREIGN_KEY, {"reported": sorted(self.foreign_reported)})
        return True

    def finalize(self, record: GuardRecord, trade: ClosedTrade) -> None:
        """Stage the exactly-once close: the closed trade (must not exist yet) and the record's deletion."""
        before = self.records.pop(record.id, None)
        if before is not None:
            self._note_fills(before, record)
        self._closing[record.id] = trade
        self._stage(position_key(record.id), None)
        self._staged[closed_key(record.id)] = Write(
            key=closed_key(record.id), value=trade.model_dump(mode="json"), expected_version=0
        )

    def _note_fills(self, before: GuardRecord | None, after: GuardRecord) -> None:
        """Remember the fills ``after`` adds to ``before`` (a new position: its entry)."""
        if before is None:
            self.recent_fills.append(entry_fill(after))
            before = after.model_copy(update={"legs": (), "corrections": ()})
        known = {(leg.order_id, leg.quantity) for leg in (*before.legs, *before.corrections)}
        new = [leg for leg in (*after.legs, *after.corrections) if (leg.order_id, leg.quantity) not in known]
        self.recent_fills.extend(leg_fills(after, sorted(new, key=lambda leg: leg.at)))

    @property
    def dirty(self) -> bool:
        return bool(self._staged or self._events)

    # ------------------------------------------------------------------ commit

    def commit(self, now: datetime) -> CommitResult:
        """Write everything staged in one transaction; on failure keep it all staged and say why."""
        if not self.dirty:
            return CommitResult(ok=True)
        writes = list(self._staged.values())
        try:
            versions = self.store.transact(writes, self._events)
        except ConflictError as exc:
            if exc.key.startswith(CLOSED_PREFIX):
                return self._refuse_duplicate(PositionId(exc.key[len(CLOSED_PREFIX) :]), now)
            return CommitResult(ok=False, error=f"state save failed: {exc}")
        except SAVE_ERRORS as exc:
            return CommitResult(ok=False, error=f"state save failed: {type(exc).__name__}: {exc}")
        for key, version in versions.items():
            self._versions[key] = version
        closed = tuple(self._closing.values())
        self._staged.clear()
        self._events.clear()
        self._closing.clear()
        return CommitResult(ok=True, closed=closed)

    def _refuse_duplicate(self, pid: PositionId, now: datetime) -> CommitResult:
        """The store already holds this position's close: drop our second one, keep the rest staged."""
        self._closing.pop(pid, None)
        self._staged.pop(closed_key(pid), None)
        self._staged.pop(position_key(pid), None)
        self._versions.pop(position_key(pid), None)
        self._events = [e for e in self._events if e.payload.get("position_id") != pid or e.kind != "position.closed"]
        self.journal("safety.finalize_refused", now, {"position_id": pid, "why": "already closed in the store"})
        retried = self.commit(now)
        return CommitResult(retried.ok, retried.closed, (pid, *retried.duplicates), retried.error)
