"""Client-side order preparation shared by both brokers: quantize, then check the market's limits.

Quantities round down to the step (never more than asked), prices to the nearest tick. The
notional check uses the price the order would trade at: the limit price, the trigger price of a
conditional order, or a reference (last) price for a market order when one is known; without one
the exchange itself enforces min notional (Binance: ``Filter failure: NOTIONAL``).
Binance USDT-M futures exempt reduce-only orders from min notional, and so do we.
"""

from __future__ import annotations

from decimal import Decimal

from core.errors import OrderRejected, RejectCode
from core.money import MarketRules
from core.types import OrderIntent, OrderType, Side


def prepare_intent(intent: OrderIntent, rules: MarketRules, *, reference_price: Decimal | None = None) -> OrderIntent:
    """The intent as the exchange will receive it, or ``OrderRejected`` saying why it cannot be sent."""
    if intent.symbol != rules.symbol:
        raise ValueError(f"rules for {rules.symbol} given for an order on {intent.symbol}")
    if not rules.contract and intent.reduce_only and intent.side is Side.BUY:
        raise OrderRejected(
            RejectCode.REDUCE_ONLY_REJECTED,
            f"{intent.symbol}: a spot market has no short position for a reduce-only buy to reduce",
        )
    price = rules.price(intent.price) if intent.price is not None else None
    stop_price = rules.price(intent.stop_price) if intent.stop_price is not None else None
    for value, name in ((price, "price"), (stop_price, "stop price")):
        if value is not None and value <= 0:
            raise OrderRejected(
                RejectCode.INVALID_PRICE, f"{intent.symbol}: {name} rounds to {value} at tick {rules.tick_size}"
            )
    notional_price = _notional_price(intent.type, price, stop_price, reference_price)
    skip_notional = rules.contract and intent.reduce_only
    quantity = _checked_quantity(intent.quantity, notional_price, rules, skip_notional)
    return intent.model_copy(update={"quantity": quantity, "price": price, "stop_price": stop_price})


def _notional_price(
    order_type: OrderType, price: Decimal | None, stop_price: Decimal | None, reference_price: Decimal | None
) -> Decimal | None:
    if order_type.needs_limit_price:
        return price
    if order_type.is_conditional:
        return stop_price
    return reference_price


def _checked_quantity(
    quantity: Decimal, notional_price: Decimal | None, rules: MarketRules, skip_notional: bool
) -> Decimal:
    if notional_price is not None and not skip_notional:
        checked_qty, _ = rules.checked_order(quantity, notional_price)
        return checked_qty
    # No usable price (market order without a reference) or exempt: same checks minus notional.
    without_notional = rules.model_copy(update={"min_notional": Decimal(0)})
    checked_qty, _ = without_notional.checked_order(quantity, notional_price or Decimal(1))
    return checked_qty
