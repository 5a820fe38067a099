"""Plain-value helpers for the guard's unit tests: records, exchange orders, observations."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from core.ids import ClientOrderId, PositionId
from core.money import MarketRules
from core.settings import RiskSettings
from core.types import Order, OrderIntent, OrderStatus, OrderType, Position, PositionSide
from safety.guard import Action, Place, Update, plan
from safety.guard_state import GuardRecord, Observed
from tests.safety.builders import PERP, PERP_RULES, SPOT, SPOT_RULES, T0

PREFIX = "tw"
PID = PositionId("p0000000001")


def record(
    contract: bool = False,
    side: PositionSide = PositionSide.LONG,
    quantity: str = "0.02",
    entry: str = "50000",
    stop: str = "49000",
    **position: Any,
) -> GuardRecord:
    pos = Position(
        id=PID,
        symbol=PERP if contract else SPOT,
        side=side,
        quantity=Decimal(quantity),
        entry_price=Decimal(entry),
        opened_at=T0,
        stop_price=Decimal(stop),
        initial_stop_price=Decimal(stop),
        **position,
    )
    return GuardRecord(position=pos, original_quantity=Decimal(quantity))


def order(
    intent: OrderIntent,
    status: OrderStatus = OrderStatus.OPEN,
    filled: str = "0",
    price: str | None = None,
    at: datetime = T0,
) -> Order:
    filled_qty = Decimal(filled) if status is not OrderStatus.FILLED else intent.quantity
    return Order(
        intent=intent,
        exchange_order_id=f"x-{intent.client_order_id}",
        status=status,
        filled_quantity=filled_qty,
        average_price=Decimal(price) if price is not None else (intent.stop_price if filled_qty > 0 else None),
        created_at=T0,
        updated_at=at,
    )


def stop_order(rec: GuardRecord, cid: str, stop: str, qty: str | None = None, **kw: Any) -> Order:
    intent = OrderIntent(
        client_order_id=ClientOrderId(cid),
        symbol=rec.symbol,
        side=rec.side.exit_side,
        type=OrderType.STOP_MARKET,
        quantity=Decimal(qty or rec.remaining),
        stop_price=Decimal(stop),
        reduce_only=rec.symbol == PERP,
    )
    return order(intent, **kw)


def observed(
    price: str, *orders: Order, unknown: tuple[str, ...] = (), exchange: str | None = "0.02", opposite: str = "0"
) -> Observed:
    return Observed(
        orders={o.client_order_id: o for o in orders},
        unknown=frozenset(ClientOrderId(u) for u in unknown),
        exchange_quantity=Decimal(exchange) if exchange is not None else None,
        opposite_quantity=Decimal(opposite),
        price=Decimal(price),
    )


def rules_for(rec: GuardRecord) -> MarketRules:
    return PERP_RULES if rec.symbol == PERP else SPOT_RULES


def run(rec: GuardRecord, obs: Observed, now: datetime = T0, risk: RiskSettings | None = None) -> list[Action]:
    return plan(rec, obs, rules_for(rec), risk or RiskSettings(), prefix=PREFIX, now=now)


def settle(
    rec: GuardRecord, obs: Observed, now: datetime = T0, risk: RiskSettings | None = None, limit: int = 10
) -> tuple[GuardRecord, list[Action]]:
    """Apply state-only updates until the plan asks for exchange I/O (or nothing); return both."""
    for _ in range(limit):
        actions = run(rec, obs, now, risk)
        updates = [a for a in actions if isinstance(a, Update)]
        if not updates or len(updates) != len([a for a in actions if not _is_warn(a)]):
            return rec, actions
        rec = updates[-1].record
    raise AssertionError("guard did not settle")


def _is_warn(action: Action) -> bool:
    return type(action).__name__ == "Warn"


def placed(actions: list[Action]) -> Place:
    places = [a for a in actions if isinstance(a, Place)]
    assert len(places) == 1, actions
    return places[0]
