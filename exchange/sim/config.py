"""Configuration of the simulated exchange: market type, starting balances, fills, slippage, margin."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Literal, Protocol

from core.money import MarketRules
from core.types import Side


class MarketFill(StrEnum):
    NEXT_PRICE = "next_price"
    """A market order fills at the next price fed (next bar's open, next tick): no look-ahead."""
    IMMEDIATE = "immediate"
    """A market order fills at once at the last price fed, like a live exchange (paper trading)."""


class SlippageModel(Protocol):
    def fill_price(self, side: Side, price: Decimal, rules: MarketRules) -> Decimal:
        """The price a taker fill at ``price`` actually gets (worse for the taker, on the tick grid)."""
        ...


@dataclass(frozen=True)
class FixedBpsSlippage:
    """Taker fills are ``bps`` basis points worse than the reference price, rounded away from the taker."""

    bps: Decimal = Decimal(0)

    def fill_price(self, side: Side, price: Decimal, rules: MarketRules) -> Decimal:
        if self.bps == 0:
            return price
        move = price * self.bps / Decimal(10_000)
        if side is Side.BUY:
            return rules.price(price + move, "up")
        return max(rules.tick_size, rules.price(price - move, "down"))


@dataclass(frozen=True)
class SimConfig:
    market_type: Literal["spot", "future"] = "spot"
    initial_balances: Mapping[str, Decimal] = field(default_factory=lambda: {"USDT": Decimal(10_000)})
    """Spot: every asset held. Futures: the wallet (its quote asset, USDT)."""
    market_fill: MarketFill = MarketFill.NEXT_PRICE
    slippage: SlippageModel = field(default_factory=FixedBpsSlippage)
    liquidity_fraction: Decimal | None = None
    """At most this share of a bar's volume fills per bar (partial fills); ``None`` = unlimited.
    Ticks fed without a volume are unlimited."""
    default_leverage: int = 1
    max_leverage: int = 125
    maintenance_margin_rate: Decimal = Decimal("0.004")
    """Futures: equity below ``sum(|notional|) * rate`` at a bar's worst price liquidates every position."""
    quote_asset: str = "USDT"
    spot_fees_in_received_asset: bool = True
    """Spot: take each fee from the asset the trade delivers, as Binance does unless BNB pays (a buy's fee in
    the base asset: buying 0.01 BTC leaves 0.00999; the guard sizes stops and exits from ``Order.net_quantity``).
    False charges every fee in the quote asset, as an account whose fees BNB pays (at the full rate)."""

    def __post_init__(self) -> None:
        if not 1 <= self.default_leverage <= self.max_leverage:
            raise ValueError("default_leverage must be between 1 and max_leverage")
        if self.liquidity_fraction is not None and not 0 < self.liquidity_fraction <= 1:
            raise ValueError("liquidity_fraction must be in (0, 1]")
        if any(amount < 0 for amount in self.initial_balances.values()):
            raise ValueError("initial balances cannot be negative")
