"""Carrying out approved proposals: what the safety service does after the veto.

``Requests.execute(approved, prices, now)`` routes each approved proposal to its operation and runs
the guard for the position at once, so an exit or a stop change reaches the exchange in the same call
(through the guard's exit path: stops cleared and verified, market exit, post-verify).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import assert_never

from core.ids import PositionId, Symbol
from core.types import ExitReason
from safety.book import SafetyBook
from safety.entries import Entries, EntryResult
from safety.executor import PositionGuard
from safety.guard import tighter
from safety.guard_state import request_exit
from safety.keeper import StateKeeper
from safety.proposals import (
    AdjustStopProposal,
    AdjustTakeProfitProposal,
    CancelEntryProposal,
    CloseProposal,
    EntryProposal,
)
from safety.verdicts import Approved


@dataclass(frozen=True, slots=True)
class Done:
    position_id: PositionId
    message: str


@dataclass
class Requests:
    book: SafetyBook
    keeper: StateKeeper
    guard: PositionGuard
    entries: Entries

    async def execute(self, approved: Approved, prices: Mapping[Symbol, Decimal], now: datetime) -> EntryResult | Done:
        """Perform an approved proposal (never call this with anything the veto did not approve)."""
        proposal = approved.proposal
        pid = approved.position_id
        if pid is None:
            raise ValueError("an approved proposal names its position")
        match proposal:
            case EntryProposal():
                return await self.entries.submit(approved, prices, now)
            case CloseProposal():
                quantity = None if proposal.fraction >= 1 else approved.quantity
                return await self.close_position(pid, quantity, ExitReason.AGENT, prices, now=now)
            case AdjustStopProposal():
                assert approved.stop_price is not None
                return await self.tighten_stop(pid, approved.stop_price, prices, now)
            case AdjustTakeProfitProposal():
                assert approved.take_profit_price is not None
                return await self.set_take_profit(pid, approved.take_profit_price, prices, now)
            case CancelEntryProposal():
                return await self.cancel_entry(pid, prices, now)
            case _:
                assert_never(proposal)

    async def close_position(
        self,
        pid: PositionId,
        quantity: Decimal | None,
        reason: ExitReason,
        prices: Mapping[Symbol, Decimal],
        *,
        now: datetime,
    ) -> Done:
        """Exit ``quantity`` (``None`` = all) through the guard's exit path."""
        record = self.book.records.get(pid)
        if record is None:
            return Done(pid, f"{pid} is no longer open")
        self.book.put_record(request_exit(record, reason, quantity, now))
        self.book.journal(
            "exit.requested",
            now,
            {"position_id": pid, "reason": reason.value, "quantity": None if quantity is None else str(quantity)},
        )
        await self.guard.guard_position(pid, prices, now)
        await self.keeper.save(now)
        left = self.book.records.get(pid)
        return Done(pid, f"{pid} closed" if left is None else f"{pid}: exit in progress, {left.remaining} open")

    async def tighten_stop(
        self, pid: PositionId, stop: Decimal, prices: Mapping[Symbol, Decimal], now: datetime
    ) -> Done:
        record = self.book.records.get(pid)
        if record is None:
            return Done(pid, f"{pid} is no longer open")
        level = tighter(record.side, stop, record.position.stop_price)
        moved = record.model_copy(update={"position": record.position.model_copy(update={"stop_price": level})})
        self.book.put_record(moved)
        self.book.journal(
            "stop.adjusted", now, {"position_id": pid, "from": str(record.position.stop_price), "to": str(level)}
        )
        await self.guard.guard_position(pid, prices, now)
        await self.keeper.save(now)
        return Done(pid, f"stop of {pid} at {level}")

    async def set_take_profit(
        self, pid: PositionId, price: Decimal, prices: Mapping[Symbol, Decimal], now: datetime
    ) -> Done:
        record = self.book.records.get(pid)
        if record is None:
            return Done(pid, f"{pid} is no longer open")
        position = record.position.model_copy(update={"take_profit_price": price})
        changed = record.model_copy(update={"position": position})
        self.book.put_record(changed)
        self.book.count_agent_order()
        self.book.journal("take_profit.adjusted", now, {"position_id": pid, "to": str(price)})
        await self.guard.guard_position(pid, prices, now)
        await self.keeper.save(now)
        return Done(pid, f"take-profit of {pid} at {price}")

    async def cancel_entry(self, pid: PositionId, prices: Mapping[Symbol, Decimal], now: datetime) -> Done:
        entry = self.book.entries.get(pid)
        if entry is None:
            return Done(pid, f"no pending entry {pid}")
        self.book.put_entry(entry.model_copy(update={"cancel_requested": True}))
        await self.entries.settle(pid, prices, now)
        gone = pid not in self.book.entries and pid not in self.book.records
        state = "cancelled" if gone else "partly filled, now open"
        return Done(pid, f"entry {pid} {state}" if pid not in self.book.entries else f"entry {pid}: cancel pending")

    async def flatten(self, reason: str, prices: Mapping[Symbol, Decimal], now: datetime) -> list[Done]:
        """Operator flatten: cancel every pending entry and close every position through the guard."""
        done = [await self.cancel_entry(pid, prices, now) for pid in sorted(self.book.entries)]
        self.book.journal("safety.flatten", now, {"reason": reason, "positions": sorted(self.book.records)})
        for pid in sorted(self.book.records):
            done.append(await self.close_position(pid, None, ExitReason.OPERATOR, prices, now=now))
        return done
