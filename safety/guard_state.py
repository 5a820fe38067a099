"""What the guard remembers about a position between ticks, and what it observes each round.

A ``GuardRecord`` is persisted after every change (one store document per position). It keeps
the core ``Position`` (whose ``quantity`` is the quantity still open) plus the bookkeeping that
makes finalization exact: which orders belong to the position, which of their fills are booked,
and which exit is in progress.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict

from core.ids import ClientOrderId, PositionId, Symbol
from core.types import ExitReason, Order, OrderStatus, Position, PositionSide, Signal
from safety.order_ids import OrderRole

_VALUE = ConfigDict(frozen=True, extra="forbid")
ZERO = Decimal(0)


class Leg(BaseModel):
    """A booked fill of one of the position's orders (an exit, or a double-fill correction)."""

    model_config = _VALUE

    order_id: ClientOrderId
    role: OrderRole
    reason: ExitReason
    quantity: Decimal
    price: Decimal
    fee: Decimal
    at: AwareDatetime


class ExitOrder(BaseModel):
    """A market exit we sent, and why."""

    model_config = _VALUE

    order_id: ClientOrderId
    reason: ExitReason


class ExitRequest(BaseModel):
    """An exit in progress: reduce the open quantity to ``target_remaining`` (0 = close all)."""

    model_config = _VALUE

    reason: ExitReason
    target_remaining: Decimal
    requested_at: AwareDatetime


class ManagedStage(StrEnum):
    """Where a managed holding stands, as far as the guard and the veto care (``holdings/`` has the full lifecycle)."""

    ACTIVE = "active"
    """Guarded under the approved terms."""
    PAUSED = "paused"
    """Still guarded (its stop and take-profit stay), but no new trades in its market."""
    RELEASE = "release"
    """The operator takes it back: its orders are cancelled and the guard lets go of it (nothing is sold)."""


class ManagedTag(BaseModel):
    """Marks a position as a managed holding: the operator's coins, guarded under terms the operator approved."""

    model_config = _VALUE

    asset: str
    terms: str
    """A stamp of the terms applied (it changes when the operator overrides them)."""
    stage: ManagedStage = ManagedStage.ACTIVE


class GuardRecord(BaseModel):
    model_config = _VALUE

    position: Position
    original_quantity: Decimal
    legs: tuple[Leg, ...] = ()
    corrections: tuple[Leg, ...] = ()
    retired: tuple[ClientOrderId, ...] = ()
    """Replaced stops and take-profits still to be confirmed cancelled (or booked if they filled)."""
    exits: tuple[ExitOrder, ...] = ()
    correction_orders: tuple[ClientOrderId, ...] = ()
    exit_request: ExitRequest | None = None
    seq: int = 0
    """Last order sequence number used for this position (every order gets a fresh id)."""
    stop_failures: int = 0
    breach_seen_at: AwareDatetime | None = None
    best_price: Decimal | None = None
    trailed: bool = False
    protected_at: AwareDatetime | None = None
    """When a live stop was first seen on the exchange."""
    managed: ManagedTag | None = None
    """Set for a managed holding (opened without an entry order, see ``safety.managed``)."""

    @property
    def id(self) -> PositionId:
        return self.position.id

    @property
    def symbol(self) -> Symbol:
        return self.position.symbol

    @property
    def side(self) -> PositionSide:
        return self.position.side

    @property
    def booked_quantity(self) -> Decimal:
        return sum((leg.quantity for leg in self.legs), ZERO)

    @property
    def remaining(self) -> Decimal:
        """Open quantity by our books; negative after a double fill (an overshoot to correct)."""
        return self.original_quantity - self.booked_quantity

    @property
    def corrected_quantity(self) -> Decimal:
        return sum((leg.quantity for leg in self.corrections), ZERO)

    def booked(self, cid: ClientOrderId) -> bool:
        return any(leg.order_id == cid for leg in self.legs) or any(c.order_id == cid for c in self.corrections)

    def referenced(self) -> tuple[ClientOrderId, ...]:
        """Every order of this position whose state still matters (observed each round)."""
        ids: list[ClientOrderId] = []
        for cid in (self.position.stop_order_id, self.position.take_profit_order_id):
            if cid is not None:
                ids.append(cid)
        ids.extend(self.retired)
        ids.extend(e.order_id for e in self.exits)
        ids.extend(self.correction_orders)
        return tuple(dict.fromkeys(c for c in ids if not self.booked(c)))

    def exit_reason_of(self, cid: ClientOrderId) -> ExitReason | None:
        return next((e.reason for e in self.exits if e.order_id == cid), None)

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GuardRecord:
        return cls.model_validate(data)


class PendingEntry(BaseModel):
    """An entry order sent (or about to be sent) whose fill opens a position."""

    model_config = _VALUE

    position_id: PositionId
    order_id: ClientOrderId
    symbol: Symbol
    side: PositionSide
    quantity: Decimal
    reference_price: Decimal
    stop_price: Decimal
    take_profit_price: Decimal | None = None
    trailing_activation_pct: float | None = None
    trailing_distance_pct: float | None = None
    leverage: Decimal = Decimal(1)
    signals: tuple[Signal, ...] = ()
    regime: str | None = None
    submitted_at: AwareDatetime
    cancel_requested: bool = False

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PendingEntry:
        return cls.model_validate(data)


def request_exit(record: GuardRecord, reason: ExitReason, quantity: Decimal | None, now: datetime) -> GuardRecord:
    """Ask the guard to exit ``quantity`` (``None`` = all) at market; the first request wins."""
    if record.exit_request is not None and record.exit_request.target_remaining <= 0:
        return record
    target = ZERO if quantity is None else max(ZERO, record.remaining - quantity)
    return record.model_copy(
        update={"exit_request": ExitRequest(reason=reason, target_remaining=target, requested_at=now)}
    )


LIVE = frozenset({OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED})


@dataclass(frozen=True, slots=True)
class Observed:
    """One consistent look at the exchange for one position, taken positions-first then orders.

    Fetching the position before the orders means a fill that lands in between shows up as a
    filled order (booked) rather than as a vanished position (wrongly "closed externally").
    """

    orders: Mapping[ClientOrderId, Order]
    """The exchange's state of every order in ``GuardRecord.referenced()`` that it knows."""
    unknown: frozenset[ClientOrderId]
    """Referenced ids the exchange says it has never seen (placement never arrived)."""
    exchange_quantity: Decimal | None
    """The exchange position on our side attributable to this position; ``None`` when several of our
    positions share the symbol and side (then it cannot be attributed)."""
    opposite_quantity: Decimal
    """The exchange position on the opposite side (a double fill shows up here)."""
    price: Decimal

    def is_live(self, cid: ClientOrderId | None) -> bool:
        return self.live_order(cid) is not None

    def live_order(self, cid: ClientOrderId | None) -> Order | None:
        if cid is None:
            return None
        order = self.orders.get(cid)
        return order if order is not None and order.status in LIVE else None

    def is_dead(self, cid: ClientOrderId) -> bool:
        """Known to be gone without (further) fills to wait for: terminal, or never arrived."""
        return cid in self.unknown or (cid in self.orders and self.orders[cid].status.is_terminal)
