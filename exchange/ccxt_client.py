"""A configured ccxt Binance client for a ``VenueSpec``: the one place a venue becomes ccxt settings.

The broker (with keys) and the live candle feed (public, no keys) both get their client here, from the
same spec, so orders and candles come from the same venue. The network is applied first (sandbox or
demo mode replace all of ``urls['api']``), the spec's base URLs after it (``../shared/notes/venue.md`` §1).
Restricting market loading to the market type in use keeps ``load_markets`` to one ``exchangeInfo``
request. No request is sent here.
"""

from __future__ import annotations

import logging
from typing import Any, assert_never

import ccxt.async_support as ccxt_async
import ccxt.pro as ccxt_pro

from exchange.venue import Network, VenueSpec

# ccxt logs every request's headers (the API key among them) at DEBUG; its logger for our
# exchanges never goes below INFO, whatever the root level.
WIRE_LOG = logging.getLogger("tradewake.ccxt_wire")
WIRE_LOG.setLevel(logging.INFO)
BURST_WEIGHT = 300.0
"""ccxt's own limiter (a leaky bucket refilled at one weight unit per ``rateLimit`` ms: 1,200 a minute on futures, half
of Binance's 2,400) may run this much request weight ahead, and starts with it. Its default bucket holds one unit:
a weight-30 read such as ``positionSide/dual`` made the next request wait 1.5 s, and a restart spent 6 s so in its
account reads before it could protect a position. The sustained rate is unchanged."""


def ccxt_client(
    venue: VenueSpec,
    *,
    api_key: str | None = None,
    api_secret: str | None = None,
    timeout_s: float = 10.0,
    websockets: bool = False,
) -> Any:
    """A ccxt client for ``venue``: ``binance`` (spot) or ``binanceusdm`` (USDT-M futures), REST
    (``ccxt.async_support``) or REST + websockets (``ccxt.pro``); keys only when given."""
    config: dict[str, Any] = {
        "enableRateLimit": True,
        "tokenBucket": {"capacity": BURST_WEIGHT, "tokens": BURST_WEIGHT},
        "timeout": int(timeout_s * 1000),
        "logger": WIRE_LOG,
        "options": {
            "defaultType": "swap" if venue.futures else "spot",
            "fetchMarkets": {"types": ["linear" if venue.futures else "spot"]},
            "fetchCurrencies": False,
            "fetchMargins": False,
            "warnOnFetchOpenOrdersWithoutSymbol": False,
        },
    }
    if api_key is not None and api_secret is not None:
        config |= {"apiKey": api_key, "secret": api_secret}
    family = ccxt_pro if websockets else ccxt_async
    exchange = family.binanceusdm(config) if venue.futures else family.binance(config)
    match venue.network:
        case Network.SANDBOX:
            exchange.set_sandbox_mode(True)
        case Network.DEMO:
            exchange.enable_demo_trading(True)
        case Network.MAINNET:
            pass
        case _:
            assert_never(venue.network)
    if venue.rest_url is not None or venue.ws_url is not None:
        exchange.urls["api"] = venue.rewrite(exchange.urls["api"])
    return exchange
