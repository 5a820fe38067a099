"""Every Binance order type, read into our ``OrderIntent`` plus what an intent cannot say (pure, no I/O).

Binance lists orders we did not place beside ours: the app's close-position TP/SL (quantity 0), trailing
stops, OCO legs, take-profit limits, algo orders of every conditional type. Reading one of those must
never fail: a bot that cannot list its open orders cannot start. So orders are read in two modes:

- ``lenient`` (anything that is not ours): an unknown type or odd field never raises; what our types cannot
  express goes into the ``Order`` extras (``venue_type``, ``close_position``, ``trigger_known``,
  ``trailing_callback_pct``, ``order_list_id``), and values are chosen so that nothing foreign ever looks
  like more protection than it is;
- strict (ours): an order we placed reads back exactly, or the mismatch is raised.

Type map (spot | futures regular book | futures algo book, since 2025-12 the home of every conditional type):
``MARKET``, ``LIMIT``, ``LIMIT_MAKER`` (post-only limit), ``STOP_LOSS`` / ``STOP_MARKET`` (stop market),
``STOP_LOSS_LIMIT`` / ``STOP`` (stop limit), ``TAKE_PROFIT`` / ``TAKE_PROFIT_MARKET`` /
``TAKE_PROFIT_LIMIT`` (take-profit; the limit variants too: their trigger side is a take-profit's, never a
stop's), ``TRAILING_STOP_MARKET`` (futures) and spot stops with ``trailingDelta`` (trailing stops).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import ValidationError

from core.ids import ClientOrderId, Symbol
from core.money import MarketRules
from core.types import OrderIntent, OrderType, Side
from exchange.binance_shapes import dec as exact_dec

Raw = Mapping[str, Any]
ZERO = Decimal(0)
FAR_PRICE = Decimal(10) ** 12
"""A buy stop whose trigger is unknown reads as triggering here: never tighter than any real stop."""
FAR_QUANTITY = Decimal(10) ** 12
"""A close-position order's quantity when the market publishes no maximum: it covers any position."""

BINANCE_TYPES: dict[str, OrderType] = {
    "MARKET": OrderType.MARKET,
    "LIMIT": OrderType.LIMIT,
    "LIMIT_MAKER": OrderType.LIMIT,
    "STOP_LOSS": OrderType.STOP_MARKET,
    "STOP_MARKET": OrderType.STOP_MARKET,
    "TRAILING_STOP_MARKET": OrderType.STOP_MARKET,
    "STOP_LOSS_LIMIT": OrderType.STOP_LIMIT,
    "STOP": OrderType.STOP_LIMIT,
    "TAKE_PROFIT": OrderType.TAKE_PROFIT,
    "TAKE_PROFIT_MARKET": OrderType.TAKE_PROFIT,
    "TAKE_PROFIT_LIMIT": OrderType.TAKE_PROFIT,
}
"""Binance's order type names (spot, futures regular and algo books) -> ours."""


@dataclass(frozen=True)
class VenueOrder:
    """One Binance order as our intent, with the facts an intent has no field for (``Order`` extras)."""

    intent: OrderIntent
    venue_type: str
    close_position: bool = False
    trigger_known: bool = True
    trailing_callback_pct: Decimal | None = None
    order_list_id: str | None = None

    def extras(self) -> dict[str, Any]:
        return {
            "venue_type": self.venue_type,
            "close_position": self.close_position,
            "trigger_known": self.trigger_known,
            "trailing_callback_pct": self.trailing_callback_pct,
            "order_list_id": self.order_list_id,
        }


def binance_type(raw: Raw) -> str:
    info = raw.get("info", {})
    return str(info.get("orderType") or info.get("origType") or info.get("type") or raw.get("type") or "").upper()


def client_id(raw: Raw) -> ClientOrderId:
    info = raw.get("info", {})
    return ClientOrderId(str(raw.get("clientOrderId") or info.get("clientAlgoId") or raw.get("id") or ""))


def read_order(raw: Raw, rules: MarketRules | None, *, lenient: bool) -> VenueOrder:
    """Our reading of a ccxt-parsed Binance order. ``lenient`` never raises (orders that are not ours)."""
    try:
        return _read(raw, rules)
    except (ValueError, KeyError, TypeError, ArithmeticError, ValidationError):
        if not lenient:
            raise
        return _fallback(raw, rules)


def _read(raw: Raw, rules: MarketRules | None) -> VenueOrder:
    info = raw.get("info", {})
    kind = binance_type(raw)
    order_type = BINANCE_TYPES.get(kind)
    if order_type is None:
        raise ValueError(f"unsupported Binance order type {kind!r}")
    side = Side(str(raw.get("side") or info.get("side", "")).lower())
    close_position = _true(info.get("closePosition"))
    quantity = _positive(_first(dec(info.get("origQty")), dec(info.get("quantity")), dec(raw.get("amount"))))
    if quantity is None:
        if not close_position:
            raise ValueError(f"{kind} order {client_id(raw)} has no quantity")
        quantity = _max_quantity(rules)
    callback = _trailing_callback(info)
    trailing = kind == "TRAILING_STOP_MARKET" or callback is not None
    # A trailing stop's trigger moves with the market; its stop or activation price is not where it triggers.
    triggers = (info.get("stopPrice"), info.get("triggerPrice"), raw.get("triggerPrice"))
    stop = None if trailing else _first_positive(*triggers)
    trigger_known = stop is not None or not order_type.is_conditional
    if order_type.is_conditional and stop is None:
        stop = _far_trigger(side, rules)
    price = _first_positive(info.get("price"), raw.get("price"))
    intent = OrderIntent(
        client_order_id=client_id(raw),
        symbol=Symbol(raw["symbol"]),
        side=side,
        type=order_type,
        quantity=quantity,
        price=price if order_type.needs_limit_price else None,
        stop_price=stop if order_type.is_conditional else None,
        reduce_only=close_position or _true(info.get("reduceOnly", raw.get("reduceOnly"))),
        post_only=order_type is OrderType.LIMIT and (kind == "LIMIT_MAKER" or info.get("timeInForce") == "GTX"),
    )
    list_id = info.get("orderListId")
    return VenueOrder(
        intent=intent,
        venue_type=kind,
        close_position=close_position,
        trigger_known=trigger_known,
        trailing_callback_pct=callback,
        order_list_id=str(list_id) if list_id not in (None, -1, "-1") else None,
    )


def _fallback(raw: Raw, rules: MarketRules | None) -> VenueOrder:
    """A foreign order we cannot read field by field: a market order of its side, quantity and type name.

    Reported, never acted on; a conditional order read this way claims no trigger at all.
    """
    info = raw.get("info", {})
    side_text = str(raw.get("side") or info.get("side") or "").lower()
    quantity = _positive(_first(dec(info.get("origQty")), dec(info.get("quantity")), dec(raw.get("amount"))))
    intent = OrderIntent(
        client_order_id=client_id(raw),
        symbol=Symbol(str(raw.get("symbol") or (rules.symbol if rules is not None else ""))),
        side=Side(side_text) if side_text in ("buy", "sell") else Side.SELL,
        type=OrderType.MARKET,
        quantity=quantity or _max_quantity(rules),
    )
    return VenueOrder(intent=intent, venue_type=binance_type(raw) or "UNKNOWN", trigger_known=False)


def _trailing_callback(info: Raw) -> Decimal | None:
    """Futures ``callbackRate`` / ``priceRate`` (percent) or spot ``trailingDelta`` (basis points)."""
    rate = _positive(_first(dec(info.get("callbackRate")), dec(info.get("priceRate"))))
    if rate is not None:
        return rate
    delta = _positive(dec(info.get("trailingDelta")))
    return delta / 100 if delta is not None else None


def _far_trigger(side: Side, rules: MarketRules | None) -> Decimal:
    """Where a stop with an unknown trigger is assumed to trigger: as far from the market as prices go."""
    if side is Side.SELL:
        return rules.tick_size if rules is not None else Decimal("0.00000001")
    return FAR_PRICE


def _max_quantity(rules: MarketRules | None) -> Decimal:
    return rules.max_qty if rules is not None and rules.max_qty is not None else FAR_QUANTITY


def dec(value: Any) -> Decimal | None:
    """A finite number from Binance's text (or ccxt's float); None for anything else, never an exception."""
    try:
        number = exact_dec(value)
    except (InvalidOperation, ValueError, TypeError):
        return None
    return number if number is not None and number.is_finite() else None


def _first(*values: Decimal | None) -> Decimal | None:
    for value in values:
        if value is not None:
            return value
    return None


def _first_positive(*values: Any) -> Decimal | None:
    for value in values:
        number = _positive(dec(value))
        if number is not None:
            return number
    return None


def _positive(value: Decimal | None) -> Decimal | None:
    return value if value is not None and value > 0 else None


def _true(value: Any) -> bool:
    return str(value).lower() == "true"
