"""Journal-ready records of what the gate did: every wake, every suppressed wake, every schedule.

The gate collects them; the engine drains them (``Gate.drain_events``) and appends them to the journal
in the same store transaction as the gate's state, so a restart neither loses nor repeats one.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict

from core.ports import NewEvent
from core.types import WakeKind, WakeReason
from gate.budget import BudgetStatus


class GateEventKind(StrEnum):
    WAKE = "wake"
    """A wake was granted (to the LLM, or to the rule-based fallback when ``reason.fallback``)."""
    SUPPRESSED = "suppressed"
    """A layer fired but the wake was held back (``suppressed_by`` says why, e.g. ``cooldown``)."""
    SCHEDULED = "scheduled"
    """The agent's next check and wake conditions were armed."""


class GateEvent(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: GateEventKind
    at: AwareDatetime
    reason: WakeReason | None = None
    """For wakes and suppressed wakes: the wake (that would have been) returned."""
    layers: tuple[WakeKind, ...] = ()
    """Every layer that fired on this event, highest priority first."""
    suppressed_by: str | None = None
    detail: str = ""
    budget: BudgetStatus | None = None
    """For wakes: the LLM budget as checked before granting this one."""

    def to_new_event(self) -> NewEvent:
        """The record for ``Store.append``/``Store.transact``: kind ``gate.<kind>``, payload = this event."""
        return NewEvent(kind=f"gate.{self.kind.value}", at=self.at, payload=self.model_dump(mode="json"))
