"""Carrying out ``safety.managed``'s plans for managed holdings: open without an entry order, apply the
operator's terms, let go on a release. Every change is journaled and saved; the guard then does the rest
exactly as for the bot's own positions (the protective stop is placed in the same call).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from core.ids import ClientOrderId, Symbol
from safety.book import SafetyBook
from safety.executor import PositionGuard
from safety.gateway import ExchangeGateway, StopPosition
from safety.guard_state import LIVE, GuardRecord
from safety.keeper import StateKeeper
from safety.managed import LetGo, ManagedOutcome, ManagedSpec, OpenManaged, Report, Reterm, plan_managed


@dataclass
class ManagedPositions:
    book: SafetyBook
    keeper: StateKeeper
    gateway: ExchangeGateway
    guard: PositionGuard

    async def hold(self, spec: ManagedSpec, prices: Mapping[Symbol, Decimal], now: datetime) -> ManagedOutcome:
        """Bring one managed holding to what ``spec`` says (idempotent: call it every step)."""
        rules = self.guard.rules.get(spec.symbol)
        if rules is None:
            return ManagedOutcome(spec.asset, "refused", f"no market {spec.symbol} on this exchange")
        record = self.book.records.get(spec.position_id)
        closed = self.book.closed_trade(spec.position_id) if record is None else None
        plan = plan_managed(spec, record, closed=closed, rules=rules, now=now)
        match plan:
            case Report():
                return plan.outcome
            case OpenManaged():
                return await self._open(spec, plan.record, prices, now)
            case Reterm():
                return await self._reterm(spec, plan, prices, now)
            case LetGo():
                return await self._let_go(spec, plan.record, prices, now)

    async def _open(
        self, spec: ManagedSpec, record: GuardRecord, prices: Mapping[Symbol, Decimal], now: datetime
    ) -> ManagedOutcome:
        self.book.put_record(record)
        self.book.journal(
            "position.opened",
            now,
            {
                "position_id": record.id,
                "position": record.position.model_dump(mode="json"),
                "managed": record.managed.model_dump(mode="json") if record.managed else None,
                "entry_order": None,
            },
        )
        await self.keeper.save(now)  # a failed save alerts and is retried; the guard protects from memory meanwhile
        await self.guard.guard_position(record.id, prices, now)
        await self.keeper.save(now)
        guarded = f"{record.id}: {record.remaining} {spec.asset} guarded, stop {record.position.stop_price}"
        return ManagedOutcome(spec.asset, "opened", guarded)

    async def _reterm(
        self, spec: ManagedSpec, plan: Reterm, prices: Mapping[Symbol, Decimal], now: datetime
    ) -> ManagedOutcome:
        pid = plan.record.id
        if plan.cancel is not None:
            why = f"{spec.asset}: the operator loosened the stop"
            try:
                filled = await self._clear((plan.cancel,), self.book.records[pid], why, now)
            except StopPosition:
                return ManagedOutcome(spec.asset, "held", f"{pid}: the old stop could not be cancelled; retried")
            if filled:  # the stop filled meanwhile: the guard books and finalizes it; the new terms are moot
                await self.guard.guard_position(pid, prices, now)
                await self.keeper.save(now)
                return ManagedOutcome(spec.asset, "held", f"{pid}: its stop filled before the new terms applied")
        self.book.put_record(plan.record)
        self.book.journal("position.terms_applied", now, {"position_id": pid, "asset": spec.asset, "why": plan.why})
        await self.keeper.save(now)
        await self.guard.guard_position(pid, prices, now)
        await self.keeper.save(now)
        return ManagedOutcome(spec.asset, "updated", plan.why)

    async def _let_go(
        self, spec: ManagedSpec, record: GuardRecord, prices: Mapping[Symbol, Decimal], now: datetime
    ) -> ManagedOutcome:
        """Cancel every order of the position (verified), then drop it without a close. A fill found on the
        way (a stop that triggered meanwhile) is booked by the guard first: then it is an exit, not a release."""
        pid = record.id
        if record.exit_request is not None:
            return ManagedOutcome(spec.asset, "releasing", f"{pid}: an exit is under way; its outcome decides")
        try:
            filled = await self._clear(record.referenced(), record, f"release {spec.asset} to the operator", now)
        except StopPosition:
            return ManagedOutcome(spec.asset, "releasing", f"{pid}: its orders could not all be cancelled; retried")
        if filled:
            await self.guard.guard_position(pid, prices, now)
            await self.keeper.save(now)
            return ManagedOutcome(spec.asset, "releasing", f"{pid}: an order filled during the release; booked first")
        self.book.drop_record(pid)
        self.gateway.forget(record.referenced())
        self.book.journal(
            "position.released",
            now,
            {"position_id": pid, "asset": spec.asset, "quantity": str(record.remaining), "why": "taken back"},
        )
        if not await self.keeper.save(now):
            return ManagedOutcome(spec.asset, "releasing", f"{pid}: released but not saved yet; retried")
        back = f"{pid}: orders cancelled, {record.remaining} {spec.asset} handed back to the operator"
        return ManagedOutcome(spec.asset, "released", back)

    async def _clear(self, cids: tuple[ClientOrderId, ...], record: GuardRecord, why: str, now: datetime) -> bool:
        """Cancel each live order among ``cids`` (each looked at first); whether any has a fill not booked yet.
        Raises ``StopPosition`` when the exchange cannot answer (nothing is assumed)."""
        filled = False
        for cid in cids:
            order = await self.gateway.fetch_order(cid, record.symbol, now)
            if order is not None and order.status in LIVE:
                order = await self.gateway.cancel(cid, record.symbol, why, now) or order
            if order is not None and order.filled_quantity > 0 and not record.booked(cid):
                filled = True
        return filled
