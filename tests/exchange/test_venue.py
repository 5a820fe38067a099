"""``VenueSpec`` and ``ccxt_client``: which Binance a run talks to, applied to real ccxt clients (no request sent)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import pytest

from core.ids import Symbol
from exchange.ccxt_client import ccxt_client
from exchange.venue import Network, VenueSpec
from market.ccxt_rest import CcxtRest
from tests.market.binance_replay import BinanceReplay, load_json

LOCAL = "http://127.0.0.1:8765"


def strings(urls: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    """Every URL in ccxt's ``urls['api']`` with its dotted key (``ws.ws-api.spot``)."""
    for key, value in urls.items():
        if isinstance(value, Mapping):
            yield from strings(value, f"{prefix}{key}.")
        elif isinstance(value, str):
            yield f"{prefix}{key}", value


@pytest.mark.parametrize(
    ("market_type", "network", "label", "host"),
    [
        ("spot", Network.MAINNET, "spot mainnet", "api.binance.com"),
        ("spot", Network.SANDBOX, "spot testnet (sandbox)", "testnet.binance.vision"),
        ("spot", Network.DEMO, "spot demo trading", "demo-api.binance.com"),
        ("future", Network.MAINNET, "USDT-M futures mainnet", "fapi.binance.com"),
        ("future", Network.DEMO, "USDT-M futures demo trading", "demo-fapi.binance.com"),
    ],
)
async def test_each_venue_names_itself_and_its_client_goes_to_that_host(market_type, network, label, host) -> None:
    venue = VenueSpec(market_type, network)
    assert (venue.label, venue.hosts) == (label, host)
    client = ccxt_client(venue)
    rest_key = "fapiPrivate" if market_type == "future" else "private"
    assert urlsplit(client.urls["api"][rest_key]).netloc == host
    await client.close()


def test_binance_has_no_futures_sandbox_and_bad_base_urls_are_refused() -> None:
    with pytest.raises(ValueError, match="demo trading"):
        VenueSpec("future", Network.SANDBOX)
    for bad in ("127.0.0.1:8765", "ftp://127.0.0.1", "http://", "http://h:1/?q=1"):
        with pytest.raises(ValueError, match="venue URL"):
            VenueSpec.at("spot", Network.SANDBOX, bad)
    with pytest.raises(ValueError, match="ws_url"):
        VenueSpec("spot", Network.MAINNET, ws_url="http://127.0.0.1:1")


def test_one_base_url_gives_rest_and_websockets_on_the_same_host() -> None:
    assert VenueSpec.at("spot", Network.SANDBOX, LOCAL).ws_url == "ws://127.0.0.1:8765"
    secure = VenueSpec.at("future", Network.DEMO, "https://venue.internal:8443/binance")
    assert (secure.rest_url, secure.ws_url) == ("https://venue.internal:8443/binance", "wss://venue.internal:8443/binance")
    assert secure.hosts == "venue.internal:8443" and secure.label == "USDT-M futures demo trading"


@pytest.mark.parametrize("websockets", [False, True])
@pytest.mark.parametrize(
    ("market_type", "network"),
    [("spot", Network.SANDBOX), ("spot", Network.MAINNET), ("future", Network.DEMO), ("future", Network.MAINNET)],
)
async def test_a_base_url_replaces_every_host_after_the_network_and_keeps_every_path(
    market_type, network, websockets
) -> None:
    plain = ccxt_client(VenueSpec(market_type, network), websockets=websockets)
    local = ccxt_client(VenueSpec.at(market_type, network, LOCAL), websockets=websockets)
    before, after = dict(strings(plain.urls["api"])), dict(strings(local.urls["api"]))
    assert before.keys() == after.keys()
    for key, url in after.items():
        parts = urlsplit(url)
        assert parts.netloc == "127.0.0.1:8765", key
        assert parts.scheme == ("ws" if urlsplit(before[key]).scheme.startswith("ws") else "http"), key
        assert parts.path == urlsplit(before[key]).path, key
    if websockets:  # the user-data and market streams the later websocket runner subscribes to
        assert after["ws.spot"] == "ws://127.0.0.1:8765/ws" and after["ws.ws-api.spot"].endswith("/ws-api/v3")
    await plain.close()
    await local.close()


async def test_keys_reach_the_client_only_when_given() -> None:
    public = ccxt_client(VenueSpec("spot", Network.SANDBOX))
    keyed = ccxt_client(VenueSpec("spot", Network.SANDBOX), api_key="k", api_secret="s", timeout_s=3)
    assert not public.apiKey and (keyed.apiKey, keyed.secret, keyed.timeout) == ("k", "s", 3000)
    assert keyed.options["fetchMarkets"]["types"] == ["spot"] and keyed.options["fetchCurrencies"] is False
    await public.close()
    await keyed.close()


async def test_futures_demo_has_no_long_short_ratio_and_the_reading_goes_on_without_it() -> None:
    """Binance demo trading serves no ``futures/data`` endpoints; ccxt refuses the call before sending it."""
    info = load_json("binance_fapi_exchangeInfo.json")
    stamp = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp() * 1000)
    replay = BinanceReplay({
        "/fapi/v1/exchangeInfo": lambda _: info,
        "/fapi/v1/premiumIndex": lambda _: {"symbol": "XRPUSDT", "markPrice": "1.1", "lastFundingRate": "0.0001",
                                            "nextFundingTime": stamp + 3_600_000, "time": stamp},
        "/fapi/v1/openInterest": lambda _: {"symbol": "XRPUSDT", "openInterest": "1000", "time": stamp},
    })
    rest = CcxtRest(replay.install(ccxt_client(VenueSpec("future", Network.DEMO))))
    reading = await rest.fetch_derivatives(Symbol("XRP/USDT:USDT"))
    assert (reading.funding_rate, reading.open_interest, reading.long_short_ratio) == (0.0001, 1000.0, None)
    assert not any("futures/data" in path for path, _ in replay.calls)
    await rest.close()
