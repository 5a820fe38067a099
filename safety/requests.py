"""Carrying out approved proposals: the one function the tools layer calls after the veto.

``execute(executor, approved, prices, now)`` routes each approved proposal to its operation and
runs the guard for the position at once, so an exit or a stop change reaches the exchange in the
same call (through the guard's exit path: stops cleared and verified, market exit, post-verify).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import assert_never

from core.ids import PositionId, Symbol
from core.types import ExitReason
from safety.breakers import trading_on_agent_order
from safety.entries import EntryResult, settle_entry, submit_entry
from safety.executor import GuardExecutor
from safety.guard import tighter
from safety.guard_state import request_exit
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


async def execute(
    ex: GuardExecutor, approved: Approved, prices: Mapping[Symbol, Decimal], now: datetime
) -> EntryResult | Done:
    """Perform an approved proposal (never call this with anything the veto did not approve)."""
    proposal = approved.proposal
    pid = approved.position_id
    if pid is None:
        raise ValueError("an approved proposal names its position")
    match proposal:
        case EntryProposal():
            return await submit_entry(ex, approved, prices, now)
        case CloseProposal():
            quantity = None if proposal.fraction >= 1 else approved.quantity
            return await close_position(ex, pid, quantity, ExitReason.AGENT, prices, now=now)
        case AdjustStopProposal():
            assert approved.stop_price is not None
            return await tighten_stop(ex, pid, approved.stop_price, prices, now)
        case AdjustTakeProfitProposal():
            assert approved.take_profit_price is not None
            return await set_take_profit(ex, pid, approved.take_profit_price, prices, now)
        case CancelEntryProposal():
            return await cancel_entry(ex, pid, prices, now)
        case _:
            assert_never(proposal)


async def close_position(
    ex: GuardExecutor,
    pid: PositionId,
    quantity: Decimal | None,
    reason: ExitReason,
    prices: Mapping[Symbol, Decimal],
    *,
    now: datetime,
) -> Done:
    """Exit ``quantity`` (``None`` = all) through the guard's exit path."""
    record = ex.book.records.get(pid)
    if record is None:
        return Done(pid, f"{pid} is no longer open")
    ex.book.put_record(request_exit(record, reason, quantity, now))
    ex.book.journal(
        "exit.requested",
        now,
        {"position_id": pid, "reason": reason.value, "quantity": None if quantity is None else str(quantity)},
    )
    await ex.guard_position(pid, prices, now)
    await ex.save(now)
    left = ex.book.records.get(pid)
    return Done(pid, f"{pid} closed" if left is None else f"{pid}: exit in progress, {left.remaining} open")


async def tighten_stop(
    ex: GuardExecutor, pid: PositionId, stop: Decimal, prices: Mapping[Symbol, Decimal], now: datetime
) -> Done:
    record = ex.book.records.get(pid)
    if record is None:
        return Done(pid, f"{pid} is no longer open")
    level = tighter(record.side, stop, record.position.stop_price)
    moved = record.model_copy(update={"position": record.position.model_copy(update={"stop_price": level})})
    ex.book.put_record(moved)
    ex.book.journal(
        "stop.adjusted", now, {"position_id": pid, "from": str(record.position.stop_price), "to": str(level)}
    )
    await ex.guard_position(pid, prices, now)
    await ex.save(now)
    return Done(pid, f"stop of {pid} at {level}")


async def set_take_profit(
    ex: GuardExecutor, pid: PositionId, price: Decimal, prices: Mapping[Symbol, Decimal], now: datetime
) -> Done:
    record = ex.book.records.get(pid)
    if record is None:
        return Done(pid, f"{pid} is no longer open")
    changed = record.model_copy(update={"position": record.position.model_copy(update={"take_profit_price": price})})
    ex.book.put_record(changed)
    ex.book.put_board(ex.book.board.model_copy(update={"trading": trading_on_agent_order(ex.book.board.trading)}))
    ex.book.journal("take_profit.adjusted", now, {"position_id": pid, "to": str(price)})
    await ex.guard_position(pid, prices, now)
    await ex.save(now)
    return Done(pid, f"take-profit of {pid} at {price}")


async def cancel_entry(ex: GuardExecutor, pid: PositionId, prices: Mapping[Symbol, Decimal], now: datetime) -> Done:
    entry = ex.book.entries.get(pid)
    if entry is None:
        return Done(pid, f"no pending entry {pid}")
    ex.book.put_entry(entry.model_copy(update={"cancel_requested": True}))
    await settle_entry(ex, pid, prices, now)
    state = "cancelled" if pid not in ex.book.entries and pid not in ex.book.records else "partly filled, now open"
    return Done(pid, f"entry {pid} {state}" if pid not in ex.book.entries else f"entry {pid}: cancel pending")


async def flatten(ex: GuardExecutor, reason: str, prices: Mapping[Symbol, Decimal], now: datetime) -> list[Done]:
    """Operator flatten: cancel every pending entry and close every position through the guard."""
    done = [await cancel_entry(ex, pid, prices, now) for pid in sorted(ex.book.entries)]
    ex.book.journal("safety.flatten", now, {"reason": reason, "positions": sorted(ex.book.records)})
    for pid in sorted(ex.book.records):
        done.append(await close_position(ex, pid, None, ExitReason.OPERATOR, prices, now=now))
    return done
