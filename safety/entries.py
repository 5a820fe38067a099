"""Entries: send an approved entry (write-ahead: the pending entry is saved before the order is
sent), and turn a filled entry into a guarded position whose stop is placed in the same call.

A partially filled entry is not left half-open and unprotected: the rest is cancelled (and the
cancel verified), then the position opens with the quantity that filled.

With several runners on one account the entry holds a reservation in the account-wide book
(``safety.shared_book``) from before it is sent: whatever ends the entry settles it here, also much
later (a limit entry that rested): the filled notional when a position opens, released when nothing
(or only dust) filled, the order was refused, failed, or never arrived.

:class:`Entries` sits above the position guard (an entry that fills is handed to it at once); the
guard never calls back into entries (the full pass, ``safety.sweep``, drives both).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from core.errors import OrderRejected, OutcomeUnknownError, RejectCode
from core.ids import PositionId, Symbol
from core.money import MarketRules, to_decimal
from core.types import Order, OrderIntent, OrderType, Position
from safety.alerts import AlertKind
from safety.book import SafetyBook
from safety.executor import PositionGuard
from safety.gateway import BROKER_ERRORS, ExchangeGateway, StopPosition
from safety.guard_state import LIVE, GuardRecord, PendingEntry
from safety.keeper import StateKeeper
from safety.order_ids import OrderRole, order_id
from safety.proposals import EntryOrderType, EntryProposal
from safety.rules import tradable
from safety.shared_book import SharedPortfolio
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
    code: RejectCode | None = None


@dataclass
class Entries:
    book: SafetyBook
    gateway: ExchangeGateway
    keeper: StateKeeper
    guard: PositionGuard
    rules: Mapping[Symbol, MarketRules]
    prefix: str
    shared: SharedPortfolio | None = None
    """Several runners: the account-wide book holding each entry's reservation (settled when the entry ends)."""

    async def submit(self, approved: Approved, prices: Mapping[Symbol, Decimal], now: datetime) -> EntryResult:
        """Send an approved entry and, when it fills at once, open and protect the position."""
        proposal = approved.proposal
        if not isinstance(proposal, EntryProposal) or approved.position_id is None or approved.quantity is None:
            raise TypeError("Entries.submit takes an approved entry")
        pid = approved.position_id
        if pid in self.book.records or pid in self.book.entries:
            return EntryResult("duplicate", pid, f"entry {pid} was already submitted (same idempotency key)")
        entry = self._pending(proposal, approved, pid, now)
        self.book.put_entry(entry)
        self.book.count_agent_order()
        self.book.journal("entry.submitted", now, entry.to_dict())
        if not await self.keeper.save(now):
            self.book.drop_entry(pid)
            self._release(pid)
            return EntryResult("not_sent", pid, "state could not be saved, so the entry was not sent")
        outcome = await self._send(entry, proposal, now)
        if outcome is not None:
            return outcome
        await self.settle(pid, prices, now)
        if pid in self.book.records:
            return EntryResult("filled", pid, f"position {pid} open: {self.book.records[pid].remaining} {entry.symbol}")
        return EntryResult("working", pid, f"entry order {entry.order_id} is working")

    def _pending(self, p: EntryProposal, approved: Approved, pid: PositionId, now: datetime) -> PendingEntry:
        assert approved.quantity is not None
        assert approved.reference_price is not None
        assert approved.stop_price is not None
        return PendingEntry(
            position_id=pid,
            order_id=order_id(self.gateway.client_prefix(self.prefix, p.symbol), pid, OrderRole.ENTRY, 0),
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

    async def _send(self, entry: PendingEntry, p: EntryProposal, now: datetime) -> EntryResult | None:
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
            await self.gateway.create_order(intent, now)
        except OutcomeUnknownError as exc:
            self.book.journal("entry.unknown", now, {"position_id": pid, "error": str(exc)})
            await self.keeper.save(now)
            return EntryResult("unknown", pid, "the exchange did not answer; the entry is resolved on the next tick")
        except OrderRejected as exc:
            return await self._dropped(pid, now, "entry.rejected", f"{exc.code}: {exc.message}", code=exc.code)
        except BROKER_ERRORS as exc:
            return await self._dropped(pid, now, "entry.failed", str(exc), code=None)
        return None

    async def _dropped(
        self, pid: PositionId, now: datetime, kind: str, why: str, *, code: RejectCode | None
    ) -> EntryResult:
        self.book.drop_entry(pid)
        self._release(pid)
        self.book.journal(kind, now, {"position_id": pid, "error": why})
        await self.keeper.save(now)
        return EntryResult("rejected" if code else "failed", pid, why, code)

    async def settle_all(self, prices: Mapping[Symbol, Decimal], now: datetime) -> None:
        for pid in sorted(self.book.entries):
            await self.settle(pid, prices, now)

    async def settle(self, pid: PositionId, prices: Mapping[Symbol, Decimal], now: datetime) -> None:
        """Resolve one pending entry: open (and protect) the filled quantity, or drop it."""
        entry = self.book.entries.get(pid)
        if entry is None:
            return
        try:
            order = await self.gateway.fetch_order(entry.order_id, entry.symbol, now)
            if order is not None and order.status in LIVE and (order.filled_quantity > 0 or entry.cancel_requested):
                rest = await self.gateway.cancel(entry.order_id, entry.symbol, "entry: keep only what filled", now)
                order = rest or order
        except StopPosition:
            return
        if order is None:
            if now - entry.submitted_at >= ENTRY_LOST_AFTER:
                self.book.drop_entry(pid)
                self._release(pid)
                self.book.journal("entry.lost", now, {"position_id": pid, "order_id": entry.order_id})
            return
        if order.status.is_terminal:
            await self._ended(entry, order, prices, now)
        await self.keeper.save(now)

    async def _ended(self, entry: PendingEntry, order: Order, prices: Mapping[Symbol, Decimal], now: datetime) -> None:
        """A finished entry order: a position for what filled, dust too small to protect, or nothing."""
        pid = entry.position_id
        price = order.average_price or entry.reference_price
        held = self.rules[entry.symbol].quantity(order.net_quantity)
        if order.filled_quantity > 0 and not tradable(held, price, self.rules[entry.symbol]):
            self.book.drop_entry(pid)
            self._release(pid)
            self.book.journal("entry.dust", now, {"position_id": pid, "filled": str(order.filled_quantity)})
            await self.keeper.alert(
                AlertKind.RECONCILIATION_MISMATCH,
                f"entry {pid} filled only {order.filled_quantity} "
                f"{entry.symbol}, too little to protect or sell: left as dust",
                now,
                key=pid,
            )
        elif order.filled_quantity > 0:
            position = self._open(entry, order, now)
            if self.shared is not None:  # a partial fill holds only what filled
                self.shared.filled(str(pid), position.quantity * position.entry_price)
            await self.keeper.save(now)
            await self.guard.guard_position(pid, prices, now)
        else:
            self.book.drop_entry(pid)
            self._release(pid)
            self.book.journal("entry.ended", now, {"position_id": pid, "status": order.status.value})

    def _release(self, pid: PositionId) -> None:
        """Give the entry's account-wide reservation back (a repeat is harmless: the script forgets the id)."""
        if self.shared is not None:
            self.shared.release(str(pid))

    def _open(self, entry: PendingEntry, order: Order, now: datetime) -> Position:
        """The position is what the account holds: a spot buy whose fee was taken in the base asset delivered
        ``net_quantity`` (Binance refuses a stop or exit for more, -2010), rounded down to the step; the fee
        is booked in the quote asset."""
        price = order.average_price or entry.reference_price
        rules = self.rules[entry.symbol]
        quantity = rules.quantity(order.net_quantity)
        fee = rules.fee_in_quote(
            order.fee, order.fee_asset, base_fee=order.base_fee, quantity=order.filled_quantity, price=price
        )
        position = Position(
            id=entry.position_id,
            symbol=entry.symbol,
            side=entry.side,
            quantity=quantity,
            entry_price=price,
            opened_at=order.updated_at,
            stop_price=entry.stop_price,
            initial_stop_price=entry.stop_price,
            take_profit_price=entry.take_profit_price,
            leverage=entry.leverage,
            entry_fee=fee,
            signals=entry.signals,
            regime=entry.regime,
            trailing_activation_pct=entry.trailing_activation_pct,
            trailing_distance_pct=entry.trailing_distance_pct,
        )
        record = GuardRecord(position=position, original_quantity=quantity)
        self.book.drop_entry(entry.position_id)
        self.book.put_record(record)
        opened: dict[str, object] = {"position_id": entry.position_id, "position": position.model_dump(mode="json")}
        if quantity != order.filled_quantity:
            opened.update(filled=str(order.filled_quantity), fee_in_base=str(order.base_fee))
        self.book.journal("position.opened", now, opened)
        return position
