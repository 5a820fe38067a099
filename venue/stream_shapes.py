"""Websocket payloads: public market streams and user-data events, as Binance sends them (pure functions).

Public trade ids are derived from the replay: the trade at the end of segment ``s`` (1-3) of candle
``i`` has id ``3 i + s``, so a kline's first and last trade ids (``f``, ``L``) agree with the trade
stream without any state.

User data (``venue.book`` activity in, events out): spot ``executionReport`` and
``outboundAccountPosition``; USDⓈ-M ``ORDER_TRADE_UPDATE`` (regular orders and the order a
triggered algo order became), ``ALGO_UPDATE`` (the algo book: NEW, TRIGGERED, FINISHED, CANCELED,
EXPIRED) and ``ACCOUNT_UPDATE`` (reason ORDER or FUNDING_FEE).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from core.types import Balance, ExchangePosition, Liquidity
from exchange.symbols import exchange_id
from venue.book import OrderEvent
from venue.klines import KlineRow
from venue.replay import SEGMENTS, Trade
from venue.rest_shapes import fmt, ms

Json = dict[str, Any]


def trade_id(candle_index: int, phase: int) -> int:
    return candle_index * SEGMENTS + phase


def kline_event(
    market_id: str, interval: str, row: KlineRow, *, decimals: int, event_ms: int, first_index: int
) -> Json:
    """``<symbol>@kline_<interval>``; ``first_index`` is the first base candle of the row (for trade ids)."""
    price = f".{decimals}f"
    first = trade_id(first_index, 1) if row.trades else -1
    return {
        "e": "kline",
        "E": event_ms,
        "s": market_id,
        "k": {
            "t": row.open_ms, "T": row.close_ms, "s": market_id, "i": interval,
            "f": first, "L": first + row.trades - 1 if row.trades else -1,
            "o": format(row.open, price), "c": format(row.close, price),
            "h": format(row.high, price), "l": format(row.low, price),
            "v": f"{row.volume:.8f}", "n": row.trades, "x": row.closed,
            "q": f"{row.quote_volume:.8f}", "V": f"{row.taker_buy_volume:.8f}",
            "Q": f"{row.taker_buy_quote:.8f}", "B": "0",
        },
    }


def trade_event(market_id: str, trade: Trade, ident: int, at_ms: int, *, futures: bool) -> Json:
    event: Json = {
        "e": "trade", "E": at_ms, "T": at_ms, "s": market_id, "t": ident,
        "p": fmt(trade.price), "q": f"{trade.quantity:.8f}", "m": trade.buyer_is_maker,
    }
    if futures:
        event["X"] = "MARKET"
    else:
        event["M"] = True
    return event


def agg_trade_event(market_id: str, trade: Trade, ident: int, at_ms: int, *, futures: bool) -> Json:
    event: Json = {
        "e": "aggTrade", "E": at_ms, "s": market_id, "a": ident, "p": fmt(trade.price),
        "q": f"{trade.quantity:.8f}", "f": ident, "l": ident, "T": at_ms, "m": trade.buyer_is_maker,
    }
    if not futures:
        event["M"] = True
    return event


# ---------------------------------------------------------------- spot user data


def execution_report(event: OrderEvent, event_ms: int) -> Json:
    view, fill = event.view, event.fill
    intent = view.intent
    last_quote = fill.price * fill.quantity if fill is not None else Decimal(0)
    return {
        "e": "executionReport", "E": event_ms, "s": exchange_id(intent.symbol),
        "c": intent.client_order_id, "S": intent.side.upper(), "o": view.binance_type, "f": "GTC",
        "q": fmt(intent.quantity), "p": fmt(intent.price), "P": fmt(intent.stop_price), "F": "0",
        "g": -1, "C": "", "x": "TRADE" if fill is not None else event.execution, "X": view.binance_status,
        "r": "NONE", "i": view.order_id,
        "l": fmt(fill.quantity if fill else None), "z": fmt(view.filled), "L": fmt(fill.price if fill else None),
        "n": fmt(fill.fee if fill else None), "N": fill.fee_asset if fill else None,
        "T": ms(event.at), "t": int(fill.trade_id) if fill else -1, "I": 0,
        "w": view.status.is_terminal is False and (not intent.type.is_conditional or view.triggered),
        "m": fill is not None and fill.liquidity is Liquidity.MAKER, "M": False,
        "O": ms(view.created_at), "Z": fmt(view.cost), "Y": fmt(last_quote), "Q": "0",
        "W": ms(view.created_at), "V": "NONE",
    }


def outbound_account_position(balances: Mapping[str, Balance], assets: Iterable[str], event_ms: int) -> Json:
    rows = [
        {"a": a, "f": fmt(balances[a].free), "l": fmt(balances[a].used)} if a in balances
        else {"a": a, "f": "0", "l": "0"}
        for a in assets
    ]
    return {"e": "outboundAccountPosition", "E": event_ms, "u": event_ms, "B": rows}


# ---------------------------------------------------------------- USDⓈ-M user data


def futures_events(event: OrderEvent, event_ms: int) -> list[Json]:
    """The events Binance sends for one order change (an algo order's change may need two)."""
    view = event.view
    if not view.is_algo:
        return [order_trade_update(event, event_ms, child=False)]
    if event.execution == "NEW":
        return [algo_update(event, event_ms)]
    if event.execution == "TRIGGERED":
        return [algo_update(event, event_ms), order_trade_update(event, event_ms, child=True, execution="NEW")]
    if not view.triggered:
        return [algo_update(event, event_ms)]  # cancelled or expired before its trigger
    updates = [order_trade_update(event, event_ms, child=True)]
    if view.status.is_terminal:
        updates.append(algo_update(event, event_ms))
    return updates


def order_trade_update(event: OrderEvent, event_ms: int, *, child: bool, execution: str | None = None) -> Json:
    view, fill = event.view, event.fill
    intent = view.intent
    kind = view.binance_type
    order: Json = {
        "s": exchange_id(intent.symbol), "c": intent.client_order_id, "S": intent.side.upper(),
        "o": ("LIMIT" if intent.price is not None else "MARKET") if child else kind,
        "f": "GTX" if intent.post_only else "GTC", "q": fmt(intent.quantity), "p": fmt(intent.price),
        "ap": fmt(view.average), "sp": fmt(intent.stop_price),
        "x": execution or event.execution, "X": "NEW" if execution == "NEW" else view.binance_status,
        "i": view.child_id if child else view.order_id,
        "l": fmt(fill.quantity if fill else None), "z": fmt(view.filled), "L": fmt(fill.price if fill else None),
        "T": ms(event.at), "t": int(fill.trade_id) if fill else 0, "b": "0", "a": "0",
        "m": fill is not None and fill.liquidity is Liquidity.MAKER, "R": intent.reduce_only,
        "wt": "CONTRACT_PRICE", "ot": kind, "ps": "BOTH", "cp": False, "rp": fmt(event.realized_pnl),
        "pP": False, "si": 0, "ss": 0, "V": "NONE", "pm": "NONE", "gtd": 0,
    }
    if fill is not None:
        order["N"], order["n"] = fill.fee_asset, fmt(fill.fee)
    return {"e": "ORDER_TRADE_UPDATE", "E": event_ms, "T": ms(event.at), "o": order}


def account_config_update(market_id: str, leverage: int, event_ms: int) -> Json:
    """``ACCOUNT_CONFIG_UPDATE`` for a symbol's new leverage (``ac``), as USDⓈ-M pushes it after ``POST /leverage``."""
    return {"e": "ACCOUNT_CONFIG_UPDATE", "E": event_ms, "T": event_ms, "ac": {"s": market_id, "l": leverage}}


def algo_update(event: OrderEvent, event_ms: int) -> Json:
    view = event.view
    intent = view.intent
    return {
        "e": "ALGO_UPDATE", "T": ms(event.at), "E": event_ms,
        "o": {
            "caid": intent.client_order_id, "aid": view.algo_id, "at": "CONDITIONAL", "o": view.binance_type,
            "s": exchange_id(intent.symbol), "S": intent.side.upper(), "ps": "BOTH",
            "f": "GTX" if intent.post_only else "GTC", "q": fmt(intent.quantity), "X": view.algo_status,
            "ai": str(view.child_id) if view.triggered else "", "ap": fmt(view.average), "aq": fmt(view.filled),
            "act": ("LIMIT" if intent.price is not None else "MARKET") if view.triggered else "0",
            "tp": fmt(intent.stop_price), "p": fmt(intent.price), "V": "NONE", "wt": "CONTRACT_PRICE",
            "pm": "NONE", "cp": False, "pP": False, "R": intent.reduce_only,
            "tt": ms(event.at) if view.triggered else 0, "gtd": 0, "rm": "",
        },
    }


def account_update(
    reason: str,
    quote: str,
    wallet: Decimal,
    positions: Iterable[tuple[str, ExchangePosition | None]],
    *,
    at_ms: int,
    event_ms: int,
) -> Json:
    """``ACCOUNT_UPDATE`` with the wallet and the given symbols' positions (None: flat)."""
    rows = []
    for market_id, position in positions:
        signed = Decimal(0)
        entry, unrealized = Decimal(0), Decimal(0)
        if position is not None:
            signed = position.quantity if position.side == "long" else -position.quantity
            entry, unrealized = position.entry_price, position.unrealized_pnl
        rows.append({"s": market_id, "pa": fmt(signed), "ep": fmt(entry), "bep": fmt(entry), "cr": "0",
                     "up": fmt(unrealized), "mt": "cross", "iw": "0", "ps": "BOTH"})
    return {
        "e": "ACCOUNT_UPDATE", "E": event_ms, "T": at_ms,
        "a": {"m": reason, "B": [{"a": quote, "wb": fmt(wallet), "cw": fmt(wallet), "bc": "0"}], "P": rows},
    }
