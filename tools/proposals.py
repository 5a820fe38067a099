"""Side-effecting tool calls as proposals the safety veto judges.

Interim home: once ``safety/`` lands its proposal types replace these (one definition each).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from core.ids import Symbol
from core.types import OrderType, PositionSide, Signal, Veto

_VALUE = ConfigDict(frozen=True, extra="forbid")


class EntryProposal(BaseModel):
    """Open a position: the stop-loss is part of the entry, never an afterthought."""

    model_config = _VALUE

    kind: Literal["entry"] = "entry"
    symbol: Symbol
    side: PositionSide
    size_pct: float = Field(gt=0, le=100)
    """Notional as % of account equity."""
    order_type: OrderType
    limit_price: Decimal | None = None
    stop_loss_price: Decimal = Field(gt=0)
    take_profit_price: Decimal | None = None
    trailing_activation_pct: float | None = None
    trailing_distance_pct: float | None = None
    signals: tuple[Signal, ...] = Field(min_length=1)
    confidence: float = Field(ge=0, le=1)
    thesis: str


class CloseProposal(BaseModel):
    model_config = _VALUE

    kind: Literal["close"] = "close"
    symbol: Symbol
    fraction: float = Field(gt=0, le=1)
    reason: str


class StopAdjustProposal(BaseModel):
    model_config = _VALUE

    kind: Literal["adjust_stop"] = "adjust_stop"
    symbol: Symbol
    stop_price: Decimal = Field(gt=0)
    reason: str


Proposal = EntryProposal | CloseProposal | StopAdjustProposal


class Approved(BaseModel):
    """The veto let the proposal through, possibly changed (e.g. size capped); ``notes`` say how."""

    model_config = _VALUE

    proposal: Proposal
    notes: tuple[str, ...] = ()


Verdict = Approved | Veto
