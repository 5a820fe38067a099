"""Guard step a (terminal detection: book fills, verify, finalize exactly once) and housekeeping."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from core.ids import ClientOrderId
from core.types import ExitReason, Order, OrderIntent, OrderType, Position
from safety.accounting import closed_trade
from safety.guard_actions import Action, Cancel, Finalize, GuardInputs, Place, Update, Warn
from safety.guard_state import ZERO, GuardRecord, Leg
from safety.order_ids import OrderRole, order_id, role_of
from safety.rules import tradable


def book_fills(x: GuardInputs) -> list[Action] | None:
    """Book every finished order of the position that has fills and is not booked yet."""
    rec = x.record
    legs, corrections = list(rec.legs), list(rec.corrections)
    for cid in rec.referenced():
        order = x.observed.orders.get(cid)
        if order is None or not order.status.is_terminal or order.filled_quantity <= 0:
            continue
        if role_of(cid) is OrderRole.ENTRY:
            continue  # an entry fill opens a position, it never closes one
        leg = _leg(rec, order, x)
        (corrections if leg.role is OrderRole.CORRECTION else legs).append(leg)
    if len(legs) == len(rec.legs) and len(corrections) == len(rec.corrections):
        return None
    booked = rec.model_copy(update={"legs": tuple(legs), "corrections": tuple(corrections)})
    if booked.remaining > 0:
        booked = booked.model_copy(update={"position": rec.position.model_copy(update={"quantity": booked.remaining})})
    return [Update(booked, "booked fills: " + ", ".join(f"{leg.order_id} {leg.quantity}@{leg.price}" for leg in legs))]


def _leg(rec: GuardRecord, order: Order, x: GuardInputs) -> Leg:
    """A booked fill: the quantity it moved in the account (a spot buy-back delivers its net quantity) and its
    fee in the quote asset."""
    role = role_of(order.client_order_id)
    price = order.average_price or order.intent.stop_price or order.intent.price or x.observed.price
    fee = x.rules.fee_in_quote(
        order.fee, order.fee_asset, base_fee=order.base_fee, quantity=order.filled_quantity, price=price
    )
    return Leg(
        order_id=order.client_order_id,
        role=role,
        reason=_reason_for(rec, order.client_order_id, role),
        quantity=order.net_quantity,
        price=price,
        fee=fee,
        at=order.updated_at,
    )


def _reason_for(rec: GuardRecord, cid: ClientOrderId, role: OrderRole) -> ExitReason:
    match role:
        case OrderRole.STOP:
            return ExitReason.TRAILING_STOP if rec.trailed else ExitReason.STOP_LOSS
        case OrderRole.TAKE_PROFIT:
            return ExitReason.TAKE_PROFIT
        case OrderRole.EXIT:
            return rec.exit_reason_of(cid) or ExitReason.WATCHDOG
        case OrderRole.CORRECTION | OrderRole.ENTRY:
            return ExitReason.WATCHDOG


def terminal(x: GuardInputs) -> list[Action] | None:
    """Close out what our books say is finished (or is dust), or what the exchange says is gone.

    "Gone" means the exchange position on our side is below what the market would trade (zero on
    derivatives, unsellable dust on spot)."""
    rec, obs = x.record, x.observed
    if rec.remaining <= 0 or not tradable(rec.remaining, obs.price, x.rules):
        return _close_out(x)
    if obs.exchange_quantity is not None and not tradable(obs.exchange_quantity, obs.price, x.rules):
        live_partial = [c for c in rec.referenced() if obs.is_live(c) and obs.orders[c].filled_quantity > 0]
        if live_partial:  # let those finish so their fills are booked, not guessed
            return [Cancel(c, rec.symbol, "position gone on the exchange; settle partial fill") for c in live_partial]
        leg = Leg(
            order_id=ClientOrderId(f"external-{rec.id}"),
            role=OrderRole.EXIT,
            reason=ExitReason.CLOSED_EXTERNALLY,
            quantity=rec.remaining,
            price=obs.price,
            fee=ZERO,
            at=x.now,
        )
        gone = rec.model_copy(update={"legs": (*rec.legs, leg)})
        warn = Warn("position_vanished", f"{rec.id} ({rec.symbol}) is gone on the exchange; closed externally")
        return [warn, _finalize(gone, x)]
    return None


def _close_out(x: GuardInputs) -> list[Action]:
    """Nothing left by our books: post-market verify, correct a double fill, then finalize."""
    rec, obs = x.record, x.observed
    overshoot = -rec.remaining - rec.corrected_quantity
    if obs.opposite_quantity > 0 and overshoot > 0:
        if any(obs.is_live(c) for c in rec.correction_orders):
            return []  # the correction is working: wait for it, do nothing else
        return [_correction(min(obs.opposite_quantity, overshoot), x)]
    actions: list[Action] = []
    if obs.opposite_quantity > 0:
        actions.append(
            Warn("position_mismatch", f"{rec.symbol}: {obs.opposite_quantity} on the opposite side unexplained")
        )
    left = obs.exchange_quantity
    if left is not None and left > 0 and rec.remaining <= 0 and x.rules.contract and tradable(left, obs.price, x.rules):
        # Futures only: on spot the coin balance left after our fills sold the whole position is not this
        # position's: it is the dust each buy's fee in the coin leaves (Binance without BNB), which adds up over
        # trades, or coins reconciliation sets aside as the operator's.
        actions.append(
            Warn(
                "position_mismatch",
                f"{rec.id} is fully exited by our fills but the exchange shows {obs.exchange_quantity}",
            )
        )
    if rec.remaining > 0:
        actions.append(Warn("dust_left", f"{rec.id}: {rec.remaining} {rec.symbol} is below the market minimums"))
    return [*actions, _finalize(rec, x)]


def _correction(quantity: Decimal, x: GuardInputs) -> Place:
    rec = x.record
    seq = rec.seq + 1
    cid = order_id(x.client_id_prefix, rec.id, OrderRole.CORRECTION, seq)
    intent = OrderIntent(
        client_order_id=cid,
        symbol=rec.symbol,
        side=rec.side.entry_side,
        type=OrderType.MARKET,
        quantity=quantity,
        reduce_only=x.overlap_allowed,
    )
    return Place(
        intent,
        f"double fill: {quantity} beyond the position was exited; buying/selling it back",
        rec.model_copy(update={"seq": seq, "correction_orders": (*rec.correction_orders, cid)}),
        rec.model_copy(update={"seq": seq}),
    )


def _finalize(rec: GuardRecord, x: GuardInputs) -> Finalize:
    siblings = tuple(c for c in rec.referenced() if x.observed.is_live(c))
    return Finalize(rec, closed_trade(rec, x.now), siblings)


# ------------------------------------------------------------------ housekeeping


def tidy(x: GuardInputs) -> list[Action] | None:
    """Forget finished orders (booked, or gone without fills) and a satisfied exit request."""
    rec = x.record

    def done(cid: ClientOrderId) -> bool:
        return rec.booked(cid) or x.observed.is_dead(cid)

    update: dict[str, object] = {
        "retired": tuple(c for c in rec.retired if not done(c)),
        "exits": tuple(e for e in rec.exits if not done(e.order_id)),
        "correction_orders": tuple(c for c in rec.correction_orders if not done(c)),
    }
    update = {k: v for k, v in update.items() if v != getattr(rec, k)}
    position = _forget_finished(rec, done)
    if position is not rec.position:
        update["position"] = position
    if rec.exit_request is not None and rec.remaining <= rec.exit_request.target_remaining:
        update["exit_request"] = None
        update["breach_seen_at"] = None
    return [Update(rec.model_copy(update=update), "tidy: " + ", ".join(sorted(update)))] if update else None


def _forget_finished(rec: GuardRecord, done: Callable[[ClientOrderId], bool]) -> Position:
    pos = rec.position
    changes: dict[str, object] = {}
    if pos.stop_order_id is not None and done(pos.stop_order_id):
        changes["stop_order_id"] = None
    if pos.take_profit_order_id is not None and done(pos.take_profit_order_id):
        changes["take_profit_order_id"] = None
    return pos.model_copy(update=changes) if changes else pos
