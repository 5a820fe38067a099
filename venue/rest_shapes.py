"""Binance REST response bodies, built from the venue's state (pure functions, JSON-ready dicts).

Field names and types follow Binance's spot and USDⓈ-M documentation (the recorded shapes in
``tests/fixtures/binance/`` are the same): numbers that are money are strings, ids and times are
integers. Money is formatted from ``Decimal`` without exponent, prices on the market's tick.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from core.money import MarketRules
from core.timeframes import datetime_to_ms
from core.types import Balance, ExchangePosition, Fill, Liquidity, Side
from exchange.symbols import exchange_id
from venue.orders import OrderView

Json = dict[str, Any]


def fmt(value: Decimal | int | None) -> str:
    """A Binance number string: exact, no exponent, ``0`` for nothing."""
    if value is None:
        return "0"
    text = format(Decimal(value).normalize(), "f")
    return text if text not in ("-0", "") else "0"


def ms(at: datetime) -> int:
    return datetime_to_ms(at)


def _time_in_force(view: OrderView) -> str:
    return "GTX" if view.market == "future" and view.intent.post_only else "GTC"


# ---------------------------------------------------------------- spot orders


def spot_order(view: OrderView) -> Json:
    """``GET /api/v3/order`` (and the body of the other order answers)."""
    intent = view.intent
    working = not intent.type.is_conditional or view.triggered
    raw: Json = {
        "symbol": exchange_id(intent.symbol),
        "orderId": view.order_id,
        "orderListId": -1,
        "clientOrderId": intent.client_order_id,
        "price": fmt(intent.price),
        "origQty": fmt(intent.quantity),
        "executedQty": fmt(view.filled),
        "cummulativeQuoteQty": fmt(view.cost),
        "status": view.binance_status,
        "timeInForce": _time_in_force(view),
        "type": view.binance_type,
        "side": intent.side.upper(),
        "stopPrice": fmt(intent.stop_price),
        "icebergQty": "0",
        "time": ms(view.created_at),
        "updateTime": ms(view.updated_at),
        "isWorking": working,
        "workingTime": ms(view.updated_at if intent.type.is_conditional else view.created_at) if working else -1,
        "origQuoteOrderQty": "0",
        "selfTradePreventionMode": "NONE",
    }
    return raw


def spot_new_order(view: OrderView, resp_type: str, fills: Sequence[Fill]) -> Json:
    """``POST /api/v3/order`` in the requested ``newOrderRespType`` (ACK, RESULT or FULL)."""
    ack: Json = {
        "symbol": exchange_id(view.intent.symbol),
        "orderId": view.order_id,
        "orderListId": -1,
        "clientOrderId": view.intent.client_order_id,
        "transactTime": ms(view.updated_at),
    }
    if resp_type == "ACK":
        return ack
    full = spot_order(view)
    for key in ("time", "updateTime", "isWorking", "icebergQty"):
        full.pop(key)
    raw = {**ack, **full}
    if resp_type == "FULL":
        raw["fills"] = [
            {"price": fmt(f.price), "qty": fmt(f.quantity), "commission": fmt(f.fee), "commissionAsset": f.fee_asset,
             "tradeId": int(f.trade_id)}
            for f in fills
        ]
    return raw


def spot_cancel(view: OrderView, cancel_client_id: str) -> Json:
    raw = spot_order(view)
    for key in ("time", "updateTime", "isWorking", "workingTime", "icebergQty", "stopPrice"):
        raw.pop(key)
    raw["origClientOrderId"] = view.intent.client_order_id
    raw["clientOrderId"] = cancel_client_id
    raw["transactTime"] = ms(view.updated_at)
    if view.intent.stop_price is not None:
        raw["stopPrice"] = fmt(view.intent.stop_price)
    return raw


def spot_trade(fill: Fill, order_id: int) -> Json:
    return {
        "symbol": exchange_id(fill.symbol),
        "id": int(fill.trade_id),
        "orderId": order_id,
        "orderListId": -1,
        "price": fmt(fill.price),
        "qty": fmt(fill.quantity),
        "quoteQty": fmt(fill.price * fill.quantity),
        "commission": fmt(fill.fee),
        "commissionAsset": fill.fee_asset,
        "time": ms(fill.filled_at),
        "isBuyer": fill.side is Side.BUY,
        "isMaker": fill.liquidity is Liquidity.MAKER,
        "isBestMatch": True,
    }


def spot_account(balances: Mapping[str, Balance], rules: MarketRules, now_ms: int) -> Json:
    maker, taker = int(rules.maker_fee * 10_000), int(rules.taker_fee * 10_000)
    return {
        "makerCommission": maker,
        "takerCommission": taker,
        "buyerCommission": 0,
        "sellerCommission": 0,
        "commissionRates": {"maker": fmt(rules.maker_fee), "taker": fmt(rules.taker_fee), "buyer": "0", "seller": "0"},
        "canTrade": True,
        "canWithdraw": False,
        "canDeposit": False,
        "brokered": False,
        "requireSelfTradePrevention": False,
        "preventSor": False,
        "updateTime": now_ms,
        "accountType": "SPOT",
        "balances": [{"asset": b.asset, "free": fmt(b.free), "locked": fmt(b.used)} for b in balances.values()],
        "permissions": ["SPOT"],
        "uid": 1,
    }


# ---------------------------------------------------------------- futures orders


def futures_order(view: OrderView, *, child: bool = False) -> Json:
    """A regular-book order (``child``: the order a triggered algo order became)."""
    intent = view.intent
    kind = view.binance_type
    return {
        "orderId": view.child_id if child else view.order_id,
        "symbol": exchange_id(intent.symbol),
        "status": view.binance_status,
        "clientOrderId": intent.client_order_id,
        "price": fmt(intent.price),
        "avgPrice": fmt(view.average),
        "origQty": fmt(intent.quantity),
        "executedQty": fmt(view.filled),
        "cumQty": fmt(view.filled),
        "cumQuote": fmt(view.cost),
        "timeInForce": _time_in_force(view),
        "type": ("LIMIT" if intent.price is not None else "MARKET") if child else kind,
        "reduceOnly": intent.reduce_only,
        "closePosition": False,
        "side": intent.side.upper(),
        "positionSide": "BOTH",
        "stopPrice": fmt(intent.stop_price),
        "workingType": "CONTRACT_PRICE",
        "priceProtect": False,
        "origType": kind,
        "priceMatch": "NONE",
        "selfTradePreventionMode": "NONE",
        "goodTillDate": 0,
        "time": ms(view.created_at),
        "updateTime": ms(view.updated_at),
    }


def algo_order(view: OrderView) -> Json:
    intent = view.intent
    return {
        "algoId": view.algo_id,
        "clientAlgoId": intent.client_order_id,
        "algoType": "CONDITIONAL",
        "orderType": view.binance_type,
        "symbol": exchange_id(intent.symbol),
        "side": intent.side.upper(),
        "positionSide": "BOTH",
        "timeInForce": _time_in_force(view),
        "quantity": fmt(intent.quantity),
        "algoStatus": view.algo_status,
        "actualOrderId": str(view.child_id) if view.triggered else "",
        "actualPrice": fmt(view.average),
        "triggerPrice": fmt(intent.stop_price),
        "price": fmt(intent.price),
        "icebergQuantity": None,
        "tpTriggerPrice": "0",
        "tpPrice": "0",
        "slTriggerPrice": "0",
        "slPrice": "0",
        "tpOrderType": "",
        "selfTradePreventionMode": "NONE",
        "workingType": "CONTRACT_PRICE",
        "priceMatch": "NONE",
        "closePosition": False,
        "priceProtect": False,
        "reduceOnly": intent.reduce_only,
        "createTime": ms(view.created_at),
        "updateTime": ms(view.updated_at),
        "triggerTime": ms(view.updated_at) if view.triggered else 0,
        "goodTillDate": 0,
    }


def futures_trade(fill: Fill, order_id: int, realized_pnl: Decimal) -> Json:
    return {
        "buyer": fill.side is Side.BUY,
        "commission": fmt(fill.fee),
        "commissionAsset": fill.fee_asset,
        "id": int(fill.trade_id),
        "maker": fill.liquidity is Liquidity.MAKER,
        "orderId": order_id,
        "price": fmt(fill.price),
        "qty": fmt(fill.quantity),
        "quoteQty": fmt(fill.price * fill.quantity),
        "realizedPnl": fmt(realized_pnl),
        "side": fill.side.upper(),
        "positionSide": "BOTH",
        "symbol": exchange_id(fill.symbol),
        "time": ms(fill.filled_at),
    }


def futures_asset(quote: str, balance: Balance, wallet: Decimal, unrealized: Decimal, now_ms: int) -> Json:
    return {
        "asset": quote,
        "walletBalance": fmt(wallet),
        "unrealizedProfit": fmt(unrealized),
        "marginBalance": fmt(balance.total),
        "maintMargin": "0",
        "initialMargin": fmt(balance.used),
        "positionInitialMargin": fmt(balance.used),
        "openOrderInitialMargin": "0",
        "crossWalletBalance": fmt(wallet),
        "crossUnPnl": fmt(unrealized),
        "availableBalance": fmt(balance.free),
        "maxWithdrawAmount": fmt(max(balance.free, Decimal(0))),
        "updateTime": now_ms,
    }


def futures_account(asset: Json, positions: Iterable[Json]) -> Json:
    """``GET /fapi/v2|v3/account``: totals equal the one margin asset's numbers."""
    return {
        "totalInitialMargin": asset["initialMargin"],
        "totalMaintMargin": "0",
        "totalWalletBalance": asset["walletBalance"],
        "totalUnrealizedProfit": asset["unrealizedProfit"],
        "totalMarginBalance": asset["marginBalance"],
        "totalPositionInitialMargin": asset["positionInitialMargin"],
        "totalOpenOrderInitialMargin": "0",
        "totalCrossWalletBalance": asset["crossWalletBalance"],
        "totalCrossUnPnl": asset["crossUnPnl"],
        "availableBalance": asset["availableBalance"],
        "maxWithdrawAmount": asset["maxWithdrawAmount"],
        "assets": [asset],
        "positions": list(positions),
    }


def position_risk(
    market_id: str, position: ExchangePosition | None, mark: Decimal, leverage: int, now_ms: int
) -> Json:
    """One ``positionRisk`` row (``position`` None: the flat row v2 lists for every symbol)."""
    signed = Decimal(0)
    entry, unrealized = Decimal(0), Decimal(0)
    if position is not None:
        signed = position.quantity if position.side == "long" else -position.quantity
        entry, unrealized = position.entry_price, position.unrealized_pnl
    notional = signed * mark
    return {
        "symbol": market_id,
        "positionSide": "BOTH",
        "positionAmt": fmt(signed),
        "entryPrice": fmt(entry),
        "breakEvenPrice": fmt(entry),
        "markPrice": fmt(mark),
        "unRealizedProfit": fmt(unrealized),
        "liquidationPrice": "0",
        "isolatedMargin": "0",
        "notional": fmt(notional),
        "marginAsset": "USDT",
        "isolatedWallet": "0",
        "initialMargin": fmt(abs(notional) / leverage),
        "maintMargin": "0",
        "positionInitialMargin": fmt(abs(notional) / leverage),
        "openOrderInitialMargin": "0",
        "adl": 0,
        "bidNotional": "0",
        "askNotional": "0",
        "leverage": str(leverage),
        "marginType": "cross",
        "isAutoAddMargin": "false",
        "maxNotionalValue": "1000000000",
        "updateTime": now_ms,
    }
