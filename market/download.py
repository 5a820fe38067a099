"""Download closed candles into the local cache, page by page, resumable, gaps reported.

The loop asks the source for up to 1,000 candles from the resume cursor, appends them to the cache,
records any missing candles (exchange outages: listed, never filled) and saves the cursor. It stops at
``until`` or at the open time of the candle still forming at ``now``, whichever is earlier: a
forming candle is never written. A ``TemporaryError`` (rate limit, timeout) is retried with capped
exponential backoff and jitter (the server's ``Retry-After`` wins when given); anything else stops
the download with the progress saved, and running the same command again resumes.

Nothing here imports ccxt: the source is anything with ``fetch_klines`` (``market.ccxt_rest.CcxtRest``
in production, the same class over recorded payloads in tests).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

import numpy as np

from core.errors import ConfigError, OperationalError, TemporaryError
from core.timeframes import datetime_to_ms, ms_to_datetime, timeframe_seconds
from market.cache import CacheState, append_rows, read_state, repair_and_last_ms, write_state
from market.cache_names import cache_paths
from market.candles import CandleReport, Gap, find_gaps, read_candles


class KlineSource(Protocol):
    async def fetch_klines(self, symbol: str, timeframe: str, since_ms: int, until_ms: int) -> list[list[float]]: ...


@dataclass(frozen=True)
class DownloadRequest:
    exchange: str
    symbol: str
    timeframe: str
    since: datetime
    until: datetime
    out_dir: Path


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff for temporary errors: ``min(cap, base * 2**attempt)`` scaled by a jitter in [0.5, 1]."""

    max_retries: int = 6
    base_s: float = 1.0
    cap_s: float = 60.0
    seed: int = 0


@dataclass(frozen=True)
class DownloadResult:
    csv_path: Path
    state: CacheState
    report: CandleReport
    rows_added: int


Sleep = Callable[[float], Awaitable[None]]
OnProgress = Callable[[CacheState], None]
OnRetry = Callable[[int, float, TemporaryError], None]
"""Told (attempt, delay in seconds, error) before each backoff sleep."""


async def download_candles(
    source: KlineSource,
    request: DownloadRequest,
    *,
    now: datetime,
    retry: RetryPolicy = RetryPolicy(),
    sleep: Sleep = asyncio.sleep,
    on_progress: OnProgress | None = None,
    on_retry: OnRetry | None = None,
) -> DownloadResult:
    """Fill the cache for ``request`` up to the last candle closed at ``now``; resume if it exists."""
    step = timeframe_seconds(request.timeframe) * 1000
    csv_path, state_path = cache_paths(request.out_dir, request.exchange, request.symbol, request.timeframe)
    request.out_dir.mkdir(parents=True, exist_ok=True)
    state = _open_state(request, csv_path, state_path, step, datetime_to_ms(now))
    rows_before = state.rows
    rng = random.Random(retry.seed)
    while state.next_ms < state.until_ms:
        page = await _with_retries(
            lambda: source.fetch_klines(request.symbol, request.timeframe, state.next_ms, state.until_ms),
            retry, rng, sleep, on_retry,
        )
        _apply_page(state, page, step, csv_path)
        write_state(state_path, state)
        if on_progress is not None:
            on_progress(state)
    state.complete = True
    write_state(state_path, state)
    _, report = read_candles(csv_path, request.timeframe) if csv_path.exists() else (None, _empty(request.timeframe))
    return DownloadResult(csv_path, state, report, state.rows - rows_before)


def _open_state(request: DownloadRequest, csv_path: Path, state_path: Path, step: int, now_ms: int) -> CacheState:
    since_ms = -(-datetime_to_ms(request.since) // step) * step  # first open time on the grid
    closed_until = now_ms - now_ms % step  # open time of the candle forming at `now`
    until_ms = min(-(-datetime_to_ms(request.until) // step) * step, closed_until)
    if until_ms <= since_ms:
        raise ConfigError(
            f"nothing to download: --from {request.since.isoformat()} is not before --to "
            f"{ms_to_datetime(until_ms).isoformat()} (capped at the last closed candle)"
        )
    last_ms = repair_and_last_ms(csv_path)
    state = read_state(state_path)
    if state is not None and last_ms is None:
        state = None  # progress without candles (the CSV was deleted): start over
    if state is None:
        state = CacheState(exchange=request.exchange, symbol=request.symbol, timeframe=request.timeframe,
                           since_ms=since_ms, until_ms=until_ms, next_ms=since_ms, rows=_count_rows(csv_path))
    elif since_ms < state.since_ms:
        raise ConfigError(
            f"{csv_path} starts at {ms_to_datetime(state.since_ms).isoformat()}; the cache only appends, so "
            "use a later --from or another --out directory"
        )
    state.until_ms = max(until_ms, state.next_ms)
    state.complete = False
    if last_ms is not None:
        state.next_ms = max(state.next_ms, last_ms + step)
    return state


def _count_rows(csv_path: Path) -> int:
    if not csv_path.is_file():
        return 0
    with csv_path.open("rb") as fh:
        return max(0, sum(1 for _ in fh) - 1)


def _apply_page(state: CacheState, page: list[list[float]], step: int, csv_path: Path) -> None:
    """Append one page, record gaps, move the cursor; an empty page ends the range."""
    rows = [r for r in page if int(r[0]) >= state.next_ms]
    if page and not rows:
        raise OperationalError(f"exchange returned only candles before the cursor {state.next_ms}; refusing to loop")
    if not rows:
        _record_missing(state, state.next_ms, state.until_ms, step)
        state.next_ms = state.until_ms
        return
    times = np.array([int(r[0]) for r in rows], dtype="int64")
    if (np.diff(times) <= 0).any() or (times % step).any():
        raise OperationalError("exchange returned unsorted or misaligned candles")
    _record_missing(state, state.next_ms, int(times[0]), step)
    state.gaps.extend(find_gaps(times, step))
    append_rows(csv_path, rows)
    state.rows += len(rows)
    state.pages += 1
    state.next_ms = int(times[-1]) + step


def _record_missing(state: CacheState, from_ms: int, to_ms: int, step: int) -> None:
    """Candles missing in ``[from_ms, to_ms)``: before the first row they mean "not listed yet"."""
    count = (to_ms - from_ms) // step
    if count <= 0:
        return
    if state.rows == 0 and state.first_available_ms is None:
        if to_ms < state.until_ms:
            state.first_available_ms = to_ms
        return
    state.gaps.append(
        Gap(first_missing=ms_to_datetime(from_ms), last_missing=ms_to_datetime(to_ms - step), count=count)
    )


async def _with_retries(
    call: Callable[[], Awaitable[list[list[float]]]],
    retry: RetryPolicy,
    rng: random.Random,
    sleep: Sleep,
    on_retry: OnRetry | None,
) -> list[list[float]]:
    attempt = 0
    while True:
        try:
            return await call()
        except TemporaryError as exc:
            if attempt >= retry.max_retries:
                raise
            delay = backoff_delay(attempt, retry, rng, exc.retry_after_s)
            if on_retry is not None:
                on_retry(attempt + 1, delay, exc)
            await sleep(delay)
            attempt += 1


def backoff_delay(attempt: int, retry: RetryPolicy, rng: random.Random, retry_after_s: float | None = None) -> float:
    """Seconds to wait before retry ``attempt + 1`` (pure given the RNG state)."""
    if retry_after_s is not None:
        return min(retry.cap_s, max(0.0, retry_after_s))
    return min(retry.cap_s, retry.base_s * 2.0**attempt) * (0.5 + 0.5 * rng.random())


def _empty(timeframe: str) -> CandleReport:
    return CandleReport(timeframe=timeframe, rows=0, first_open_at=None, last_open_at=None)
