"""Operator actions from the page: halt, flatten (a halt that also closes every position), resume, sleep, and
the managed holdings' ``holdings-<verb>`` (propose, approve, reject, pause, resume, release: ``dashboard.holdings``).

``plan_command`` turns the page's request into an ``OperatorCommand`` or a message for the operator (pure);
``submit`` puts it on the store's command queue, where the engine applies it first at its next step — the
same queue ``tradewake halt`` uses. The page sends an idempotency key it made once per action: a retried or
double-clicked request is answered ``duplicate`` and applied once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.ports import CommandReceipt, OperatorCommand, Store
from dashboard.holdings import PREFIX, HoldingsRefused, plan_holdings_command
from safety.operator import CommandKind

ACTIONS = ("halt", "flatten", "resume", "sleep")
KEY_RE = re.compile(r"^[A-Za-z0-9_.:-]{8,100}$")
MAX_SLEEP_MINUTES = 7 * 24 * 60


@dataclass(frozen=True, slots=True)
class Refused:
    """Why the page's request is not a command (shown to the operator as is)."""

    message: str


def plan_command(action: str, body: dict[str, Any], now: datetime, submitted_by: str) -> OperatorCommand | Refused:
    if action not in ACTIONS and not action.startswith(PREFIX):
        return Refused(f"unknown action {action!r}; the page offers {', '.join(ACTIONS)} and {PREFIX}<verb>")
    key = str(body.get("key", ""))
    if not KEY_RE.fullmatch(key):
        return Refused("the request has no valid idempotency key; reload the page")
    if action.startswith(PREFIX):
        planned = plan_holdings_command(action.removeprefix(PREFIX), body, key, now, submitted_by)
        return Refused(planned.message) if isinstance(planned, HoldingsRefused) else planned
    reason = " ".join(str(body.get("reason", "")).split())[:200]
    if action != "resume" and not reason:
        return Refused(f"{action} needs a reason (it is journaled and sent with the alert)")
    args: dict[str, Any] = {"reason": reason}
    kind = CommandKind.RESUME if action == "resume" else CommandKind.SLEEP if action == "sleep" else CommandKind.HALT
    if kind is CommandKind.HALT:
        args["flatten"] = action == "flatten"
    if kind is CommandKind.SLEEP:
        minutes = body.get("minutes")
        if not isinstance(minutes, int) or isinstance(minutes, bool) or not 1 <= minutes <= MAX_SLEEP_MINUTES:
            return Refused(f"sleep needs a whole number of minutes from 1 to {MAX_SLEEP_MINUTES}")
        args["minutes"] = minutes
    return OperatorCommand(idempotency_key=f"dash-{action}-{key}", kind=kind.value, args=args, submitted_at=now,
                           submitted_by=submitted_by)  # fmt: skip


def submit(store: Store, command: OperatorCommand) -> dict[str, Any]:
    """Queue ``command``; the answer the page shows (``outcome`` is accepted, duplicate or already_decided)."""
    receipt: CommandReceipt = store.submit_command(command)
    verb = {"accepted": "queued", "duplicate": "already queued"}.get(receipt.outcome)
    message = (
        f"{command.kind}: {verb} (status {receipt.status.value}); the engine applies it at its next step"
        if verb else f"{command.kind}: refused, key {command.idempotency_key} was used for another command"
    )  # fmt: skip
    return {"outcome": receipt.outcome, "status": receipt.status.value, "key": command.idempotency_key,
            "message": message}  # fmt: skip
