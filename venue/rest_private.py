"""Private REST endpoints (SIGNED): accounts, orders, trades; spot and USDⓈ-M.

Every handler reads the request's Binance parameters and answers Binance's JSON, or raises the
``BinanceError`` Binance would answer. Order placement goes through ``VenueMarket.place`` (which
matches at once at the last replayed price) and is recorded in the ledger, rejections included.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from core.ids import Symbol
from core.timeframes import datetime_to_ms
from core.types import Fill
from venue import rest_shapes as shapes
from venue.calls import Call, Context
from venue.errors import BinanceError
from venue.orders import OrderRequest, OrderView, parse_order
from venue.rest_public import _int

Json = dict[str, Any]
SPOT_TRADE_WINDOW_MS = 86_400_000
FUTURES_TRADE_WINDOW_MS = 7 * 86_400_000


# ---------------------------------------------------------------- placing


def _parse(ctx: Context, call: Call, *, algo: bool) -> OrderRequest:
    market = ctx.market
    try:
        symbol = market.book.symbol(call.params)
        return parse_order(
            call.params, market.book.rules(symbol), market.market, algo=algo,
            last_price=market.sim.last_price(symbol), generated_id=market.book.next_client_id(),
        )
    except BinanceError as error:
        market.rejected(call.params, error, algo=algo)
        raise


def _place(ctx: Context, call: Call, *, algo: bool) -> tuple[OrderView, OrderRequest]:
    request = _parse(ctx, call, algo=algo)
    try:
        return ctx.market.place(request, delay_fill=call.delay_fill), request
    except BinanceError as error:
        ctx.market.rejected(call.params, error, algo=algo)
        raise


def spot_new_order(ctx: Context, call: Call) -> Json:
    view, request = _place(ctx, call, algo=False)
    return shapes.spot_new_order(view, request.resp_type, ctx.market.book.fills_of(view))


def spot_test_order(ctx: Context, call: Call) -> Json:
    _parse(ctx, call, algo=False)
    return {}


def futures_new_order(ctx: Context, call: Call) -> Json:
    view, request = _place(ctx, call, algo=False)
    raw = shapes.futures_order(view)
    if request.resp_type == "ACK":
        raw.update(status="NEW", executedQty="0", cumQty="0", cumQuote="0", avgPrice="0")
    return raw


def new_algo_order(ctx: Context, call: Call) -> Json:
    view, _ = _place(ctx, call, algo=True)
    return shapes.algo_order(view)


# ---------------------------------------------------------------- looking up, cancelling


def get_order(ctx: Context, call: Call) -> Json:
    view, child = ctx.market.book.find(call.params, algo=False)
    if ctx.market.market == "spot":
        return shapes.spot_order(view)
    return shapes.futures_order(view, child=child)


def get_algo_order(ctx: Context, call: Call) -> Json:
    view, _ = ctx.market.book.find(call.params, algo=True)
    return shapes.algo_order(view)


def cancel_order(ctx: Context, call: Call) -> Json:
    view = ctx.market.cancel(call.params, algo=False)
    if ctx.market.market == "spot":
        cancel_id = call.params.get("newClientOrderId") or ctx.market.book.next_client_id()
        return shapes.spot_cancel(view, cancel_id)
    return shapes.futures_order(view)


def cancel_algo_order(ctx: Context, call: Call) -> Json:
    view = ctx.market.cancel(call.params, algo=True)
    return {"algoId": view.algo_id, "clientAlgoId": view.intent.client_order_id, "code": "200", "msg": "success"}


def _symbol_or_all(ctx: Context, params: Mapping[str, str]) -> Symbol | None:
    return ctx.market.book.symbol(params) if "symbol" in params else None


def open_orders(ctx: Context, call: Call) -> list[Json]:
    views = ctx.market.book.open_orders(_symbol_or_all(ctx, call.params), algo=False)
    return [_regular(ctx, v) for v in views]


def _regular(ctx: Context, view: OrderView) -> Json:
    if ctx.market.market == "spot":
        return shapes.spot_order(view)
    return shapes.futures_order(view, child=view.is_algo)


def open_order(ctx: Context, call: Call) -> Json:
    view, child = ctx.market.book.find(call.params, algo=False)
    if view.status.is_terminal:
        raise BinanceError(-2013, "Order does not exist.")
    return shapes.futures_order(view, child=child)


def open_algo_orders(ctx: Context, call: Call) -> list[Json]:
    views = ctx.market.book.open_orders(_symbol_or_all(ctx, call.params), algo=True)
    return [shapes.algo_order(v) for v in views]


def all_orders(ctx: Context, call: Call) -> list[Json]:
    views = [v for v in ctx.market.book.all_orders(ctx.market.book.symbol(call.params)) if not v.is_algo or v.triggered]
    return [_regular(ctx, v) for v in _window(views, call.params, key=lambda v: v.created_at, ident=_order_id)]


def all_algo_orders(ctx: Context, call: Call) -> list[Json]:
    views = [v for v in ctx.market.book.all_orders(ctx.market.book.symbol(call.params)) if v.is_algo]
    return [shapes.algo_order(v) for v in _window(views, call.params, key=lambda v: v.created_at,
                                                  ident=lambda v: v.algo_id, id_param="algoId")]


def _order_id(view: OrderView) -> int:
    return view.child_id if view.is_algo else view.order_id


def cancel_all_open(ctx: Context, call: Call, *, algo: bool) -> Json:
    market = ctx.market
    symbol = market.book.symbol(call.params)
    for view in market.book.open_orders(symbol, algo=algo):
        key = {"symbol": call.params["symbol"], "clientAlgoId" if algo else "origClientOrderId":
               view.intent.client_order_id}
        market.cancel(key, algo=algo)
    return {"code": 200, "msg": "The operation of cancel all open order is done."}


def cancel_all_regular(ctx: Context, call: Call) -> Json:
    return cancel_all_open(ctx, call, algo=False)


def cancel_all_algo(ctx: Context, call: Call) -> Json:
    return cancel_all_open(ctx, call, algo=True)


# ---------------------------------------------------------------- trades


def my_trades(ctx: Context, call: Call) -> list[Json]:
    """``myTrades`` / ``userTrades``: by ``orderId`` (one order's trades: how a client reads the fees of a spot
    order it read back without ``fills``, issue 16 item 1), else by id or time window (``_trade_window``)."""
    market = ctx.market
    symbol = market.book.symbol(call.params)
    fills = market.sim.fills(symbol)
    order_id = _int(call.params, "orderId")
    if order_id is not None:
        if "startTime" in call.params or "endTime" in call.params:
            raise BinanceError(-1128, "Combination of optional parameters invalid.")
        fills = [f for f in fills if market.book.binance_order_id(f) == order_id]
    fills = _trade_window(fills, call.params, futures=market.market == "future", now_ms=market.now_ms,
                          by_order=order_id is not None)
    if market.market == "spot":
        return [shapes.spot_trade(f, market.book.binance_order_id(f)) for f in fills]
    return [shapes.futures_trade(f, market.book.binance_order_id(f), market.sim.realized_pnl(f.trade_id))
            for f in fills]


def _trade_window(fills: Sequence[Fill], params: Mapping[str, str], *, futures: bool, now_ms: int,
                  by_order: bool = False) -> list[Fill]:
    """Binance's selection: ``fromId`` on, else a ``startTime``/``endTime`` window (at most 24 h spot,
    7 days USDⓈ-M; one bound given, the other follows), else the latest (USDⓈ-M: of the last 7 days, unless
    one order's trades are asked for); at most ``limit`` (500, max 1000)."""
    limit = min(max(_int(params, "limit") or 500, 1), 1000)
    span = FUTURES_TRADE_WINDOW_MS if futures else SPOT_TRADE_WINDOW_MS
    from_id, start, end = _int(params, "fromId"), _int(params, "startTime"), _int(params, "endTime")
    if from_id is not None:
        return [f for f in fills if int(f.trade_id) >= from_id][:limit]
    if start is None and end is None:
        chosen = [f for f in fills if by_order or not futures or _ms(f.filled_at) > now_ms - span]
        return chosen[-limit:]
    if start is not None and end is not None and end - start > span:
        raise BinanceError(-1127, "More than 24 hours between startTime and endTime." if not futures
                           else "More than 7 days between startTime and endTime.")
    low = start if start is not None else (end or now_ms) - span
    high = end if end is not None else low + span
    chosen = [f for f in fills if low <= _ms(f.filled_at) <= high]
    return chosen[:limit] if start is not None else chosen[-limit:]


def _ms(at: datetime) -> int:
    return datetime_to_ms(at)


def _window(views: list[OrderView], params: Mapping[str, str], *, key: Callable[[OrderView], datetime],
            ident: Callable[[OrderView], int], id_param: str = "orderId") -> list[OrderView]:
    limit = min(max(_int(params, "limit") or 500, 1), 1000)
    from_id, start, end = _int(params, id_param), _int(params, "startTime"), _int(params, "endTime")
    chosen = [
        v for v in views
        if (from_id is None or ident(v) >= from_id)
        and (start is None or _ms(key(v)) >= start)
        and (end is None or _ms(key(v)) <= end)
    ]
    return chosen[:limit] if from_id is not None or start is not None else chosen[-limit:]
