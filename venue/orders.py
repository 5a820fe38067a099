"""Binance order requests in, order views out: the pure translation between Binance and the simulated exchange.

Ids: a regular order's ``orderId`` is the simulated exchange's order id. On USDⓈ-M, conditional
orders live in the Algo Order book (since 2025-12; the regular endpoint answers -4120): their
``algoId`` is ``ALGO_ID_BASE`` + the simulated id, and once triggered the order they became is a
regular order with ``orderId`` ``CHILD_ID_BASE`` + the simulated id and the algo's client id.

The venue simulates what the simulated exchange can match: MARKET, LIMIT (GTC; GTX or LIMIT_MAKER
for post-only), stop market (spot STOP_LOSS, USDⓈ-M STOP_MARKET), stop limit (STOP_LOSS_LIMIT,
STOP) and take-profit market (spot TAKE_PROFIT, USDⓈ-M TAKE_PROFIT_MARKET). Take-profit limit,
trailing stops, IOC/FOK and hedge mode are refused with Binance's code for them and a message
saying the local venue does not simulate them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Literal

from core.errors import RejectCode
from core.ids import ClientOrderId, Symbol
from core.money import MarketRules
from core.types import Order, OrderIntent, OrderStatus, OrderType, Side
from venue import errors
from venue.errors import BinanceError, MarketKind

ALGO_ID_BASE = 1_000_000_000
CHILD_ID_BASE = 2_000_000_000

SPOT_TYPES: dict[str, OrderType] = {
    "MARKET": OrderType.MARKET,
    "LIMIT": OrderType.LIMIT,
    "LIMIT_MAKER": OrderType.LIMIT,
    "STOP_LOSS": OrderType.STOP_MARKET,
    "STOP_LOSS_LIMIT": OrderType.STOP_LIMIT,
    "TAKE_PROFIT": OrderType.TAKE_PROFIT,
}
SPOT_KNOWN = (*SPOT_TYPES, "TAKE_PROFIT_LIMIT")
FUTURES_REGULAR: dict[str, OrderType] = {"MARKET": OrderType.MARKET, "LIMIT": OrderType.LIMIT}
FUTURES_ALGO: dict[str, OrderType] = {
    "STOP_MARKET": OrderType.STOP_MARKET,
    "STOP": OrderType.STOP_LIMIT,
    "TAKE_PROFIT_MARKET": OrderType.TAKE_PROFIT,
}
FUTURES_CONDITIONAL = (*FUTURES_ALGO, "TAKE_PROFIT", "TRAILING_STOP_MARKET")

_SPOT_NAMES = {
    OrderType.MARKET: "MARKET",
    OrderType.LIMIT: "LIMIT",
    OrderType.STOP_MARKET: "STOP_LOSS",
    OrderType.STOP_LIMIT: "STOP_LOSS_LIMIT",
    OrderType.TAKE_PROFIT: "TAKE_PROFIT",
}
_FUTURES_NAMES = {
    OrderType.MARKET: "MARKET",
    OrderType.LIMIT: "LIMIT",
    OrderType.STOP_MARKET: "STOP_MARKET",
    OrderType.STOP_LIMIT: "STOP",
    OrderType.TAKE_PROFIT: "TAKE_PROFIT_MARKET",
}
_STATUS = {
    OrderStatus.OPEN: "NEW",
    OrderStatus.PARTIALLY_FILLED: "PARTIALLY_FILLED",
    OrderStatus.FILLED: "FILLED",
    OrderStatus.CANCELED: "CANCELED",
    OrderStatus.EXPIRED: "EXPIRED",
    OrderStatus.REJECTED: "REJECTED",
}
RespType = Literal["ACK", "RESULT", "FULL"]


@dataclass(frozen=True)
class OrderView:
    """One order as a Binance answer or event shows it, at one moment."""

    intent: OrderIntent
    sim_id: str
    status: OrderStatus
    filled: Decimal
    cost: Decimal
    """Sum of quantity x price of the fills so far."""
    created_at: datetime
    updated_at: datetime
    triggered: bool
    market: MarketKind

    @classmethod
    def of(cls, order: Order, *, triggered: bool, market: MarketKind) -> OrderView:
        average = order.average_price or Decimal(0)
        return cls(
            order.intent, order.exchange_order_id, order.status, order.filled_quantity,
            order.filled_quantity * average, order.created_at, order.updated_at, triggered, market,
        )

    def at_state(
        self, status: OrderStatus, filled: Decimal, cost: Decimal, at: datetime, *, triggered: bool | None = None
    ) -> OrderView:
        """This order as it was at ``at`` (the user-data streams report every state, not only the last)."""
        return replace(
            self, status=status, filled=filled, cost=cost, updated_at=at,
            triggered=self.triggered if triggered is None else triggered,
        )

    @property
    def is_algo(self) -> bool:
        return self.market == "future" and self.intent.type.is_conditional

    @property
    def order_id(self) -> int:
        return int(self.sim_id)

    @property
    def algo_id(self) -> int:
        return ALGO_ID_BASE + int(self.sim_id)

    @property
    def child_id(self) -> int:
        return CHILD_ID_BASE + int(self.sim_id)

    @property
    def average(self) -> Decimal:
        return self.cost / self.filled if self.filled > 0 else Decimal(0)

    @property
    def binance_type(self) -> str:
        if self.market == "spot":
            return "LIMIT_MAKER" if self.intent.post_only else _SPOT_NAMES[self.intent.type]
        return _FUTURES_NAMES[self.intent.type]

    @property
    def binance_status(self) -> str:
        return _STATUS[self.status]

    @property
    def algo_status(self) -> str:
        """NEW until triggered, TRIGGERED while its order works, FINISHED once that order ended."""
        if not self.triggered:
            return {OrderStatus.CANCELED: "CANCELED", OrderStatus.EXPIRED: "EXPIRED"}.get(self.status, "NEW")
        return "FINISHED" if self.status.is_terminal else "TRIGGERED"


def status_name(status: OrderStatus) -> str:
    return _STATUS[status]


def sim_id_of(binance_id: int, *, algo: bool) -> str | None:
    """The simulated order id behind an ``algoId`` (``algo``) or a regular ``orderId`` (a child's too)."""
    if algo:
        return str(binance_id - ALGO_ID_BASE) if ALGO_ID_BASE < binance_id < CHILD_ID_BASE else None
    if binance_id > CHILD_ID_BASE:
        return str(binance_id - CHILD_ID_BASE)
    return str(binance_id) if 0 < binance_id < ALGO_ID_BASE else None


# ---------------------------------------------------------------- requests in


@dataclass(frozen=True)
class OrderRequest:
    intent: OrderIntent
    resp_type: RespType


def parse_order(
    params: Mapping[str, str],
    rules: MarketRules,
    market: MarketKind,
    *,
    algo: bool,
    last_price: Decimal | None,
    generated_id: str,
) -> OrderRequest:
    """The intent of a ``POST order`` (``algo``: ``POST algoOrder``), or the ``BinanceError`` Binance answers."""
    kind = required(params, "type").upper()
    order_type = _order_type(kind, market, algo=algo, params=params)
    side = required(params, "side").upper()
    if side not in ("BUY", "SELL"):
        raise BinanceError(-1117, "Invalid side.")
    post_only = kind == "LIMIT_MAKER" or params.get("timeInForce") == "GTX"
    _check_time_in_force(params, order_type)
    price = decimal(params, "price") if order_type.needs_limit_price else None
    stop = decimal(params, "triggerPrice" if algo else "stopPrice") if order_type.is_conditional else None
    positive(price, RejectCode.INVALID_PRICE, market, rules)
    positive(stop, RejectCode.INVALID_PRICE, market, rules)
    quantity = _quantity(params, order_type, rules, last_price)
    positive(quantity, RejectCode.INVALID_QUANTITY, market, rules)
    reduce_only = params.get("reduceOnly", "false").lower() == "true"
    if market == "spot" and "reduceOnly" in params:
        raise BinanceError(-1106, "Parameter 'reduceOnly' sent when not required.")
    if params.get("positionSide", "BOTH") != "BOTH":
        raise errors.unsupported("hedge mode (positionSide LONG/SHORT)")
    cid_name = "clientAlgoId" if algo else "newClientOrderId"
    intent = OrderIntent(
        client_order_id=ClientOrderId(params.get(cid_name) or generated_id),
        symbol=rules.symbol,
        side=Side(side.lower()),
        type=order_type,
        quantity=quantity,
        price=price,
        stop_price=stop,
        reduce_only=reduce_only,
        post_only=post_only,
    )
    check_filters(intent, rules, market, last_price)
    resp = params.get("newOrderRespType", "FULL" if market == "spot" and not algo else "ACK").upper()
    return OrderRequest(intent, resp if resp in ("ACK", "RESULT", "FULL") else "ACK")  # type: ignore[arg-type]


def _order_type(kind: str, market: MarketKind, *, algo: bool, params: Mapping[str, str]) -> OrderType:
    if market == "spot":
        if kind not in SPOT_KNOWN:
            raise errors.invalid_order_type(kind)
        if kind not in SPOT_TYPES:
            raise errors.invalid_order_type(kind, simulated=False)
        return SPOT_TYPES[kind]
    if not algo:
        if kind in FUTURES_CONDITIONAL:
            raise errors.algo_only()
        if kind not in FUTURES_REGULAR:
            raise errors.invalid_order_type(kind)
        return FUTURES_REGULAR[kind]
    if params.get("algoType", "").upper() != "CONDITIONAL":
        raise errors.mandatory("algoType")
    if kind not in FUTURES_ALGO:
        raise errors.invalid_order_type(kind, simulated=kind not in FUTURES_CONDITIONAL)
    return FUTURES_ALGO[kind]


def _check_time_in_force(params: Mapping[str, str], order_type: OrderType) -> None:
    value = params.get("timeInForce")
    if value is None:
        if order_type.needs_limit_price and params.get("type", "").upper() != "LIMIT_MAKER":
            raise errors.mandatory("timeInForce")
        return
    if value.upper() not in ("GTC", "GTX"):
        raise errors.invalid_time_in_force(value)


def _quantity(
    params: Mapping[str, str], order_type: OrderType, rules: MarketRules, last_price: Decimal | None
) -> Decimal:
    if "quantity" in params or order_type is not OrderType.MARKET or rules.contract:
        return decimal(params, "quantity")
    if "quoteOrderQty" not in params:
        raise BinanceError(-1102, "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!")
    quote = decimal(params, "quoteOrderQty")
    if last_price is None:
        raise errors.order_rejection(RejectCode.NO_MARKET_PRICE, "spot", rules)
    return rules.quantity(quote / last_price)


def check_filters(intent: OrderIntent, rules: MarketRules, market: MarketKind, last_price: Decimal | None) -> None:
    """PRICE_FILTER, LOT_SIZE and NOTIONAL as Binance applies them (exact values, nothing rounded)."""
    for value in (intent.price, intent.stop_price):
        if value is not None and value % rules.tick_size != 0:
            raise _precision(market, rules, RejectCode.INVALID_PRICE, value, rules.tick_size)
    quantity = intent.quantity
    if quantity % rules.step_size != 0:
        raise _precision(market, rules, RejectCode.INVALID_QUANTITY, quantity, rules.step_size)
    if quantity < rules.min_qty:
        raise errors.order_rejection(RejectCode.BELOW_MIN_QTY, market, rules)
    if rules.max_qty is not None and quantity > rules.max_qty:
        raise errors.order_rejection(RejectCode.ABOVE_MAX_QTY, market, rules)
    reference = intent.price or intent.stop_price or last_price
    exempt = market == "future" and intent.reduce_only
    if reference is not None and not exempt and quantity * reference < rules.min_notional:
        raise errors.order_rejection(RejectCode.BELOW_MIN_NOTIONAL, market, rules)


def _precision(market: MarketKind, rules: MarketRules, code: str, value: Decimal, step: Decimal) -> BinanceError:
    if market == "future" and _decimals(value) > _decimals(step):
        return errors.order_rejection(RejectCode.INVALID_PRECISION, market, rules)
    if market == "future" and code == RejectCode.INVALID_QUANTITY:
        return BinanceError(-4023, "Quantity not increased by step size.")
    return errors.order_rejection(code, market, rules)


def _decimals(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def required(params: Mapping[str, str], name: str) -> str:
    value = params.get(name)
    if value is None or value == "":
        raise errors.mandatory(name)
    return value


def decimal(params: Mapping[str, str], name: str) -> Decimal:
    raw = required(params, name)
    try:
        value = Decimal(raw)
    except InvalidOperation as exc:
        raise errors.illegal_number(name) from exc
    if not value.is_finite():
        raise errors.illegal_number(name)
    return value


def positive(value: Decimal | None, code: str, market: MarketKind, rules: MarketRules) -> Decimal | None:
    """``value`` when it is absent or above zero; Binance's filter failure otherwise."""
    if value is not None and value <= 0:
        raise errors.order_rejection(code, market, rules)
    return value


def symbol_of(params: Mapping[str, str], symbols: Mapping[str, Symbol]) -> Symbol:
    """The market a request names by Binance id (``BTCUSDT``); -1121 when the venue has no such market."""
    market_id = required(params, "symbol").upper()
    if market_id not in symbols:
        raise errors.invalid_symbol()
    return symbols[market_id]
