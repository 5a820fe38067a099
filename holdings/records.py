"""What the holdings service stores, and under which keys.

- ``holdings/asset/<ASSET>``: the :class:`HoldingRecord` (state, current proposal, managed terms),
  written with compare-and-set on its version: two processes deciding about one asset cannot both win.
- ``holdings/proposal/<ID>``: a :class:`~holdings.proposal.Proposal`, written once (``expected_version=0``)
  and never again: proposals are immutable.
- ``holdings/decision/<ID>``: how a proposal ended (approved, rejected, expired, aborted), written once:
  a proposal is decided exactly once, whoever tries, however often.
- ``holdings/command/<KEY>``: the outcome of an operator command, written once in the same transaction as
  its effect, so re-applying a command (a crash before the queue was told, a second runner) returns the
  recorded outcome instead of acting twice.

An asset without a record is ``frozen``: the default for every coin, airdrops included.
"""

from __future__ import annotations

import re
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from core.canonical import canonical_json, sha256_hex
from core.ids import PositionId, Symbol
from core.ports import CommandStatus
from holdings.entry_source import EntrySource
from holdings.lifecycle import Actor, HoldingState
from holdings.proposal import Proposal, VariantName

ASSET_PREFIX = "holdings/asset/"
PROPOSAL_PREFIX = "holdings/proposal/"
DECISION_PREFIX = "holdings/decision/"
COMMAND_PREFIX = "holdings/command/"

ASSET_RE = re.compile(r"^[A-Z0-9]{1,20}$")
PROPOSAL_ID_RE = re.compile(r"^([A-Z0-9]{1,20})-([1-9][0-9]{0,8})$")

_STATE = ConfigDict(frozen=True, extra="forbid")


def check_asset(asset: str) -> str:
    if not ASSET_RE.fullmatch(asset):
        raise ValueError(f"asset {asset!r} must be 1-20 capital letters or digits, like BTC")
    return asset


def asset_key(asset: str) -> str:
    return ASSET_PREFIX + check_asset(asset)


def proposal_key(proposal_id: str) -> str:
    return PROPOSAL_PREFIX + proposal_id


def decision_key(proposal_id: str) -> str:
    return DECISION_PREFIX + proposal_id


def command_key(idempotency_key: str) -> str:
    return COMMAND_PREFIX + idempotency_key


def managed_position_id(proposal_id: str) -> PositionId:
    """The id of the guarded position a proposal's approval becomes (same proposal, same position: never
    two; a new hand-over after an exit is a new proposal, so a new position)."""
    return PositionId("m" + sha256_hex(f"managed:{proposal_id}")[:10])


def proposal_asset(proposal_id: str) -> str | None:
    """The asset a proposal id names (``BTC-3`` -> ``BTC``), ``None`` when it is not a proposal id."""
    match = PROPOSAL_ID_RE.fullmatch(proposal_id)
    return match.group(1) if match else None


class ProposalRequest(BaseModel):
    """What the operator asked for while the asset waits in ``proposal_pending``."""

    model_config = _STATE

    requested_at: AwareDatetime
    requested_by: str
    command_key: str
    entry_source: EntrySource = EntrySource.CURRENT
    entry_price: Decimal | None = None


class ManagedTerms(BaseModel):
    """The approved plan the bot manages the holding under (the operator may override parts of it)."""

    model_config = _STATE

    proposal_id: str
    variant: VariantName
    symbol: Symbol
    synthetic_entry: Decimal
    entry_source: EntrySource
    stop: Decimal
    take_profit: Decimal
    max_allocation: Decimal
    managed_quantity: Decimal
    wallet_quantity: Decimal
    """The wallet's total when approved: a drift check compares the wallet with it."""
    band_low: Decimal
    band_high: Decimal
    regime: str | None
    approved_at: AwareDatetime
    approved_by: str

    @property
    def position_id(self) -> PositionId:
        """The guarded position these terms are carried out as (see :func:`managed_position_id`)."""
        return managed_position_id(self.proposal_id)

    def guard_stamp(self) -> str:
        """A digest of what the guard applies (quantity, entry, stop, take-profit): it changes when the operator
        overrides them or a resume re-anchors the quantity, and then the guard applies them anew."""
        levels = [str(v) for v in (self.managed_quantity, self.synthetic_entry, self.stop, self.take_profit)]
        return sha256_hex(canonical_json({"proposal_id": self.proposal_id, "levels": levels}))[:16]

    @classmethod
    def from_proposal(cls, proposal: Proposal, variant: str, wallet: Decimal, at: Any, by: str) -> ManagedTerms:
        chosen = proposal.variant(variant)
        if chosen is None:
            raise ValueError(f"proposal {proposal.id} has no variant {variant!r}")
        return cls(
            proposal_id=proposal.id,
            variant=chosen.name,
            symbol=proposal.symbol,
            synthetic_entry=proposal.synthetic_entry,
            entry_source=proposal.entry_source,
            stop=chosen.stop,
            take_profit=chosen.take_profit,
            max_allocation=chosen.max_allocation,
            managed_quantity=chosen.managed_quantity,
            wallet_quantity=wallet,
            band_low=proposal.market.band_low,
            band_high=proposal.market.band_high,
            regime=proposal.market.regime,
            approved_at=at,
            approved_by=by,
        )


class HoldingRecord(BaseModel):
    model_config = _STATE

    asset: str
    state: HoldingState = HoldingState.FROZEN
    proposal_count: int = Field(default=0, ge=0)
    proposal_id: str | None = None
    """The asset's latest proposal (open while the state is ``risk_proposed``)."""
    request: ProposalRequest | None = None
    terms: ManagedTerms | None = None
    cooldown_until: AwareDatetime | None = None
    """No new proposal before this (set by an operator rejection)."""
    reason: str | None = None
    """Why the last transition happened (a pause reason, the drift found, the exit)."""
    updated_at: AwareDatetime | None = None
    updated_by: Actor | None = None

    @classmethod
    def fresh(cls, asset: str) -> HoldingRecord:
        return cls(asset=check_asset(asset))


class DecisionOutcome(StrEnum):
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    ABORTED = "aborted"


class Decision(BaseModel):
    model_config = _STATE

    proposal_id: str
    outcome: DecisionOutcome
    actor: Actor
    at: AwareDatetime
    reason: str | None = None
    variant: VariantName | None = None
    command_key: str | None = None

    def describe(self) -> str:
        why = f" ({self.reason})" if self.reason else ""
        return f"{self.outcome.value} by the {self.actor.value} at {self.at.isoformat()}{why}"


class AppliedCommand(BaseModel):
    """The recorded outcome of one operator command (``holdings/command/<key>``)."""

    model_config = _STATE

    idempotency_key: str
    kind: str
    status: CommandStatus
    result: dict[str, Any]
    at: AwareDatetime
