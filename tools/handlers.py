"""One handler per tool. Handlers run only after validation (and, for side effects, approval)."""

from __future__ import annotations

from dataclasses import dataclass

from core.ids import Symbol
from core.types import OrderType
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
from tools.proposals import Approved, CloseProposal, EntryProposal, StopAdjustProposal
from tools.results import (
    ActionResult,
    LearnerWeightsResult,
    MemoryResult,
    PortfolioResult,
    RegimeResult,
    ScheduleResult,
    SnapshotResult,
)
from tools.scrub import scrub


class ToolArgumentError(ValueError):
    """Arguments that pass the schema but not the situation (e.g. a note above the size cap)."""


@dataclass(frozen=True)
class HandlerContext:
    desk: TradingDesk
    session: DecisionSession

    def symbol(self, given: str | None) -> Symbol:
        return Symbol(given) if given else self.session.request.symbol


# ---------------------------------------------------------------- proposals (side-effecting tools)


def entry_proposal(args: PlaceOrder, symbol: Symbol) -> EntryProposal:
    return EntryProposal(
        symbol=Symbol(args.symbol) if args.symbol else symbol,
        side=args.side,
        size_pct=args.size_pct,
        order_type=OrderType(args.order_type),
        limit_price=args.limit_price,
        stop_loss_price=args.stop_loss_price,
        take_profit_price=args.take_profit_price,
        trailing_activation_pct=args.trailing_activation_pct,
        trailing_distance_pct=args.trailing_distance_pct,
        signals=tuple(args.signals),
        confidence=args.confidence,
        thesis=args.thesis,
    )


def close_proposal(args: ClosePosition, symbol: Symbol) -> CloseProposal:
    return CloseProposal(
        symbol=Symbol(args.symbol) if args.symbol else symbol, fraction=args.fraction, reason=args.reason
    )


def stop_proposal(args: AdjustStop, symbol: Symbol) -> StopAdjustProposal:
    return StopAdjustProposal(
        symbol=Symbol(args.symbol) if args.symbol else symbol, stop_price=args.stop_price, reason=args.reason
    )


# ---------------------------------------------------------------- handlers


async def get_market_snapshot(ctx: HandlerContext, args: GetMarketSnapshot, _: Approved | None) -> SnapshotResult:
    symbol = ctx.symbol(args.symbol)
    if symbol == ctx.session.request.symbol:
        return SnapshotResult(snapshot=ctx.session.request.snapshot)
    return SnapshotResult(snapshot=await ctx.desk.snapshot(symbol))


async def get_regime(ctx: HandlerContext, args: GetRegime, _: Approved | None) -> RegimeResult:
    return RegimeResult(regime=await ctx.desk.regime(ctx.symbol(args.symbol)))


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
    return ActionResult(
        execution=report, approved=approved.proposal.model_dump(mode="json"), safety_notes=approved.notes
    )


async def update_memory(ctx: HandlerContext, args: UpdateMemory, _: Approved | None) -> MemoryResult:
    cap = ctx.session.memory_max_chars
    text, redacted = scrub(args.text.strip(), ctx.session.secrets)
    if len(text) > cap:
        raise ToolArgumentError(f"the note has {len(text)} characters; the cap is {cap}: rewrite it shorter")
    ctx.session.memory_update = text
    return MemoryResult(saved_chars=len(text), max_chars=cap, redacted=redacted)


async def schedule_next_check(ctx: HandlerContext, args: ScheduleNextCheck, _: Approved | None) -> ScheduleResult:
    final = args.final is not False
    ctx.session.next_check_seconds = args.seconds
    ctx.session.wake_conditions = tuple(args.wake_conditions)
    ctx.session.final = ctx.session.final or final
    note = "decision complete" if final else "scheduled; continue, and call schedule_next_check again to finish"
    return ScheduleResult(
        next_check_seconds=args.seconds, wake_conditions=tuple(args.wake_conditions), final=final, note=note
    )
