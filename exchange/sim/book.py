"""The simulated exchange's order records: mutable while live, published as immutable ``Order`` values."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from core.ids import ClientOrderId, Symbol
from core.types import Fill, Liquidity, Order, OrderIntent, OrderStatus


@dataclass(slots=True)
class SimOrder:
    intent: OrderIntent
    exchange_id: str
    seq: int
    created_at: datetime
    updated_at: datetime
    status: OrderStatus = OrderStatus.OPEN
    filled: Decimal = Decimal(0)
    cost: Decimal = Decimal(0)
    """Sum of quantity x price over the fills (for the average price)."""
    fee: Decimal = Decimal(0)
    fee_asset: str | None = None
    base_fee: Decimal = Decimal(0)
    """The part of ``fee`` taken in the base asset (a spot buy when fees come out of the asset received)."""
    triggered: bool = False
    """A conditional order whose trigger was reached (it now behaves as a market or limit order)."""
    fresh: bool = True
    """Placed after the last price event: it meets the market for the first time on the next one."""
    reserved: Decimal = Decimal(0)
    """Funds held for the order: quote (spot buy), base (spot sell) or margin (futures)."""
    reserved_asset: str | None = None
    reason: str | None = None
    """Why an order ended without filling (expired reduce-only, funds at fill time, liquidation)."""
    history: list[Order] = field(default_factory=list)
    """Every state published before the current one, oldest first (for the stale-status fault)."""

    @property
    def symbol(self) -> Symbol:
        return self.intent.symbol

    @property
    def client_order_id(self) -> ClientOrderId:
        return self.intent.client_order_id

    @property
    def remaining(self) -> Decimal:
        return self.intent.quantity - self.filled

    @property
    def is_open(self) -> bool:
        return not self.status.is_terminal

    def to_order(self) -> Order:
        average = self.cost / self.filled if self.filled > 0 else None
        return Order(
            intent=self.intent,
            exchange_order_id=self.exchange_id,
            status=self.status,
            filled_quantity=self.filled,
            average_price=average,
            fee=self.fee,
            fee_asset=self.fee_asset,
            base_fee=self.base_fee,
            created_at=self.created_at,
            updated_at=self.updated_at,
        )

    def transition(self, at: datetime) -> None:
        """Remember the published state before a change (call before mutating)."""
        self.history.append(self.to_order())
        self.updated_at = max(at, self.updated_at)

    def previous(self) -> Order | None:
        return self.history[-1] if self.history else None

    def record_fill(
        self, quantity: Decimal, price: Decimal, fee: Decimal, fee_asset: str, *, base_fee: Decimal = Decimal(0)
    ) -> None:
        self.filled += quantity
        self.cost += quantity * price
        self.fee += fee
        self.fee_asset = fee_asset
        self.base_fee += base_fee
        self.status = OrderStatus.FILLED if self.filled >= self.intent.quantity else OrderStatus.PARTIALLY_FILLED


def make_fill(
    order: SimOrder,
    *,
    trade_id: int,
    quantity: Decimal,
    price: Decimal,
    fee: Decimal,
    fee_asset: str,
    liquidity: Liquidity,
    at: datetime,
) -> Fill:
    return Fill(
        trade_id=str(trade_id),
        client_order_id=order.client_order_id,
        exchange_order_id=order.exchange_id,
        symbol=order.symbol,
        side=order.intent.side,
        quantity=quantity,
        price=price,
        fee=fee,
        fee_asset=fee_asset,
        liquidity=liquidity,
        filled_at=at,
    )


class UnknownOrder(LookupError):
    """The venue knows no such order, or (for a cancel) it is no longer open: Binance -2013 / -2011."""
