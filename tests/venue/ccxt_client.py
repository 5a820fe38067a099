"""Unmodified ccxt pointed at a local venue: the URL overrides of ``docs/venue.md`` §"Pointing ccxt at it".

ccxt keeps Binance's REST base URLs in ``urls['api']`` (one per API family: ``public``, ``private``,
``fapiPublic``, ``fapiPrivateV3`` ...) and the websocket bases in ``urls['api']['ws']``. Swapping the
scheme and host of every REST URL (keeping its path) and setting the three websocket bases is all it
takes; nothing in ccxt is patched.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import ccxt.async_support as ccxt_async
import ccxt.pro as ccxt_pro

API_KEY = "venuetestkey0123456789abcdef0123456789abcdef0123456789abcdef01"
API_SECRET = "venuetestsecret0123456789abcdef0123456789abcdef0123456789abcdef"


def point_at_venue(exchange: Any, venue_url: str) -> Any:
    """Send every REST and websocket request of ``exchange`` to the venue at ``venue_url``."""
    ws_base = venue_url.replace("http://", "ws://", 1)
    api = exchange.urls["api"]
    for key, value in list(api.items()):
        if isinstance(value, str):
            api[key] = venue_url + urlsplit(value).path
    ws = api.get("ws")
    if isinstance(ws, dict):
        for key in ("spot", "margin", "linear"):
            ws[key] = f"{ws_base}/ws"
        ws["ws-api"] = {"spot": f"{ws_base}/ws-api/v3"}
    return exchange


def spot_options() -> dict[str, Any]:
    return {
        "defaultType": "spot",
        "fetchMarkets": {"types": ["spot"]},
        "fetchCurrencies": False,
        "fetchMargins": False,
        "warnOnFetchOpenOrdersWithoutSymbol": False,
    }


def futures_options() -> dict[str, Any]:
    return {"defaultType": "swap", "fetchMarkets": {"types": ["linear"]}, "fetchCurrencies": False,
            "warnOnFetchOpenOrdersWithoutSymbol": False}


def client(market: str, venue_url: str, *, pro: bool = False, secret: str = API_SECRET, key: str = API_KEY,
           timeout_ms: int = 5_000) -> Any:
    """A ccxt Binance client for ``market`` (spot / future), REST only or with websockets (``pro``)."""
    module = ccxt_pro if pro else ccxt_async
    config = {
        "apiKey": key,
        "secret": secret,
        "enableRateLimit": False,
        "timeout": timeout_ms,
        "options": spot_options() if market == "spot" else futures_options(),
    }
    exchange = module.binance(config) if market == "spot" else module.binanceusdm(config)
    return point_at_venue(exchange, venue_url)
