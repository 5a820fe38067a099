"""Guard steps c (break-even), d (trailing), b (protection, take-profit) and e (watchdog).

c and d only move the desired stop level, and only tighter (:func:`_with_stop` is the one place
the level changes); b makes the exchange match that level; e catches a stop that did not fill.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from core.ids import ClientOrderId
from core.money import to_decimal
from core.types import ExitReason, Order, OrderIntent, OrderType, PositionSide
from safety.guard_actions import Action, Cancel, GuardInputs, Place, Update, Warn
from safety.guard_state import GuardRecord, request_exit
from safety.order_ids import OrderRole, order_id, role_of
from safety.rules import HUNDRED, is_protective, is_tighter_or_equal, tradable


def tighter(side: PositionSide, a: Decimal, b: Decimal) -> Decimal:
    """The tighter of two stops: the higher for a long, the lower for a short."""
    return a if is_tighter_or_equal(side, a, b) else b


def _with_stop(rec: GuardRecord, stop: Decimal, **extra: object) -> GuardRecord:
    """A new desired stop level, which can only tighten (the one place the level changes)."""
    pos = rec.position
    level = tighter(pos.side, stop, pos.stop_price)
    return rec.model_copy(update={"position": pos.model_copy(update={"stop_price": level, **extra})})


def break_even(x: GuardInputs) -> list[Action] | None:
    rec = x.record
    pos = rec.position
    if pos.break_even_done or not _took_profit(rec):
        return None
    offset = to_decimal(x.risk.break_even_offset_pct) / HUNDRED
    sign = 1 if pos.side is PositionSide.LONG else -1
    level = x.rules.price(pos.entry_price * (1 + sign * offset), "up" if sign > 0 else "down")
    moved = _with_stop(rec, level, break_even_done=True)
    return [Update(moved, f"take-profit 1 filled: stop to break-even {moved.position.stop_price}")]


def trail(x: GuardInputs) -> list[Action] | None:
    rec, price = x.record, x.observed.price
    pos = rec.position
    if pos.trailing_activation_pct is None or pos.trailing_distance_pct is None:
        return None
    best = tighter(pos.side, price, rec.best_price or pos.entry_price)  # best = furthest in the profit direction
    gain_pct = (best - pos.entry_price) / pos.entry_price * HUNDRED * (1 if pos.side is PositionSide.LONG else -1)
    if gain_pct < to_decimal(pos.trailing_activation_pct):
        return (
            [Update(rec.model_copy(update={"best_price": best}), "new best price")] if best != rec.best_price else None
        )
    distance = to_decimal(pos.trailing_distance_pct) / HUNDRED
    long = pos.side is PositionSide.LONG
    candidate = x.rules.price(best * (1 - distance) if long else best * (1 + distance), "down" if long else "up")
    step = abs(candidate - pos.stop_price) / price * HUNDRED
    if (
        is_tighter_or_equal(pos.side, candidate, pos.stop_price)
        and candidate != pos.stop_price
        and step >= to_decimal(x.risk.trailing_min_step_pct)
        and is_protective(pos.side, candidate, price)
    ):
        moved = _with_stop(rec, candidate).model_copy(update={"best_price": best, "trailed": True})
        return [Update(moved, f"trailing stop to {candidate} (best {best})")]
    return [Update(rec.model_copy(update={"best_price": best}), "new best price")] if best != rec.best_price else None


# ------------------------------------------------------------------ b. protection


def protect(x: GuardInputs) -> list[Action] | None:
    rec, obs = x.record, x.observed
    pos = rec.position
    if not is_protective(pos.side, pos.stop_price, obs.price) and not _live_stop_at(x, pos.stop_price):
        why = f"price {obs.price} already through {pos.stop_price}"
        return [Update(request_exit(rec, ExitReason.STOP_LOSS, None, x.now), why)]
    current = obs.live_order(pos.stop_order_id)
    if current is None:
        still = next((c for c in rec.retired if obs.is_live(c) and role_of(c) is OrderRole.STOP), None)
        if still is not None:  # the replacement died but the old stop still protects: adopt it again
            back = rec.model_copy(
                update={
                    "retired": tuple(c for c in rec.retired if c != still),
                    "position": pos.model_copy(update={"stop_order_id": still}),
                }
            )
            return [Update(back, f"re-adopted live stop {still}")]
        return _place_stop(x)
    return _maintain(current, x)


def _maintain(current: Order, x: GuardInputs) -> list[Action] | None:
    """A stop is live: replace it if stale, clear replaced orders, then see to the take-profit."""
    rec = x.record
    trigger = current.intent.stop_price
    if (
        trigger is not None
        and trigger != rec.position.stop_price
        and tighter(rec.side, trigger, rec.position.stop_price) == trigger
    ):
        # The exchange holds a tighter stop than our record (placed before a crash that lost the save):
        # adopt its level rather than replace it with a looser one. Stops only tighten.
        return [Update(_with_stop(rec, trigger), f"adopted the tighter live stop {trigger}")]
    stale_quantity = current.filled_quantity == 0 and current.intent.quantity != rec.remaining
    if trigger != rec.position.stop_price or stale_quantity:
        return _replace_stop(current, x)
    leftovers = [c for c in rec.retired if x.observed.is_live(c)]
    if leftovers:
        return [Cancel(c, rec.symbol, "replaced by the live stop/take-profit") for c in leftovers]
    if rec.protected_at is None:
        return [Update(rec.model_copy(update={"protected_at": x.now, "stop_failures": 0}), "protected")]
    return _take_profit(x)


def _live_stop_at(x: GuardInputs, level: Decimal) -> bool:
    """A live stop already sits at ``level``: price being through it is the watchdog's case."""
    live = x.observed.live_order(x.record.position.stop_order_id)
    return live is not None and live.intent.stop_price == level


def _stop_intent(x: GuardInputs, cid: ClientOrderId) -> OrderIntent:
    rec = x.record
    return OrderIntent(
        client_order_id=cid,
        symbol=rec.symbol,
        side=rec.side.exit_side,
        type=OrderType.STOP_MARKET,
        quantity=rec.remaining,
        stop_price=rec.position.stop_price,
        reduce_only=x.overlap_allowed,
    )


def _place_stop(x: GuardInputs) -> list[Action]:
    rec = x.record
    if rec.stop_failures >= x.risk.max_stop_attempts:
        warn = Warn("unprotected_position", f"{rec.id}: {rec.stop_failures} stop placements failed; exiting at market")
        return [warn, Update(request_exit(rec, ExitReason.WATCHDOG, None, x.now), "stop placement failed repeatedly")]
    seq = rec.seq + 1
    cid = order_id(x.client_id_prefix, rec.id, OrderRole.STOP, seq)
    placed = rec.model_copy(update={"seq": seq, "position": rec.position.model_copy(update={"stop_order_id": cid})})
    failed = rec.model_copy(update={"seq": seq, "stop_failures": rec.stop_failures + 1})
    passed = request_exit(rec.model_copy(update={"seq": seq}), ExitReason.STOP_LOSS, None, x.now)
    return [Place(_stop_intent(x, cid), f"protective stop at {rec.position.stop_price}", placed, failed, passed)]


def _replace_stop(current: Order, x: GuardInputs) -> list[Action]:
    rec = x.record
    old = current.client_order_id
    if not x.overlap_allowed:
        return [Cancel(old, rec.symbol, f"replace stop {current.intent.stop_price} -> {rec.position.stop_price}")]
    seq = rec.seq + 1
    cid = order_id(x.client_id_prefix, rec.id, OrderRole.STOP, seq)
    placed = rec.model_copy(
        update={
            "seq": seq,
            "retired": (*rec.retired, old),
            "position": rec.position.model_copy(update={"stop_order_id": cid}),
        }
    )
    failed = rec.model_copy(update={"seq": seq, "stop_failures": rec.stop_failures + 1})
    passed = request_exit(rec.model_copy(update={"seq": seq}), ExitReason.STOP_LOSS, None, x.now)
    why = f"new stop at {rec.position.stop_price} before cancelling {old}"
    return [Place(_stop_intent(x, cid), why, placed, failed, passed)]


def _take_profit(x: GuardInputs) -> list[Action] | None:
    """Keep the first take-profit working: a real order where orders may overlap, else watched here."""
    rec, obs = x.record, x.observed
    pos = rec.position
    if pos.take_profit_price is None or _took_profit(rec):
        return None
    quantity = _take_profit_quantity(x)
    # price at or beyond the take-profit (a long: price >= take-profit)
    reached = is_protective(pos.side, pos.take_profit_price, obs.price) or obs.price == pos.take_profit_price
    if reached and (not x.overlap_allowed or obs.live_order(pos.take_profit_order_id) is None):
        # Spot (the stop locks the balance), or a take-profit order the market has already passed:
        # the take-profit is a guard-driven market exit of its share.
        asked = request_exit(rec, ExitReason.TAKE_PROFIT, quantity, x.now)
        return [Update(asked, f"take-profit {pos.take_profit_price} reached at {obs.price}")]
    if not x.overlap_allowed:
        return None
    live = obs.live_order(pos.take_profit_order_id)
    if (
        live is not None
        and live.intent.stop_price == pos.take_profit_price
        and (live.filled_quantity > 0 or live.intent.quantity == quantity)
    ):
        return None  # in place (a partial close since it was placed resizes it)
    seq = rec.seq + 1
    cid = order_id(x.client_id_prefix, rec.id, OrderRole.TAKE_PROFIT, seq)
    intent = OrderIntent(
        client_order_id=cid,
        symbol=rec.symbol,
        side=rec.side.exit_side,
        type=OrderType.TAKE_PROFIT,
        quantity=quantity,
        stop_price=pos.take_profit_price,
        reduce_only=True,
    )
    retired = (*rec.retired, live.client_order_id) if live is not None else rec.retired
    placed = rec.model_copy(
        update={"seq": seq, "retired": retired, "position": pos.model_copy(update={"take_profit_order_id": cid})}
    )
    failed = rec.model_copy(update={"seq": seq})
    passed = request_exit(failed, ExitReason.TAKE_PROFIT, quantity, x.now)
    return [Place(intent, f"take-profit {quantity} at {pos.take_profit_price}", placed, failed, passed)]


def _took_profit(rec: GuardRecord) -> bool:
    return any(leg.reason is ExitReason.TAKE_PROFIT for leg in rec.legs)


def _take_profit_quantity(x: GuardInputs) -> Decimal:
    """The first take-profit's share, or everything when the rest would be unsellable dust. A managed
    holding's take-profit closes all of it: the operator approved one stop and one target."""
    rec = x.record
    if rec.managed is not None:
        return rec.remaining
    share = x.rules.quantity(rec.original_quantity * to_decimal(x.risk.take_profit_fraction))
    rest = rec.remaining - share
    price = rec.position.take_profit_price or x.observed.price
    if not tradable(share, price, x.rules) or rest <= 0 or not tradable(rest, x.observed.price, x.rules):
        return rec.remaining
    return min(share, rec.remaining)


# ------------------------------------------------------------------ e. watchdog


def watchdog(x: GuardInputs) -> list[Action] | None:
    rec, obs = x.record, x.observed
    pos = rec.position
    current = obs.live_order(pos.stop_order_id)
    trigger = current.intent.stop_price if current is not None else None
    breached = trigger is not None and not is_protective(pos.side, trigger, obs.price)
    if not breached:
        if rec.breach_seen_at is not None:
            return [Update(rec.model_copy(update={"breach_seen_at": None}), "price back on the safe side of the stop")]
        return None
    seen = rec.breach_seen_at or x.now
    if x.now - seen < timedelta(seconds=x.risk.watchdog_grace_s):
        return (
            None
            if rec.breach_seen_at is not None
            else [Update(rec.model_copy(update={"breach_seen_at": seen}), "breach seen")]
        )
    warn = Warn(
        "stop_not_filled", f"{rec.id}: price {obs.price} is through the stop {trigger} since {seen.isoformat()}"
    )
    return [warn, Update(request_exit(rec, ExitReason.WATCHDOG, None, x.now), "watchdog: stop did not fill")]
