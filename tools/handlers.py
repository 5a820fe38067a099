"""One handler per tool. Handlers run only after validation (and, for side effects, approval)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import ValidationError

from core.ids import Symbol
from core.types import DecisionRequest
from safety.proposals import AdjustStopProposal, CloseProposal, EntryOrderType, EntryProposal
from safety.verdicts import Approved
from tools.context import DecisionSession, TradingDesk
from tools.inputs import (
    AdjustStop,
    ClosePosition,
    GetLearnerWeights,
    GetMarketSnapshot,
    GetPortfolio,
    GetRegime,
    PlaceOrder,
    ScheduleNextCheck,
    UpdateMemory,
)
from tools.results import (
    ActionResult,
    ApprovedView,
    LearnerWeightsResult,
    MemoryResult,
    PortfolioResult,
    RegimeResult,
    ScheduleResult,
    SnapshotResult,
    safety_notes,
)
from tools.scrub import scrub
from tools.wake_args import parse_wake_conditions


class ToolArgumentError(ValueError):
    """Arguments that pass the schema but not the situation (e.g. a note above the size cap)."""


@dataclass(frozen=True)
class HandlerContext:
    desk: TradingDesk
    session: DecisionSession

    def symbol(self, given: str | None) -> Symbol:
        return Symbol(given) if given else self.session.request.symbol


# ---------------------------------------------------------------- proposals (side-effecting tools)
# Each builder gets the validated arguments, the decision's request (default symbol, regime) and the
# tool call's id, which becomes the entry's idempotency key (the position id derives from it).


def entry_proposal(args: PlaceOrder, request: DecisionRequest, call_id: str) -> EntryProposal:
    """``place_order`` -> safety's ``EntryProposal``. Confidence and thesis stay in the call record."""
    return EntryProposal(
        symbol=_symbol(args.symbol, request),
        side=args.side,
        size_pct=args.size_pct,
        order_type=EntryOrderType(args.order_type),
        limit_price=args.limit_price,
        stop_loss=args.stop_loss_price,
        take_profit=args.take_profit_price,
        trailing_activation_pct=args.trailing_activation_pct,
        trailing_distance_pct=args.trailing_distance_pct,
        signals=tuple(args.signals),
        regime=regime_label(request),
        idempotency_key=call_id,
    )


def close_proposal(args: ClosePosition, request: DecisionRequest, call_id: str) -> CloseProposal:
    """``close_position`` -> ``CloseProposal``; the reason stays in the call record."""
    del call_id
    return CloseProposal(symbol=_symbol(args.symbol, request), fraction=args.fraction)


def stop_proposal(args: AdjustStop, request: DecisionRequest, call_id: str) -> AdjustStopProposal:
    """``adjust_stop`` -> ``AdjustStopProposal``; the reason stays in the call record."""
    del call_id
    return AdjustStopProposal(symbol=_symbol(args.symbol, request), new_stop=args.stop_price)


def regime_label(request: DecisionRequest) -> str | None:
    """The regime label of the decision's snapshot (``{"regime": {"label": ...}}``), if it has one."""
    regime = request.snapshot.get("regime")
    label = regime.get("label") if isinstance(regime, Mapping) else None
    return label if isinstance(label, str) and label else None


def _symbol(given: str | None, request: DecisionRequest) -> Symbol:
    return Symbol(given) if given else request.symbol


# ---------------------------------------------------------------- handlers


async def get_market_snapshot(ctx: HandlerContext, args: GetMarketSnapshot, _: Approved | None) -> SnapshotResult:
    """Another symbol's snapshot as of the decision time. The decision's own symbol is not sent twice: its
    snapshot is the one the first message was built from, and the model has it already."""
    symbol = ctx.symbol(args.symbol)
    request = ctx.session.request
    if symbol == request.symbol:
        note = (f"the {symbol} snapshot as of {request.as_of.isoformat()} is in your first message (<market_data>); "
                "it does not change within a decision")
        return SnapshotResult(snapshot=None, note=note)
    return SnapshotResult(snapshot=await ctx.desk.snapshot(symbol))


async def get_regime(ctx: HandlerContext, args: GetRegime, _: Approved | None) -> RegimeResult:
    reading = await ctx.desk.regime(ctx.symbol(args.symbol))
    return RegimeResult(regime=reading, note=None if reading is not None else "no regime model fitted yet")


async def get_portfolio(ctx: HandlerContext, args: GetPortfolio, _: Approved | None) -> PortfolioResult:
    del args
    return PortfolioResult(portfolio=await ctx.desk.portfolio())


async def get_learner_weights(ctx: HandlerContext, args: GetLearnerWeights, _: Approved | None) -> LearnerWeightsResult:
    return LearnerWeightsResult(weights=await ctx.desk.learner_weights(args.regime))


async def act(ctx: HandlerContext, args: object, approved: Approved | None) -> ActionResult:
    """``place_order``, ``close_position`` and ``adjust_stop``: execute what safety approved."""
    del args
    if approved is None:  # the executor never calls a side-effecting handler without approval
        raise RuntimeError("side-effecting handler called without an approval")
    report = await ctx.desk.execute(approved)
    return ActionResult(execution=report, approved=ApprovedView.of(approved), safety_notes=safety_notes(approved))


async def update_memory(ctx: HandlerContext, args: UpdateMemory, _: Approved | None) -> MemoryResult:
    cap = ctx.session.memory_max_chars
    text, redacted = scrub(args.text.strip(), ctx.session.secrets)
    if len(text) > cap:
        raise ToolArgumentError(f"the note has {len(text)} characters; the cap is {cap}: rewrite it shorter")
    ctx.session.memory_update = text
    return MemoryResult(saved_chars=len(text), max_chars=cap, redacted=redacted)


async def schedule_next_check(ctx: HandlerContext, args: ScheduleNextCheck, _: Approved | None) -> ScheduleResult:
    """Check the schedule the way the gate will arm it; problems go back to the model to correct."""
    raw = [condition.as_condition() for condition in args.wake_conditions]
    check = ctx.desk.check_schedule(args.seconds, raw)
    if check.problems:
        raise ToolArgumentError("; ".join(check.problems))
    try:
        conditions = parse_wake_conditions(raw)
    except ValidationError as exc:  # the desk passed what the gate refuses: still the model's to fix
        lines = (f"wake_conditions.{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ToolArgumentError("; ".join(lines)) from exc
    final = args.final is not False
    ctx.session.next_check_seconds = args.seconds
    ctx.session.wake_conditions = conditions
    ctx.session.final = ctx.session.final or final
    note = "decision complete" if final else "scheduled; continue, and call schedule_next_check again to finish"
    applied = check.applied_seconds if check.applied_seconds is not None else args.seconds
    note = "; ".join((*check.notes, note))
    return ScheduleResult(next_check_seconds=applied, requested_seconds=args.seconds, clamped=applied != args.seconds,
                          wake_conditions=conditions, final=final, note=note)
