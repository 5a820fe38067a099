"""Candles on the websocket: closed on the venue's time, each stepped once and in order, also when the venue
drops the sockets (``ws_drop``) and REST has to fill the gap; the history kept in memory is bounded."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.live_feed import CandleFeed
from engine.live_health import Backoff
from market.ccxt_stream import CandleView
from tests.live.harness import BTC, live_settings, play, running_bot, until, venue_config
from venue import FaultConfig, FaultRule, Venue, WireFault


def closed_rows(venue: Venue, first_open_ms: int) -> np.ndarray:
    """The venue's closed candles from ``first_open_ms`` on, as ``[open_ms, o, h, l, c, v]`` rows."""
    series = venue.market.replay.series(BTC)
    played = venue.market.now_ms
    step = 300_000
    keep = (series.open_ms >= first_open_ms) & (series.open_ms + step <= played)
    return np.column_stack([series.open_ms[keep].astype("float64"), series.values[keep]])


DROPS = 5
"""Drops the faulty stretch must cause (journaled ``feed.dropped``): 120 steps at least, more until then."""
FAULTY_STEPS_AT_MOST = 400
REDIAL_S = Backoff().cap_s + 5.0
"""A stream dials again within the backoff's cap after its last drop; the rest is a loaded machine's slack."""


async def candle_stream_hears(venue: Venue, feed: CandleFeed, *, steps_at_most: int = 8) -> None:
    """Keep the market moving (as a real one does) until the bot's candle stream has heard the candle the venue is
    forming. A stream that dialled again after the venue's last update would otherwise hear nothing more from the
    paused venue, and the candles it missed wait for the silence watchdog (minutes), not for REST."""
    for _ in range(steps_at_most):
        forming = venue.market.now_ms - venue.market.now_ms % 300_000
        try:
            await until(lambda: forming in feed._streamed, timeout_s=REDIAL_S, what="the candle stream")  # noqa: B023
            return
        except AssertionError:
            await play(venue, 1)
    raise AssertionError(f"the candle stream heard none of {steps_at_most} steps after the faults ended")


def bot_rows(feed: CandleFeed, first_open_ms: int) -> np.ndarray:
    history = feed.history
    opens = history.index.as_unit("ms").asi8
    keep = opens >= first_open_ms
    return np.column_stack([opens[keep].astype("float64"), history.to_numpy(dtype="float64")[keep]])


async def test_candles_close_on_venue_time_each_once_across_dropped_websockets(tmp_path: Path) -> None:
    async with Venue(venue_config(tmp_path)) as venue:
        settings = live_settings(venue, tmp_path)
        async with running_bot(settings) as bot:
            feed = bot.loop.feeds[0]
            first = feed.next_open_ms
            await play(venue, 8)
            venue.faults.add(FaultRule(kind=WireFault.WS_DROP, rate=0.15, streams="market"))
            await play(venue, 120)
            for _ in range(FAULTY_STEPS_AT_MOST - 120):  # a loaded bot spends more of the window redialling
                if len(bot.journal("feed.dropped")) >= DROPS:
                    break
                await play(venue, 1)
            venue.faults.replace(FaultConfig())
            await play(venue, 8)
            await candle_stream_hears(venue, feed)
            await until(lambda: bot.loop.stepped["candle_closed"] == len(closed_rows(venue, first)),
                        what=f"catch-up {bot.loop.stepped} {len(closed_rows(venue, first))} {feed.gap} {sorted(feed._streamed)} {feed.next_open_ms}")
            expected, got = closed_rows(venue, first), bot_rows(feed, first)
            assert len(expected) >= 33, "136 steps are 34 candles"
            np.testing.assert_array_equal(got[:, 0], expected[:, 0])  # every candle once, in order, none missing
            np.testing.assert_allclose(got[:, 1:], expected[:, 1:], rtol=1e-12)
            assert bot.loop.stepped["candle_closed"] == len(expected), "each closed candle was stepped exactly once"
            drops = bot.journal("feed.dropped")
            assert len(drops) >= DROPS, "the fault did drop the market sockets"
            assert feed.filled > 0, "the gaps the drops left came from REST"
            assert bot.loop.clock.now().timestamp() * 1000 < venue.market.now_ms + 60_000, "venue time, not wall"


def test_the_history_in_memory_is_bounded(tmp_path: Path) -> None:
    import asyncio

    from engine.live_feed import TRIM_CHUNK, live_market
    from market.bundled import BTC_5M, bundled_path
    from market.candles import load_candles, open_ms

    frame = load_candles(bundled_path(BTC_5M)).iloc[:2_001]
    market = live_market({BTC: frame.iloc[:400]}, "5m", derivatives=False)
    feed = CandleFeed(source=None, symbol=BTC, timeframe="5m", builder=market.builder(BTC),  # type: ignore[arg-type]
                      history=frame.iloc[:400], max_history=500)
    rows = np.column_stack([open_ms(frame).astype("float64"), frame.to_numpy(dtype="float64")])
    sizes = []
    for start in range(400, 2_000, 100):
        tail = [list(r) for r in rows[start : start + 101]]  # 100 closed ones, the next one forming
        feed.offer(CandleView(tail, int(tail[0][0])))
        asyncio.run(feed.collect(frame.index[start + 100].to_pydatetime()))
        sizes.append(len(feed.history))
    assert feed.appended == 1_600 and max(sizes) <= 500 + TRIM_CHUNK
    assert feed.history.index[-1] == frame.index[1_999], "the newest candles stay"


class FlakyKlines:
    """REST klines from a frame's rows, failing as scripted first (the live feed's gap-fill source)."""

    def __init__(self, rows: np.ndarray, failures: list[Exception]) -> None:
        self.rows, self.failures, self.calls = rows, failures, 0

    async def fetch_klines(self, symbol: str, timeframe: str, since_ms: int, until_ms: int) -> list[list[float]]:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return [list(r) for r in self.rows if since_ms <= r[0] < until_ms]


def test_streamed_candles_survive_a_failed_gap_fill_and_are_stepped_once_with_it() -> None:
    """The stream delivers 400-405, skips 406, has 407-410: the gap-fill fails (a ban, a 5xx) and the next round
    must still step 400-405 (already in the history) before what REST brings, each once and in order."""
    import asyncio

    from core.errors import OperationalError
    from engine.live_feed import live_market
    from market.bundled import BTC_5M, bundled_path
    from market.candles import load_candles, open_ms

    frame = load_candles(bundled_path(BTC_5M)).iloc[:420]
    rows = np.column_stack([open_ms(frame).astype("float64"), frame.to_numpy(dtype="float64")])
    source = FlakyKlines(rows, [OperationalError("418 banned")])
    feed = CandleFeed(source=source, symbol=BTC, timeframe="5m", history=frame.iloc[:400],  # type: ignore[arg-type]
                      builder=live_market({BTC: frame.iloc[:400]}, "5m", derivatives=False).builder(BTC))
    streamed = [list(r) for r in [*rows[400:406], *rows[407:412]]]  # 411 is forming
    feed.offer(CandleView(streamed, int(streamed[0][0])))
    now = frame.index[411].to_pydatetime()
    try:
        asyncio.run(feed.collect(now))
    except OperationalError:
        pass
    else:
        raise AssertionError("the failing gap-fill raises")
    events = asyncio.run(feed.collect(now))
    opened = [int(e.candle.open_at.timestamp() * 1000) for e in events]
    assert opened == [int(r[0]) for r in rows[400:411]], "400-405 held, 406-410 from REST, each once"
    assert source.calls == 2 and not feed.gap


def test_the_preload_asks_again_after_a_429_or_a_5xx_instead_of_failing_the_start() -> None:
    """A soak's bot died at start on one 429 among the preload's pages."""
    import asyncio

    from core.clock import SimClock
    from core.errors import TemporaryError
    from engine.live_feed import preload
    from market.bundled import BTC_5M, bundled_path
    from market.candles import load_candles, open_ms
    from market.download import RetryPolicy

    frame = load_candles(bundled_path(BTC_5M)).iloc[:700]
    rows = np.column_stack([open_ms(frame).astype("float64"), frame.to_numpy(dtype="float64")])
    failures: list[Exception] = [TemporaryError("429", retry_after_s=0.01), TemporaryError("503")]
    source = FlakyKlines(rows, failures)
    clock = SimClock(frame.index[-1].to_pydatetime())
    history = asyncio.run(preload(source, BTC, "5m", clock, candles=600, retry=RetryPolicy(base_s=0.01)))
    assert len(history) == 600 and history.index[-1] == frame.index[-2], "every closed candle, once"
    assert source.calls >= 3 and not failures
    source.failures = [TemporaryError("503")] * 3
    try:
        asyncio.run(preload(source, BTC, "5m", clock, candles=600, retry=RetryPolicy(max_retries=2, base_s=0.01)))
    except TemporaryError:
        pass
    else:
        raise AssertionError("after its retries the start fails loudly")
