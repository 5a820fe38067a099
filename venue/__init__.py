"""A local Binance-compatible venue: HTTP and websockets over the simulated exchange, prices replayed
from real candle files, faults on the wire, and its own ledger (``tradewake venue serve``).

Public API::

    from venue import Venue, VenueConfig, FaultConfig, FaultRule, WireFault

    config = VenueConfig(market="future", data=(Path("binance_BTC-USDT_5m.csv.gz"),), speed=0)
    async with Venue(config) as venue:      # binds 127.0.0.1 on a free port
        venue.url, venue.credentials        # what to point ccxt at (docs/venue.md)
        venue.step()                        # one replay step (or /_venue/advance, or speed > 0)
        venue.ledger.records                # every order, fill, cancel and fault, with venue time

The layers, bottom up: ``replay`` and ``klines`` (prices and candles as far as played), ``orders``
and ``book`` (Binance's order semantics over ``exchange.sim``), ``market`` (the state and how it
moves), ``rest_*``, ``*_shapes`` and ``routes`` (the endpoints and their JSON), ``auth``, ``weights``
and ``faults`` (the wire's rules), ``streams`` and ``ws_api`` (websockets), ``http`` and ``admin``
(aiohttp), ``server``.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from venue.config import VenueConfig
    from venue.faults import FaultConfig, FaultRule, WireFault
    from venue.server import Venue

__all__ = ["FaultConfig", "FaultRule", "Venue", "VenueConfig", "WireFault"]

_HOMES = {"VenueConfig": "venue.config", "FaultConfig": "venue.faults", "FaultRule": "venue.faults",
          "WireFault": "venue.faults", "Venue": "venue.server"}


def __getattr__(name: str) -> Any:
    """The public names load on first use, so ``tradewake --help`` (which imports ``venue.cli``) does not
    load aiohttp, pandas and the simulated exchange."""
    if name in _HOMES:
        return getattr(import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'venue' has no attribute {name!r}")
