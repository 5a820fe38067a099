"""Which exchange venue a run talks to, as data: market type, network, and optional base URLs.

``engine/wiring.py`` builds one ``VenueSpec`` from the settings (it alone knows what a run mode means)
and hands the same spec to every ccxt client of the run, the broker's and the live candle feed's, so
orders and candles always come from the same venue. Nothing here imports ccxt: the URL rewriting is a
pure function over ccxt's ``urls['api']`` mapping (``exchange.ccxt_client`` applies it).

Networks (see ``../shared/notes/binance.md`` "Testnet and demo"):

- ``mainnet``: real money;
- ``sandbox``: Binance's spot testnet (ccxt ``set_sandbox_mode``); ccxt refuses it for USDT-M futures;
- ``demo``: Binance demo trading (ccxt ``enable_demo_trading``), the futures testnet since 2025.

A base URL replaces the scheme and host of every URL of its kind and keeps the path
(``../shared/notes/venue.md`` §1): ``rest_url`` every ``http(s)://`` URL, ``ws_url`` every
``ws(s)://`` URL. That is how a local Binance-compatible venue is reached with unmodified ccxt.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

MarketType = Literal["spot", "future"]
_REST_SCHEMES = ("http", "https")
_WS_SCHEMES = ("ws", "wss")


class Network(StrEnum):
    MAINNET = "mainnet"
    SANDBOX = "sandbox"
    DEMO = "demo"


_LABELS: dict[tuple[str, Network], tuple[str, str]] = {
    ("spot", Network.MAINNET): ("spot mainnet", "api.binance.com"),
    ("spot", Network.SANDBOX): ("spot testnet (sandbox)", "testnet.binance.vision"),
    ("spot", Network.DEMO): ("spot demo trading", "demo-api.binance.com"),
    ("future", Network.MAINNET): ("USDT-M futures mainnet", "fapi.binance.com"),
    ("future", Network.DEMO): ("USDT-M futures demo trading", "demo-fapi.binance.com"),
}
"""(label, host family) per venue: what a human checks against the key they made."""


@dataclass(frozen=True, slots=True)
class VenueSpec:
    """One Binance venue: ``market_type`` on ``network``, optionally reached at other base URLs."""

    market_type: MarketType
    network: Network
    rest_url: str | None = None
    """Replaces scheme and host of every REST URL (e.g. ``http://127.0.0.1:8765``); paths are kept."""
    ws_url: str | None = None
    """Replaces scheme and host of every websocket URL (e.g. ``ws://127.0.0.1:8765``); paths are kept."""

    def __post_init__(self) -> None:
        if (self.market_type, self.network) not in _LABELS:
            raise ValueError(
                f"Binance has no {self.network} venue for {self.market_type}: "
                "USDT-M futures test trading is demo trading (ccxt refuses the sandbox for futures)"
            )
        _check_base(self.rest_url, _REST_SCHEMES, "rest_url")
        _check_base(self.ws_url, _WS_SCHEMES, "ws_url")

    @classmethod
    def at(cls, market_type: MarketType, network: Network, base_url: str) -> VenueSpec:
        """The venue served at one HTTP base URL: REST there, websockets on the same host (``ws``/``wss``)."""
        _check_base(base_url, _REST_SCHEMES, "venue URL")
        parts = urlsplit(base_url)
        ws_scheme = "wss" if parts.scheme == "https" else "ws"
        return cls(market_type, network, rest_url=base_url, ws_url=urlunsplit(parts._replace(scheme=ws_scheme)))

    @property
    def label(self) -> str:
        """``spot testnet (sandbox)``, ``USDT-M futures mainnet`` ...: which Binance, in words."""
        return _LABELS[(self.market_type, self.network)][0]

    @property
    def hosts(self) -> str:
        """The host the REST requests go to (the override's when there is one)."""
        if self.rest_url is not None:
            return urlsplit(self.rest_url).netloc
        return _LABELS[(self.market_type, self.network)][1]

    @property
    def futures(self) -> bool:
        return self.market_type == "future"

    def rewrite(self, api_urls: Mapping[str, Any]) -> dict[str, Any]:
        """ccxt's ``urls['api']`` with this venue's base URLs swapped in (a copy; nested maps included)."""
        return _rewrite(api_urls, self.rest_url, self.ws_url)


def _rewrite(urls: Mapping[str, Any], rest_url: str | None, ws_url: str | None) -> dict[str, Any]:
    rewritten: dict[str, Any] = {}
    for key, value in urls.items():
        if isinstance(value, Mapping):
            rewritten[key] = _rewrite(value, rest_url, ws_url)
        elif isinstance(value, str):
            rewritten[key] = _rebase(value, rest_url, ws_url)
        else:
            rewritten[key] = value
    return rewritten


def _rebase(url: str, rest_url: str | None, ws_url: str | None) -> str:
    parts = urlsplit(url)
    base = rest_url if parts.scheme in _REST_SCHEMES else ws_url if parts.scheme in _WS_SCHEMES else None
    if base is None:
        return url
    new = urlsplit(base)
    return urlunsplit((new.scheme, new.netloc, new.path.rstrip("/") + parts.path, parts.query, parts.fragment))


def _check_base(url: str | None, schemes: tuple[str, ...], name: str) -> None:
    if url is None:
        return
    parts = urlsplit(url)
    if parts.scheme not in schemes or not parts.netloc or parts.query or parts.fragment:
        raise ValueError(f"{name} must look like {schemes[0]}://host:port, got {url!r}")
