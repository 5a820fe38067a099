"""Plans for what the bot, the TTL job and the guard do (pure).

- bot: ``generate`` a proposal or ``abort`` the request; ``abort`` an open proposal that drifted;
  ``flag_drift`` on a managed holding (it pauses itself, a human is alerted).
- ttl_job: ``expire`` an open proposal whose time is up (no cool-down: nobody said no).
- guard: ``exit`` (its stop or take-profit filled), ``release_done`` (the release it was asked for is done).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from core.types import Alert
from holdings.drift import DriftReference, DriftThresholds, Observation, describe, detect_drift
from holdings.lifecycle import Action, Actor, HoldingState, Refusal, decide
from holdings.plan import Event, Plan, applied, moved, refuse, refused_by_lifecycle, transition_event
from holdings.proposal import Proposal
from holdings.records import Decision, DecisionOutcome, HoldingRecord
from holdings.risk_model import Abort

BOT, TTL, GUARD = Actor.BOT, Actor.TTL_JOB, Actor.GUARD


def plan_generate(record: HoldingRecord, outcome: Proposal | Abort, now: datetime) -> Plan:
    if isinstance(outcome, Abort):
        return plan_abort(record, None, None, code=outcome.code, message=outcome.message, now=now)
    t = decide(record.state, Action.GENERATE, BOT)
    if isinstance(t, Refusal):
        return refused_by_lifecycle(record, t, at=now)
    new = moved(record, t, now, proposal_id=outcome.id, proposal_count=outcome.seq, request=None, reason=None)
    events: list[Event] = [
        transition_event(
            t,
            record.asset,
            proposal_id=outcome.id,
            risk_model_version=outcome.risk_model_version,
            variants=list(outcome.variant_names),
            confidence=outcome.confidence,
            warnings=[w.code for w in outcome.warnings],
            expires_at=outcome.expires_at.isoformat(),
        )
    ]
    capped = [v for v in outcome.variants if v.allocation_capped]
    if capped:
        events.append(
            (
                "managed.allocation_capped",
                {
                    "asset": record.asset,
                    "actor": BOT.value,
                    "proposal_id": outcome.id,
                    "holding_quantity": str(outcome.holding_quantity),
                    "variants": [
                        {
                            "variant": v.name.value,
                            "max_allocation": str(v.max_allocation),
                            "managed_quantity": str(v.managed_quantity),
                            "limit": v.cap_reason,
                        }
                        for v in capped
                    ],
                },
            )
        )
    return applied(new, tuple(events), proposal=outcome, proposal_id=outcome.id)


def plan_abort(
    record: HoldingRecord,
    proposal: Proposal | None,
    decision: Decision | None,
    *,
    code: str,
    message: str,
    now: datetime,
) -> Plan:
    """The bot gives up on a request (no balance, market down, blacklisted) or on a stale open proposal
    (``proposal``: it must still be open; a proposal decided meanwhile is refused with that decision)."""
    if proposal is not None:
        closed = _closed(record, proposal, decision, action=Action.ABORT, actor=BOT, now=now)
        if closed is not None:
            return closed
    t = decide(record.state, Action.ABORT, BOT)
    if isinstance(t, Refusal):
        return refused_by_lifecycle(record, t, at=now)
    decision = None
    if proposal is not None:
        decision = Decision(
            proposal_id=proposal.id, outcome=DecisionOutcome.ABORTED, actor=BOT, at=now, reason=f"{code}: {message}"
        )
    new = moved(record, t, now, request=None, reason=f"{code}: {message}")
    event = transition_event(t, record.asset, code=code, reason=message, proposal_id=proposal.id if proposal else None)
    return applied(new, (event,), decision=decision, code=code, reason=message)


def plan_expire(record: HoldingRecord, proposal: Proposal | None, decision: Decision | None, now: datetime) -> Plan:
    if proposal is None:
        return refuse(record, Action.EXPIRE, TTL, "not_open", f"{record.asset} has no open proposal", at=now)
    closed = _closed(record, proposal, decision, action=Action.EXPIRE, actor=TTL, now=now)
    if closed is not None:
        return closed
    if now < proposal.expires_at:
        return refuse(
            record, Action.EXPIRE, TTL, "not_due", f"proposal {proposal.id} expires at {proposal.expires_at}", at=now
        )
    t = decide(record.state, Action.EXPIRE, TTL)
    if isinstance(t, Refusal):
        return refused_by_lifecycle(record, t, at=now, proposal_id=proposal.id)
    new = moved(record, t, now, reason=f"proposal {proposal.id} expired unanswered")
    expired = Decision(proposal_id=proposal.id, outcome=DecisionOutcome.EXPIRED, actor=TTL, at=now, reason="ttl")
    event = transition_event(t, record.asset, proposal_id=proposal.id, expires_at=proposal.expires_at.isoformat())
    return applied(new, (event,), decision=expired, proposal_id=proposal.id)


def _closed(
    record: HoldingRecord, proposal: Proposal, decision: Decision | None, *, action: Action, actor: Actor, now: datetime
) -> Plan | None:
    """A refusal when ``proposal`` is no longer open (decided, or not the asset's open proposal)."""
    if decision is not None:
        return refuse(
            record,
            action,
            actor,
            "already_decided",
            f"proposal {proposal.id} was already decided: {decision.describe()}",
            proposal_id=proposal.id,
            at=now,
        )
    if record.proposal_id != proposal.id or record.state is not HoldingState.RISK_PROPOSED:
        return refuse(
            record,
            action,
            actor,
            "not_open",
            f"proposal {proposal.id} is not the open proposal of {record.asset} (state {record.state.value})",
            proposal_id=proposal.id,
            at=now,
        )
    return None


def plan_drift(
    record: HoldingRecord,
    proposal: Proposal | None,
    seen: Observation,
    *,
    step: Decimal,
    limits: DriftThresholds,
    now: datetime,
) -> Plan | None:
    """``None`` when nothing drifted (or the state has nothing to check)."""
    if record.state is HoldingState.RISK_PROPOSED and proposal is not None:
        basis = proposal.market
        reference = DriftReference(proposal.holding_quantity, basis.band_low, basis.band_high, basis.regime, step)
        drifts = detect_drift(reference, seen, limits)
        return plan_abort(record, proposal, None, code="drift", message=describe(drifts), now=now) if drifts else None
    terms = record.terms
    if record.state not in (HoldingState.MANAGED_ACTIVE, HoldingState.MANAGED_PAUSED) or terms is None:
        return None
    reference = DriftReference(terms.wallet_quantity, terms.band_low, terms.band_high, terms.regime, step)
    drifts = detect_drift(reference, seen, limits)
    if not drifts:
        return None
    t = decide(record.state, Action.FLAG_DRIFT, BOT)
    if isinstance(t, Refusal):  # pragma: no cover - both states above allow it
        return refused_by_lifecycle(record, t, at=now)
    why = describe(drifts)
    new = moved(record, t, now, reason=why)
    event = transition_event(t, record.asset, drift=[d.kind.value for d in drifts], reason=why)
    alert = Alert(
        severity="warning",
        kind="managed_drift",
        message=f"{record.asset}: {why}. The bot paused itself; stop and take-profit stay. "
        f"Decide: tradewake holdings resume|pause|release {record.asset}",
        at=now,
        dedup_key=f"managed_drift:{record.asset}",
    )
    return applied(new, (event,), alerts=(alert,), drift=[d.kind.value for d in drifts])


def plan_exit(record: HoldingRecord, reason: str, price: Decimal | None, now: datetime) -> Plan:
    t = decide(record.state, Action.EXIT, GUARD)
    if isinstance(t, Refusal):
        return refused_by_lifecycle(record, t, at=now)
    new = moved(record, t, now, reason=reason)
    event = transition_event(t, record.asset, reason=reason, price=None if price is None else str(price))
    return applied(new, (event,))


def plan_release_done(record: HoldingRecord, now: datetime) -> Plan:
    t = decide(record.state, Action.RELEASE_DONE, GUARD)
    if isinstance(t, Refusal):
        return refused_by_lifecycle(record, t, at=now)
    new = moved(record, t, now, terms=None, request=None, reason="released by the operator")
    return applied(new, (transition_event(t, record.asset),))


PAYLOAD_FREE = frozenset({Action.PAUSE, Action.RESUME, Action.RELEASE, Action.RELEASE_DONE, Action.EXIT})
"""Actions :func:`plan_attempt` can carry out by itself; the others need their dedicated plan."""


def plan_attempt(record: HoldingRecord, action: Action, actor: Actor, reason: str, now: datetime) -> Plan:
    """Anyone asking for ``action`` outside the command queue (e.g. the bot through a tool): the table
    decides; a refused bot attempt is a blocked policy change (journaled and alerted)."""
    t = decide(record.state, action, actor)
    if isinstance(t, Refusal):
        return refused_by_lifecycle(record, t, at=now)
    if action not in PAYLOAD_FREE:
        raise ValueError(f"{action.value} needs its own plan (it carries data), not plan_attempt")
    changes: dict[str, object] = {"reason": reason or None}
    if t.target is HoldingState.FROZEN:
        changes.update(terms=None, request=None)
    return applied(moved(record, t, now, **changes), (transition_event(t, record.asset, reason=reason or None),))
