"""The composition root: what each run mode means (``plan_for``) and what ``build_run`` assembles for it."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from core.errors import ConfigError
from core.settings import (
    MAINNET_CONFIRM_ENV,
    MAINNET_CONFIRM_VALUE,
    ExchangeSettings,
    RunMode,
    Settings,
    load_settings,
)
from engine.runs import LiveFeed, Replay
from engine.wiring import backtest_settings, build_run, plan_for
from exchange.ccxt_client import ccxt_client
from exchange.venue import Network
from market.candles import frame_to_candles
from tests.engine.helpers import data_2024_q1
from tests.live.harness import live_settings, play, until, venue_config
from venue import Venue

LOCAL = "http://127.0.0.1:8765"


@pytest.mark.parametrize(
    ("mode", "market_type", "fills", "network"),
    [
        (RunMode.BACKTEST, "spot", "replayed", None),
        (RunMode.PAPER, "spot", "simulated", Network.MAINNET),
        (RunMode.PAPER, "future", "simulated", Network.MAINNET),
        (RunMode.TESTNET, "spot", "exchange", Network.SANDBOX),
        (RunMode.TESTNET, "future", "exchange", Network.DEMO),
        (RunMode.MAINNET, "spot", "exchange", Network.MAINNET),
        (RunMode.MAINNET, "future", "exchange", Network.MAINNET),
    ],
)
def test_what_each_mode_means(mode, market_type, fills, network, monkeypatch) -> None:
    monkeypatch.setenv(MAINNET_CONFIRM_ENV, MAINNET_CONFIRM_VALUE)
    plan = plan_for(Settings(mode=mode, exchange=ExchangeSettings(market_type=market_type)))
    assert plan.fills == fills
    assert (plan.venue.network if plan.venue else None) == network
    assert plan.venue is None or (plan.venue.market_type, plan.venue.rest_url) == (market_type, None)


@pytest.mark.parametrize("mode", [RunMode.PAPER, RunMode.TESTNET])
async def test_a_venue_url_sends_candles_and_orders_to_one_host_with_the_modes_network(mode) -> None:
    plan = plan_for(Settings(mode=mode, exchange=ExchangeSettings(market_type="future", venue_url=LOCAL)))
    assert plan.venue is not None
    assert plan.venue.network is (Network.MAINNET if mode is RunMode.PAPER else Network.DEMO)
    assert (plan.venue.rest_url, plan.venue.ws_url, plan.venue.hosts) == (LOCAL, "ws://127.0.0.1:8765", "127.0.0.1:8765")
    client = ccxt_client(plan.venue)
    assert {urlsplit(url).netloc for url in client.urls["api"].values() if isinstance(url, str)} == {"127.0.0.1:8765"}
    await client.close()


def test_a_venue_url_must_be_a_base_url() -> None:
    with pytest.raises(ConfigError, match="venue_url"):
        load_settings(None, exchange={"venue_url": "127.0.0.1:8765"})


def test_a_feed_that_does_not_fit_the_mode_is_refused_before_anything_opens(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="use `tradewake backtest`"):
        asyncio.run(build_run(Settings(), LiveFeed("5m")))
    data = data_2024_q1()
    replay = Replay.single(data.symbol, data.timeframe, data.all_candles, data.candles.iloc[:10],
                           data.candles.iloc[10:], tmp_path / "s.sqlite3")  # fmt: skip
    with pytest.raises(ConfigError, match="a replay is a backtest"):
        asyncio.run(build_run(Settings(mode=RunMode.PAPER), replay))
    assert not (tmp_path / "s.sqlite3").exists()
    assert backtest_settings(Settings(mode=RunMode.PAPER)).mode is RunMode.BACKTEST


def test_a_backtest_run_is_warmed_up_once_and_ready_to_step(tmp_path: Path) -> None:
    data = data_2024_q1()
    candles = frame_to_candles(data.candles, data.symbol, data.timeframe)
    replay = Replay.single(data.symbol, data.timeframe, data.all_candles, data.candles.iloc[:48],
                           data.candles.iloc[48:60], tmp_path / "s.sqlite3")  # fmt: skip
    run = asyncio.run(build_run(Settings(), replay))
    gate_state = run.engine.gate.to_state()["trackers"][data.symbol]
    assert gate_state["volumes"]["count"] == 48, "the gate's baselines saw each warm-up candle once"
    assert run.feed.clock.now() == candles[47].open_at, "the exchange saw the warm-up bars"
    assert run.description == "backtest: BTC/USDT 1h, 12 candles, simulated fills"
    reports = [asyncio.run(run.feed.step(c)) for c in run.feed.candles]
    assert [r.at for r in reports] == [c.open_at + timedelta(hours=1) for c in candles[48:60]]
    asyncio.run(run.engine.close())
    asyncio.run(run.close())
    with pytest.raises(Exception, match="closed"):
        run.store.read_journal()


async def test_a_testnet_run_takes_candles_and_orders_from_one_venue_url(tmp_path: Path) -> None:
    """``tradewake run --mode testnet --venue URL``: no code branch per host, one ``VenueSpec`` for the broker's REST
    client, the market streams and the user-data stream, all on the local venue; its clock is the venue's."""
    async with Venue(venue_config(tmp_path)) as venue:
        run = await build_run(live_settings(venue, tmp_path), LiveFeed("5m"))
        try:
            stop = asyncio.Event()
            task = asyncio.create_task(run.feed.run(stop))
            await play(venue, 9)
            await until(lambda: run.feed.stepped["candle_closed"] == 2, what="two candles")
            stop.set()
            assert await task == 2
        finally:
            await run.close()
    host = urlsplit(venue.url).netloc
    assert run.description == f"testnet: BTC/USDT 5m, orders on Binance spot testnet (sandbox) ({host})"
    assert run.feed.clock.now() < venue.market.now + timedelta(minutes=1), "the venue's time, not the wall clock's"
    assert run.feed.account is not None and {urlsplit(u).netloc for u in _urls(run.feed.account.exchange)} == {host}
    assert {urlsplit(u).netloc for u in _urls(run.feed.source.exchange)} == {host}  # type: ignore[attr-defined]
    assert venue.info()["requests"] > 0


def _urls(exchange: object) -> list[str]:
    api = exchange.urls["api"]  # type: ignore[attr-defined]
    flat = [v for v in api.values() if isinstance(v, str)]
    flat += [v for v in api["ws"].values() if isinstance(v, str)]
    return flat
