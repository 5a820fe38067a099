"""Live market data over ccxt's websockets (``ccxt.pro``): candles and trades, plus the REST calls a live feed
needs around them (klines for the gap after a reconnect, the exchange's time).

``CcxtStream`` is a ``CcxtRest`` (same REST calls, same error translation) over a ``ccxt.pro`` client, which
``engine/wiring.py`` builds for the run's venue (``exchange.ccxt_client``). ccxt does not reconnect by itself:
a dropped socket fails the pending ``watch_*`` with a ``NetworkError`` (a ``TemporaryError`` here) and the next
call dials again and subscribes again (``docs/venue.md``, "Reconnects"); the caller decides when to call again
and fills the gap over REST.

Candles are read from ccxt's candle cache after every update, not from what ``watch_ohlcv`` returns: an update
that lands while nobody awaits the stream is cached but never returned (the next call waits for the next
message), so the cache's tail is the only complete view.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, TypeVar

from ccxt.base import errors as ccxt_errors

from core.errors import OperationalError, TemporaryError
from market.ccxt_rest import CcxtRest

T = TypeVar("T")

CACHE_TAIL = 5
"""Candles read back from ccxt's cache after each update (the closed one, the forming one, and slack)."""


@dataclass(frozen=True, slots=True)
class CandleView:
    """The stream's latest candles (``[open_ms, open, high, low, close, volume]``, oldest first, the forming one
    last) and the open time of the oldest candle this very update touched: rows before it are what the cache
    remembered, which after a reconnect may be stale (updates sent while the socket was down never came)."""

    rows: list[list[float]]
    updated_from_ms: int


@dataclass(frozen=True, slots=True)
class LastTrade:
    """The latest public trade of a symbol: its exchange timestamp (ms) and price."""

    at_ms: int
    price: float


class CcxtStream(CcxtRest):
    """Candles and trades by websocket, klines and server time by REST; raises ``core.errors`` types only.

    ``market_time_url``: where a venue that replays history says its market time (``tradewake venue serve``'s
    ``/_venue/info``). Binance's ``GET time`` is the wall clock its candles are stamped on, so it is the market's
    time; a replaying venue answers ``GET time`` with the wall clock too (signed requests are checked against
    it), while its candles are stamped in replayed time. Without that URL, or when it does not answer with a
    ``now_ms``, ``GET time`` is the market's time."""

    def __init__(self, exchange: Any, *, market_time_url: str | None = None) -> None:
        super().__init__(exchange)
        self.market_time_url = market_time_url

    async def watch_candles(self, symbol: str, timeframe: str) -> CandleView:
        """Wait for the next kline update; the latest candles of the stream as it last reported them."""
        updated: list[list[Any]] = await self._watch(self.exchange.watch_ohlcv(symbol, timeframe))
        cache = self.exchange.ohlcvs.get(symbol, {}).get(timeframe) or []
        rows = [[float(v) for v in row[:6]] for row in list(cache)[-CACHE_TAIL:]]
        first = min((int(row[0]) for row in updated), default=int(rows[-1][0]) if rows else 0)
        return CandleView(rows, first)

    async def watch_last_trade(self, symbol: str) -> LastTrade | None:
        """Wait for the next public trade(s); the latest one."""
        trades: list[dict[str, Any]] = await self._watch(self.exchange.watch_trades(symbol))
        stamped = [t for t in trades if t.get("timestamp") is not None and t.get("price")]
        if not stamped:
            return None
        last = max(stamped, key=lambda t: int(t["timestamp"]))
        return LastTrade(int(last["timestamp"]), float(last["price"]))

    async def fetch_time_ms(self) -> int:
        """The market's clock, in ms: Binance ``GET time``, or a replaying venue's market time (see the class)."""
        if self.market_time_url is not None:
            url = self.market_time_url
            try:
                info = await self._call(lambda: self.exchange.fetch(url, "GET"))
            except OperationalError:  # no such endpoint (another Binance-compatible server): not a replaying venue
                info = None
            if isinstance(info, dict) and isinstance(info.get("now_ms"), int):
                return int(info["now_ms"])
            self.market_time_url = None  # not a replaying venue: its GET time is the market's
        return int(await self._call(self.exchange.fetch_time))

    async def reset(self) -> None:
        """Close every socket of this client, keeping its REST session (the next ``watch_*`` dials again). The
        pending watches fail with a ``TemporaryError`` first (ccxt's own close would cancel them instead)."""
        for client in list(self.exchange.clients.values()):
            client.reject(ccxt_errors.NetworkError("the stream went silent; dialling again"))
        try:
            await self.exchange.close_ws_clients()
        except ccxt_errors.BaseError as exc:
            raise self.translate(exc) from exc

    async def _watch(self, request: Awaitable[T]) -> T:
        """A ``watch_*`` call; ccxt cancels the future of a socket it closes itself, which is a drop here."""
        try:
            return await request  # a socket read: no request weight, so not through the budget
        except ccxt_errors.BaseError as exc:
            raise self.translate(exc) from exc
        except ConnectionError as exc:  # ccxt's own: it subscribed on a socket that had just closed (a drop)
            raise TemporaryError(f"the stream dropped: {exc}") from exc
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise
            raise TemporaryError("the stream was closed under a pending watch") from None
