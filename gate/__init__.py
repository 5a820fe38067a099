"""Adaptive gate: decides when the expensive agent is woken (see ``gate/README.md``)."""

from gate.budget import BudgetLimits, BudgetStatus
from gate.conditions import WAKE_CONDITIONS, WakeCondition
from gate.events import GateEvent, GateEventKind
from gate.gate import Gate
from gate.scheduling import InvalidSchedule, SchedulePlan

__all__ = [
    "WAKE_CONDITIONS",
    "BudgetLimits",
    "BudgetStatus",
    "Gate",
    "GateEvent",
    "GateEventKind",
    "InvalidSchedule",
    "SchedulePlan",
    "WakeCondition",
]
