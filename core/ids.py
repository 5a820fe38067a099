"""Identifiers as types, so a symbol is never passed where an order id belongs."""

from __future__ import annotations

import re
from typing import NewType

Symbol = NewType("Symbol", str)
"""Unified ccxt symbol: ``BTC/USDT`` for spot, ``BTC/USDT:USDT`` for USDT-margined futures."""

ClientOrderId = NewType("ClientOrderId", str)
PositionId = NewType("PositionId", str)
ToolCallId = NewType("ToolCallId", str)
RunId = NewType("RunId", str)

# Binance accepts client order ids of up to 36 characters from this alphabet.
_CLIENT_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,36}$")
_PREFIX_RE = re.compile(r"^[A-Za-z0-9]{1,12}$")


def client_order_id(prefix: str, *parts: str | int) -> ClientOrderId:
    """Build a client order id ``<prefix>-<part>-<part>`` that the exchange will accept.

    The run prefix lets reconciliation tell our orders from anybody else's.
    """
    if not _PREFIX_RE.match(prefix):
        raise ValueError(f"client id prefix must be 1-12 letters or digits, got {prefix!r}")
    value = "-".join([prefix, *(str(p) for p in parts)])
    if not _CLIENT_ID_RE.match(value):
        raise ValueError(f"client order id {value!r} is longer than 36 characters or has bad characters")
    return ClientOrderId(value)


def has_prefix(cid: str, prefix: str) -> bool:
    """True when ``cid`` was made by :func:`client_order_id` with ``prefix``."""
    return cid.startswith(prefix + "-")


def base_asset(symbol: str) -> str:
    """The base asset of a unified symbol: ``BTC`` of ``BTC/USDT`` and of ``BTC/USDT:USDT``."""
    return symbol.split("/", 1)[0]
