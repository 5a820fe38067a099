"""The position guard's decisions: ``plan(record, observed, rules, risk, now) -> list[Action]``. Pure.

The executor calls ``plan`` in rounds: observe the exchange, plan, perform, observe again, until
the plan is empty. Each call returns the actions of the FIRST step that has something to do, in
this order (finalization-first):

a. **terminal** - book the fills of orders that finished; when nothing is left open, finalize
   exactly once (cancel the siblings, record the exit, emit ``PositionClosed``) after verifying the
   exchange is flat on the opposite side (a double fill is bought/sold back first); a position
   that vanished on the exchange is finalized as ``closed_externally``. Nothing else happens to a
   position in a round where this step acts.
c. **break-even** after the first take-profit, and d. **trailing** with an activation threshold:
   these only move the *desired* stop level (state only, never looser); they run before b so a
   stop is never placed at a level that is about to be replaced.
b. **protection** - make the exchange match the desired stop: place a missing stop (or exit at
   market when price is already through it); replace a stop whose level or quantity is stale by
   placing the new one before cancelling the old where reduce-only orders may overlap
   (derivatives), else cancel, verify, place, with a market exit after ``max_stop_attempts``
   failures; keep the take-profit order in place.
e. **watchdog** - price sits through a live stop that has not filled for ``watchdog_grace_s``:
   request a market exit. The exit path cancels the stop and verifies the cancel first (a stop
   that filled meanwhile is booked and finalized instead), then exits the remaining quantity at
   market, then step a verifies the exchange position (post-market verify).
"""

from __future__ import annotations

from datetime import datetime

from core.money import MarketRules
from core.settings import RiskSettings
from safety.guard_actions import Action, Cancel, Finalize, GuardInputs, Place, Update, Warn
from safety.guard_exits import exit_in_progress
from safety.guard_state import GuardRecord, Observed, request_exit
from safety.guard_stops import break_even, protect, tighter, trail, watchdog
from safety.guard_terminal import book_fills, terminal, tidy

__all__ = [
    "Action",
    "Cancel",
    "Finalize",
    "Place",
    "Update",
    "Warn",
    "plan",
    "request_exit",
    "tighter",
]

STEPS = (book_fills, terminal, tidy, exit_in_progress, break_even, trail, protect, watchdog)
"""The order in which the plan's steps get their turn (see the module docstring)."""


def plan(
    record: GuardRecord, observed: Observed, rules: MarketRules, risk: RiskSettings, *, prefix: str, now: datetime
) -> list[Action]:
    """The next actions for one position; ``[]`` when it is as it should be.

    ``prefix`` is the run's client-id prefix, with the symbol's fencing token when leased (new order ids are
    derived from it).
    """
    x = GuardInputs(record, observed, rules, risk, prefix, now)
    for step in STEPS:
        actions = step(x)
        if actions is not None:  # this step owns the position this round ([] = wait, do nothing)
            return actions
    return []
