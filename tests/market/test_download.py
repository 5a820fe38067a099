"""Candle download through real ccxt code answering from recorded Binance /api/v3/klines payloads."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from core.errors import ConfigError, OperationalError, TemporaryError
from market.cache import read_state
from market.cache_names import cache_paths
from market.ccxt_rest import CcxtRest, make_exchange
from market.download import DownloadRequest, RetryPolicy, backoff_delay, download_candles
from tests.market.binance_replay import (
    IP_BANNED,
    RATE_LIMITED,
    BinanceReplay,
    Reply,
    fail_after,
    klines_route,
    load_json,
)
from tests.market.conftest import BTC_5M, cached_candles

KLINES = "/api/v3/klines"
START = datetime(2023, 3, 20, tzinfo=UTC)
END = datetime(2023, 3, 28, tzinfo=UTC)
NOW = datetime(2023, 4, 1, tzinfo=UTC)
Replay = tuple[BinanceReplay, CcxtRest]


class Sleeps:
    """Records backoff sleeps instead of waiting (the download takes its sleep function as an argument)."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
async def replay() -> AsyncIterator[Replay]:
    info = load_json("binance_spot_exchangeInfo.json")
    rows = load_json("binance_klines_BTCUSDT_5m_2023-03-20.json.gz")
    replay = BinanceReplay({"/api/v3/exchangeInfo": lambda _: info, KLINES: klines_route(rows)})
    rest = CcxtRest(replay.install(make_exchange("spot")))
    yield replay, rest
    await rest.close()


def request(out: Path, since: datetime = START, until: datetime = END) -> DownloadRequest:
    return DownloadRequest(exchange="binance", symbol="BTC/USDT", timeframe="5m", since=since, until=until, out_dir=out)


def expected(since: datetime, until: datetime) -> pd.DataFrame:
    candles = cached_candles(BTC_5M)
    return candles[(candles.index >= since) & (candles.index < until)]


async def test_pages_through_the_range_and_reports_the_outage(replay: Replay, tmp_path: Path) -> None:
    fake, rest = replay
    assert rest.exchange.enableRateLimit is True
    result = await download_candles(rest, request(tmp_path), now=NOW)
    got = pd.read_csv(result.csv_path)
    want = expected(START, END)
    assert len(got) == len(want) == 2304 - 16
    assert got["timestamp"].tolist() == [int(t.timestamp() * 1000) for t in want.index]
    assert got[["open", "high", "low", "close", "volume"]].to_numpy().tolist() == want.to_numpy().tolist()
    pages = [p for p, _ in fake.calls if p == KLINES]
    assert len(pages) == 3  # 1000 + 1000 + 288 candles
    params = [q for p, q in fake.calls if p == KLINES]
    assert all(q["limit"] == "1000" and q["symbol"] == "BTCUSDT" and q["interval"] == "5m" for q in params)
    assert int(params[1]["startTime"]) == int(params[0]["startTime"]) + 1000 * 300_000
    assert [g.count for g in result.state.gaps] == [16]
    assert result.report.missing_candles == 16
    assert result.state.gaps[0].first_missing == datetime(2023, 3, 24, 12, 40, tzinfo=UTC)
    assert result.state.complete and result.rows_added == len(want)


async def test_the_forming_candle_is_never_stored(replay: Replay, tmp_path: Path) -> None:
    _, rest = replay
    now = datetime(2023, 3, 21, 10, 7, 30, tzinfo=UTC)  # the 10:05 candle is still forming
    result = await download_candles(rest, request(tmp_path), now=now)
    assert result.report.last_open_at == datetime(2023, 3, 21, 10, 0, tzinfo=UTC)


async def test_resumes_after_an_ip_ban_without_duplicates(replay: Replay, tmp_path: Path) -> None:
    fake, rest = replay
    original = fake.routes[KLINES]
    fake.routes[KLINES] = fail_after(original, pages=1, reply=IP_BANNED)
    with pytest.raises(OperationalError, match="HTTP 418"):
        await download_candles(rest, request(tmp_path), now=NOW)
    csv_path, state_path = cache_paths(tmp_path, "binance", "BTC/USDT", "5m")
    state = read_state(state_path)
    assert state is not None and state.rows == 1000 and not state.complete
    assert fake.count(KLINES) == 2
    fake.routes[KLINES] = original  # the ban has expired
    result = await download_candles(rest, request(tmp_path), now=NOW)
    resumed = [q for p, q in fake.calls if p == KLINES][2]
    assert int(resumed["startTime"]) == state.next_ms
    got = pd.read_csv(csv_path)
    assert got["timestamp"].is_unique and len(got) == 2304 - 16
    assert result.rows_added == 2304 - 16 - 1000
    assert [g.count for g in result.state.gaps] == [16]


async def test_rate_limit_is_retried_after_retry_after(replay: Replay, tmp_path: Path) -> None:
    fake, rest = replay
    fake.script(KLINES, RATE_LIMITED)
    sleeps, told = Sleeps(), []
    result = await download_candles(
        rest, request(tmp_path), now=NOW, sleep=sleeps, on_retry=lambda a, d, e: told.append((a, d, str(e)))
    )
    assert sleeps.calls == [7.0]  # the server's Retry-After
    assert told[0][:2] == (1, 7.0) and "HTTP 429" in told[0][2]
    assert result.state.rows == 2304 - 16


async def test_rate_limit_gives_up_after_max_retries(replay: Replay, tmp_path: Path) -> None:
    fake, rest = replay
    fake.script(KLINES, *[RATE_LIMITED] * 3)
    sleeps = Sleeps()
    with pytest.raises(TemporaryError) as info:
        await download_candles(rest, request(tmp_path), now=NOW, sleep=sleeps, retry=RetryPolicy(max_retries=2))
    assert info.value.retry_after_s == 7.0
    assert len(sleeps.calls) == 2


async def test_a_5xx_internal_error_is_temporary(replay: Replay) -> None:
    """Binance's 503 -1001 "Internal error; unable to process your request. Please try again." (ccxt raises a bare
    ``OperationFailed``): a live run's ``GET time`` met one and ended with an operational error."""
    fake, rest = replay
    fake.script(KLINES, Reply(503, {"code": -1001, "msg": "Internal error; unable to process your request."},
                              reason="Service Unavailable"))
    with pytest.raises(TemporaryError, match="try again"):
        await rest.fetch_klines("BTC/USDT", "5m", int(START.timestamp() * 1000), int(END.timestamp() * 1000))


async def test_ip_ban_is_operational_and_not_retried(replay: Replay, tmp_path: Path) -> None:
    fake, rest = replay
    fake.script(KLINES, IP_BANNED)
    sleeps = Sleeps()
    with pytest.raises(OperationalError, match="418"):
        await download_candles(rest, request(tmp_path), now=NOW, sleep=sleeps)
    assert sleeps.calls == []


async def test_a_crash_mid_append_is_repaired_on_resume(replay: Replay, tmp_path: Path) -> None:
    """Page 1 saved (rows + progress); the process dies while appending page 2: two rows made it to
    disk, the third only half. Resuming drops the torn line and continues after the last whole row."""
    fake, rest = replay
    original = fake.routes[KLINES]
    fake.routes[KLINES] = fail_after(original, pages=1, reply=IP_BANNED)
    with pytest.raises(OperationalError):
        await download_candles(rest, request(tmp_path), now=NOW)
    csv_path, _ = cache_paths(tmp_path, "binance", "BTC/USDT", "5m")
    reference = tmp_path / "reference"
    fake.routes[KLINES] = original
    clean = await download_candles(rest, request(reference), now=NOW)
    whole = clean.csv_path.read_text().splitlines(keepends=True)
    with csv_path.open("a") as fh:
        fh.write(whole[1001] + whole[1002] + whole[1003][:17])
    result = await download_candles(rest, request(tmp_path), now=NOW)
    assert csv_path.read_text() == clean.csv_path.read_text()
    assert result.report.rows == 2304 - 16 and result.report.missing_candles == 16


async def test_rerun_adds_nothing_and_extending_appends(replay: Replay, tmp_path: Path) -> None:
    _, rest = replay
    first = await download_candles(rest, request(tmp_path, until=datetime(2023, 3, 22, tzinfo=UTC)), now=NOW)
    again = await download_candles(rest, request(tmp_path, until=datetime(2023, 3, 22, tzinfo=UTC)), now=NOW)
    assert first.rows_added == 576 and again.rows_added == 0
    longer = await download_candles(rest, request(tmp_path), now=NOW)
    assert longer.rows_added == 2304 - 16 - 576
    assert longer.report.rows == 2304 - 16


async def test_since_before_the_cache_is_refused(replay: Replay, tmp_path: Path) -> None:
    _, rest = replay
    await download_candles(rest, request(tmp_path, since=datetime(2023, 3, 21, tzinfo=UTC),
                                         until=datetime(2023, 3, 22, tzinfo=UTC)), now=NOW)
    with pytest.raises(ConfigError, match="only appends"):
        await download_candles(rest, request(tmp_path), now=NOW)


async def test_candles_before_the_first_available_are_not_a_gap(
    replay: Replay, tmp_path: Path
) -> None:
    _, rest = replay
    since = START - timedelta(days=2)  # the recorded payloads start on 2023-03-20
    result = await download_candles(rest, request(tmp_path, since=since, until=datetime(2023, 3, 21, tzinfo=UTC)),
                                    now=NOW)
    assert result.state.first_available_ms == int(START.timestamp() * 1000)
    assert result.state.gaps == [] and result.report.rows == 288


def test_backoff_is_capped_jittered_and_honours_retry_after() -> None:
    policy = RetryPolicy(base_s=1.0, cap_s=10.0, seed=3)
    delays = [backoff_delay(a, policy, random.Random(3)) for a in range(8)]
    assert all(0.5 * min(10.0, 2.0**a) <= d <= min(10.0, 2.0**a) for a, d in enumerate(delays))
    assert delays == [backoff_delay(a, policy, random.Random(3)) for a in range(8)]  # seeded
    assert backoff_delay(0, policy, random.Random(0), retry_after_s=4.0) == 4.0
    assert backoff_delay(0, policy, random.Random(0), retry_after_s=400.0) == 10.0
