"""Tool result models: what the model reads back after each call, typed all the way down.

Every tool's handler returns one of these; the registry turns it into JSON (money as plain decimal
strings) and into the "Returns" line of the tool's description, from the field descriptions below,
so what a tool promises and what it returns cannot drift apart.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from core.conditions import WakeCondition
from core.ids import PositionId
from core.portfolio import Money, PortfolioView
from learning.weights import LearnerWeights
from market.regime import RegimeReading
from market.snapshot import MarketSnapshot
from safety.proposals import Proposal
from safety.verdicts import Approved

_RESULT = ConfigDict(frozen=True, extra="forbid")


class ExecutionReport(BaseModel):
    """What safety did with an approved proposal."""

    model_config = _RESULT

    status: str = Field(
        description="filled (position open and protected), working (a limit entry rests), unknown (the exchange "
        "did not answer; resolved on the next check), failed, not_sent, duplicate, or done (exit, stop or "
        "take-profit change carried out)."
    )
    symbol: str = Field(description="Market symbol.")
    client_order_id: str | None = Field(default=None, description="The exchange order's client id, when one was sent.")
    quantity: Money | None = Field(default=None, description="Quantity in the base asset.")
    price: Money | None = Field(default=None, description="Reference, stop or take-profit price of the request.")
    detail: str = Field(default="", description="What happened, in one line.")


class ApprovedView(BaseModel):
    """Safety's approval of a side-effecting call: the proposal as approved (size possibly capped)."""

    model_config = _RESULT

    proposal: Proposal = Field(description="The request as safety approved it.")
    message: str = Field(description="Safety's note on the approval.")
    position_id: PositionId | None = Field(description="The position opened or addressed.")
    quantity: Money | None = Field(description="The order quantity, quantized to the market's step.")
    reference_price: Money | None = Field(description="The price the size was computed at.")
    stop_price: Money | None = Field(description="The quantized protective stop.")
    take_profit_price: Money | None = Field(description="The quantized take-profit, if any.")
    capped_from: float | None = Field(description="The size % asked for, when safety capped it.")

    @classmethod
    def of(cls, approved: Approved) -> ApprovedView:
        return cls(
            proposal=approved.proposal,
            message=approved.message,
            position_id=approved.position_id,
            quantity=approved.quantity,
            reference_price=approved.reference_price,
            stop_price=approved.stop_price,
            take_profit_price=approved.take_profit_price,
            capped_from=approved.capped_from,
        )


class SnapshotResult(BaseModel):
    model_config = _RESULT

    snapshot: MarketSnapshot | None = Field(
        description="Per timeframe: the last closed bar, return, indicators, z-scores, the price path and swings; "
        "the last price, regime, derivatives and every signal's value, as of the decision time. Null for this "
        "decision's own symbol: that snapshot is already in your first message."
    )
    note: str | None = Field(default=None, description="Why there is no snapshot, when there is none.")


class RegimeResult(BaseModel):
    model_config = _RESULT

    regime: RegimeReading | None = Field(
        description="The regime label, the filtered probability of each state and when the model was fitted; "
        "null before a model could be fitted."
    )
    note: str | None = Field(default=None, description="Why there is no reading, when there is none.")


class PortfolioResult(BaseModel):
    model_config = _RESULT

    portfolio: PortfolioView = Field(description="Your account now; money as decimal strings.")


class LearnerWeightsResult(BaseModel):
    model_config = _RESULT

    weights: LearnerWeights = Field(
        description="Per signal: the Beta posterior (alpha, beta), its mean and credible interval, trades seen and a "
        "Thompson sample; the scope used (global or the regime) and whether there was enough data."
    )


class ActionResult(BaseModel):
    """Result of ``place_order``, ``close_position`` and ``adjust_stop``: what safety approved and what happened."""

    model_config = _RESULT

    execution: ExecutionReport = Field(description="What safety did: status, symbol, quantity, price, detail.")
    approved: ApprovedView = Field(
        description="What safety approved: the proposal (size possibly capped), position id, quantity, reference, "
        "stop and take-profit prices."
    )
    safety_notes: tuple[str, ...] = Field(default=(), description="What safety changed in your request (e.g. a cap).")


class MemoryResult(BaseModel):
    model_config = _RESULT

    saved_chars: int = Field(description="Characters saved.")
    max_chars: int = Field(description="The size cap of the note.")
    redacted: bool = Field(description="True when something that looked like a secret was removed from the note.")


class ScheduleResult(BaseModel):
    model_config = _RESULT

    next_check_seconds: int = Field(description="Seconds until the next check, as the gate will apply it.")
    requested_seconds: int = Field(description="The seconds you asked for.")
    clamped: bool = Field(description="True when the gate moved your value into its allowed range.")
    wake_conditions: tuple[WakeCondition, ...] = Field(description="The conditions armed, as the gate read them.")
    final: bool = Field(description="True when this call ended the decision.")
    note: str = Field(default="", description="What to do next, if anything.")


class ToolError(BaseModel):
    """An ``is_error`` result: bad arguments, a veto, or an order the exchange refused."""

    model_config = _RESULT

    error: str
    code: str
    message: str


def safety_notes(approved: Approved) -> tuple[str, ...]:
    """What safety changed in the proposal, for the model (its full message is in ``approved``)."""
    if approved.capped_from is None:
        return ()
    size = getattr(approved.proposal, "size_pct", None)
    return (f"size capped from {approved.capped_from:g}% to {size:g}% of equity",)
