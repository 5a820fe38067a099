"""Plans for the operator's commands (pure): propose, approve, reject, pause, resume, release, override.

Each takes what was read from the store and the wallet and returns a :class:`~holdings.plan.Plan`;
the checks that are not the lifecycle table's (cool-down, confirmation, already decided, expiry, a
changed holding, sane override levels) refuse with their own stable code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from holdings.commands import ApproveArgs, ProposeArgs, RejectArgs
from holdings.drift import DriftReference, DriftThresholds, Observation, describe, detect_drift
from holdings.lifecycle import Action, Actor, HoldingState, Refusal, decide
from holdings.plan import Plan, applied, moved, refuse, refused_by_lifecycle, transition_event
from holdings.policy import ModePolicy
from holdings.proposal import Proposal
from holdings.records import Decision, DecisionOutcome, HoldingRecord, ManagedTerms, ProposalRequest

OP = Actor.OPERATOR
HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class OperatorContext:
    now: datetime
    by: str
    key: str
    policy: ModePolicy
    drift: DriftThresholds


def plan_request(record: HoldingRecord, args: ProposeArgs, ctx: OperatorContext) -> Plan:
    cooling = record.cooldown_until is not None and ctx.now < record.cooldown_until
    if cooling and record.state in (HoldingState.FROZEN, HoldingState.EXIT_EXECUTED):
        until = record.cooldown_until.isoformat() if record.cooldown_until else ""
        return refuse(
            record,
            Action.REQUEST,
            OP,
            "cooldown",
            f"{record.asset} was rejected recently: no new proposal before {until}",
            at=ctx.now,
        )
    t = decide(record.state, Action.REQUEST, OP)
    if isinstance(t, Refusal):
        return refused_by_lifecycle(record, t, at=ctx.now, proposal_id=record.proposal_id)
    if t.noop:
        return applied(record, (transition_event(t, record.asset, repeat=True),), already=True)
    request = ProposalRequest(
        requested_at=ctx.now,
        requested_by=ctx.by,
        command_key=ctx.key,
        entry_source=args.entry,
        entry_price=args.entry_price,
    )
    new = moved(record, t, ctx.now, request=request, terms=None, reason=args.reason or None)
    event = transition_event(
        t, record.asset, entry=args.entry.value, entry_price=_text(args.entry_price), reason=args.reason or None
    )
    return applied(new, (event,))


def plan_approve(
    record: HoldingRecord,
    proposal: Proposal | None,
    decision: Decision | None,
    args: ApproveArgs,
    *,
    wallet_quantity: Decimal,
    ctx: OperatorContext,
    step: Decimal,
) -> Plan:
    early = _decidable(record, proposal, decision, args.proposal_id, action=Action.APPROVE, now=ctx.now)
    if early is not None:
        return early
    assert proposal is not None  # _decidable refused otherwise
    if args.confirm_asset != proposal.asset:
        return refuse(
            record,
            Action.APPROVE,
            OP,
            "confirm_mismatch",
            f"--confirm names {args.confirm_asset} but proposal {proposal.id} is for {proposal.asset}",
            at=ctx.now,
        )
    if proposal.variant(args.confirm_variant) is None:
        offered = ", ".join(proposal.variant_names)
        return refuse(
            record,
            Action.APPROVE,
            OP,
            "confirm_mismatch",
            f"proposal {proposal.id} has no variant {args.confirm_variant!r}; it offers {offered}",
            at=ctx.now,
        )
    reference = DriftReference(
        proposal.holding_quantity, proposal.market.band_low, proposal.market.band_high, None, step
    )
    changed = detect_drift(reference, Observation(wallet_quantity), ctx.drift)
    if changed:
        return refuse(
            record,
            Action.APPROVE,
            OP,
            "holding_changed",
            f"the holding changed since proposal {proposal.id} ({describe(changed)}); propose again",
            at=ctx.now,
        )
    t = decide(record.state, Action.APPROVE, OP)
    if isinstance(t, Refusal):  # pragma: no cover - _decidable already required risk_proposed
        return refused_by_lifecycle(record, t, at=ctx.now)
    terms = ManagedTerms.from_proposal(proposal, args.confirm_variant, wallet_quantity, ctx.now, ctx.by)
    new = moved(record, t, ctx.now, terms=terms, reason=None)
    outcome = Decision(
        proposal_id=proposal.id,
        outcome=DecisionOutcome.APPROVED,
        actor=OP,
        at=ctx.now,
        variant=terms.variant,
        command_key=ctx.key,
    )
    events = (
        transition_event(
            t,
            record.asset,
            proposal_id=proposal.id,
            proposal_digest=proposal.digest(),
            risk_model_version=proposal.risk_model_version,
            variant=terms.variant.value,
            stop=str(terms.stop),
            take_profit=str(terms.take_profit),
            max_allocation=str(terms.max_allocation),
            managed_quantity=str(terms.managed_quantity),
        ),
        (
            "managed.synthetic_entry_set",
            {
                "asset": record.asset,
                "actor": OP.value,
                "proposal_id": proposal.id,
                "synthetic_entry": str(terms.synthetic_entry),
                "entry_source": terms.entry_source.value,
            },
        ),
    )
    return applied(new, events, decision=outcome, proposal_id=proposal.id, variant=terms.variant.value)


def plan_reject(
    record: HoldingRecord, proposal: Proposal | None, decision: Decision | None, args: RejectArgs, ctx: OperatorContext
) -> Plan:
    early = _decidable(record, proposal, decision, args.proposal_id, action=Action.REJECT, now=ctx.now)
    if early is not None:
        return early
    assert proposal is not None
    t = decide(record.state, Action.REJECT, OP)
    if isinstance(t, Refusal):  # pragma: no cover - _decidable already required risk_proposed
        return refused_by_lifecycle(record, t, at=ctx.now)
    until = ctx.now + ctx.policy.cooldown
    new = moved(record, t, ctx.now, cooldown_until=until, reason=args.reason or "rejected by the operator")
    outcome = Decision(
        proposal_id=proposal.id,
        outcome=DecisionOutcome.REJECTED,
        actor=OP,
        at=ctx.now,
        reason=args.reason or None,
        command_key=ctx.key,
    )
    event = transition_event(
        t, record.asset, proposal_id=proposal.id, reason=args.reason or None, cooldown_until=until.isoformat()
    )
    return applied(new, (event,), decision=outcome, proposal_id=proposal.id, cooldown_until=until.isoformat())


def _decidable(
    record: HoldingRecord,
    proposal: Proposal | None,
    decision: Decision | None,
    proposal_id: str,
    *,
    action: Action,
    now: datetime,
) -> Plan | None:
    """The refusals approve and reject share; ``None`` when the proposal is open and may be decided."""
    if proposal is None:
        return refuse(record, action, OP, "unknown_proposal", f"no proposal {proposal_id}", at=now)
    if decision is not None:
        return refuse(
            record,
            action,
            OP,
            "already_decided",
            f"proposal {proposal.id} was already decided: {decision.describe()}",
            proposal_id=proposal.id,
            at=now,
        )
    if record.proposal_id != proposal.id or record.state is not HoldingState.RISK_PROPOSED:
        return refuse(
            record,
            action,
            OP,
            "not_open",
            f"proposal {proposal.id} is not the open proposal of {record.asset} (state {record.state.value})",
            proposal_id=proposal.id,
            at=now,
        )
    if action is Action.APPROVE and now >= proposal.expires_at:
        return refuse(
            record,
            action,
            OP,
            "expired",
            f"proposal {proposal.id} expired at {proposal.expires_at.isoformat()}; propose again",
            proposal_id=proposal.id,
            at=now,
        )
    return None


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)
