"""Domain types shared by every package (pydantic v2; frozen where they are values).

Money (quantities, prices, fees, balances, P&L) is ``Decimal``; the per-bar price path of a
candle is ``float`` (indicators and statistics work on it). Convert once, at the boundary.

The decision types (wake reasons, requests, records) live in ``core.decisions`` and are re-exported here.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from core.decisions import (
    DecisionRecord,
    DecisionRequest,
    LLMHealth,
    ToolCallRecord,
    Usage,
    Veto,
    WakeKind,
    WakeReason,
)
from core.ids import ClientOrderId, PositionId, Symbol, base_asset
from core.sides import PositionSide, Side
from core.signals import Signal

__all__ = [
    "Alert",
    "Balance",
    "Candle",
    "ClosedTrade",
    "DecisionRecord",
    "DecisionRequest",
    "ExchangePosition",
    "ExitReason",
    "Fill",
    "LLMHealth",
    "Liquidity",
    "Order",
    "OrderIntent",
    "OrderStatus",
    "OrderType",
    "Position",
    "PositionSide",
    "Side",
    "Signal",
    "ToolCallRecord",
    "Usage",
    "Veto",
    "WakeKind",
    "WakeReason",
    "utc_datetime_key",
]

_VALUE = ConfigDict(frozen=True, extra="forbid")
_STATE = ConfigDict(extra="forbid", validate_assignment=True)


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    STOP_MARKET = "stop_market"
    STOP_LIMIT = "stop_limit"
    TAKE_PROFIT = "take_profit"
    """Take-profit triggered at ``stop_price``, filled at market."""

    @property
    def is_conditional(self) -> bool:
        """Triggered orders: on Binance futures these live in the Algo Order book."""
        return self in (OrderType.STOP_MARKET, OrderType.STOP_LIMIT, OrderType.TAKE_PROFIT)

    @property
    def needs_limit_price(self) -> bool:
        return self in (OrderType.LIMIT, OrderType.STOP_LIMIT)


class OrderStatus(StrEnum):
    OPEN = "open"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"
    REJECTED = "rejected"
    EXPIRED = "expired"

    @property
    def is_terminal(self) -> bool:
        return self in (OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED, OrderStatus.EXPIRED)


class Liquidity(StrEnum):
    MAKER = "maker"
    TAKER = "taker"


class Candle(BaseModel):
    """One OHLCV bar; ``open_at`` is the bar's open time (UTC). Prices are floats (the price path)."""

    model_config = _VALUE

    symbol: Symbol
    timeframe: str
    open_at: AwareDatetime
    open: float
    high: float
    low: float
    close: float
    volume: float

    @model_validator(mode="after")
    def _consistent(self) -> Candle:
        if not (self.low <= min(self.open, self.close) and self.high >= max(self.open, self.close)):
            raise ValueError(
                f"inconsistent OHLC at {self.open_at}: o={self.open} h={self.high} l={self.low} c={self.close}"
            )
        if self.volume < 0:
            raise ValueError(f"negative volume at {self.open_at}")
        return self


class OrderIntent(BaseModel):
    """What we ask the exchange for. ``stop_price`` is the trigger of conditional orders."""

    model_config = _VALUE

    client_order_id: ClientOrderId
    symbol: Symbol
    side: Side
    type: OrderType
    quantity: Decimal = Field(gt=0)
    price: Decimal | None = Field(default=None, gt=0)
    stop_price: Decimal | None = Field(default=None, gt=0)
    reduce_only: bool = False
    post_only: bool = False

    @model_validator(mode="after")
    def _prices_match_type(self) -> OrderIntent:
        if self.type.needs_limit_price and self.price is None:
            raise ValueError(f"{self.type} order needs a limit price")
        if not self.type.needs_limit_price and self.price is not None:
            raise ValueError(f"{self.type} order takes no limit price")
        if self.type.is_conditional and self.stop_price is None:
            raise ValueError(f"{self.type} order needs a stop (trigger) price")
        if not self.type.is_conditional and self.stop_price is not None:
            raise ValueError(f"{self.type} order takes no stop price")
        if self.post_only and self.type is not OrderType.LIMIT:
            raise ValueError("post-only applies to limit orders only")
        return self


class Order(BaseModel):
    """An order as the exchange reports it."""

    model_config = _VALUE

    intent: OrderIntent
    exchange_order_id: str
    status: OrderStatus
    filled_quantity: Decimal = Decimal(0)
    average_price: Decimal | None = None
    fee: Decimal = Decimal(0)
    fee_asset: str | None = None
    created_at: AwareDatetime
    updated_at: AwareDatetime
    base_fee: Decimal = Decimal(0)
    """The part of the fee taken in the base asset: Binance spot charges a buy's fee in the asset bought
    unless BNB pays it, so the account received ``filled_quantity - base_fee`` (see ``net_quantity``)."""
    foreign: bool = False
    """Not placed by this run (its client id lacks our prefix: the Binance app, a person, another bot).
    Report it once; never cancel it, never count it as ours."""
    venue_type: str | None = None
    """The exchange's own order type name when ``intent.type`` cannot say it all (``TRAILING_STOP_MARKET``,
    ``LIMIT_MAKER``, ``TAKE_PROFIT_LIMIT`` ...); None for orders read back exactly as we sent them."""
    close_position: bool = False
    """A Binance close-position order (quantity 0 on the exchange): it closes the whole position when it
    triggers. Its ``intent.quantity`` is the market's maximum quantity, so it covers any position size."""
    trigger_known: bool = True
    """False when the exchange does not say where a conditional order triggers (a trailing stop that has
    not activated): ``intent.stop_price`` is then the farthest price on the far side (never looks tighter)."""
    trailing_callback_pct: Decimal | None = None
    """A trailing stop's callback in percent (futures ``callbackRate``; spot ``trailingDelta`` / 100)."""
    order_list_id: str | None = None
    """The OCO (order list) this order is a leg of, if any."""

    @property
    def client_order_id(self) -> ClientOrderId:
        return self.intent.client_order_id

    @property
    def remaining_quantity(self) -> Decimal:
        return self.intent.quantity - self.filled_quantity

    @property
    def net_quantity(self) -> Decimal:
        """What a buy actually delivered (fills minus the fee taken in the base asset); a sell's filled quantity.

        Size a spot position's stop and exits from this, never from ``filled_quantity``: Binance refuses a
        sell of more than the account holds (-2010 insufficient balance).
        """
        if self.intent.side is Side.BUY:
            return self.filled_quantity - self.base_fee
        return self.filled_quantity


class Fill(BaseModel):
    """One execution (a trade) of an order."""

    model_config = _VALUE

    trade_id: str
    client_order_id: ClientOrderId
    exchange_order_id: str
    symbol: Symbol
    side: Side
    quantity: Decimal = Field(gt=0)
    price: Decimal = Field(gt=0)
    fee: Decimal = Decimal(0)
    fee_asset: str
    liquidity: Liquidity
    filled_at: AwareDatetime

    @property
    def base_asset(self) -> str:
        return base_asset(self.symbol)

    @property
    def base_fee(self) -> Decimal:
        """The fee when it was taken in the base asset (a spot buy not paid with BNB), else 0."""
        return self.fee if self.fee_asset == self.base_asset else Decimal(0)

    @property
    def net_quantity(self) -> Decimal:
        """The base quantity a buy delivered to the account (a sell's is its quantity)."""
        return self.quantity - self.base_fee if self.side is Side.BUY else self.quantity


class Balance(BaseModel):
    model_config = _VALUE

    asset: str
    free: Decimal
    used: Decimal

    @property
    def total(self) -> Decimal:
        return self.free + self.used


class ExchangePosition(BaseModel):
    """A position as the exchange reports it (futures), or a spot holding seen as a long."""

    model_config = _VALUE

    symbol: Symbol
    side: PositionSide
    quantity: Decimal = Field(gt=0)
    entry_price: Decimal
    leverage: Decimal = Decimal(1)
    """Futures: the leverage in force on the exchange for this symbol (read from the account, not assumed)."""
    unrealized_pnl: Decimal = Decimal(0)
    liquidation_price: Decimal | None = None
    """Futures: the exchange's liquidation price (None on spot, or when the exchange reports 0)."""
    margin_type: str | None = None
    """Futures: ``isolated`` or ``cross`` as the exchange reports it."""
    mark_price: Decimal | None = None


class Position(BaseModel):
    """Our record of a position: what safety protects and what the learner later scores."""

    model_config = _STATE

    id: PositionId
    symbol: Symbol
    side: PositionSide
    quantity: Decimal = Field(gt=0)
    entry_price: Decimal = Field(gt=0)
    opened_at: AwareDatetime
    stop_price: Decimal = Field(gt=0)
    """The protective stop the guard maintains; only ever tightens (operator excepted)."""
    initial_stop_price: Decimal = Field(gt=0)
    """The stop at entry; defines 1 R for the learner's R multiples."""
    take_profit_price: Decimal | None = None
    leverage: Decimal = Decimal(1)
    entry_fee: Decimal = Decimal(0)
    signals: tuple[Signal, ...] = ()
    regime: str | None = None
    stop_order_id: ClientOrderId | None = None
    take_profit_order_id: ClientOrderId | None = None
    trailing_activation_pct: float | None = None
    trailing_distance_pct: float | None = None
    break_even_done: bool = False

    @property
    def risk_per_unit(self) -> Decimal:
        return abs(self.entry_price - self.initial_stop_price)


class ExitReason(StrEnum):
    STOP_LOSS = "stop_loss"
    TAKE_PROFIT = "take_profit"
    TRAILING_STOP = "trailing_stop"
    AGENT = "agent"
    OPERATOR = "operator"
    WATCHDOG = "watchdog"
    CLOSED_EXTERNALLY = "closed_externally"
    LIQUIDATION = "liquidation"


class ClosedTrade(BaseModel):
    """A finished position: recorded, published and learned from exactly once."""

    model_config = _VALUE

    position_id: PositionId
    symbol: Symbol
    side: PositionSide
    quantity: Decimal
    entry_price: Decimal
    exit_price: Decimal
    opened_at: AwareDatetime
    closed_at: AwareDatetime
    gross_pnl: Decimal
    fees: Decimal
    exit_reason: ExitReason
    signals: tuple[Signal, ...]
    regime: str | None = None
    r_multiple: float | None = None
    """Net P&L divided by the initial risk (quantity x distance to the initial stop)."""

    @property
    def net_pnl(self) -> Decimal:
        return self.gross_pnl - self.fees

    @property
    def is_win(self) -> bool:
        return self.net_pnl > 0


class Alert(BaseModel):
    model_config = _VALUE

    severity: str = Field(pattern="^(info|warning|critical)$")
    kind: str
    message: str
    at: AwareDatetime
    dedup_key: str | None = None


def utc_datetime_key(at: datetime) -> str:
    """Stable ISO-8601 text for a tz-aware time (used in keys and canonical JSON)."""
    if at.tzinfo is None:
        raise ValueError("naive datetime")
    return at.isoformat()
