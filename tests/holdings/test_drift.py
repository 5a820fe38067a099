"""Drift detection (pure): quantity against the wallet, price against the 2-ATR band, regime changes."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from holdings.drift import DriftKind, DriftReference, DriftThresholds, Observation, describe, detect_drift
from tests.holdings.world import BTC, market_source

REF = DriftReference(
    quantity=Decimal("0.5"),
    band_low=Decimal("17900.96"),
    band_high=Decimal("20515.22"),
    regime="low_vol",
    step=Decimal("0.00001"),
)


def kinds(seen: Observation, ref: DriftReference = REF) -> list[DriftKind]:
    return [d.kind for d in detect_drift(ref, seen)]


def test_nothing_drifts_while_the_holding_is_as_agreed() -> None:
    assert detect_drift(REF, Observation(Decimal("0.5"), 19208.09, "low_vol", 1.0)) == ()
    assert detect_drift(REF, Observation(Decimal("0.5"))) == ()  # market unreadable: quantity only


def test_a_sale_or_a_deposit_outside_the_bot_beyond_half_a_percent_is_drift() -> None:
    assert kinds(Observation(Decimal("0.4975"))) == []  # exactly 0.5 %: tolerated
    assert kinds(Observation(Decimal("0.5025"))) == []
    sold = detect_drift(REF, Observation(Decimal("0.3")))
    assert [d.kind for d in sold] == [DriftKind.QUANTITY]
    assert sold[0].message == "wallet holds 0.3, expected 0.5 (-0.2 sold or withdrawn outside the bot)"
    bought = detect_drift(REF, Observation(Decimal("0.6")))
    assert bought[0].message == "wallet holds 0.6, expected 0.5 (+0.1 deposited or bought outside the bot)"


def test_the_tolerance_is_never_below_one_step() -> None:
    tiny = DriftReference(Decimal("0.001"), REF.band_low, REF.band_high, None, Decimal("0.001"))
    assert kinds(Observation(Decimal("0.002")), tiny) == []  # one step off: rounding, not drift
    assert kinds(Observation(Decimal("0.0031")), tiny) == [DriftKind.QUANTITY]


def test_the_price_leaving_the_band_is_drift_on_either_side() -> None:
    assert kinds(Observation(Decimal("0.5"), 17900.96)) == []
    assert kinds(Observation(Decimal("0.5"), 20515.22)) == []
    below = detect_drift(REF, Observation(Decimal("0.5"), 17900.95))
    assert below[0].message == "price 17900.95 is below the 2-ATR band 17900.96 .. 20515.22"
    assert kinds(Observation(Decimal("0.5"), 20515.23)) == [DriftKind.PRICE]


def test_a_confident_regime_change_is_drift_a_coin_flip_is_not() -> None:
    assert kinds(Observation(Decimal("0.5"), 19000.0, "high_vol", 0.69)) == []
    changed = detect_drift(REF, Observation(Decimal("0.5"), 19000.0, "high_vol", 0.7))
    assert changed[0].message == "regime changed from low_vol to high_vol (probability 0.70)"
    no_reference = DriftReference(REF.quantity, REF.band_low, REF.band_high, None, REF.step)
    assert kinds(Observation(Decimal("0.5"), 19000.0, "high_vol", 1.0), no_reference) == []
    strict = DriftThresholds(regime_min_probability=0.95)
    assert detect_drift(REF, Observation(Decimal("0.5"), 19000.0, "high_vol", 0.9), strict) == ()


def test_all_drifts_are_reported_quantity_first() -> None:
    drifts = detect_drift(REF, Observation(Decimal("0.1"), 30000.0, "high_vol", 0.99))
    assert [d.kind for d in drifts] == [DriftKind.QUANTITY, DriftKind.PRICE, DriftKind.REGIME]
    assert describe(drifts).count("; ") == 2


def test_the_september_2022_regime_change_is_seen_on_real_data() -> None:
    calm = market_source().reading(BTC, datetime(2022, 8, 30, 12, tzinfo=UTC)).snapshot
    stressed = market_source().reading(BTC, datetime(2022, 9, 9, 12, tzinfo=UTC)).snapshot
    assert calm.regime is not None and stressed.regime is not None
    ref = DriftReference(Decimal("0.5"), Decimal(1), Decimal(10**6), calm.regime.label, Decimal("0.00001"))
    seen = Observation(
        Decimal("0.5"),
        stressed.last_price.price,
        stressed.regime.label,
        stressed.regime.probabilities[stressed.regime.label],
    )
    assert kinds(seen, ref) == [DriftKind.REGIME]


@given(
    quantity=st.decimals(min_value="0.001", max_value="100", places=5),
    wallet=st.decimals(min_value="0", max_value="200", places=5),
)
def test_quantity_drift_is_exactly_beyond_the_tolerance(quantity: Decimal, wallet: Decimal) -> None:
    ref = DriftReference(quantity, Decimal(0), Decimal(10**9), None, Decimal("0.00001"))
    tolerance = max(quantity * Decimal("0.005"), Decimal("0.00001"))
    assert (kinds(Observation(wallet), ref) == [DriftKind.QUANTITY]) == (abs(wallet - quantity) > tolerance)
