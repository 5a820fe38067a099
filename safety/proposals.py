"""Proposals: every side-effecting tool call, as a typed value the veto can judge.

The tools layer builds one of these from the model's arguments (field descriptions are what
the model reads) and passes it to :func:`safety.veto.veto`. A malformed proposal fails here, as
a validation error the model can correct; a well-formed one that breaks a limit is vetoed with
a stable code.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from core.ids import PositionId, Symbol
from core.types import PositionSide, Signal

_PROPOSAL = ConfigDict(frozen=True, extra="forbid")


class EntryOrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"


class EntryProposal(BaseModel):
    """Open a new position. A protective stop-loss is part of the proposal: no stop, no entry."""

    model_config = _PROPOSAL

    kind: Literal["entry"] = "entry"
    symbol: Symbol = Field(description="Market symbol, e.g. BTC/USDT or BTC/USDT:USDT.")
    side: PositionSide = Field(description="long or short.")
    size_pct: float = Field(gt=0, le=1000, description="Position notional as % of account equity.")
    order_type: EntryOrderType = Field(default=EntryOrderType.MARKET, description="market or limit.")
    limit_price: Decimal | None = Field(default=None, gt=0, description="Limit price (limit orders only).")
    stop_loss: Decimal = Field(gt=0, description="Protective stop price (required).")
    take_profit: Decimal | None = Field(default=None, gt=0, description="Take-profit price (optional).")
    trailing_activation_pct: float | None = Field(
        default=None, gt=0, description="Profit % from entry at which the trailing stop starts."
    )
    trailing_distance_pct: float | None = Field(
        default=None, gt=0, description="Distance of the trailing stop behind the best price, in %."
    )
    leverage: float = Field(default=1.0, ge=1, description="Leverage (futures only; 1 on spot).")
    signals: tuple[Signal, ...] = Field(min_length=1, description="The signals this trade relies on.")
    regime: str | None = Field(default=None, description="Market regime label at decision time.")
    idempotency_key: str = Field(
        min_length=1, max_length=128, description="Unique per tool call; the position id derives from it."
    )

    @model_validator(mode="after")
    def _consistent(self) -> EntryProposal:
        if self.order_type is EntryOrderType.LIMIT and self.limit_price is None:
            raise ValueError("a limit entry needs limit_price")
        if self.order_type is EntryOrderType.MARKET and self.limit_price is not None:
            raise ValueError("a market entry takes no limit_price")
        if (self.trailing_activation_pct is None) != (self.trailing_distance_pct is None):
            raise ValueError("trailing_activation_pct and trailing_distance_pct go together")
        return self


class CloseProposal(BaseModel):
    """Close all or part of an open position at market. Exits are never blocked by breakers."""

    model_config = _PROPOSAL

    kind: Literal["close"] = "close"
    symbol: Symbol
    position_id: PositionId | None = Field(default=None, description="Which position; default: the symbol's.")
    fraction: float = Field(default=1.0, gt=0, le=1, description="Share of the open quantity to close.")


class AdjustStopProposal(BaseModel):
    """Move a position's protective stop. Stops only tighten."""

    model_config = _PROPOSAL

    kind: Literal["adjust_stop"] = "adjust_stop"
    symbol: Symbol
    position_id: PositionId | None = None
    new_stop: Decimal = Field(gt=0, description="The new stop price; must be tighter than the current one.")


class AdjustTakeProfitProposal(BaseModel):
    """Set or move a position's take-profit level."""

    model_config = _PROPOSAL

    kind: Literal["adjust_take_profit"] = "adjust_take_profit"
    symbol: Symbol
    position_id: PositionId | None = None
    new_take_profit: Decimal = Field(gt=0, description="The new take-profit price, beyond the current price.")


class CancelEntryProposal(BaseModel):
    """Cancel a pending (unfilled) limit entry."""

    model_config = _PROPOSAL

    kind: Literal["cancel_entry"] = "cancel_entry"
    symbol: Symbol
    position_id: PositionId | None = None


Proposal = Annotated[
    EntryProposal | CloseProposal | AdjustStopProposal | AdjustTakeProfitProposal | CancelEntryProposal,
    Field(discriminator="kind"),
]
"""Every side-effecting request the agent can make."""
