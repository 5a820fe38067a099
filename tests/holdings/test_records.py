"""The stored documents: keys, ids and the terms built from a proposal."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from core.ids import Symbol
from holdings.entry_source import EntrySource
from holdings.proposal import VariantName
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


def test_the_composition_root_says_what_the_mode_means_for_holdings() -> None:
    """``engine.wiring.holdings_config``: the engine's and the CLI's config; only mainnet is strict."""
    from core.settings import RiskSettings, RunMode, load_settings
    from engine.wiring import holdings_config

    risk = RiskSettings(max_position_pct=20, mainnet_max_position_pct=10)
    for mode in (RunMode.BACKTEST, RunMode.PAPER, RunMode.TESTNET):
        config = holdings_config(load_settings(None).model_copy(update={"mode": mode, "risk": risk}))
        policy = config.policy
        assert (config.quote, config.proposal_ttl, policy.label) == ("USDT", timedelta(days=7), mode.value)
        assert (policy.cooldown, policy.aggressive, policy.min_entry_gap_pct) == (timedelta(hours=24), True, None)
        assert (policy.limits, policy.cap_name) == (risk, "max_position_pct")
        assert config.blacklisted("USDT") and not config.blacklisted("BTC")
    mainnet = holdings_config(load_settings(None).model_copy(update={"mode": RunMode.MAINNET, "risk": risk})).policy
    assert (mainnet.cooldown, mainnet.aggressive, mainnet.min_entry_gap_pct) == (timedelta(days=7), False, 5.0)
    assert (mainnet.limits.max_position_pct, mainnet.cap_name) == (10, "mainnet_max_position_pct")
