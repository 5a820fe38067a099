"""A live run's candles: the preloaded history of each symbol, kept up to date from the websocket kline stream,
with the gaps a reconnect leaves filled over REST, bounded in memory.

Which candles are closed is decided on the exchange's time, never the wall clock (``docs/venue.md``): a
streamed candle is final once the stream has moved on to a later candle (Binance sends a kline's final update,
``x: true``, before any update of the next one), and a candle whose close time has passed on the exchange's
clock but that the stream has not finished is fetched over REST. Each candle is appended exactly once and in
order: only the candle that opens where the history ends is taken from the stream; anything else (a reconnect,
a missed update, a silent stretch) is a gap, and the gap is filled from ``GET klines`` starting where the
history ends, so a candle is never lost or doubled across a reconnect.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Protocol, TypeVar

import numpy as np
import pandas as pd

from core.errors import ConfigError, TemporaryError, TradewakeError
from core.ids import Symbol
from core.ports import Clock
from core.timeframes import datetime_to_ms, ms_to_datetime, timeframe_seconds
from core.types import Candle
from engine.events import CandleClosed
from gate.gate import Gate
from market.builder import Market, SnapshotBuilder
from market.candles import frame_from_arrays, frame_to_candles
from market.ccxt_rest import KLINE_LIMIT
from market.ccxt_stream import CandleView, LastTrade
from market.derivatives import DerivativesHistory, DerivativesPoller
from market.download import KlineSource, RetryPolicy, backoff_delay
from market.regime import tracker_from_candles
from market.resample import resample_candles

if TYPE_CHECKING:
    from contextlib import AsyncExitStack

    from exchange.venue import VenueSpec

Row = list[float]
HISTORY_CANDLES = 2_000
"""Preloaded per symbol: indicators, the gate's baselines (it scores after 288) and the regime fit."""
MIN_HISTORY = 300
MAX_HISTORY = 2 * HISTORY_CANDLES
"""Closed candles kept in memory per symbol; the oldest go (in chunks of ``TRIM_CHUNK``) beyond this."""
TRIM_CHUNK = 500
START_RETRY = RetryPolicy(max_retries=6, base_s=0.5, cap_s=30.0)
"""Start-up requests (the exchange's time, the preload's pages): six retries, at most 30 s apart."""

T = TypeVar("T")
log = logging.getLogger(__name__)


class MarketSource(KlineSource, Protocol):
    """Where a live run's market data comes from: klines by REST, candles and trades by websocket, the time."""

    async def watch_candles(self, symbol: str, timeframe: str) -> CandleView: ...

    async def watch_last_trade(self, symbol: str) -> LastTrade | None: ...

    async def fetch_time_ms(self) -> int: ...

    async def reset(self) -> None: ...

    async def close(self) -> None: ...


@dataclass
class CandleFeed:
    """Closed candles of one symbol, appended to the snapshot builder's history as they close."""

    source: KlineSource
    symbol: Symbol
    timeframe: str
    builder: SnapshotBuilder
    history: pd.DataFrame
    max_history: int = MAX_HISTORY
    gap: bool = False
    """The stream may have missed candles (a reconnect, an out-of-order update): fill from REST next."""
    appended: int = 0
    """Candles appended since the start (from the stream or REST)."""
    filled: int = 0
    """Of those, candles that came from a REST gap-fill."""
    _streamed: dict[int, Row] = field(default_factory=dict)
    _resync: bool = False
    """After a drop: the stream's cached candles may be stale until the first update after the reconnect."""
    _trusted_from_ms: int = 0
    _held: list[CandleClosed] = field(default_factory=list)
    """Candles appended by a ``collect`` whose REST gap-fill then failed: the next ``collect`` returns them first."""
    _step_ms: int = field(init=False)

    def __post_init__(self) -> None:
        self._step_ms = timeframe_seconds(self.timeframe) * 1000

    @property
    def next_open_ms(self) -> int:
        return int(self.history.index[-1].value // 1_000_000) + self._step_ms

    def offer(self, view: CandleView) -> None:
        """The stream's latest view of its candles. After a reconnect only what the stream updates afresh is
        trusted: an older candle in its cache may lack the updates sent while the socket was down."""
        if self._resync:
            self._resync = False
            self._trusted_from_ms = view.updated_from_ms
            self._streamed = {k: v for k, v in self._streamed.items() if k >= self._trusted_from_ms}
        for row in view.rows:
            if int(row[0]) >= max(self.next_open_ms, self._trusted_from_ms):
                self._streamed[int(row[0])] = list(row)

    def dropped(self) -> None:
        """The stream broke: what it missed meanwhile comes from REST, and its cache is suspect until it speaks."""
        self.gap = True
        self._resync = True

    async def collect(self, now: datetime) -> list[CandleClosed]:
        """Candles that closed since the last call, oldest first, each once: those the stream finished, then
        (after a gap) what REST has up to the exchange's ``now``. A failing REST call raises and leaves the gap
        open for the next call; the streamed candles already appended are held for it (never lost)."""
        events, self._held = [*self._held, *self._append(self._from_stream())], []
        if self.gap:
            try:
                events.extend(self._append(await self._from_rest(datetime_to_ms(now))))
            except TradewakeError:
                self._held = events
                raise
        return events

    def _from_stream(self) -> list[Row]:
        """Streamed candles that open where the history ends and that the stream has moved past."""
        taken: list[Row] = []
        expected = self.next_open_ms
        while expected in self._streamed and max(self._streamed) > expected:
            taken.append(self._streamed.pop(expected))
            expected += self._step_ms
        if expected not in self._streamed and any(open_ms > expected for open_ms in self._streamed):
            self.gap = True  # the stream skipped a candle (or started after it): REST has it
        return taken

    async def _from_rest(self, now_ms: int) -> list[Row]:
        """Closed candles from where the history ends up to the exchange's now (``TemporaryError`` leaves)."""
        since = self.next_open_ms
        rows = await self.source.fetch_klines(self.symbol, self.timeframe, since, now_ms)
        closed = [r for r in rows if int(r[0]) >= since and int(r[0]) + self._step_ms <= now_ms]
        self.gap = len(rows) >= KLINE_LIMIT  # a full page: more may follow
        self.filled += len(closed)
        return sorted(closed, key=lambda r: r[0])

    def _append(self, rows: Sequence[Row]) -> list[CandleClosed]:
        """Add closed candles (in order, after the history's last) and tell the snapshot builder and regime."""
        if not rows:
            return []
        array = np.asarray(rows, dtype="float64")
        fresh = frame_from_arrays(array[:, 0].astype("int64"), array[:, 1:6])
        history = pd.concat([self.history, fresh])
        if len(history) > self.max_history + TRIM_CHUNK:
            history = history.iloc[-self.max_history :]
        self.history = history
        self.appended += len(rows)
        for stale in [k for k in self._streamed if k < self.next_open_ms]:
            del self._streamed[stale]
        self.builder.update(self.history)
        if self.builder.regime is not None:
            reference = self.builder.regime.schedule.timeframe
            frame = (
                self.history
                if reference == self.timeframe
                else resample_candles(self.history, self.timeframe, reference)[
                    ["open", "high", "low", "close", "volume"]
                ]
            )
            self.builder.regime.update(frame)
        return [self._event(row) for row in rows]

    def _event(self, row: Row) -> CandleClosed:
        opened = ms_to_datetime(int(row[0]))
        candle = Candle(
            symbol=self.symbol,
            timeframe=self.timeframe,
            open_at=opened,
            open=row[1],
            high=row[2],
            low=row[3],
            close=row[4],
            volume=row[5],
        )
        return CandleClosed(at=opened + timedelta(milliseconds=self._step_ms), candle=candle)


async def at_start(call: Callable[[], Awaitable[T]], retry: RetryPolicy = START_RETRY) -> T:
    """A start-up request, retried on temporary errors (a 429 after its ``Retry-After``, a 5xx, a timeout) with
    backoff: a start must not fail on what the running loop shrugs off. Anything else raises at once."""
    rng = random.Random(retry.seed)
    for attempt in range(retry.max_retries):
        try:
            return await call()
        except TemporaryError as exc:
            delay = backoff_delay(attempt, retry, rng, exc.retry_after_s)
            log.warning("start-up request failed (%s); retry %d in %.1f s", exc, attempt + 1, delay)
            await asyncio.sleep(delay)
    return await call()


async def preload(
    source: KlineSource,
    symbol: Symbol,
    timeframe: str,
    clock: Clock,
    *,
    candles: int = HISTORY_CANDLES,
    retry: RetryPolicy = START_RETRY,
) -> pd.DataFrame:
    """The latest ``candles`` closed candles, page by page until the exchange has no more (a live start needs at
    least ``MIN_HISTORY``). Closed means closed on the exchange's clock (``clock``); a page that meets a temporary
    error is asked again (``at_start``)."""
    step_ms = timeframe_seconds(timeframe) * 1000
    until_ms = datetime_to_ms(clock.now())
    since_ms = until_ms - candles * step_ms
    rows: list[Row] = []
    while since_ms < until_ms:
        page = await at_start(partial(source.fetch_klines, symbol, timeframe, since_ms, until_ms), retry)
        closed = [r for r in page if since_ms <= r[0] and r[0] + step_ms <= until_ms]
        if not closed:
            break
        rows.extend(closed)
        since_ms = int(closed[-1][0] + step_ms)
    if len(rows) < MIN_HISTORY:
        raise ConfigError(f"only {len(rows)} closed {timeframe} candles for {symbol}; need {MIN_HISTORY} to start")
    array = np.asarray(rows, dtype="float64")
    return frame_from_arrays(array[:, 0].astype("int64"), array[:, 1:6])


def live_market(histories: Mapping[Symbol, pd.DataFrame], timeframe: str, *, derivatives: bool) -> Market:
    """Snapshot builders over the preloaded histories (a regime each; a derivatives history on futures, which
    the engine fills from ``DerivativesUpdated`` events)."""
    return Market(
        {
            symbol: SnapshotBuilder(
                symbol,
                history,
                timeframe,
                regime=tracker_from_candles(symbol, history, timeframe),
                derivatives=DerivativesHistory(symbol) if derivatives else None,
            )
            for symbol, history in histories.items()
        }
    )


def candle_feeds(
    source: KlineSource, market: Market, histories: Mapping[Symbol, pd.DataFrame], timeframe: str
) -> list[CandleFeed]:
    return [CandleFeed(source, s, timeframe, market.builder(s), history) for s, history in histories.items()]


def warm_up_gate(gate: Gate, histories: Mapping[Symbol, pd.DataFrame], timeframe: str) -> None:
    """The gate's baselines from the preloaded history (no wakes)."""
    for symbol, history in histories.items():
        gate.warm_up(frame_to_candles(history, symbol, timeframe))


def derivatives_poller(source: KlineSource, symbols: Sequence[Symbol]) -> DerivativesPoller | None:
    """Funding and open interest on their adaptive schedule, from a source that can fetch them."""
    fetch = getattr(source, "fetch_derivatives", None)
    return DerivativesPoller(fetch, list(symbols)) if fetch is not None else None


def market_source(venue: VenueSpec, timeout_s: float, resources: AsyncExitStack) -> MarketSource:
    """Candles and trades by websocket, klines and time by REST, from the venue the orders go to (paper: its
    prices); closed with ``resources``. A local venue replays history: its market time is ``/_venue/info``'s,
    not its ``GET time`` (``market.ccxt_stream``)."""
    from exchange.ccxt_client import ccxt_client
    from market.ccxt_stream import CcxtStream

    info = f"{venue.rest_url.rstrip('/')}/_venue/info" if venue.rest_url is not None else None
    stream = CcxtStream(ccxt_client(venue, timeout_s=timeout_s, websockets=True), market_time_url=info)
    resources.push_async_callback(stream.close)
    return stream
