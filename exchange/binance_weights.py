"""What each broker operation costs in Binance request weight and new orders, and how urgent it is.

Weights are Binance's published figures for the endpoint each operation calls (spot API "Request Weight";
USDT-M futures "Request Weight"), with the symbol given. They only reserve room before a request; the
exchange's own ``X-MBX-USED-WEIGHT-1M`` / ``X-MBX-ORDER-COUNT-*`` headers correct the counts afterwards,
so a figure that drifts makes the budget cautious or late by one request, never blind.
"""

from __future__ import annotations

from enum import StrEnum

from core.ratelimit import Cost, Priority
from core.types import OrderIntent, Side


class Op(StrEnum):
    TIME = "time"
    MARKETS = "markets"
    BALANCE = "balance"
    POSITIONS = "positions"
    CREATE = "create"
    FETCH_ORDER = "fetch_order"
    CANCEL = "cancel"
    OPEN_ORDERS = "open_orders"
    MY_TRADES = "my_trades"
    ORDER_TRADES = "order_trades"
    """A spot order's own trades (``myTrades`` with ``orderId``): its fees."""
    LEVERAGE = "leverage"
    MARGIN_TYPE = "margin_type"
    SYMBOL_CONFIG = "symbol_config"
    POSITION_MODE = "position_mode"
    MULTI_ASSETS = "multi_assets"
    COMMISSION = "commission"
    FEE_BURN = "fee_burn"
    BRACKETS = "brackets"


_SPOT: dict[Op, Cost] = {
    Op.TIME: Cost(1),
    Op.MARKETS: Cost(20),  # GET /api/v3/exchangeInfo
    Op.BALANCE: Cost(20),  # GET /api/v3/account
    Op.POSITIONS: Cost(20),  # spot positions are balances
    Op.CREATE: Cost(1, orders=1),  # POST /api/v3/order
    Op.FETCH_ORDER: Cost(4),  # GET /api/v3/order
    Op.CANCEL: Cost(1),  # DELETE /api/v3/order
    Op.OPEN_ORDERS: Cost(6),  # GET /api/v3/openOrders with a symbol
    Op.MY_TRADES: Cost(20),  # GET /api/v3/myTrades
    Op.ORDER_TRADES: Cost(5),  # GET /api/v3/myTrades with orderId
    Op.COMMISSION: Cost(20),  # GET /api/v3/account/commission
}
_FUTURES: dict[Op, Cost] = {
    Op.TIME: Cost(1),
    Op.MARKETS: Cost(1),  # GET /fapi/v1/exchangeInfo
    Op.BALANCE: Cost(5),  # GET /fapi/v3/account
    Op.POSITIONS: Cost(5),  # GET /fapi/v3/positionRisk (+ leverageBracket once)
    Op.CREATE: Cost(0, orders=1),  # POST /fapi/v1/order or /fapi/v1/algoOrder: 0 IP weight, 1 order
    Op.FETCH_ORDER: Cost(1),
    Op.CANCEL: Cost(1),
    Op.OPEN_ORDERS: Cost(1),  # per book (regular and algo), with a symbol
    Op.MY_TRADES: Cost(5),  # GET /fapi/v1/userTrades
    Op.ORDER_TRADES: Cost(5),
    Op.LEVERAGE: Cost(1),  # POST /fapi/v1/leverage
    Op.MARGIN_TYPE: Cost(1),  # POST /fapi/v1/marginType
    Op.SYMBOL_CONFIG: Cost(5),  # GET /fapi/v1/symbolConfig
    Op.POSITION_MODE: Cost(30),  # GET /fapi/v1/positionSide/dual
    Op.MULTI_ASSETS: Cost(30),  # GET /fapi/v1/multiAssetsMargin
    Op.COMMISSION: Cost(20),  # GET /fapi/v1/commissionRate
    Op.FEE_BURN: Cost(30),  # GET /fapi/v1/feeBurn
    Op.BRACKETS: Cost(1),  # GET /fapi/v1/leverageBracket
}


def cost_of(op: Op, *, futures: bool) -> Cost:
    table = _FUTURES if futures else _SPOT
    if op not in table:
        raise ValueError(f"{op} is not a {'futures' if futures else 'spot'} operation")
    return table[op]


def priority_of(op: Op, intent: OrderIntent | None = None, *, futures: bool) -> Priority:
    """Cancels and orders that protect or reduce a position go first; new exposure waits behind reads.

    On spot every sell reduces a holding (spot cannot go short), so an exit without ``reduce_only`` is
    protective too.
    """
    if op is Op.CANCEL:
        return Priority.PROTECTIVE
    if op is Op.CREATE:
        if intent is None:
            return Priority.ENTRY
        reducing = intent.reduce_only or intent.type.is_conditional or (not futures and intent.side is Side.SELL)
        return Priority.PROTECTIVE if reducing else Priority.ENTRY
    return Priority.ACCOUNT
