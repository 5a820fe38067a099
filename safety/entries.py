"""Entries: send an approved entry (write-ahead: the pending entry is saved before the order is
sent), and turn a filled entry into a guarded position whose stop is placed in the same call.

A partially filled entry is not left half-open and unprotected: the rest is cancelled (and the
cancel verified), then the position opens with the quantity that filled.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from core.errors import OrderRejected, OutcomeUnknownError
from core.ids import PositionId, Symbol
from core.money import to_decimal
from core.types import Order, OrderIntent, OrderType, Position
from safety.alerts import AlertKind
from safety.breakers import trading_on_agent_order
from safety.executor import BROKER_ERRORS, GuardExecutor, StopPosition
from safety.guard_state import LIVE, GuardRecord, PendingEntry
from safety.order_ids import OrderRole, order_id
from safety.proposals import EntryOrderType, EntryProposal
from safety.rules import tradable
from safety.verdicts import Approved

ENTRY_LOST_AFTER = timedelta(minutes=2)
"""An entry the exchange still does not know this long after it was sent never arrived."""


@dataclass(frozen=True, slots=True)
class EntryResult:
    """What happened to an entry, for the agent's tool result. ``status``: ``filled`` (position open
    and protected), ``working`` (a limit order rests), ``unknown`` (outcome being resolved),
    ``rejected`` (the exchange refused; ``code`` says why), ``not_sent`` or ``duplicate``."""

    status: str
    position_id: PositionId
    message: str
    code: str | None = None


async def submit_entry(
    ex: GuardExecutor, approved: Approved, prices: Mapping[Symbol, Decimal], now: datetime
) -> EntryResult:
    proposal = approved.proposal
    if not isinstance(proposal, EntryProposal) or approved.position_id is None or approved.quantity is None:
        raise TypeError("submit_entry takes an approved entry")
    pid = approved.position_id
    if pid in ex.book.records or pid in ex.book.entries:
        return EntryResult("duplicate", pid, f"entry {pid} was already submitted (same idempotency key)")
    entry = _pending(ex, proposal, approved, pid, now)
    ex.book.put_entry(entry)
    ex.book.put_board(ex.book.board.model_copy(update={"trading": trading_on_agent_order(ex.book.board.trading)}))
    ex.book.journal("entry.submitted", now, entry.to_dict())
    if not await ex.save(now):
        ex.book.drop_entry(pid)
        return EntryResult("not_sent", pid, "state could not be saved, so the entry was not sent")
    outcome = await _send(ex, entry, proposal, now)
    if outcome is not None:
        return outcome
    await settle_entry(ex, pid, prices, now)
    if pid in ex.book.records:
        return EntryResult("filled", pid, f"position {pid} open: {ex.book.records[pid].remaining} {entry.symbol}")
    return EntryResult("working", pid, f"entry order {entry.order_id} is working")


def _pending(ex: GuardExecutor, p: EntryProposal, approved: Approved, pid: PositionId, now: datetime) -> PendingEntry:
    assert approved.quantity is not None
    assert approved.reference_price is not None
    assert approved.stop_price is not None
    return PendingEntry(
        position_id=pid,
        order_id=order_id(ex.prefix, pid, OrderRole.ENTRY, 0),
        symbol=p.symbol,
        side=p.side,
        quantity=approved.quantity,
        reference_price=approved.reference_price,
        stop_price=approved.stop_price,
        take_profit_price=approved.take_profit_price,
        trailing_activation_pct=p.trailing_activation_pct,
        trailing_distance_pct=p.trailing_distance_pct,
        leverage=to_decimal(p.leverage),
        signals=p.signals,
        regime=p.regime,
        submitted_at=now,
    )


async def _send(ex: GuardExecutor, entry: PendingEntry, p: EntryProposal, now: datetime) -> EntryResult | None:
    """Send the entry order; ``None`` when the exchange took it (settle next), else the outcome."""
    limit = p.order_type is EntryOrderType.LIMIT
    intent = OrderIntent(
        client_order_id=entry.order_id,
        symbol=entry.symbol,
        side=entry.side.entry_side,
        type=OrderType.LIMIT if limit else OrderType.MARKET,
        quantity=entry.quantity,
        price=entry.reference_price if limit else None,
    )
    pid = entry.position_id
    try:
        order = await ex.broker_call(now, ex.broker.create_order(intent))
    except OutcomeUnknownError as exc:
        ex.book.journal("entry.unknown", now, {"position_id": pid, "error": str(exc)})
        await ex.save(now)
        return EntryResult("unknown", pid, "the exchange did not answer; the entry is resolved on the next tick")
    except OrderRejected as exc:
        return await _dropped(ex, pid, now, "entry.rejected", f"{exc.code}: {exc.message}", code=exc.code)
    except BROKER_ERRORS as exc:
        return await _dropped(ex, pid, now, "entry.failed", str(exc), code=None)
    ex.remember(order)
    return None


async def _dropped(
    ex: GuardExecutor, pid: PositionId, now: datetime, kind: str, why: str, *, code: str | None
) -> EntryResult:
    ex.book.drop_entry(pid)
    ex.book.journal(kind, now, {"position_id": pid, "error": why})
    await ex.save(now)
    return EntryResult("rejected" if code else "failed", pid, why, code)


async def settle_entries(ex: GuardExecutor, prices: Mapping[Symbol, Decimal], now: datetime) -> None:
    for pid in sorted(ex.book.entries):
        await settle_entry(ex, pid, prices, now)


async def settle_entry(ex: GuardExecutor, pid: PositionId, prices: Mapping[Symbol, Decimal], now: datetime) -> None:
    """Resolve one pending entry: open (and protect) the filled quantity, or drop it."""
    entry = ex.book.entries.get(pid)
    if entry is None:
        return
    try:
        order = await ex.fetch_order(entry.order_id, entry.symbol, now)
        if order is not None and order.status in LIVE and (order.filled_quantity > 0 or entry.cancel_requested):
            order = await ex.cancel(entry.order_id, entry.symbol, "entry: keep only what filled", now) or order
    except StopPosition:
        return
    if order is None:
        if now - entry.submitted_at >= ENTRY_LOST_AFTER:
            ex.book.drop_entry(pid)
            ex.book.journal("entry.lost", now, {"position_id": pid, "order_id": entry.order_id})
        return
    if order.status.is_terminal:
        price = order.average_price or entry.reference_price
        if order.filled_quantity > 0 and not tradable(order.filled_quantity, price, ex.rules[entry.symbol]):
            ex.book.drop_entry(pid)
            ex.book.journal("entry.dust", now, {"position_id": pid, "filled": str(order.filled_quantity)})
            await ex.alert(
                AlertKind.RECONCILIATION_MISMATCH,
                f"entry {pid} filled only {order.filled_quantity} "
                f"{entry.symbol}, too little to protect or sell: left as dust",
                now,
                key=pid,
            )
        elif order.filled_quantity > 0:
            _open(ex, entry, order, now)
            await ex.save(now)
            await ex.guard_position(pid, prices, now)
        else:
            ex.book.drop_entry(pid)
            ex.book.journal("entry.ended", now, {"position_id": pid, "status": order.status.value})
    await ex.save(now)


def _open(ex: GuardExecutor, entry: PendingEntry, order: Order, now: datetime) -> None:
    price = order.average_price or entry.reference_price
    position = Position(
        id=entry.position_id,
        symbol=entry.symbol,
        side=entry.side,
        quantity=order.filled_quantity,
        entry_price=price,
        opened_at=order.updated_at,
        stop_price=entry.stop_price,
        initial_stop_price=entry.stop_price,
        take_profit_price=entry.take_profit_price,
        leverage=entry.leverage,
        entry_fee=order.fee,
        signals=entry.signals,
        regime=entry.regime,
        trailing_activation_pct=entry.trailing_activation_pct,
        trailing_distance_pct=entry.trailing_distance_pct,
    )
    record = GuardRecord(position=position, original_quantity=order.filled_quantity)
    ex.book.drop_entry(entry.position_id)
    ex.book.put_record(record)
    ex.book.journal(
        "position.opened", now, {"position_id": entry.position_id, "position": position.model_dump(mode="json")}
    )
