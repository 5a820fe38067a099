"""Exact money: quantities and prices as ``Decimal`` quantized by a market's rules.

Quantities always round *down* (never buy more than asked or than the balance allows);
prices round to the nearest tick unless a direction is given. An order that does not fit
the market (below minimum quantity or notional) is refused with a message saying why.
"""

from __future__ import annotations

import math
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_UP, Decimal, InvalidOperation
from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator

from core.errors import OrderRejected, RejectCode
from core.ids import Symbol

PriceRounding = Literal["nearest", "down", "up"]
_ROUNDING = {"nearest": ROUND_HALF_EVEN, "down": ROUND_DOWN, "up": ROUND_UP}


def to_decimal(value: float | int | str | Decimal) -> Decimal:
    """Convert at the float/Decimal boundary via ``repr`` so 0.1 stays 0.1, not 0.1000000000000000055."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"not a finite number: {value}")
        return Decimal(repr(value))
    try:
        return Decimal(value)
    except InvalidOperation as exc:
        raise ValueError(f"not a number: {value!r}") from exc


def quantize_step(value: Decimal, step: Decimal, rounding: str = ROUND_DOWN) -> Decimal:
    """Round ``value`` to a multiple of ``step`` (step need not be a power of ten)."""
    if step <= 0:
        raise ValueError(f"step must be positive, got {step}")
    units = (value / step).to_integral_value(rounding=rounding)
    return units * step


class MarketRules(BaseModel):
    """Precision and limits of one market, as the exchange publishes them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    symbol: Symbol
    base: str
    quote: str
    tick_size: Decimal
    step_size: Decimal
    min_qty: Decimal = Decimal(0)
    max_qty: Decimal | None = None
    min_notional: Decimal = Decimal(0)
    maker_fee: Decimal = Decimal("0.001")
    taker_fee: Decimal = Decimal("0.001")
    contract: bool = False
    """True for derivatives (USDT-M futures); False for spot."""

    @field_validator("tick_size", "step_size")
    @classmethod
    def _positive(cls, value: Decimal) -> Decimal:
        if value <= 0:
            raise ValueError("tick and step sizes must be positive")
        return value

    def price(self, value: Decimal, rounding: PriceRounding = "nearest") -> Decimal:
        return quantize_step(value, self.tick_size, _ROUNDING[rounding])

    def quantity(self, value: Decimal) -> Decimal:
        """Round a quantity down to the step size."""
        return quantize_step(value, self.step_size, ROUND_DOWN)

    def fee_in_quote(
        self, fee: Decimal, fee_asset: str | None, *, base_fee: Decimal, quantity: Decimal, price: Decimal
    ) -> Decimal:
        """What a trade's fee is worth in the quote asset, for P&L.

        Binance spot takes a buy's fee in the base asset bought (``base_fee``, valued at the fill ``price``), a
        sell's in the quote received; BNB pays it instead when the account's discount is on. A fee in another
        asset (BNB, or several assets) has no price here: it is valued at this market's taker rate on the
        notional, less what ``base_fee`` already covers: the undiscounted fee, a slight overestimate.
        """
        if fee_asset == self.quote or fee <= 0:
            return fee
        if fee_asset == self.base:
            return fee * price
        counted = base_fee * price
        return counted + max(Decimal(0), quantity * price * self.taker_fee - counted)

    def checked_order(self, quantity: Decimal, price: Decimal) -> tuple[Decimal, Decimal]:
        """Quantize quantity (down) and price (nearest) and check the limits.

        Raises ``OrderRejected`` with a code the agent can read when the order does not fit.
        """
        if quantity <= 0:
            raise OrderRejected(RejectCode.INVALID_QUANTITY, f"quantity must be positive, got {quantity}")
        if price <= 0:
            raise OrderRejected(RejectCode.INVALID_PRICE, f"price must be positive, got {price}")
        qty = self.quantity(quantity)
        px = self.price(price)
        if qty <= 0 or qty < self.min_qty:
            raise OrderRejected(
                RejectCode.BELOW_MIN_QTY,
                f"{self.symbol}: quantity {quantity} rounds down to {qty}, below the minimum "
                f"{self.min_qty} (step {self.step_size})",
            )
        if self.max_qty is not None and qty > self.max_qty:
            message = f"{self.symbol}: quantity {qty} above the maximum {self.max_qty}"
            raise OrderRejected(RejectCode.ABOVE_MAX_QTY, message)
        notional = qty * px
        if notional < self.min_notional:
            raise OrderRejected(
                RejectCode.BELOW_MIN_NOTIONAL,
                f"{self.symbol}: notional {notional} {self.quote} ({qty} x {px}) is below the "
                f"minimum {self.min_notional} {self.quote}",
            )
        return qty, px
