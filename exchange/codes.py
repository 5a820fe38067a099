"""Stable ``OrderRejected.code`` values that both brokers emit, so callers never parse messages."""

from __future__ import annotations

from enum import StrEnum


class RejectCode(StrEnum):
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
    ORDER_NOT_FOUND = "order_not_found"
    """``fetch_order`` / ``cancel_order`` for a client id the exchange does not know."""
    UNKNOWN_SYMBOL = "unknown_symbol"
    NO_MARKET_PRICE = "no_market_price"
    """The simulated exchange has seen no price yet for the symbol of a market order."""
    INVALID_PRECISION = "invalid_precision"
    """A quantity or price that is not a multiple of the step or tick (Binance LOT_SIZE / PRICE_FILTER)."""
    INVALID_ORDER = "invalid_order"
    """Any other refusal of the order by the exchange; the message says why."""
