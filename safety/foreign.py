"""Orders that are not ours: what to say about them, and whether one of them is a stop worth adopting. Pure.

An order without the run's client-id prefix (the Binance app's close-position TP/SL, a trailing stop placed
by hand, another bot's orders) is reported once (journal and alert), never cancelled and never counted as
ours. One kind is useful: a stop that protects an open position better than ours. Its level is adopted as
the position's desired stop, as the guard adopts a tighter live stop of its own (stops only tighten); the
guard then keeps its own stop at that level, and the foreign order stays where its owner put it.

A foreign stop is adopted only when its trigger is known (a trailing stop that has not activated says
nothing), it sells a long (buys back a short), it is a stop and not a take-profit, it is tighter than our
level and on the protective side of the price, it covers the whole open quantity (a close-position order
does), and the market lets reduce-only orders overlap (USDT-M futures). On spot a covering stop locks the
whole balance: ours could not be placed beside it, so nothing is adopted there and a human is told.
"""

from __future__ import annotations

from decimal import Decimal

from core.money import MarketRules
from core.types import Order, OrderType
from safety.guard_state import GuardRecord
from safety.rules import is_protective, is_tighter_or_equal

_STOP_TYPES = (OrderType.STOP_MARKET, OrderType.STOP_LIMIT)


def describe(order: Order) -> str:
    """One line a human recognises the order by."""
    intent = order.intent
    kind = order.venue_type or intent.type.value
    size = "close-position" if order.close_position else f"{intent.quantity}"
    trigger = f" trigger {intent.stop_price}" if intent.stop_price is not None and order.trigger_known else ""
    price = f" price {intent.price}" if intent.price is not None else ""
    return f"{intent.client_order_id}: {intent.side.value} {size} {intent.symbol} {kind}{trigger}{price}"


def adoptable_stop(record: GuardRecord, order: Order, rules: MarketRules, price: Decimal | None) -> Decimal | None:
    """The level of ``order`` when it is a foreign stop the position should adopt (see the module docstring)."""
    intent, position = order.intent, record.position
    trigger = intent.stop_price
    if (
        not rules.contract
        or intent.symbol != record.symbol
        or intent.type not in _STOP_TYPES
        or "TAKE_PROFIT" in (order.venue_type or "")
        or not order.trigger_known
        or trigger is None
        or intent.side is not record.side.exit_side
        or not (order.close_position or order.remaining_quantity >= record.remaining)
    ):
        return None
    if trigger == position.stop_price or not is_tighter_or_equal(record.side, trigger, position.stop_price):
        return None
    if price is not None and not is_protective(record.side, trigger, price):
        return None
    return trigger
