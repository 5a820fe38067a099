"""A runner's lease round and the takeover of the symbols it acquires (several runners, ``docs/runners.md``).

Every engine step and guard pass: one lease round (``safety.leases.LeaseHolder.round``: renew, acquire, drop the
lost), then every symbol this runner holds but does not trade yet walks its stages. On acquiring, the previous
holder's position records of the symbol are handed over (``safety.handover``); then the book is reconciled with
the exchange (invariant 6; scoped to the symbols held), then a guard pass protects every open position, and only
a symbol with no position left without a stop is traded (entries elsewhere are vetoed ``not_leased``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from core.ids import Symbol
from core.timeframes import datetime_to_ms
from core.types import ClosedTrade
from safety.alerts import AlertKind
from safety.book import SafetyBook
from safety.handover import Handover
from safety.keeper import StateKeeper, TickReport
from safety.leases import LeaseHolder, RoundOutcome, TakeoverStage
from safety.reconcile import ReconcileReport


@dataclass
class LeaseReport:
    """What a lease round did, and the closes its passes committed (the learner hears of each once)."""

    outcome: RoundOutcome
    closed: list[ClosedTrade] = field(default_factory=list)


@dataclass
class Takeover:
    leases: LeaseHolder
    handover: Handover | None
    book: SafetyBook
    keeper: StateKeeper

    async def round(
        self,
        now: datetime,
        reconcile: Callable[[datetime], Awaitable[ReconcileReport]],
        guard: Callable[[datetime], Awaitable[TickReport]],
        settle: Callable[[list[ClosedTrade]], list[ClosedTrade]],
    ) -> LeaseReport:
        leases = self.leases
        report = LeaseReport(leases.round(datetime_to_ms(now)))
        for symbol in report.outcome.lost:
            self.book.journal("lease.lost", now, {"symbol": symbol})
            message = f"lost the lease of {symbol}: stops trading it"
            await self.keeper.alert(AlertKind.LEASE_LOST, message, now, key=f"{symbol}:renew")
        for symbol in report.outcome.acquired:
            self._take_over(symbol, now)
        stages = {s: held.stage for s, held in leases.held.items()}
        if TakeoverStage.RECONCILING in stages.values():
            reconciled = await reconcile(now)
            report.closed.extend(settle(list(reconciled.finalized)))
            for symbol in (s for s, stage in stages.items() if stage is TakeoverStage.RECONCILING):
                leases.advance(symbol, reconciled=reconciled.ok, unprotected=0)
        if any(held.stage is TakeoverStage.PROTECTING for held in leases.held.values()):
            tick = await guard(now)
            report.closed.extend(tick.closed)
            records = self.book.records
            unprotected = [records[pid].symbol for pid in tick.unprotected if pid in records]
            for symbol, held in list(leases.held.items()):
                if held.stage is TakeoverStage.PROTECTING:
                    leases.advance(symbol, reconciled=True, unprotected=unprotected.count(symbol) + len(tick.errors))
        await self.keeper.save(now)
        return report

    def _take_over(self, symbol: Symbol, now: datetime) -> None:
        """Journal the acquisition; take the previous holder's records of the symbol into this book."""
        leases = self.leases
        previous = leases.store.previous(symbol)
        payload = {"symbol": symbol, "token": leases.token(symbol), "from": previous}
        self.book.journal("lease.acquired", now, payload)
        if self.handover is None or not previous or previous == leases.runner:
            return
        for record in self.handover.take(symbol, previous, now):
            self.book.put_record(record)
            self.book.journal("lease.taken_over", now, {"position_id": record.id, "from": previous})
