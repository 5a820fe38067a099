"""Exits in progress (agent, operator, watchdog, take-profit on spot, fallback): clear the
protective orders where needed, send the market exit, wait for it."""

from __future__ import annotations

from decimal import Decimal

from core.types import ExitReason, OrderIntent, OrderType
from safety.guard_actions import Action, Cancel, GuardInputs, Place, Update
from safety.guard_state import ExitOrder
from safety.order_ids import OrderRole, order_id, role_of


def exit_in_progress(x: GuardInputs) -> list[Action] | None:
    """While an exit is requested nothing else happens to the position (``[]`` = wait for it)."""
    rec, obs = x.record, x.observed
    request = rec.exit_request
    if request is None:
        return None
    full = request.target_remaining <= 0
    if full or not x.overlap_allowed:
        # Cancel (and verify next round) every stop and take-profit first: a stop that fills
        # meanwhile is booked and finalized as a stop, and no fill can double the market exit.
        live = [c for c in rec.referenced() if obs.is_live(c) and role_of(c) in (OrderRole.STOP, OrderRole.TAKE_PROFIT)]
        if live:
            return [
                Cancel(c, rec.symbol, f"exit ({request.reason.value}): clear protective orders first") for c in live
            ]
    if any(obs.is_live(e.order_id) for e in rec.exits):
        return []  # an exit order is working; wait for it
    quantity = x.rules.quantity(rec.remaining - request.target_remaining) if not full else rec.remaining
    if quantity <= 0:
        return [Update(rec.model_copy(update={"exit_request": None}), "exit request below the step size dropped")]
    return [_market_exit(quantity, request.reason, x)]


def _market_exit(quantity: Decimal, reason: ExitReason, x: GuardInputs) -> Place:
    rec = x.record
    seq = rec.seq + 1
    cid = order_id(x.client_id_prefix, rec.id, OrderRole.EXIT, seq)
    intent = OrderIntent(
        client_order_id=cid,
        symbol=rec.symbol,
        side=rec.side.exit_side,
        type=OrderType.MARKET,
        quantity=quantity,
        reduce_only=x.overlap_allowed,
    )
    sent = rec.model_copy(update={"seq": seq, "exits": (*rec.exits, ExitOrder(order_id=cid, reason=reason))})
    return Place(intent, f"market exit of {quantity} ({reason.value})", sent, rec.model_copy(update={"seq": seq}))
