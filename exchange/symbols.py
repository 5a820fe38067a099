"""Symbol normalisation: the one place that turns what a user or a file says into a ccxt symbol.

``BTC/USDT`` is spot, ``BTC/USDT:USDT`` the USDT-margined perpetual. Accepted spellings include
``BTCUSDT``, ``btc-usdt``, ``BTC_USDT``, ``btc/usdt``, ``BTC/USDT:USDT`` and ``BTC-USDT-USDT``
(freqtrade file names); glued forms are split at the longest known quote asset.
"""

from __future__ import annotations

import re
from typing import Literal

from core.ids import Symbol

MarketType = Literal["spot", "future"]

KNOWN_QUOTES: tuple[str, ...] = ("FDUSD", "USDT", "USDC", "TUSD", "BUSD", "BTC", "ETH", "BNB", "EUR", "TRY", "BRL")
"""Quote assets recognised in glued symbols (``ETHBTC``); longest match wins."""

_SEPARATORS = re.compile(r"[/\-_:]")
_ASSET = re.compile(r"^[A-Z0-9]{1,20}$")


class SymbolError(ValueError):
    """A symbol that cannot be read, or that does not fit the market type."""


def normalize_symbol(raw: str, market_type: MarketType) -> Symbol:
    """``raw`` as the unified ccxt symbol for ``market_type`` (spot or USDT-M futures)."""
    base, quote, settle = _split(raw)
    if market_type == "spot":
        if settle is not None:
            raise SymbolError(f"{raw!r} names a futures market (settled in {settle}); the market type is spot")
        return Symbol(f"{base}/{quote}")
    if settle is not None and settle != quote:
        raise SymbolError(f"{raw!r}: only linear (quote-settled) futures are supported, not settled in {settle}")
    return Symbol(f"{base}/{quote}:{quote}")


def exchange_id(symbol: Symbol) -> str:
    """Binance's market id: ``BTC/USDT`` and ``BTC/USDT:USDT`` are both ``BTCUSDT``."""
    base, quote, _ = _split(symbol)
    return base + quote


def is_futures_symbol(symbol: str) -> bool:
    return ":" in symbol


def _split(raw: str) -> tuple[str, str, str | None]:
    text = raw.strip().upper()
    if not text:
        raise SymbolError("empty symbol")
    parts = [p for p in _SEPARATORS.split(text)]
    if len(parts) == 1:
        base, quote = _unglue(text, raw)
        settle = None
    elif len(parts) in (2, 3):
        base, quote = parts[0], parts[1]
        settle = parts[2] if len(parts) == 3 else None
    else:
        raise SymbolError(f"cannot read symbol {raw!r}: too many separators")
    for asset in (base, quote, settle):
        if asset is not None and not _ASSET.match(asset):
            raise SymbolError(f"cannot read symbol {raw!r}: {asset!r} is not an asset code")
    if base == quote:
        raise SymbolError(f"symbol {raw!r} has the same base and quote")
    return base, quote, settle


def _unglue(text: str, raw: str) -> tuple[str, str]:
    for quote in sorted(KNOWN_QUOTES, key=len, reverse=True):
        if text.endswith(quote) and len(text) > len(quote):
            return text[: -len(quote)], quote
    raise SymbolError(f"cannot split {raw!r} into base and quote; write it as BASE/QUOTE")
