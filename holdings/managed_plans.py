"""Plans for the operator's commands on a managed holding (pure): pause, resume, release, override.

A resume after a drift alert re-anchors the drift check on the holding as it is now; an override may
loosen a stop (only the operator may), is checked against the price, and caps an allocation above the
limits (journaled ``managed.allocation_capped``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from core.money import MarketRules, to_decimal
from holdings.commands import OverrideArgs
from holdings.lifecycle import Action, Actor, HoldingState, Refusal, Transition, decide
from holdings.operator_plans import OperatorContext
from holdings.plan import Event, Plan, applied, moved, refuse, refused_by_lifecycle, transition_event
from holdings.records import HoldingRecord, ManagedTerms

OP = Actor.OPERATOR
HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class Rebase:
    """The drift references as they are now (resuming after a drift accepts the holding as it is)."""

    wallet_quantity: Decimal
    managed_quantity: Decimal
    band_low: Decimal
    band_high: Decimal
    regime: str | None


def plan_resume(record: HoldingRecord, reason: str, ctx: OperatorContext, rebase: Rebase | None) -> Plan:
    """Resume a paused holding; resuming after a drift alert re-anchors the drift check on ``rebase``
    (the wallet, the price band and the regime now), or it would alert again at the next cycle."""
    if record.state is not HoldingState.MANAGED_DRIFT_ALERT or record.terms is None:
        return plan_simple(record, Action.RESUME, reason, ctx)
    t = decide(record.state, Action.RESUME, OP)
    if isinstance(t, Refusal):  # pragma: no cover - the table allows resuming a drift alert
        return refused_by_lifecycle(record, t, at=ctx.now)
    if rebase is None:
        return refuse(
            record,
            Action.RESUME,
            OP,
            "market_down",
            f"no market for {record.terms.symbol}: the drift check cannot be re-anchored; try again",
            at=ctx.now,
        )
    terms = record.terms.model_copy(
        update={
            "wallet_quantity": rebase.wallet_quantity,
            "managed_quantity": min(record.terms.managed_quantity, rebase.managed_quantity),
            "band_low": rebase.band_low,
            "band_high": rebase.band_high,
            "regime": rebase.regime,
        }
    )
    new = moved(record, t, ctx.now, terms=terms, reason=reason or None)
    rebased = {
        "wallet_quantity": str(terms.wallet_quantity),
        "managed_quantity": str(terms.managed_quantity),
        "band": [str(terms.band_low), str(terms.band_high)],
        "regime": terms.regime,
    }
    return applied(new, (transition_event(t, record.asset, reason=reason or None, rebased=rebased),))


def plan_simple(record: HoldingRecord, action: Action, reason: str, ctx: OperatorContext) -> Plan:
    """Pause, release (and resume from a pause): a transition and its reason, nothing else."""
    t = decide(record.state, action, OP)
    if isinstance(t, Refusal):
        return refused_by_lifecycle(record, t, at=ctx.now)
    changes: dict[str, object] = {"reason": reason or None}
    if t.target is HoldingState.FROZEN:  # a release after an exit: the bot lets go of the asset entirely
        changes.update(terms=None, request=None)
    new = moved(record, t, ctx.now, **changes)
    return applied(new, (transition_event(t, record.asset, reason=reason or None, repeat=True if t.noop else None),))


def plan_override(
    record: HoldingRecord,
    args: OverrideArgs,
    ctx: OperatorContext,
    *,
    price: Decimal | None,
    rules: MarketRules | None,
    equity: Decimal,
) -> Plan:
    t = decide(record.state, Action.OVERRIDE, OP)
    if isinstance(t, Refusal):
        return refused_by_lifecycle(record, t, at=ctx.now)
    terms = record.terms
    if terms is None:
        return refuse(
            record, Action.OVERRIDE, OP, "no_terms", f"{record.asset} has no managed terms to override", at=ctx.now
        )
    if price is None or rules is None:
        return refuse(
            record,
            Action.OVERRIDE,
            OP,
            "market_down",
            f"no price for {terms.symbol}: the new levels cannot be checked",
            at=ctx.now,
        )
    stop, take_profit = args.stop or terms.stop, args.take_profit or terms.take_profit
    entry = args.entry_price or terms.synthetic_entry
    problem = _level_problem(args, stop=stop, take_profit=take_profit, entry=entry, price=price, ctx=ctx)
    if problem is not None:
        return refuse(record, Action.OVERRIDE, OP, "invalid_override", problem, at=ctx.now)
    allocation, capped = terms.max_allocation, None
    if args.max_allocation is not None:
        allocation, capped = _capped_allocation(args.max_allocation, equity, ctx)
    quantity = rules.quantity(min(terms.wallet_quantity, allocation / price))
    new_terms = terms.model_copy(
        update={
            "stop": rules.price(stop, "down"),
            "take_profit": rules.price(take_profit, "up"),
            "synthetic_entry": rules.price(entry),
            "max_allocation": allocation,
            "managed_quantity": quantity,
        }
    )
    new = moved(record, t, ctx.now, terms=new_terms, reason=args.reason or None)
    events = _override_events(t, record.asset, terms, new_terms, args=args, capped=capped)
    return applied(new, events, changes=_changes(terms, new_terms))


def _level_problem(
    args: OverrideArgs, *, stop: Decimal, take_profit: Decimal, entry: Decimal, price: Decimal, ctx: OperatorContext
) -> str | None:
    if args.stop is not None and stop >= price:
        return f"the stop {stop} must be below the price {price}"
    if args.take_profit is not None and take_profit <= price:
        return f"the take-profit {take_profit} must be above the price {price}"
    if stop >= take_profit:
        return f"the stop {stop} must be below the take-profit {take_profit}"
    floor = ctx.policy.min_entry_gap_pct
    gap = to_decimal(floor) if floor is not None else Decimal(0)
    if entry <= stop or (entry - stop) / entry * HUNDRED < gap:
        need = f"at least {gap} % above" if gap else "above"
        return f"the synthetic entry {entry} must be {need} the stop {stop}"
    return None


def _capped_allocation(
    requested: Decimal, equity: Decimal, ctx: OperatorContext
) -> tuple[Decimal, dict[str, str] | None]:
    limits = ctx.policy.limits
    cap = (equity * to_decimal(limits.max_position_pct) / HUNDRED).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
    if requested <= cap:
        return requested, None
    limit = f"{ctx.policy.cap_name} {limits.max_position_pct:g} %"
    return cap, {"requested": str(requested), "capped_to": str(cap), "limit": limit}


def _changes(old: ManagedTerms, new: ManagedTerms) -> dict[str, list[str]]:
    """``{field: [old, new]}`` for every managed term the override changed."""
    fields = ("stop", "take_profit", "synthetic_entry", "max_allocation", "managed_quantity")
    return {f: [str(getattr(old, f)), str(getattr(new, f))] for f in fields if getattr(old, f) != getattr(new, f)}


def _override_events(
    t: Transition,
    asset: str,
    old: ManagedTerms,
    new: ManagedTerms,
    *,
    args: OverrideArgs,
    capped: dict[str, str] | None,
) -> tuple[Event, ...]:
    events: list[Event] = [transition_event(t, asset, reason=args.reason or None, changes=_changes(old, new))]
    if new.synthetic_entry != old.synthetic_entry:
        events.append(
            (
                "managed.synthetic_entry_adjusted",
                {"asset": asset, "actor": OP.value, "from": str(old.synthetic_entry), "to": str(new.synthetic_entry)},
            )
        )
    if capped is not None:
        events.append(("managed.allocation_capped", {"asset": asset, "actor": OP.value, **capped}))
    return tuple(events)
