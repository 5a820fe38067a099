"""What the guard's plan asks the executor to do, and the inputs every planning step reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core.ids import ClientOrderId, Symbol
from core.money import MarketRules
from core.settings import RiskSettings
from core.types import ClosedTrade, OrderIntent
from safety.guard_state import GuardRecord, Observed


@dataclass(frozen=True, slots=True)
class Update:
    """Persist a state-only change (no exchange call)."""

    record: GuardRecord
    why: str


@dataclass(frozen=True, slots=True)
class Place:
    """Send an order. ``on_success`` is the record once the exchange has it (also used when the
    outcome is unknown, so the id is watched and never duplicated); ``on_failure`` when refused."""

    intent: OrderIntent
    why: str
    on_success: GuardRecord
    on_failure: GuardRecord
    on_triggered: GuardRecord | None = None
    """For stops and take-profits: the record when the exchange refuses because the market has already
    passed the trigger (the exchange's price is ahead of ours): exit at market instead."""


@dataclass(frozen=True, slots=True)
class Cancel:
    """Cancel an order; the exchange's answer (cancelled, or filled meanwhile) is observed next round."""

    order_id: ClientOrderId
    symbol: Symbol
    why: str


@dataclass(frozen=True, slots=True)
class Finalize:
    """Cancel the siblings, record the exit and emit ``PositionClosed``: exactly once per position."""

    record: GuardRecord
    trade: ClosedTrade
    cancel: tuple[ClientOrderId, ...]


@dataclass(frozen=True, slots=True)
class Warn:
    """Something a human should know (it becomes an alert); accompanies other actions."""

    kind: str
    message: str


Action = Update | Place | Cancel | Finalize | Warn


@dataclass(frozen=True, slots=True)
class GuardInputs:
    record: GuardRecord
    observed: Observed
    rules: MarketRules
    risk: RiskSettings
    client_id_prefix: str
    now: datetime

    @property
    def overlap_allowed(self) -> bool:
        """Reduce-only conditional orders may coexist (derivatives); on spot the stop locks the balance."""
        return self.rules.contract
