"""Drift detection as a pure function: has the holding or its market left what was agreed?

Three checks, each against the reference the asset was proposed or approved with:

- **quantity**: the wallet's total of the asset against the reference quantity (a sale outside the bot,
  a deposit, a withdrawal). Tolerance: ``quantity_tolerance_pct`` of the reference, and never less than
  one step of the market (rounding is not drift).
- **price**: the price against the proposal's band (its price +/- 2 ATR).
- **regime**: the regime label differs from the one proposed under, and the new label is held with at
  least ``regime_min_probability`` (a coin flip between regimes is not a change).

For an open proposal a drift makes it stale (the bot aborts it); for a managed holding it moves the asset
to ``managed_drift_alert`` (the bot pauses itself) and a human is alerted.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from core.money import to_decimal


class DriftKind(StrEnum):
    QUANTITY = "quantity"
    PRICE = "price"
    REGIME = "regime"


@dataclass(frozen=True, slots=True)
class DriftThresholds:
    quantity_tolerance_pct: float = 0.5
    regime_min_probability: float = 0.7


@dataclass(frozen=True, slots=True)
class DriftReference:
    """What the holding is compared with (from the open proposal, or from the managed terms)."""

    quantity: Decimal
    band_low: Decimal
    band_high: Decimal
    regime: str | None
    step: Decimal
    """The market's quantity step."""


@dataclass(frozen=True, slots=True)
class Observation:
    """What the cycle sees now. ``price``/``regime`` are ``None`` when the market could not be read:
    only the quantity is checked then."""

    wallet_quantity: Decimal
    price: float | None = None
    regime: str | None = None
    regime_probability: float | None = None


@dataclass(frozen=True, slots=True)
class Drift:
    kind: DriftKind
    message: str


def detect_drift(
    ref: DriftReference, seen: Observation, limits: DriftThresholds = DriftThresholds()
) -> tuple[Drift, ...]:
    """Every drift found, quantity first; ``()`` when the holding is as agreed."""
    found = [d for d in (_quantity(ref, seen, limits), _price(ref, seen), _regime(ref, seen, limits)) if d is not None]
    return tuple(found)


def _quantity(ref: DriftReference, seen: Observation, limits: DriftThresholds) -> Drift | None:
    tolerance = max(ref.quantity * to_decimal(limits.quantity_tolerance_pct) / 100, ref.step)
    change = seen.wallet_quantity - ref.quantity
    if abs(change) <= tolerance:
        return None
    what = "sold or withdrawn outside the bot" if change < 0 else "deposited or bought outside the bot"
    return Drift(
        DriftKind.QUANTITY,
        f"wallet holds {seen.wallet_quantity}, expected {ref.quantity} ({change:+} {what})",
    )


def _price(ref: DriftReference, seen: Observation) -> Drift | None:
    if seen.price is None:
        return None
    price = to_decimal(seen.price)
    if ref.band_low <= price <= ref.band_high:
        return None
    side = "below" if price < ref.band_low else "above"
    return Drift(DriftKind.PRICE, f"price {price} is {side} the 2-ATR band {ref.band_low} .. {ref.band_high}")


def _regime(ref: DriftReference, seen: Observation, limits: DriftThresholds) -> Drift | None:
    if ref.regime is None or seen.regime is None or seen.regime == ref.regime:
        return None
    probability = seen.regime_probability if seen.regime_probability is not None else 0.0
    if probability < limits.regime_min_probability:
        return None
    return Drift(DriftKind.REGIME, f"regime changed from {ref.regime} to {seen.regime} (probability {probability:.2f})")


def describe(drifts: tuple[Drift, ...]) -> str:
    return "; ".join(d.message for d in drifts)
