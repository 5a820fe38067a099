"""What a REST handler gets (the venue's state and one request) and what a route declares about itself."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from venue.market import VenueMarket
from venue.streams import ListenKeys
from venue.weights import Limits

Security = Literal["NONE", "USER_STREAM", "SIGNED"]
"""Binance's endpoint security types: public, API key only, API key and signature."""


@dataclass(frozen=True)
class Context:
    market: VenueMarket
    keys: ListenKeys
    limits: Limits


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    params: Mapping[str, str]
    wall_ms: int
    delay_fill: bool = False


Handler = Callable[[Context, Call], Any]
Weight = Callable[[Mapping[str, str]], int]


def fixed(weight: int) -> Weight:
    return lambda params: weight


def by_symbol(with_symbol: int, without: int) -> Weight:
    """Binance's weights that depend on whether one symbol or all are asked for."""
    return lambda params: with_symbol if "symbol" in params else without


@dataclass(frozen=True)
class Route:
    handler: Handler
    security: Security
    weight: Weight
    order: bool = False
    """Counts against the order-rate limits (and ``delay_fill`` faults apply)."""
