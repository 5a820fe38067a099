"""Everything the simulated exchange remembers, in one object (so a snapshot is one deep copy)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from core.ids import ClientOrderId, Symbol
from core.types import Fill
from exchange.sim.accounts import FuturesAccount, SpotAccount
from exchange.sim.book import SimOrder


@dataclass(frozen=True, slots=True)
class SimEvent:
    """One thing that happened on the simulated exchange (for inspection and debugging)."""

    at: datetime
    kind: str
    """placed, rejected, triggered, filled, canceled, expired, funding, liquidation, leverage."""
    symbol: Symbol | None
    client_order_id: ClientOrderId | None
    detail: str
    exchange_order_id: str | None = None
    """The order the event is about (a client id can be reused once its order has closed)."""


@dataclass
class SimState:
    account: SpotAccount | FuturesAccount
    orders: dict[str, SimOrder] = field(default_factory=dict)
    """By exchange order id, in placement order."""
    by_client_id: dict[ClientOrderId, SimOrder] = field(default_factory=dict)
    """The latest order with each client id (Binance allows reuse once the earlier one is closed)."""
    open_by_symbol: dict[Symbol, list[SimOrder]] = field(default_factory=dict)
    fills: list[Fill] = field(default_factory=list)
    funding: list[tuple[datetime, Symbol, Decimal, Decimal]] = field(default_factory=list)
    """(at, symbol, rate, payment) for every funding settlement that touched a position."""
    last_price: dict[Symbol, Decimal] = field(default_factory=dict)
    realized_pnl: dict[str, Decimal] = field(default_factory=dict)
    """Futures: the P&L (before fees) each fill realized, by trade id (Binance ``realizedPnl``)."""
    events: list[SimEvent] = field(default_factory=list)
    next_order_id: int = 1
    next_trade_id: int = 1
    last_at: datetime | None = None
