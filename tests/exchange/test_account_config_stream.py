"""A leverage change the account's user-data stream reports makes the broker read the settings again.

USDⓈ-M pushes ``ACCOUNT_CONFIG_UPDATE`` after a symbol's leverage changes, whoever changed it (the venue does too,
after ``POST /fapi/v1/leverage``). ccxt 4.5.90 hands it to no ``watch_*``; ``AccountStream(on_config=...)`` hears
it before ccxt drops it, and the live run (``engine.live_account.with_stream``) passes the broker's
``forget_symbol_settings``. Unmodified ``ccxt.pro`` and the project's ``CcxtBroker`` on the venue, over real
HTTP and websockets.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.clock import WallClock
from core.ids import Symbol
from engine.wiring import exchange_broker
from exchange.account_stream import AccountStream, Channel
from exchange.retry import no_wait
from tests.exchange.ccxtkit import settings_for
from tests.venue.ccxt_client import API_KEY, API_SECRET, client
from tests.venue.conftest import venue_config
from venue import Venue

FBTC = Symbol("BTC/USDT:USDT")


async def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


async def test_a_leverage_change_by_someone_else_heard_on_the_stream_is_read_again(tmp_path: Path) -> None:
    async with Venue(venue_config("future", tmp_path)) as venue:
        settings = settings_for("future", symbols=("BTC/USDT",), api_key=API_KEY, api_secret=API_SECRET,
                                request_timeout_s=2.0, venue_url=venue.url)
        broker = exchange_broker(settings, WallClock(), sleep=no_wait, seed=1)
        broker.exchange.enableRateLimit = False
        heard: list[int] = []

        def forget() -> None:
            heard.append(1)
            broker.forget_symbol_settings()

        stream = AccountStream.open(broker.venue, api_key=API_KEY, api_secret=API_SECRET, on_config=forget)
        person = client("future", venue.url)  # someone on the Binance app, for our purpose
        watching = asyncio.ensure_future(stream.next(Channel.ORDERS))
        try:
            await broker.check_access()
            first = (await broker.fetch_symbol_settings([FBTC]))[FBTC].leverage
            await wait_for(lambda: any(c.kind == "user" for c in venue.hub.connections) or watching.done())
            assert not watching.done(), watching
            assert (await broker.account.remembered_settings([FBTC]))[FBTC].leverage == first
            await person.set_leverage(first + 3, FBTC)
            await wait_for(lambda: bool(heard))
            reads = count_reads(broker.exchange)
            assert (await broker.account.remembered_settings([FBTC]))[FBTC].leverage == first + 3
            assert (await broker.account.remembered_settings([FBTC]))[FBTC].leverage == first + 3
            assert reads == [1], "read once after the change, remembered after"
        finally:
            watching.cancel()
            await asyncio.gather(watching, return_exceptions=True)
            await person.close()
            await stream.close()
            await broker.close()


def count_reads(exchange: Any) -> list[int]:
    """Count ``GET /fapi/v1/symbolConfig`` from now on (each still goes to the venue)."""
    reads: list[int] = []
    read = exchange.fapiPrivateGetSymbolConfig

    async def counted(params: Any = None) -> Any:
        reads.append(1)
        return await read(params or {})

    exchange.fapiPrivateGetSymbolConfig = counted
    return reads
