"""Deterministic, parseable ids for positions and the orders the safety layer sends.

A client order id is ``<prefix>-<position id>-<role><seq>``, e.g. ``tw-p3f9a1c07e2-s4``: the run
prefix tells our orders from anybody else's (with several runners on one account it carries the
symbol's fencing token, ``tw.17-p3f9a1c07e2-s4``, so the exchange's ledger shows which lease sent
each order), the position id lets reconciliation re-attach an order that was placed but not yet
saved when the process died, and the sequence number makes every replacement a new id (the broker
is idempotent per id, so a retry never duplicates).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum

from core.ids import ClientOrderId, PositionId, client_order_id, has_prefix


class OrderRole(StrEnum):
    ENTRY = "e"
    STOP = "s"
    TAKE_PROFIT = "t"
    EXIT = "x"
    CORRECTION = "c"


def position_id_for(idempotency_key: str) -> PositionId:
    """The position id of an entry, derived from its tool call's idempotency key (same key, same id)."""
    return PositionId("p" + hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:10])


def order_id(prefix: str, position_id: PositionId, role: OrderRole, seq: int) -> ClientOrderId:
    return client_order_id(prefix, position_id, f"{role.value}{seq}")


@dataclass(frozen=True, slots=True)
class ParsedOrderId:
    position_id: PositionId
    role: OrderRole
    seq: int


def parse_order_id(cid: str, prefix: str) -> ParsedOrderId | None:
    """Split one of our client order ids; ``None`` for anything else (not ours, or malformed)."""
    if not has_prefix(cid, prefix):
        return None
    parts = cid.partition("-")[2].split("-")
    if len(parts) != 2 or len(parts[1]) < 2 or not parts[1][1:].isdigit():
        return None
    try:
        role = OrderRole(parts[1][0])
    except ValueError:
        return None
    return ParsedOrderId(PositionId(parts[0]), role, int(parts[1][1:]))


def role_of(cid: ClientOrderId) -> OrderRole:
    """The role encoded in one of our ids (``...-s3`` is a stop). Only for ids made by :func:`order_id`."""
    return OrderRole(cid.rsplit("-", 1)[1][0])
