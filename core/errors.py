"""Errors named by what the caller must do.

Adapters translate vendor errors (ccxt, anthropic, redis) into these once, at the edge;
the core never sees a vendor exception class.
"""

from __future__ import annotations

from enum import StrEnum


class TradewakeError(Exception):
    """Base of every error we raise on purpose."""


class TemporaryError(TradewakeError):
    """Retry with capped backoff; ``retry_after_s`` is the server's hint when it gave one."""

    def __init__(self, message: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class OutcomeUnknownError(TemporaryError):
    """The request may or may not have taken effect (timeout after send): look it up before retrying."""


class RejectCode(StrEnum):
    """Stable ``OrderRejected.code`` values, declared once: both brokers emit them, safety and the tools
    branch on them and the agent reads them, so nobody parses a message."""

    # From core.money.MarketRules.checked_order (quantization and limits).
    INVALID_QUANTITY = "invalid_quantity"
    INVALID_PRICE = "invalid_price"
    BELOW_MIN_QTY = "below_min_qty"
    ABOVE_MAX_QTY = "above_max_qty"
    BELOW_MIN_NOTIONAL = "below_min_notional"
    # From the venue.
    INSUFFICIENT_FUNDS = "insufficient_funds"
    WOULD_IMMEDIATELY_TRIGGER = "would_immediately_trigger"
    """A stop or take-profit whose trigger is already through the market (Binance -2021 / -2010)."""
    POST_ONLY_WOULD_TAKE = "post_only_would_take"
    REDUCE_ONLY_REJECTED = "reduce_only_rejected"
    """Reduce-only order with nothing to reduce, or a reduce-only buy on spot."""
    DUPLICATE_CLIENT_ORDER_ID = "duplicate_client_order_id"
    """A client id that an open order already carries."""
    ORDER_NOT_FOUND = "order_not_found"
    """``fetch_order`` / ``cancel_order`` for a client id the exchange does not know."""
    UNKNOWN_SYMBOL = "unknown_symbol"
    NO_MARKET_PRICE = "no_market_price"
    """The simulated exchange has seen no price yet for the symbol of a market order."""
    INVALID_PRECISION = "invalid_precision"
    """A quantity or price that is not a multiple of the step or tick (Binance LOT_SIZE / PRICE_FILTER)."""
    INVALID_ORDER = "invalid_order"
    """Any other refusal of the order by the exchange; the message says why."""
    # From safety (several runners on one account).
    STALE_FENCE = "stale_fence"
    """An order-side write under a fencing token that is no longer the symbol's current one: never sent."""


class OrderRejected(TradewakeError):
    """The order cannot be placed as asked; report ``code`` and the message to the agent."""

    def __init__(self, code: RejectCode, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class OperationalError(TradewakeError):
    """Something a human must look at: stop entries and alert."""


class ConfigError(TradewakeError):
    """Settings are invalid or incomplete; refuse to start."""


class ConflictError(TradewakeError):
    """A compare-and-set lost: the stored version is not the one the caller expected."""

    def __init__(self, key: str, expected: int | None, actual: int | None) -> None:
        super().__init__(f"version conflict on {key!r}: expected {expected}, found {actual}")
        self.key = key
        self.expected = expected
        self.actual = actual
