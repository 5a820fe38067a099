"""The pre-trade veto: ``veto(proposal, portfolio, market, limits, breakers, now) -> Approved | Vetoed``.

A pure function of its inputs. Entries pass every rule in a fixed order (the first refusal wins,
so the agent always gets the most fundamental reason). Exits are never blocked by controls or
breakers: an account that can no longer get out of a position is worse than any loss limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import assert_never

from core.money import to_decimal
from safety import rules
from safety.breakers import BreakerBoard
from safety.order_ids import position_id_for
from safety.proposals import (
    AdjustStopProposal,
    AdjustTakeProfitProposal,
    CancelEntryProposal,
    CloseProposal,
    EntryOrderType,
    EntryProposal,
    Proposal,
)
from safety.verdicts import Approved, Verdict, VetoCode, Vetoed
from safety.views import Limits, MarketView, Portfolio, Quote


@dataclass(frozen=True, slots=True)
class _Inputs:
    portfolio: Portfolio
    market: MarketView
    limits: Limits
    board: BreakerBoard
    now: datetime


def veto(  # noqa: PLR0917 -- the documented, positional contract of the safety layer
    proposal: Proposal,
    portfolio: Portfolio,
    market: MarketView,
    limits: Limits,
    breakers: BreakerBoard,
    now: datetime,
) -> Verdict:
    """Judge one proposal. ``limits.mode`` selects the stricter mainnet caps."""
    inputs = _Inputs(portfolio, market, limits, breakers, now)
    match proposal:
        case EntryProposal():
            return _entry(proposal, inputs)
        case CloseProposal():
            return _close(proposal, inputs)
        case AdjustStopProposal():
            return _adjust_stop(proposal, inputs)
        case AdjustTakeProfitProposal():
            return _adjust_take_profit(proposal, inputs)
        case CancelEntryProposal():
            return _cancel_entry(proposal, inputs)
        case _:
            assert_never(proposal)


# ------------------------------------------------------------------ entries


def _entry(p: EntryProposal, x: _Inputs) -> Verdict:
    risk = x.limits.effective
    gate = (
        rules.check_controls(x.board, x.now)
        or rules.check_entry_gates(x.board)
        or rules.check_ip_ban(x.board, x.now)
        or rules.check_daily_order_cap(x.board, risk)
    )
    if gate:
        return gate
    quote = rules.quote_for(x.market, p.symbol)
    if isinstance(quote, Vetoed):
        return quote
    shape = _entry_shape(p, quote, x)
    if isinstance(shape, Vetoed):
        return shape
    return _sized_entry(p, quote, shape, x)


@dataclass(frozen=True, slots=True)
class _Shape:
    reference: Decimal
    stop: Decimal
    take_profit: Decimal | None


def _entry_shape(p: EntryProposal, quote: Quote, x: _Inputs) -> _Shape | Vetoed:
    """Market side, freshness, one-per-symbol, cooldown, fat finger, stop and take-profit: the reference price,
    the quantized stop and take-profit, or the first refusal."""
    risk = x.limits.effective
    refusal = (
        rules.check_market_side(p, quote.rules)
        or rules.check_fresh(quote, risk, x.now)
        or rules.check_equity(x.portfolio)
        or rules.check_one_per_symbol(p, x.portfolio, risk)
        or rules.check_cooldown(p, x.portfolio, risk, x.now)
    )
    if refusal:
        return refusal
    reference = quote.last_price
    if p.order_type is EntryOrderType.LIMIT and p.limit_price is not None:
        reference = quote.rules.price(p.limit_price)
        refusal = rules.check_fat_finger(reference, quote, risk)
        if refusal:
            return refusal
    stop = quote.rules.price(p.stop_loss)
    take_profit = quote.rules.price(p.take_profit) if p.take_profit is not None else None
    refusal = rules.check_stop_distance(p.side, stop, reference, risk) or (
        rules.check_take_profit_side(p.side, take_profit, reference) if take_profit is not None else None
    )
    return refusal or _Shape(reference, stop, take_profit)


def _sized_entry(p: EntryProposal, quote: Quote, shape: _Shape, x: _Inputs) -> Verdict:
    refusal = rules.check_leverage(p, quote.rules, x.limits)
    if refusal:
        return refusal
    allowed = rules.allowed_size_pct(x.portfolio, x.market, x.limits)
    refusal = rules.check_size(p, allowed, x.limits)
    if refusal:
        return refusal
    requested = to_decimal(p.size_pct)
    size = min(requested, allowed)
    notional = x.portfolio.equity * size / rules.HUNDRED
    fitted = rules.quantized_order(quote.rules, notional / shape.reference, shape.reference)
    if isinstance(fitted, Vetoed):
        return fitted
    quantity, price = fitted
    if quote.terms is not None:
        refusal = rules.check_stop_before_liquidation(
            p.side,
            quantity,
            price,
            shape.stop,
            quote.terms,
            cross_wallet=x.portfolio.equity,
            other_maintenance=rules.maintenance_of_others(x.portfolio, x.market, p.symbol),
            margin_pct=to_decimal(x.limits.effective.liquidation_margin_pct),
        )
        if refusal:
            return refusal
    capped = size < requested
    approved = p.model_copy(update={"size_pct": float(size)}) if capped else p
    message = f"approved {p.side.value} {quantity} {p.symbol} at ~{price}, stop {shape.stop}" + (
        f", size capped from {p.size_pct}% to {float(size):.4g}% of equity" if capped else ""
    )
    return Approved(
        proposal=approved,
        message=message,
        position_id=position_id_for(p.idempotency_key),
        quantity=quantity,
        reference_price=price,
        stop_price=shape.stop,
        take_profit_price=shape.take_profit,
        capped_from=p.size_pct if capped else None,
    )


# ------------------------------------------------------------------ changes to open positions


def _close(p: CloseProposal, x: _Inputs) -> Verdict:
    """Always allowed when the position exists; a partial close must leave tradable amounts."""
    position = rules.find_position(x.portfolio, p.symbol, p.position_id)
    if isinstance(position, Vetoed):
        return position
    if p.fraction >= 1:
        return Approved(
            p, f"closing all of {position.id} ({position.quantity} {p.symbol})", position.id, position.quantity
        )
    quote = rules.quote_for(x.market, p.symbol)
    if isinstance(quote, Vetoed):
        return Vetoed(quote.code, quote.message + "; a partial close needs the market's step size (close all instead)")
    rules_ = quote.rules
    quantity = rules_.quantity(position.quantity * to_decimal(p.fraction))
    remainder = position.quantity - quantity
    smallest = min(quantity, remainder)
    if smallest <= 0 or smallest < rules_.min_qty or smallest * quote.last_price < rules_.min_notional:
        return Vetoed(
            VetoCode.BELOW_MIN_QUANTITY,
            f"closing {p.fraction:.0%} of {position.quantity} gives {quantity} and leaves {remainder}; each must be "
            f"at least {rules_.min_qty} and worth {rules_.min_notional} {rules_.quote}; close all instead",
        )
    return Approved(p, f"closing {quantity} of {position.quantity} {p.symbol}", position.id, quantity)


def _adjust_stop(p: AdjustStopProposal, x: _Inputs) -> Verdict:
    position = rules.find_position(x.portfolio, p.symbol, p.position_id)
    if isinstance(position, Vetoed):
        return position
    quote = rules.quote_for(x.market, p.symbol)
    if isinstance(quote, Vetoed):
        return quote
    risk = x.limits.effective
    new_stop = quote.rules.price(p.new_stop)
    refusal = (
        rules.check_fresh(quote, risk, x.now)
        or rules.check_stop_tightens(position, new_stop)
        or rules.check_stop_distance(position.side, new_stop, quote.last_price, risk, what="new stop")
    )
    if refusal:
        return refusal
    return Approved(
        p, f"stop of {position.id} moves from {position.stop_price} to {new_stop}", position.id, stop_price=new_stop
    )


def _adjust_take_profit(p: AdjustTakeProfitProposal, x: _Inputs) -> Verdict:
    position = rules.find_position(x.portfolio, p.symbol, p.position_id)
    if isinstance(position, Vetoed):
        return position
    quote = rules.quote_for(x.market, p.symbol)
    if isinstance(quote, Vetoed):
        return quote
    risk = x.limits.effective
    take_profit = quote.rules.price(p.new_take_profit)
    refusal = (
        rules.check_daily_order_cap(x.board, risk)
        or rules.check_fresh(quote, risk, x.now)
        or rules.check_take_profit_side(position.side, take_profit, quote.last_price)
    )
    if refusal:
        return refusal
    return Approved(p, f"take-profit of {position.id} set to {take_profit}", position.id, take_profit_price=take_profit)


def _cancel_entry(p: CancelEntryProposal, x: _Inputs) -> Verdict:
    pending = [
        e
        for e in x.portfolio.pending_entries
        if e.symbol == p.symbol and (p.position_id is None or e.position_id == p.position_id)
    ]
    if len(pending) != 1:
        detail = "none" if not pending else f"{len(pending)}; name one by position_id"
        return Vetoed(VetoCode.NO_PENDING_ENTRY, f"pending entries in {p.symbol} matching the request: {detail}")
    return Approved(p, f"cancelling pending entry {pending[0].position_id}", pending[0].position_id)
