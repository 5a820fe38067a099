"""How fast the local venue can replay and answer: the ceiling of ``--speed`` and of a chaos run's pace.

1. Replay steps per second through ``Venue.step()`` (matching, kline and trade events to one
   subscribed websocket, user-data drain, ledger) on the bundled real BTC/USDT 5m candles, against a
   reference measured in the same run: the simulated exchange alone matching the same bars.
2. Signed REST round trips per second (``fetch_balance`` through ccxt over loopback: HMAC check,
   weight accounting, JSON), against unsigned ``GET /fapi/v1/ping`` through plain aiohttp.

The ratios say what the venue's layers cost over the bare work; absolute numbers depend on the load
of the machine.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

import aiohttp

from core.clock import SimClock
from core.timeframes import ms_to_datetime
from exchange.sim import MarketFill, SimConfig, SimExchange, binance_futures_markets
from market.bundled import BTC_5M, bundled_path
from venue import Venue, VenueConfig
from venue.replay import Replay, Step

CANDLES = 1_500
ROUND_TRIPS = 300


def _config(tmp: Path) -> VenueConfig:
    return VenueConfig(market="future", data=(bundled_path(BTC_5M),), speed=0, warmup=300,
                       api_key="bench-key", api_secret="bench-secret", ledger=tmp / "ledger.jsonl")


async def _replay(venue: Venue) -> tuple[float, int]:
    async with aiohttp.ClientSession() as http, http.ws_connect(f"{venue.ws_url}/ws") as ws:
        await ws.send_json({"method": "SUBSCRIBE", "params": ["btcusdt@kline_5m", "btcusdt@trade"], "id": 1})
        await ws.receive_json()
        started = time.perf_counter()
        steps = 0
        while steps < CANDLES * 4 and venue.step():
            steps += 1
            if steps % 200 == 0:
                await asyncio.sleep(0)  # let the sender deliver
        return time.perf_counter() - started, steps


def _bare_matching(venue: Venue, steps: int) -> float:
    """The same bars through a fresh simulated exchange, nothing else."""
    market = venue.market
    series = market.replay.series(market.replay.symbols[0])
    clock = SimClock(ms_to_datetime(market.started_ms))
    sim = SimExchange(binance_futures_markets()[:1], clock,
                      SimConfig(market_type="future", market_fill=MarketFill.NEXT_PRICE))
    replay = Replay([series], market.replay.timeframe_ms, warmup=300)
    planned: list[Step] = []
    while len(planned) < steps and (played := replay.advance()):
        planned.extend(played)
    started = time.perf_counter()
    for step in planned:
        if step.bar is not None:
            sim.on_bar(step.symbol, step.bar, ms_to_datetime(step.at_ms))
    return time.perf_counter() - started


async def _round_trips(venue: Venue) -> tuple[float, float]:
    import ccxt.async_support as ccxt_async

    exchange = ccxt_async.binanceusdm({"apiKey": "bench-key", "secret": "bench-secret", "enableRateLimit": False,
                                       "options": {"fetchCurrencies": False}})
    for key, value in list(exchange.urls["api"].items()):
        if isinstance(value, str) and "fapi" in value:
            exchange.urls["api"][key] = venue.url + value.split(".com", 1)[1]
    try:
        await exchange.load_markets()
        started = time.perf_counter()
        for _ in range(ROUND_TRIPS):
            await exchange.fetch_balance()
        signed = time.perf_counter() - started
    finally:
        await exchange.close()
    async with aiohttp.ClientSession() as http:
        started = time.perf_counter()
        for _ in range(ROUND_TRIPS):
            async with http.get(f"{venue.url}/fapi/v1/ping") as reply:
                await reply.read()
        bare = time.perf_counter() - started
    return signed, bare


async def _run() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with Venue(_config(Path(tmp))) as venue:
            elapsed, steps = await _replay(venue)
            bare = _bare_matching(venue, steps)
            print(f"replay: {steps / elapsed:,.0f} steps/s ({steps / elapsed / 4:,.0f} candles/s, "
                  f"{steps} steps); bare matching {steps / bare:,.0f} steps/s; ratio {elapsed / bare:.1f}x")
            print(f"  the pacer keeps up with --speed up to about {steps / elapsed / 4 * 300:,.0f} on 5m candles")
            signed, ping = await _round_trips(venue)
            print(f"REST: signed fetch_balance {ROUND_TRIPS / signed:,.0f}/s through ccxt; unsigned ping "
                  f"{ROUND_TRIPS / ping:,.0f}/s through aiohttp; ratio {signed / ping:.1f}x")


def main() -> None:
    asyncio.run(_run())


if __name__ == "__main__":
    main()
