"""``FakeBinance`` served over real HTTP on a free loopback port, plus klines from a real candle series.

Enough of Binance for ``tradewake run --mode testnet`` with ``exchange.venue_url`` pointing here: the broker's
and the candle feed's unmodified ccxt clients reach it through their rewritten ``urls['api']``, sign their
requests, and get FakeBinance's recorded payload shapes over the simulated exchange. Klines come from the
bundled real series, never past the clock's now (the forming candle shows its open as its last price).
The local Binance-compatible venue (``tradewake venue serve``) replaces this once it exists.
"""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any
from urllib.parse import parse_qsl

import numpy as np
import pandas as pd
from aiohttp import web

from core.clock import SimClock
from market.candles import open_ms
from tests.exchange.fake_binance import FakeBinance, Request

KLINE_PATHS = {"/api/v3/klines", "/fapi/v1/klines"}


class LoopbackBinance:
    def __init__(self, fake: FakeBinance, candles: pd.DataFrame, step_ms: int, clock: SimClock) -> None:
        self.fake = fake
        self.rows = np.column_stack([open_ms(candles).astype("float64"), candles.to_numpy(dtype="float64")])
        self.step_ms = step_ms
        self.clock = clock
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None

    def __enter__(self) -> LoopbackBinance:
        self._thread.start()
        port = asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)
        self.url = f"http://127.0.0.1:{port}"
        return self

    def __exit__(self, *exc: object) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    @property
    def requests(self) -> list[Request]:
        return self.fake.requests

    async def _start(self) -> int:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        return int(server.sockets[0].getsockname()[1])  # type: ignore[attr-defined]

    async def _handle(self, http: web.Request) -> web.Response:
        body = await http.text()
        signed = http.query_string or body
        params = dict(parse_qsl(http.query_string)) | dict(parse_qsl(body))
        request = Request(http.method, http.host, http.path, params, dict(http.headers))
        self.fake.requests.append(request)
        if http.path in KLINE_PATHS:
            return web.json_response(self._klines(params))
        status, payload, headers = self.fake._dispatch(request, signed)
        text = payload if isinstance(payload, str) else json.dumps(payload)
        return web.Response(status=status, text=text, content_type="application/json",
                            headers={k: v for k, v in headers.items() if k.lower() != "content-type"})

    def _klines(self, params: dict[str, str]) -> list[list[Any]]:
        now_ms = int(self.clock.now().timestamp() * 1000)
        since = int(params.get("startTime", 0))
        until = min(int(params.get("endTime", 2**62)) + 1, now_ms)
        chosen = self.rows[(self.rows[:, 0] >= since) & (self.rows[:, 0] < until)][: int(params.get("limit", 500))]
        answer = []
        for row in chosen:
            opened, o, h, lo, c, v = (float(x) for x in row)
            if opened + self.step_ms > now_ms:  # still forming: only its open has happened
                h = lo = c = o
            answer.append([int(opened), str(o), str(h), str(lo), str(c), str(v), int(opened) + self.step_ms - 1,
                           "0", 0, "0", "0", "0"])
        return answer
