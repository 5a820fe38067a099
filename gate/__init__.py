"""Adaptive gate: decides when the expensive agent is woken (defaults and measurements: ``docs/gate.md``)."""

from core.conditions import WAKE_CONDITIONS, WakeCondition
from gate.budget import BudgetLimits, BudgetStatus
from gate.events import GateEvent, GateEventKind
from gate.gate import Gate
from gate.persistence import STATE_KEY, gate_writes, open_gate, save_gate
from gate.scheduling import InvalidSchedule, SchedulePlan

__all__ = [
    "STATE_KEY",
    "WAKE_CONDITIONS",
    "BudgetLimits",
    "BudgetStatus",
    "Gate",
    "GateEvent",
    "GateEventKind",
    "InvalidSchedule",
    "SchedulePlan",
    "WakeCondition",
    "gate_writes",
    "open_gate",
    "save_gate",
]
