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

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from core.ids import PositionId, Symbol
from core.money import MarketRules, to_decimal
from core.quiet import EVERY_CANDLE, QUIET, QuietBand
from core.types import ExitReason, PositionSide
from safety.breakers import BreakerState
from safety.guard_state import GuardRecord, Observed
from safety.rules import HUNDRED, is_tighter_or_equal

if TYPE_CHECKING:
    from core.settings import RiskSettings
    from safety.book import SafetyBook


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


def book_quiet_bands(
    book: SafetyBook, settled: Mapping[PositionId, tuple[GuardRecord, Observed]], rules: Mapping[Symbol, MarketRules],
    symbols: Iterable[Symbol],
) -> dict[Symbol, QuietBand]:
    """Per symbol, the prices at which its next candle makes a safety pass act; every candle while anything is
    in motion (a pending entry, a leftover to cancel, an unsaved change, a probe). ``settled``: where the guard
    last left each position (``PositionGuard.settled``)."""
    wanted = list(symbols)
    board = book.board
    busy = book.entries or book.cleanup or book.dirty or not board.persistence_ok
    if busy or board.exchange.state is BreakerState.HALF_OPEN:
        return dict.fromkeys(wanted, EVERY_CANDLE)
    bands = dict.fromkeys(wanted, QUIET)
    for pid, record in book.records.items():
        look = settled.get(pid)
        if look is None or look[0] is not record:  # changed since the guard last settled it
            return dict.fromkeys(wanted, EVERY_CANDLE)
        band = position_band(record, look[1], rules[record.symbol])
        bands[record.symbol] = bands.get(record.symbol, QUIET).merge(band)
    return bands


def book_quiet_until(book: SafetyBook, risk: RiskSettings) -> datetime:
    """When the clock alone makes a safety pass act: the next UTC day (a new loss budget), the end of a
    trading breaker's trip, the end of the exchange breaker's cooldown (its probe)."""
    board = book.board
    trading = board.trading
    times = [datetime.combine(trading.day + timedelta(days=1), datetime.min.time(), tzinfo=UTC)]
    if trading.is_open and trading.closes_at is not None:
        times.append(trading.closes_at)
    exchange = board.exchange
    if exchange.state is BreakerState.OPEN and exchange.opened_at is not None:
        times.append(exchange.opened_at + timedelta(seconds=risk.exchange_error_cooldown_s))
    return min(times)
