"""What one decision about one asset changes: a :class:`Plan` (pure value), carried out by the service.

A plan is either a transition (a new record, maybe a proposal or a decision to store once, events) or
a refusal (no change, one refusal event). Both carry the result an operator command is finished with.
Every event is ``managed.*`` and names its actor; a refused bot attempt is always
``managed.policy_change_blocked``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.canonical import canonical_json
from core.ports import CommandStatus
from core.types import Alert
from holdings.lifecycle import COMMAND_REFUSED, POLICY_CHANGE_BLOCKED, Action, Actor, Refusal, Transition
from holdings.proposal import Proposal
from holdings.records import Decision, HoldingRecord

Event = tuple[str, dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Plan:
    asset: str
    status: CommandStatus
    result: dict[str, Any]
    events: tuple[Event, ...]
    record: HoldingRecord | None = None
    """The new record; ``None`` leaves the stored one as it is (refusals)."""
    proposal: Proposal | None = None
    decision: Decision | None = None
    alerts: tuple[Alert, ...] = ()

    @property
    def refused(self) -> bool:
        return self.status is CommandStatus.REJECTED

    @property
    def code(self) -> str | None:
        return str(self.result["code"]) if self.refused else None


def event_payload(asset: str, actor: Actor, **fields: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {"asset": asset, "actor": actor.value}
    payload.update({k: v for k, v in fields.items() if v is not None})
    return payload


def transition_event(t: Transition, asset: str, **fields: Any) -> Event:
    states = {"from": t.source.value, "to": t.target.value}
    return t.event, event_payload(
        asset, t.actor, action=t.action.value, path=[s.value for s in t.path], **states, **fields
    )


def refuse(
    record: HoldingRecord,
    action: Action,
    actor: Actor,
    code: str,
    message: str,
    *,
    at: datetime,
    blocked: bool = False,
    **fields: Any,
) -> Plan:
    """Refuse ``actor``'s ``action`` with a stable ``code`` and a message for people; nothing changes.

    ``blocked``: the lifecycle forbids it to this actor, a blocked policy change (always so for the
    bot): journaled ``managed.policy_change_blocked`` and a human is alerted. Otherwise (already
    decided, cool-down, a lost race ...) ``managed.command_refused``.
    """
    kind = POLICY_CHANGE_BLOCKED if blocked else COMMAND_REFUSED
    payload = event_payload(
        record.asset, actor, action=action.value, state=record.state.value, code=code, reason=message, **fields
    )
    result = _jsonable({"asset": record.asset, "state": record.state.value, "code": code, "error": message})
    alerts: tuple[Alert, ...] = ()
    if blocked:
        alerts = (
            Alert(
                severity="warning",
                kind="managed_policy_blocked",
                message=f"{record.asset}: the {actor.value} tried to {action.value} in state {record.state.value}; "
                f"refused ({message})",
                at=at,
                dedup_key=f"managed_policy_blocked:{record.asset}:{action.value}",
            ),
        )
    return Plan(record.asset, CommandStatus.REJECTED, result, ((kind, payload),), alerts=alerts)


def refused_by_lifecycle(record: HoldingRecord, refusal: Refusal, *, at: datetime, **fields: Any) -> Plan:
    """A refusal of the table: for the bot it is a blocked policy change (``Refusal.event``)."""
    blocked = refusal.event == POLICY_CHANGE_BLOCKED
    return refuse(
        record, refusal.action, refusal.actor, refusal.code.value, refusal.message, at=at, blocked=blocked, **fields
    )


def applied(
    new: HoldingRecord,
    events: tuple[Event, ...],
    *,
    proposal: Proposal | None = None,
    decision: Decision | None = None,
    alerts: tuple[Alert, ...] = (),
    **result: Any,
) -> Plan:
    body = _jsonable(
        {"asset": new.asset, "state": new.state.value, **{k: v for k, v in result.items() if v is not None}}
    )
    return Plan(new.asset, CommandStatus.APPLIED, body, events, new, proposal, decision, alerts)


def _jsonable(result: dict[str, Any]) -> dict[str, Any]:
    """A command result exactly as the queue and the command record will hold it (JSON types only), so
    finishing a command again from its record compares equal."""
    loaded: dict[str, Any] = json.loads(canonical_json(result))
    return loaded


def moved(record: HoldingRecord, t: Transition, now: datetime, **changes: Any) -> HoldingRecord:
    """The record after ``t``: the new state, who and when, plus ``changes``."""
    return record.model_copy(update={"state": t.target, "updated_at": now, "updated_by": t.actor, **changes})
