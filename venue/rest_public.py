"""Public REST endpoints: server time, markets, klines and tickers as far as the replay has played.

USDⓈ-M derivatives data: the mark price is the last replayed price; the funding rate is the venue's
constant rate, settled every 8 hours of venue time (``fundingRate`` lists those settlements up to
now); open interest is the venue's own (the only account trading on it). The venue has no crowd,
so the long/short ratio and open-interest history answer an empty list (ccxt: no data).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.ids import Symbol
from exchange.symbols import exchange_id
from venue import errors, market_shapes
from venue import rest_shapes as shapes
from venue.calls import Call, Context
from venue.klines import day_window, interval_ms, klines
from venue.market import FUNDING_INTERVAL_MS
from venue.orders import required

Json = dict[str, Any]


def ping(ctx: Context, call: Call) -> Json:
    return {}


def server_time(ctx: Context, call: Call) -> Json:
    """The clock signed requests are checked against (the wall clock), as Binance's: a client measures its
    offset from it (issue 16 item 7). Venue (replayed) time is ``/_venue/info``'s, and the klines'."""
    return {"serverTime": call.wall_ms}


def exchange_info(ctx: Context, call: Call) -> Json:
    markets = ctx.market.sim.markets().values()
    return market_shapes.exchange_info(markets, ctx.limits, call.wall_ms, futures=ctx.market.market == "future")


def _symbols(ctx: Context, params: Mapping[str, str]) -> list[Symbol]:
    if "symbol" in params:
        return [ctx.market.book.symbol(params)]
    return ctx.market.replay.symbols


def _int(params: Mapping[str, str], name: str) -> int | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError as exc:
        raise errors.illegal_number(name) from exc


def get_klines(ctx: Context, call: Call) -> list[list[Any]]:
    params = call.params
    market = ctx.market
    symbol = market.book.symbol(params)
    length = interval_ms(required(params, "interval"), market.replay.timeframe_ms)
    if length is None:
        raise errors.invalid_interval()
    most = 1500 if market.market == "future" else 1000
    limit = min(max(_int(params, "limit") or 500, 1), most)
    series = market.replay.series(symbol)
    rows = klines(market.replay, series, length, start_ms=_int(params, "startTime"), end_ms=_int(params, "endTime"),
                  limit=limit)
    return [market_shapes.kline(row, series.price_decimals) for row in rows]


def kline_weight(params: Mapping[str, str]) -> int:
    limit = int(params.get("limit", "500") or 500)
    return 1 if limit < 100 else 2 if limit < 500 else 5 if limit <= 1000 else 10


def ticker_price(ctx: Context, call: Call) -> Json | list[Json]:
    market = ctx.market
    rows = [
        {"symbol": exchange_id(s), "price": shapes.fmt(market.replay.last_price(s)), "time": market.now_ms}
        for s in _symbols(ctx, call.params)
    ]
    if market.market == "spot":
        for row in rows:
            del row["time"]
    return rows[0] if "symbol" in call.params else rows


def ticker_24hr(ctx: Context, call: Call) -> Json | list[Json]:
    rows = [_day(ctx, s) for s in _symbols(ctx, call.params)]
    return rows[0] if "symbol" in call.params else rows


def _day(ctx: Context, symbol: Symbol) -> Json:
    market = ctx.market
    series = market.replay.series(symbol)
    window = day_window(market.replay, series)
    last = market.replay.last_price(symbol)
    first = window[0].open if window else float(last)
    volume = sum(r.volume for r in window)
    quote = sum(r.quote_volume for r in window)
    price = f".{series.price_decimals}f"
    change = float(last) - first
    return {
        "symbol": exchange_id(symbol),
        "priceChange": format(change, price),
        "priceChangePercent": f"{(change / first * 100) if first else 0:.3f}",
        "weightedAvgPrice": format(quote / volume if volume else float(last), price),
        "lastPrice": shapes.fmt(last),
        "lastQty": "0",
        "openPrice": format(first, price),
        "highPrice": format(max((r.high for r in window), default=float(last)), price),
        "lowPrice": format(min((r.low for r in window), default=float(last)), price),
        "volume": f"{volume:.8f}",
        "quoteVolume": f"{quote:.8f}",
        "openTime": window[0].open_ms if window else market.now_ms,
        "closeTime": market.now_ms,
        "firstId": 0,
        "lastId": 0,
        "count": sum(r.trades for r in window),
    }


def premium_index(ctx: Context, call: Call) -> Json | list[Json]:
    market = ctx.market
    next_funding = (market.now_ms // FUNDING_INTERVAL_MS + 1) * FUNDING_INTERVAL_MS
    rows = [
        {
            "symbol": exchange_id(s),
            "markPrice": shapes.fmt(market.replay.last_price(s)),
            "indexPrice": shapes.fmt(market.replay.last_price(s)),
            "estimatedSettlePrice": shapes.fmt(market.replay.last_price(s)),
            "lastFundingRate": shapes.fmt(market.settings.funding_rate),
            "interestRate": shapes.fmt(market.settings.funding_rate),
            "nextFundingTime": next_funding,
            "time": market.now_ms,
        }
        for s in _symbols(ctx, call.params)
    ]
    return rows[0] if "symbol" in call.params else rows


def open_interest(ctx: Context, call: Call) -> Json:
    market = ctx.market
    symbol = market.book.symbol(call.params)
    held = sum((p.quantity for p in market.sim.positions([symbol])), start=0)
    return {"symbol": exchange_id(symbol), "openInterest": shapes.fmt(held), "time": market.now_ms}


def funding_history(ctx: Context, call: Call) -> list[Json]:
    """The venue's funding settlements (every 8 h of venue time after the replay started) up to now."""
    market = ctx.market
    symbol = market.book.symbol(call.params)
    limit = min(max(_int(call.params, "limit") or 100, 1), 1000)
    start = max((_int(call.params, "startTime") or 0) - 1, market.started_ms)
    end = min(_int(call.params, "endTime") or market.now_ms, market.now_ms)
    first = (start // FUNDING_INTERVAL_MS + 1) * FUNDING_INTERVAL_MS
    times = list(range(first, end + 1, FUNDING_INTERVAL_MS))[:limit]
    rate = shapes.fmt(market.settings.funding_rate)
    return [{"symbol": exchange_id(symbol), "fundingRate": rate, "fundingTime": t, "markPrice": ""} for t in times]


def no_crowd(ctx: Context, call: Call) -> list[Json]:
    """Long/short ratios and open-interest history: there is no crowd on the venue to measure."""
    ctx.market.book.symbol(call.params)
    return []
