"""What the safety layer owes the outside world: durable state, humans told, and a report of each pass.

``StateKeeper.save`` commits everything the book staged. State is committed after every placed order.
A failed save alerts at once, is journaled as soon as the journal takes it, switches the account to
REDUCING (``persistence_ok=False``, entries vetoed) and is retried at every later save while the guard
keeps protecting from memory. A trade whose close a save committed is handed out exactly once
(:meth:`StateKeeper.drain_closed`): that is the ``PositionClosed`` feed of the learner and the engine.

Alerts go to the ``AlertSink``; breaker transitions are journaled and alerted when a breaker opens.
Each safety pass starts a fresh :class:`TickReport`; every part records its problems in it here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from core.ids import PositionId
from core.types import Alert, ClosedTrade
from safety import breakers as brk
from safety.alerts import AlertKind, AlertSink, make_alert
from safety.book import SafetyBook


@dataclass
class TickReport:
    """What one safety pass did: the engine publishes ``closed`` (``PositionClosed``: every close committed
    since the previous pass, including those of exits requested in between) and logs the rest."""

    closed: list[ClosedTrade] = field(default_factory=list)
    actions: int = 0
    errors: list[str] = field(default_factory=list)
    unprotected: list[PositionId] = field(default_factory=list)
    save_ok: bool = True


@dataclass
class StateKeeper:
    book: SafetyBook
    alerts: AlertSink
    report: TickReport = field(default_factory=TickReport)
    """The current pass's report (what is recorded between two passes is dropped with it)."""
    _closed: list[ClosedTrade] = field(default_factory=list)

    # ------------------------------------------------------------------ the pass report

    def begin_pass(self) -> None:
        self.report = TickReport()

    def end_pass(self) -> TickReport:
        """The pass's report, with every close committed since the last drain."""
        self.report.closed = self.drain_closed()
        return self.report

    def problem(self, message: str) -> None:
        """Something in this pass could not be done (an exchange error, a plan that did not settle ...)."""
        self.report.errors.append(message)

    def acted(self) -> None:
        self.report.actions += 1

    def unprotected(self, pid: PositionId) -> None:
        self.report.unprotected.append(pid)

    def drain_closed(self) -> list[ClosedTrade]:
        """Trades whose close was committed since the last drain; each position appears here exactly once,
        after its close is durably recorded."""
        drained, self._closed = self._closed, []
        return drained

    # ------------------------------------------------------------------ persistence

    async def save(self, now: datetime) -> bool:
        """Commit everything staged. On failure: REDUCING in memory, alert, keep it staged for retry."""
        board = self.book.board
        if not self.book.dirty and board.persistence_ok:
            return True
        if not board.persistence_ok:
            self.book.put_board(board.model_copy(update={"persistence_ok": True}))
        result = self.book.commit(now)
        if result.ok:
            self._closed.extend(result.closed)
            self.report.errors.extend(f"{pid}: second finalize refused" for pid in result.duplicates)
            if not board.persistence_ok:
                await self.alert(
                    AlertKind.SAVE_FAILED, "state saved again; entries allowed", now, severity="info", key="recovered"
                )
            return True
        self.report.save_ok = False
        if board.persistence_ok:
            self.book.journal("safety.save_failed", now, {"error": result.error})
        self.book.board = self.book.board.model_copy(update={"persistence_ok": False})
        await self.alert(AlertKind.SAVE_FAILED, f"{result.error}; REDUCING until it saves", now, key="save")
        return False

    # ------------------------------------------------------------------ humans

    async def alert(
        self, kind: AlertKind, message: str, now: datetime, *, severity: str = "critical", key: str = ""
    ) -> None:
        await self.alerts.raise_alert(make_alert(kind, message, now, severity=severity, key=key))

    async def raise_alert(self, alert: Alert) -> None:
        """An alert built elsewhere (the engine's feed watchdog, the veto streak, the agent's breaker)."""
        await self.alerts.raise_alert(alert)

    async def announce(self, events: tuple[brk.BreakerEvent, ...], now: datetime) -> None:
        """Journal breaker transitions; a breaker that opens is a human's business too."""
        for event in events:
            self.book.journal("breaker.transition", now, event.payload())
            if event.transition is brk.BreakerState.OPEN:
                await self.alert(
                    AlertKind.BREAKER_OPENED, f"{event.breaker} breaker opened: {event.reason}", now, key=event.breaker
                )
