"""The position guard's decisions: ``plan(record, observed, rules, risk, now) -> list[Action]``. Pure.

The executor calls ``plan`` in rounds: observe the exchange, plan, perform, observe again, until
the plan is empty. Each call returns the actions of the FIRST step that has something to do, in
this order (finalization-first):

a. **terminal** - book the fills of orders that finished; when nothing is left open, finalize
   exactly once (cancel the siblings, record the exit, emit ``PositionClosed``) after verifying the
   exchange is flat on the opposite side (a double fill is bought/sold back first); a position
   that vanished on the exchange is finalized as ``closed_externally``. Nothing else happens to a
   position in a round where this step acts.
c. **break-even** after the first take-profit, and d. **trailing** with an activation threshold:
   these only move the *desired* stop level (state only, never looser); they run before b so a
   stop is never placed at a level that is about to be replaced.
b. **protection** - make the exchange match the desired stop: place a missing stop (or exit at
   market when price is already through it); replace a stop whose level or quantity is stale by
   placing the new one before cancelling the old where reduce-only orders may overlap
   (derivatives), else cancel, verify, place, with a market exit after ``max_stop_attempts``
   failures; keep the take-profit order in place.
e. **watchdog** - price sits through a live stop that has not filled for ``watchdog_grace_s``:
   request a market exit. The exit path cancels the stop and verifies the cancel first (a stop
   that filled meanwhile is booked and finalized instead), then exits the remaining quantity at
   market, then step a verifies the exchange position (post-market verify).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from core.ids import ClientOrderId, Symbol
from core.money import MarketRules, to_decimal
from core.settings import RiskSettings
from core.types import ClosedTrade, ExitReason, Order, OrderIntent, OrderType, Position, PositionSide
from safety.accounting import closed_trade
from safety.guard_state import ZERO, ExitOrder, ExitRequest, GuardRecord, Leg, Observed
from safety.order_ids import OrderRole, order_id, role_of
from safety.rules import HUNDRED, is_protective, is_tighter_or_equal

# ------------------------------------------------------------------ actions


@dataclass(frozen=True, slots=True)
class Update:
    """Persist a state-only change (no exchange call)."""

    record: GuardRecord
    why: str


@dataclass(frozen=True, slots=True)
class Place:
    """Send an order. ``on_success`` is the record once the exchange has it (also used when the
    outcome is unknown, so the id is watched and never duplicated); ``on_failure`` when refused."""

    intent: OrderIntent
    why: str
    on_success: GuardRecord
    on_failure: GuardRecord


@dataclass(frozen=True, slots=True)
class Cancel:
    """Cancel an order; the exchange's answer (cancelled, or filled meanwhile) is observed next round."""

    order_id: ClientOrderId
    symbol: Symbol
    why: str


@dataclass(frozen=True, slots=True)
class Finalize:
    """Cancel the siblings, record the exit and emit ``PositionClosed``: exactly once per position."""

    record: GuardRecord
    trade: ClosedTrade
    cancel: tuple[ClientOrderId, ...]


@dataclass(frozen=True, slots=True)
class Warn:
    """Something a human should know (it becomes an alert); accompanies other actions."""

    kind: str
    message: str


Action = Update | Place | Cancel | Finalize | Warn


@dataclass(frozen=True, slots=True)
class GuardInputs:
    record: GuardRecord
    observed: Observed
    rules: MarketRules
    risk: RiskSettings
    client_id_prefix: str
    now: datetime

    @property
    def overlap_allowed(self) -> bool:
        """Reduce-only conditional orders may coexist (derivatives); on spot the stop locks the balance."""
        return self.rules.contract


def plan(
    record: GuardRecord, observed: Observed, rules: MarketRules, risk: RiskSettings, *, prefix: str, now: datetime
) -> list[Action]:
    """The next actions for one position; ``[]`` when it is as it should be.

    ``prefix`` is the run's client-id prefix (new order ids are derived from it).
    """
    x = GuardInputs(record, observed, rules, risk, prefix, now)
    for step in (_book_fills, _terminal, _tidy, _exit_in_progress, _break_even, _trail, _protect, _watchdog):
        actions = step(x)
        if actions:
            return actions
    return []


# ------------------------------------------------------------------ a. terminal detection


def _book_fills(x: GuardInputs) -> list[Action]:
    """Book every finished order of the position that has fills and is not booked yet."""
    rec = x.record
    legs, corrections = list(rec.legs), list(rec.corrections)
    for cid in rec.referenced():
        order = x.observed.orders.get(cid)
        if order is None or not order.status.is_terminal or order.filled_quantity <= 0:
            continue
        leg = _leg(rec, order, x)
        (corrections if leg.role is OrderRole.CORRECTION else legs).append(leg)
    if len(legs) == len(rec.legs) and len(corrections) == len(rec.corrections):
        return []
    booked = rec.model_copy(update={"legs": tuple(legs), "corrections": tuple(corrections)})
    if booked.remaining > 0:
        booked = booked.model_copy(update={"position": rec.position.model_copy(update={"quantity": booked.remaining})})
    return [Update(booked, "booked fills: " + ", ".join(f"{leg.order_id} {leg.quantity}@{leg.price}" for leg in legs))]


def _leg(rec: GuardRecord, order: Order, x: GuardInputs) -> Leg:
    role = role_of(order.client_order_id)
    price = order.average_price or order.intent.stop_price or order.intent.price or x.observed.price
    return Leg(
        order_id=order.client_order_id,
        role=role,
        reason=_reason_for(rec, order.client_order_id, role),
        quantity=order.filled_quantity,
        price=price,
        fee=order.fee,
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


def _terminal(x: GuardInputs) -> list[Action]:
    rec, obs = x.record, x.observed
    if rec.remaining <= 0 or _is_dust(rec.remaining, x):
        return _close_out(x)
    if obs.exchange_quantity is not None and obs.exchange_quantity <= 0:
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
    return []


def _is_dust(remaining: Decimal, x: GuardInputs) -> bool:
    """A remainder the exchange would refuse to protect or sell: it is closed out, with a warning."""
    return (
        remaining > 0
        and (remaining < x.rules.min_qty or remaining * x.observed.price < x.rules.min_notional)
        and (x.record.booked_quantity > 0)
    )


def _close_out(x: GuardInputs) -> list[Action]:
    """Nothing left by our books: post-market verify, correct a double fill, then finalize."""
    rec, obs = x.record, x.observed
    overshoot = -rec.remaining - rec.corrected_quantity
    if obs.opposite_quantity > 0 and overshoot > 0:
        if any(obs.is_live(c) for c in rec.correction_orders):
            return []
        return [_correction(min(obs.opposite_quantity, overshoot), x)]
    actions: list[Action] = []
    if obs.opposite_quantity > 0:
        actions.append(
            Warn("position_mismatch", f"{rec.symbol}: {obs.opposite_quantity} on the opposite side unexplained")
        )
    if obs.exchange_quantity is not None and obs.exchange_quantity > 0 and rec.remaining <= 0:
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


def _tidy(x: GuardInputs) -> list[Action]:
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
    return [Update(rec.model_copy(update=update), "tidy: " + ", ".join(sorted(update)))] if update else []


def _forget_finished(rec: GuardRecord, done: Callable[[ClientOrderId], bool]) -> Position:
    pos = rec.position
    changes: dict[str, object] = {}
    if pos.stop_order_id is not None and done(pos.stop_order_id):
        changes["stop_order_id"] = None
    if pos.take_profit_order_id is not None and done(pos.take_profit_order_id):
        changes["take_profit_order_id"] = None
    return pos.model_copy(update=changes) if changes else pos


# ------------------------------------------------------------------ exits (agent, operator, watchdog, fallback)


def request_exit(record: GuardRecord, reason: ExitReason, quantity: Decimal | None, now: datetime) -> GuardRecord:
    """Ask the guard to exit ``quantity`` (``None`` = all) at market; the first request wins."""
    if record.exit_request is not None and record.exit_request.target_remaining <= 0:
        return record
    target = ZERO if quantity is None else max(ZERO, record.remaining - quantity)
    return record.model_copy(
        update={"exit_request": ExitRequest(reason=reason, target_remaining=target, requested_at=now)}
    )


def _exit_in_progress(x: GuardInputs) -> list[Action]:
    rec, obs = x.record, x.observed
    request = rec.exit_request
    if request is None:
        return []
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


# ------------------------------------------------------------------ c. break-even and d. trailing (levels only)


def tighter(side: PositionSide, a: Decimal, b: Decimal) -> Decimal:
    """The tighter of two stops: the higher for a long, the lower for a short."""
    return a if is_tighter_or_equal(side, a, b) else b


def _with_stop(rec: GuardRecord, stop: Decimal, **extra: object) -> GuardRecord:
    """A new desired stop level, which can only tighten (the one place the level changes)."""
    pos = rec.position
    level = tighter(pos.side, stop, pos.stop_price)
    return rec.model_copy(update={"position": pos.model_copy(update={"stop_price": level, **extra})})


def _break_even(x: GuardInputs) -> list[Action]:
    rec = x.record
    pos = rec.position
    if pos.break_even_done or not _took_profit(rec):
        return []
    offset = to_decimal(x.risk.break_even_offset_pct) / HUNDRED
    sign = 1 if pos.side is PositionSide.LONG else -1
    level = x.rules.price(pos.entry_price * (1 + sign * offset), "up" if sign > 0 else "down")
    moved = _with_stop(rec, level, break_even_done=True)
    return [Update(moved, f"take-profit 1 filled: stop to break-even {moved.position.stop_price}")]


def _trail(x: GuardInputs) -> list[Action]:
    rec, price = x.record, x.observed.price
    pos = rec.position
    if pos.trailing_activation_pct is None or pos.trailing_distance_pct is None:
        return []
    best = tighter(pos.side, price, rec.best_price or pos.entry_price)  # best = furthest in the profit direction
    gain_pct = (best - pos.entry_price) / pos.entry_price * HUNDRED * (1 if pos.side is PositionSide.LONG else -1)
    if gain_pct < to_decimal(pos.trailing_activation_pct):
        return [Update(rec.model_copy(update={"best_price": best}), "new best price")] if best != rec.best_price else []
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
    return [Update(rec.model_copy(update={"best_price": best}), "new best price")] if best != rec.best_price else []


# ------------------------------------------------------------------ b. protection


def _protect(x: GuardInputs) -> list[Action]:
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


def _maintain(current: Order, x: GuardInputs) -> list[Action]:
    """A stop is live: replace it if stale, clear replaced orders, then see to the take-profit."""
    rec = x.record
    stale_quantity = current.filled_quantity == 0 and current.intent.quantity != rec.remaining
    if current.intent.stop_price != rec.position.stop_price or stale_quantity:
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
    return [Place(_stop_intent(x, cid), f"protective stop at {rec.position.stop_price}", placed, failed)]


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
    return [
        Place(_stop_intent(x, cid), f"new stop at {rec.position.stop_price} before cancelling {old}", placed, failed)
    ]


def _take_profit(x: GuardInputs) -> list[Action]:
    """Keep the first take-profit working: a real order where orders may overlap, else watched here."""
    rec, obs = x.record, x.observed
    pos = rec.position
    if pos.take_profit_price is None or _took_profit(rec):
        return []
    quantity = _take_profit_quantity(x)
    if not x.overlap_allowed:
        # price at or beyond the take-profit (a long: price >= take-profit)
        reached = is_protective(pos.side, pos.take_profit_price, obs.price) or obs.price == pos.take_profit_price
        if not reached:
            return []
        # Spot: the stop locks the balance, so the take-profit is a guard-driven market exit.
        asked = request_exit(rec, ExitReason.TAKE_PROFIT, quantity, x.now)
        return [Update(asked, f"take-profit {pos.take_profit_price} reached at {obs.price}")]
    live = obs.live_order(pos.take_profit_order_id)
    if live is not None and live.intent.stop_price == pos.take_profit_price:
        return []
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
    return [
        Place(intent, f"take-profit {quantity} at {pos.take_profit_price}", placed, rec.model_copy(update={"seq": seq}))
    ]


def _took_profit(rec: GuardRecord) -> bool:
    return any(leg.reason is ExitReason.TAKE_PROFIT for leg in rec.legs)


def _take_profit_quantity(x: GuardInputs) -> Decimal:
    """The first take-profit's share, or everything when the rest would be unsellable dust."""
    rec = x.record
    share = x.rules.quantity(rec.original_quantity * to_decimal(x.risk.take_profit_fraction))
    rest = rec.remaining - share
    price = rec.position.take_profit_price or x.observed.price
    if share <= 0 or share < x.rules.min_qty or rest <= 0 or _below_minimums(rest, price, x.rules):
        return rec.remaining
    return min(share, rec.remaining)


def _below_minimums(quantity: Decimal, price: Decimal, rules: MarketRules) -> bool:
    return quantity < rules.min_qty or quantity * price < rules.min_notional


# ------------------------------------------------------------------ e. watchdog


def _watchdog(x: GuardInputs) -> list[Action]:
    rec, obs = x.record, x.observed
    pos = rec.position
    current = obs.live_order(pos.stop_order_id)
    trigger = current.intent.stop_price if current is not None else None
    breached = trigger is not None and not is_protective(pos.side, trigger, obs.price)
    if not breached:
        if rec.breach_seen_at is not None:
            return [Update(rec.model_copy(update={"breach_seen_at": None}), "price back on the safe side of the stop")]
        return []
    seen = rec.breach_seen_at or x.now
    if x.now - seen < timedelta(seconds=x.risk.watchdog_grace_s):
        return (
            []
            if rec.breach_seen_at is not None
            else [Update(rec.model_copy(update={"breach_seen_at": seen}), "breach seen")]
        )
    warn = Warn(
        "stop_not_filled", f"{rec.id}: price {obs.price} is through the stop {trigger} since {seen.isoformat()}"
    )
    return [warn, Update(request_exit(rec, ExitReason.WATCHDOG, None, x.now), "watchdog: stop did not fill")]
