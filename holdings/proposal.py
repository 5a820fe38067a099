"""A risk proposal for one holding: immutable, versioned, stored once under ``holdings/proposal/<id>``.

Money (prices, quantities, allocations) is ``Decimal`` quantized by the market's tick and step (quantities
rounded down); market measurements (ATR, volatility, probabilities) are floats, as everywhere.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from core.canonical import canonical_json, sha256_hex
from core.ids import Symbol
from holdings.entry_source import EntrySource

_VALUE = ConfigDict(frozen=True, extra="forbid")


class VariantName(StrEnum):
    CONSERVATIVE = "conservative"
    RECOMMENDED = "recommended"
    AGGRESSIVE = "aggressive"
    """Never on mainnet."""


class ProposalWarning(BaseModel):
    """Something the operator should weigh before approving (``code`` is stable, ``message`` for people)."""

    model_config = _VALUE

    code: str
    message: str


class MarketBasis(BaseModel):
    """What the proposal was computed from (also the reference the drift check compares against)."""

    model_config = _VALUE

    as_of: AwareDatetime
    price: Decimal
    atr: float
    atr_timeframe: str
    atr_pct: float
    realized_vol_pct: float | None
    volume_24h_quote: float | None
    spread_pct: float | None
    regime: str | None
    regime_probability: float | None
    support: Decimal | None
    """The lowest low of the last 24 candles of the ATR timeframe (to the tick)."""
    resistance: Decimal | None
    """The highest high of the last 24 candles of the ATR timeframe (to the tick)."""
    band_low: Decimal
    band_high: Decimal
    """Price band of the drift check: the proposal's price +/- ``band_atr`` ATR."""


class Variant(BaseModel):
    model_config = _VALUE

    name: VariantName
    stop: Decimal
    take_profit: Decimal
    stop_distance_pct: float
    """From the current price."""
    entry_to_stop_pct: float
    """From the synthetic entry (at least 5 % on mainnet)."""
    reward_risk: float
    """``(take_profit - price) / (price - stop)``: what is at stake from here."""
    max_allocation: Decimal
    """The most quote notional the bot may commit to this asset, the holding included."""
    managed_quantity: Decimal
    """How much of the holding the bot manages (the rest stays frozen)."""
    allocation_capped: bool = False
    cap_reason: str | None = None
    notes: tuple[str, ...] = ()


class Proposal(BaseModel):
    model_config = _VALUE

    id: str
    asset: str
    symbol: Symbol
    seq: int = Field(ge=1)
    """The asset's n-th proposal (the id is ``<asset>-<seq>``)."""
    risk_model_version: str
    mode: str
    created_at: AwareDatetime
    expires_at: AwareDatetime
    requested_by: str
    request_key: str
    holding_quantity: Decimal
    """The wallet's total of the asset when the proposal was made."""
    equity: Decimal
    entry_source: EntrySource
    synthetic_entry: Decimal
    cost_basis: Decimal | None = None
    market: MarketBasis
    variants: tuple[Variant, ...]
    warnings: tuple[ProposalWarning, ...] = ()
    confidence: float = Field(ge=0, le=1)
    confidence_explanation: tuple[str, ...]

    def variant(self, name: str) -> Variant | None:
        return next((v for v in self.variants if v.name.value == name), None)

    @property
    def variant_names(self) -> tuple[str, ...]:
        return tuple(v.name.value for v in self.variants)

    def digest(self) -> str:
        return sha256_hex(canonical_json(self.model_dump(mode="json")))
