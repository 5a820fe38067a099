"""Managed holdings inside the safety layer, as pure decisions.

A managed holding is the operator's coins that the operator handed to the bot under approved terms
(``holdings/``: ``managed_active``). Safety guards it as a position opened **without an entry order**: the
managed quantity at the synthetic entry, with the approved stop and take-profit. From then on the guard
treats it as it treats the bot's own positions (the protective stop is placed at its first pass,
invariant 1; finalization first; exactly one close, invariant 3), with these differences:

- its take-profit closes all of it (the operator approved one stop and one target), see ``guard_stops``;
- new terms from the operator are applied as given: the operator may loosen the stop (invariant 4: nobody
  else does), so a looser stop first cancels the live one, which the guard would otherwise keep as the tighter;
- the agent may not close or change it, nor trade its market while it is paused (:func:`check_managed`);
- a release lets go of it: its orders are cancelled and it leaves the book without a close (nothing is sold,
  the coins are the operator's again).

:func:`plan_managed` says what to do for one managed asset at one step; ``safety.managed_ops`` carries it out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal, Protocol

from core.ids import ClientOrderId, PositionId, Symbol
from core.money import MarketRules
from core.types import ClosedTrade, Position, PositionSide
from safety.guard_state import GuardRecord, ManagedStage, ManagedTag
from safety.proposals import EntryProposal
from safety.rules import tradable
from safety.verdicts import Approved, VetoCode, Vetoed

Status = Literal["opened", "held", "updated", "releasing", "released", "closed", "refused"]


@dataclass(frozen=True, slots=True)
class ManagedSpec:
    """One managed holding as the operator approved it (and overrode it since), for one step."""

    asset: str
    position_id: PositionId
    symbol: Symbol
    quantity: Decimal
    """The managed quantity."""
    entry: Decimal
    """The synthetic entry (the position's entry price: its P&L and R are measured from it)."""
    stop: Decimal
    take_profit: Decimal
    terms: str
    """A stamp of these terms: a new stamp means the operator changed them."""
    stage: ManagedStage
    available: Decimal
    """What the wallet holds of the asset that is not the bot's own (the most that can be guarded)."""


@dataclass(frozen=True, slots=True)
class ManagedOutcome:
    """What the safety service did for one managed holding (the engine tells ``holdings/`` about
    ``closed`` and ``released``)."""

    asset: str
    status: Status
    message: str
    trade: ClosedTrade | None = None


@dataclass(frozen=True, slots=True)
class OpenManaged:
    record: GuardRecord


@dataclass(frozen=True, slots=True)
class Reterm:
    """New terms or a new stage; ``cancel``: the live stop to cancel first (the operator loosened it)."""

    record: GuardRecord
    why: str
    cancel: ClientOrderId | None = None


@dataclass(frozen=True, slots=True)
class LetGo:
    """Cancel the position's orders, then drop it from the book without a close."""

    record: GuardRecord


@dataclass(frozen=True, slots=True)
class Report:
    """Nothing to do: say how it stands."""

    outcome: ManagedOutcome


ManagedPlan = OpenManaged | Reterm | LetGo | Report


def plan_managed(
    spec: ManagedSpec, record: GuardRecord | None, *, closed: ClosedTrade | None, rules: MarketRules, now: datetime
) -> ManagedPlan:
    """What one step owes a managed holding: open it, apply new terms or a new stage, let it go, or nothing.

    ``record``: the guarded position (``None`` when not open); ``closed``: its recorded close, when there is
    one (a holding is never opened twice: after its close only the operator can hand it over again, under a
    new proposal and so a new position id).
    """
    if record is None:
        return _not_open(spec, closed, rules, now)
    tag = record.managed
    if tag is None or tag.asset != spec.asset:
        return _report(spec, "refused", f"{spec.position_id} is a position of the bot's own, not {spec.asset}'s")
    if spec.stage is ManagedStage.RELEASE:
        return LetGo(record)
    if record.exit_request is not None or record.legs:
        return _report(spec, "held", f"{spec.position_id}: an exit is under way; its outcome decides")
    return _changed(spec, record, tag, rules)


def _changed(spec: ManagedSpec, record: GuardRecord, tag: ManagedTag, rules: MarketRules) -> ManagedPlan:
    """New terms (the operator overrode them), or a new stage (paused, resumed), or nothing."""
    if tag.terms != spec.terms:
        return _reterm(spec, record, rules)
    if tag.stage is not spec.stage:
        staged = record.model_copy(update={"managed": tag.model_copy(update={"stage": spec.stage})})
        return Reterm(staged, f"{spec.asset} is {spec.stage.value} now")
    return _report(spec, "held", f"{spec.position_id} guarded")


def _not_open(spec: ManagedSpec, closed: ClosedTrade | None, rules: MarketRules, now: datetime) -> ManagedPlan:
    if closed is not None:
        return _report(spec, "closed", f"{spec.position_id} closed ({closed.exit_reason.value})", closed)
    if spec.stage is ManagedStage.RELEASE:
        return _report(spec, "released", f"{spec.asset}: no guarded position left to let go")
    return _open(spec, rules, now)


def _open(spec: ManagedSpec, rules: MarketRules, now: datetime) -> ManagedPlan:
    quantity = rules.quantity(min(spec.quantity, spec.available))
    if quantity <= 0 or not tradable(quantity, spec.entry, rules):
        return _report(
            spec,
            "refused",
            f"the wallet holds {spec.available} {spec.asset} besides the bot's own: {quantity} is nothing "
            f"{spec.symbol} can trade, so there is nothing to guard",
        )
    position = Position(
        id=spec.position_id,
        symbol=spec.symbol,
        side=PositionSide.LONG,
        quantity=quantity,
        entry_price=spec.entry,
        opened_at=now,
        stop_price=spec.stop,
        initial_stop_price=spec.stop,
        take_profit_price=spec.take_profit,
    )
    tag = ManagedTag(asset=spec.asset, terms=spec.terms, stage=spec.stage)
    return OpenManaged(GuardRecord(position=position, original_quantity=quantity, managed=tag))


def _reterm(spec: ManagedSpec, record: GuardRecord, rules: MarketRules) -> ManagedPlan:
    """The operator's new terms, applied as given (the operator may loosen the stop; nobody else can)."""
    pos = record.position
    quantity = rules.quantity(min(spec.quantity, spec.available))
    if not tradable(quantity, spec.entry, rules):
        quantity = pos.quantity  # the wallet cannot back a new size: keep guarding what is guarded
    looser = spec.stop < pos.stop_price
    cancel = pos.stop_order_id if looser else None
    position = pos.model_copy(
        update={
            "quantity": quantity,
            "entry_price": spec.entry,
            "stop_price": spec.stop,
            "initial_stop_price": spec.stop,
            "take_profit_price": spec.take_profit,
            "stop_order_id": None if cancel is not None else pos.stop_order_id,
        }
    )
    tag = ManagedTag(asset=spec.asset, terms=spec.terms, stage=spec.stage)
    updated = record.model_copy(update={"position": position, "original_quantity": quantity, "managed": tag})
    why = (
        f"operator's terms for {spec.asset}: stop {pos.stop_price} -> {spec.stop}"
        f"{' (loosened by the operator)' if looser else ''}, "
        f"take-profit {pos.take_profit_price} -> {spec.take_profit}, quantity {pos.quantity} -> {quantity}, "
        f"entry {pos.entry_price} -> {spec.entry}"
    )
    return Reterm(updated, why, cancel)


def _report(spec: ManagedSpec, status: Status, message: str, trade: ClosedTrade | None = None) -> Report:
    return Report(ManagedOutcome(spec.asset, status, message, trade))


# ------------------------------------------------------------------ what the agent may not do


def check_managed(approved: Approved, records: Mapping[PositionId, GuardRecord]) -> Vetoed | None:
    """After the veto approved a proposal: the agent never closes or changes a managed holding, and opens
    nothing in the market of one that is paused or being released (its stop and take-profit stay)."""
    proposal = approved.proposal
    if isinstance(proposal, EntryProposal):
        for record in records.values():
            tag = record.managed
            if tag is not None and record.symbol == proposal.symbol and tag.stage is not ManagedStage.ACTIVE:
                return Vetoed(
                    VetoCode.MANAGED_PAUSED,
                    f"{proposal.symbol}: the operator's managed {tag.asset} is {tag.stage.value}; "
                    "no new trades in its market until the operator resumes it",
                )
        return None
    target = records.get(approved.position_id) if approved.position_id is not None else None
    if target is not None and target.managed is not None:
        return Vetoed(
            VetoCode.MANAGED_HOLDING,
            f"{target.id} is the operator's managed {target.managed.asset}: the guard keeps its approved stop "
            "and take-profit; only the operator changes or releases it (tradewake holdings)",
        )
    return None


# ------------------------------------------------------------------ reconciliation's question


@dataclass(frozen=True, slots=True)
class HoldingShare:
    """How much of a spot balance that no position explains belongs to holdings, not to the bot."""

    managed: Decimal
    """Approved for a managed holding that is not guarded yet (the engine attaches it at its next step)."""
    operator: Decimal
    """The operator's own coins: never a bot position, never adopted."""
    reason: str


class SpotHoldings(Protocol):
    """What reconciliation asks about a spot balance its positions do not explain (``engine/`` answers it
    from ``holdings/``; safety imports nothing of holdings)."""

    def share(self, asset: str, unexplained: Decimal, attached: Decimal) -> HoldingShare:
        """``unexplained``: the balance beyond the bot's positions; ``attached``: what managed positions of
        ``asset`` already guard."""
        ...
