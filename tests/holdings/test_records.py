"""The stored documents: keys, ids and the terms built from a proposal."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from core.ids import Symbol
from holdings.proposal import EntrySource, VariantName
from holdings.records import (
    ManagedTerms,
    asset_key,
    check_asset,
    command_key,
    decision_key,
    proposal_asset,
    proposal_key,
)
from tests.holdings.world import AT


def sample_terms(managed_quantity: Decimal = Decimal("0.15")) -> ManagedTerms:
    return ManagedTerms(
        proposal_id="BTC-1",
        variant=VariantName.RECOMMENDED,
        symbol=Symbol("BTC/USDT"),
        synthetic_entry=Decimal("19208.09"),
        entry_source=EntrySource.CURRENT,
        stop=Decimal("17900.96"),
        take_profit=Decimal("21822.35"),
        max_allocation=Decimal("3000.00"),
        managed_quantity=managed_quantity,
        wallet_quantity=Decimal("0.5"),
        band_low=Decimal("17900.96"),
        band_high=Decimal("20515.22"),
        regime="low_vol",
        approved_at=AT + timedelta(minutes=5),
        approved_by="alice",
    )


def test_keys_and_ids() -> None:
    assert (asset_key("BTC"), proposal_key("BTC-1"), decision_key("BTC-1"), command_key("k")) == (
        "holdings/asset/BTC",
        "holdings/proposal/BTC-1",
        "holdings/decision/BTC-1",
        "holdings/command/k",
    )
    assert (proposal_asset("BTC-12"), proposal_asset("1INCH-3"), proposal_asset("BTC"), proposal_asset("btc-1")) == (
        "BTC",
        "1INCH",
        None,
        None,
    )
    assert proposal_asset("BTC-0") is None  # proposals count from 1
    for bad in ("btc", "BTC/USDT", "", "X" * 21):
        with pytest.raises(ValueError, match="capital letters or digits"):
            check_asset(bad)


def test_terms_round_trip_through_json() -> None:
    terms = sample_terms()
    assert ManagedTerms.model_validate(terms.model_dump(mode="json")) == terms


def test_the_config_comes_from_the_run_settings() -> None:
    from core.settings import RunMode, load_settings
    from holdings.config import HoldingsConfig

    settings = load_settings(None, mode="testnet")
    config = HoldingsConfig.from_settings(settings)
    assert (config.mode, config.quote, config.risk) == (RunMode.TESTNET, "USDT", settings.risk)
    assert (config.proposal_ttl, config.cooldown) == (timedelta(days=7), timedelta(hours=24))
    assert HoldingsConfig(mode=RunMode.MAINNET).cooldown == timedelta(days=7)
    assert config.blacklisted("USDT") and not config.blacklisted("BTC")
