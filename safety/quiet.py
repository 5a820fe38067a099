"""Where the next price of a symbol makes the safety layer act (``core.quiet.QuietBand``). Pure.

For a position whose guard plan came out empty at its last look (settled), nothing on the exchange changes
without a fill, so the plan (``safety.guard.plan``) can only change its mind through the price. Step by step,
the prices at which it would:

a. terminal: on spot, below ``min_notional / quantity`` the remainder (or the exchange's holding) is dust;
d. trailing: a new best price (the guard records it, and may move the stop); an activated trailing stop that
   still waits for its minimum step could move at another price without a new best: every candle then;
b. take-profit: on spot the guard exits the take-profit share itself when the price reaches it (a futures
   take-profit rests on the exchange: ``exchange.sim.quiet``);
e. watchdog: the price through the live stop's trigger.

Anything in motion (an exit requested, a breach being watched, replaced orders not yet confirmed, protection
not yet seen) acts on the next event whatever the price: ``EVERY_CANDLE``. ``tests/safety/test_quiet.py`` checks
the band against ``plan`` itself at prices inside and outside it.
"""

from __future__ import annotations

from core.money import MarketRules, to_decimal
from core.quiet import EVERY_CANDLE, QUIET, QuietBand
from core.types import ExitReason, PositionSide
from safety.guard_state import GuardRecord, Observed
from safety.rules import HUNDRED, is_tighter_or_equal


def position_band(record: GuardRecord, observed: Observed, rules: MarketRules) -> QuietBand:
    """The prices at which ``plan(record, observed at that price)`` is not empty, for a record the plan left
    settled at ``observed.price``."""
    pos = record.position
    in_motion = (
        record.exit_request is not None
        or record.breach_seen_at is not None
        or record.protected_at is None
        or record.retired
        or record.exits
        or record.correction_orders
    )
    stop = observed.live_order(pos.stop_order_id)
    if in_motion or stop is None or stop.intent.stop_price is None:
        return EVERY_CANDLE
    long = pos.side is PositionSide.LONG
    band = _dust(record, observed, rules)
    trailing = _trailing(record, rules)
    if trailing is None:
        return EVERY_CANDLE
    band = band.merge(trailing)
    if pos.take_profit_price is not None and not rules.contract and not _took_profit(record):
        tp = pos.take_profit_price
        band = band.merge(QuietBand(close_high=tp) if long else QuietBand(close_low=tp))
    trigger = stop.intent.stop_price
    return band.merge(QuietBand(close_low=trigger) if long else QuietBand(close_high=trigger))


def _dust(record: GuardRecord, observed: Observed, rules: MarketRules) -> QuietBand:
    """Spot: below this price the remainder (or the exchange's holding) no longer makes the minimum notional."""
    if rules.contract or rules.min_notional <= 0:
        return QUIET
    quantities = [q for q in (record.remaining, observed.exchange_quantity) if q is not None and q > 0]
    return QuietBand(close_low=max(rules.min_notional / q for q in quantities)) if quantities else QUIET


def _trailing(record: GuardRecord, rules: MarketRules) -> QuietBand | None:
    """A new best price acts; ``None`` when the trailing stop may move without one (every candle)."""
    pos = record.position
    if pos.trailing_activation_pct is None or pos.trailing_distance_pct is None:
        return QUIET
    best = record.best_price
    if best is None:
        return None
    long = pos.side is PositionSide.LONG
    gain_pct = (best - pos.entry_price) / pos.entry_price * HUNDRED * (1 if long else -1)
    if gain_pct >= to_decimal(pos.trailing_activation_pct):
        distance = to_decimal(pos.trailing_distance_pct) / HUNDRED
        candidate = rules.price(best * (1 - distance) if long else best * (1 + distance), "down" if long else "up")
        if is_tighter_or_equal(pos.side, candidate, pos.stop_price) and candidate != pos.stop_price:
            return None  # waiting for its minimum step, which the price alone may grant
    return QuietBand(close_high=best) if long else QuietBand(close_low=best)


def _took_profit(record: GuardRecord) -> bool:
    return any(leg.reason is ExitReason.TAKE_PROFIT for leg in record.legs)
