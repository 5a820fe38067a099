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
_FENCED_PREFIX_RE = re.compile(r"^[A-Za-z0-9]{1,12}(\.[0-9]{1,12})?$")


def client_order_id(prefix: str, *parts: str | int) -> ClientOrderId:
    """Build a client order id ``<prefix>-<part>-<part>`` that the exchange will accept.

    The run prefix lets reconciliation tell our orders from anybody else's. ``prefix`` may carry a fencing
    token (:func:`fenced_prefix`: ``tw.17``) so the exchange's own record shows which lease sent the order.
    """
    if not _FENCED_PREFIX_RE.match(prefix):
        raise ValueError(f"client id prefix must be 1-12 letters or digits, got {prefix!r}")
    value = "-".join([prefix, *(str(p) for p in parts)])
    if not _CLIENT_ID_RE.match(value):
        raise ValueError(f"client order id {value!r} is longer than 36 characters or has bad characters")
    return ClientOrderId(value)


def fenced_prefix(prefix: str, token: int) -> str:
    """The run prefix with a symbol's fencing token (several runners on one account): ``tw`` and 17 make
    ``tw.17``, so ``tw.17-p3f9a1c07e2-s4`` is a stop sent under token 17. Still ours by :func:`has_prefix`."""
    if not _PREFIX_RE.match(prefix) or token < 0:
        raise ValueError(f"cannot fence prefix {prefix!r} with token {token}")
    return f"{prefix}.{token}"


def has_prefix(cid: str, prefix: str) -> bool:
    """True when ``cid`` was made by :func:`client_order_id` with ``prefix``, with or without a fencing token."""
    return cid.startswith(prefix + "-") or fence_token(cid, prefix) is not None


def fence_token(cid: str, prefix: str) -> int | None:
    """The fencing token an id of ours carries (``tw.17-...`` -> 17); ``None`` when it carries none or is not
    ours."""
    head, dash, _ = cid.partition("-")
    if not dash or not head.startswith(prefix + "."):
        return None
    token = head[len(prefix) + 1 :]
    return int(token) if token.isdigit() and token.isascii() else None


def base_asset(symbol: str) -> str:
    """The base asset of a unified symbol: ``BTC`` of ``BTC/USDT`` and of ``BTC/USDT:USDT``."""
    return symbol.split("/", 1)[0]
