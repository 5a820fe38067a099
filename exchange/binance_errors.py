"""Binance's error answers by their ``code``, whatever host sent them. Pure; no ccxt.

ccxt picks the exception class of a Binance error from per-market tables it selects by host name
(``get_exceptions_by_url``: ``fapi.binance.com``, ``demo-fapi``, the testnet hosts); from any other host
(a proxy, the local venue) USDⓈ-M's -2019, -2021, -4164 ... all arrive as a plain ``ExchangeError``, and a
JSON ``503 {"code":-1001}`` is ``OperationFailed`` on every host, Binance's own included
(``../shared/notes/venue.md`` §5). So the broker reads Binance's ``{"code", "msg"}`` from the answer itself
and decides by code (Binance's error code lists: spot ``errors.md``, USDⓈ-M "Error Code"); ccxt's class is
the fallback when the answer carries no code.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import StrEnum

from core.errors import RejectCode


@dataclass(frozen=True)
class BinanceError:
    code: int
    msg: str


class Outcome(StrEnum):
    """What an error means for the request that got it."""

    UNKNOWN = "unknown"
    """The request may have been applied (-1001 internal error, -1006/-1007 "execution status unknown",
    -1008 overloaded): a write is looked up by client id before it is sent again; a read is retried."""
    TIMESTAMP = "timestamp"
    """-1021: the signed timestamp was outside ``recvWindow``; nothing was applied."""
    REJECTED = "rejected"
    """The order was refused as asked (or, outside order placement, the order is unknown)."""
    OPERATIONAL = "operational"
    """Keys, permissions, settings, anything else: a human must look."""


_JSON_OBJECT = re.compile(r"\{[^{}]*\"code\"[^{}]*\}")

UNKNOWN_OUTCOME_CODES = frozenset({-1001, -1006, -1007, -1008})
TIMESTAMP_CODES = frozenset({-1021})
NOT_FOUND_CODES = frozenset({-2011, -2013})

_BY_CODE: dict[int, RejectCode] = {
    -1013: RejectCode.INVALID_ORDER,  # spot filter failure: the message names the filter (below)
    -1111: RejectCode.INVALID_PRECISION,
    -1121: RejectCode.UNKNOWN_SYMBOL,
    -2010: RejectCode.INVALID_ORDER,  # spot NEW_ORDER_REJECTED: the message says why (below)
    -2018: RejectCode.INSUFFICIENT_FUNDS,
    -2019: RejectCode.INSUFFICIENT_FUNDS,  # USDⓈ-M "Margin is insufficient."
    -2021: RejectCode.WOULD_IMMEDIATELY_TRIGGER,
    -2022: RejectCode.REDUCE_ONLY_REJECTED,
    -4003: RejectCode.BELOW_MIN_QTY,
    -4005: RejectCode.ABOVE_MAX_QTY,
    -4014: RejectCode.INVALID_PRECISION,  # price not a multiple of the tick
    -4023: RejectCode.INVALID_PRECISION,  # quantity not a multiple of the step
    -4116: RejectCode.DUPLICATE_CLIENT_ORDER_ID,
    -4164: RejectCode.BELOW_MIN_NOTIONAL,
    -5022: RejectCode.POST_ONLY_WOULD_TAKE,
}
"""Order rejections by code; -1013 and -2010 cover several reasons and are refined by their message."""

_ORDER_CODE_RANGES = ((-1199, -1100), (-2099, -2010), (-4999, -4000), (-5099, -5000))
"""Request-parameter (-11xx), order (-20xx) and USDⓈ-M order (-4xxx, -50xx) errors: refusals of the order
as sent. Keys (-2008, -2014, -2015), timestamps and the server's own errors are outside these ranges."""

_OPERATIONAL_ORDER_CODES = frozenset({-2014, -2015, -4120})
"""Inside the ranges but a setup problem, not the order's: key format, key rejected, an algo-only type
sent to the regular endpoint (a bug of ours)."""


def parse_error(*texts: str | None) -> BinanceError | None:
    """Binance's ``{"code": .., "msg": ..}`` from the first text that carries one (an exception message with
    the body in it, or the raw body of the last answer)."""
    for text in texts:
        if not text:
            continue
        for match in _JSON_OBJECT.finditer(text):
            try:
                body = json.loads(match.group(0))
            except ValueError:
                continue
            code = body.get("code") if isinstance(body, dict) else None
            if isinstance(code, int) and code < 0:
                return BinanceError(code, str(body.get("msg", "")))
    return None


def outcome(error: BinanceError, *, creating: bool) -> Outcome:
    """What ``error`` means; ``creating``: the request placed an order (so a refusal is the order's)."""
    if error.code in UNKNOWN_OUTCOME_CODES:
        return Outcome.UNKNOWN
    if error.code in TIMESTAMP_CODES:
        return Outcome.TIMESTAMP
    if error.code in NOT_FOUND_CODES:  # placing an order never answers "unknown order": that is no refusal
        return Outcome.OPERATIONAL if creating else Outcome.REJECTED
    if creating and error.code not in _OPERATIONAL_ORDER_CODES and _is_order_code(error.code):
        return Outcome.REJECTED
    return Outcome.OPERATIONAL


def rejection_code(error: BinanceError) -> RejectCode:
    """Our code for a refused order (or an unknown one, -2011 / -2013)."""
    if error.code in NOT_FOUND_CODES:
        return RejectCode.ORDER_NOT_FOUND
    by_code = _BY_CODE.get(error.code, RejectCode.INVALID_ORDER)
    if by_code is not RejectCode.INVALID_ORDER:
        return by_code
    return reject_code(error.msg)


def _is_order_code(code: int) -> bool:
    return code in _BY_CODE or any(low <= code <= high for low, high in _ORDER_CODE_RANGES)


def reject_code(message: str) -> RejectCode:
    """Our code for a Binance order rejection, from its message (spot -2010 and -1013 say why only there)."""
    lowered = message.lower()
    for needle, code in _REJECT_MESSAGES:
        if needle in lowered:
            return code
    return RejectCode.INVALID_ORDER


_REJECT_MESSAGES: tuple[tuple[str, RejectCode], ...] = (
    ("notional", RejectCode.BELOW_MIN_NOTIONAL),
    ("lot_size", RejectCode.INVALID_QUANTITY),  # min, max or step: our cached filters are stale
    ("lot size", RejectCode.INVALID_QUANTITY),
    ("quantity less than", RejectCode.BELOW_MIN_QTY),
    ("greater than max quantity", RejectCode.ABOVE_MAX_QTY),
    ("price_filter", RejectCode.INVALID_PRICE),
    ("precision is over", RejectCode.INVALID_PRECISION),
    ("immediately match and take", RejectCode.POST_ONLY_WOULD_TAKE),
    ("post only", RejectCode.POST_ONLY_WOULD_TAKE),
    ("would trigger immediately", RejectCode.WOULD_IMMEDIATELY_TRIGGER),
    ("would immediately trigger", RejectCode.WOULD_IMMEDIATELY_TRIGGER),
    ("reduceonly", RejectCode.REDUCE_ONLY_REJECTED),
    ("duplicat", RejectCode.DUPLICATE_CLIENT_ORDER_ID),
    ("insufficient", RejectCode.INSUFFICIENT_FUNDS),
    ("invalid symbol", RejectCode.UNKNOWN_SYMBOL),
)
