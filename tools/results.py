"""Tool result models: what the model reads back after each call (serialized as canonical JSON)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict

from core.conditions import WakeCondition
from safety.verdicts import Approved

_RESULT = ConfigDict(frozen=True, extra="forbid")


class ExecutionReport(BaseModel):
    """What the desk did with an approved proposal (filled in by the engine or the static desk)."""

    model_config = _RESULT

    status: str
    """``filled``, ``open`` (resting limit), ``closed``, ``stop_moved`` ..."""
    symbol: str
    client_order_id: str | None = None
    quantity: Decimal | None = None
    price: Decimal | None = None
    detail: str = ""


class SnapshotResult(BaseModel):
    model_config = _RESULT

    snapshot: dict[str, Any]


class RegimeResult(BaseModel):
    model_config = _RESULT

    regime: dict[str, Any]


class PortfolioResult(BaseModel):
    model_config = _RESULT

    portfolio: dict[str, Any]


class LearnerWeightsResult(BaseModel):
    model_config = _RESULT

    weights: dict[str, Any]


class ActionResult(BaseModel):
    """Result of ``place_order``, ``close_position`` and ``adjust_stop``: what safety approved and what happened."""

    model_config = _RESULT

    execution: ExecutionReport
    approved: dict[str, Any]
    """Safety's ``Approved`` as JSON (:func:`approved_json`): the proposal as approved (size possibly
    capped), the position id, quantity, reference, stop and take-profit prices."""
    safety_notes: tuple[str, ...] = ()


class MemoryResult(BaseModel):
    model_config = _RESULT

    saved_chars: int
    max_chars: int
    redacted: bool
    """True when something that looked like a secret was removed from the note."""


class ScheduleResult(BaseModel):
    model_config = _RESULT

    next_check_seconds: int
    wake_conditions: tuple[WakeCondition, ...]
    final: bool
    note: str = ""


class ToolError(BaseModel):
    """An ``is_error`` result: bad arguments, a veto, or an order the exchange refused."""

    model_config = _RESULT

    error: str
    code: str
    message: str


def approved_json(approved: Approved) -> dict[str, Any]:
    """Safety's ``Approved`` (a dataclass) as JSON: the proposal in pydantic's JSON mode, decimals as
    strings, absent values as null (the tool result and the journal carry this)."""
    return {
        "proposal": approved.proposal.model_dump(mode="json"),
        "message": approved.message,
        "position_id": approved.position_id,
        "quantity": _decimal(approved.quantity),
        "reference_price": _decimal(approved.reference_price),
        "stop_price": _decimal(approved.stop_price),
        "take_profit_price": _decimal(approved.take_profit_price),
        "capped_from": approved.capped_from,
    }


def safety_notes(approved: Approved) -> tuple[str, ...]:
    """What safety changed in the proposal, for the model (its full message is in ``approved``)."""
    if approved.capped_from is None:
        return ()
    size = getattr(approved.proposal, "size_pct", None)
    return (f"size capped from {approved.capped_from:g}% to {size:g}% of equity",)


def _decimal(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")
