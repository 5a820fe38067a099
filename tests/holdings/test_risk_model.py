"""The risk model on real snapshots (BTC/USDT 1h, 2022): variants, stops, caps, mainnet rules, warnings,
confidence, and properties over many inputs."""

from __future__ import annotations

import decimal
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cache

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.ids import Symbol
from core.money import to_decimal
from core.settings import RiskSettings, RunMode
from holdings.entry_source import EntrySource
from holdings.market_facts import MarketFacts, NotEnoughMarketData, market_facts, return_correlation
from holdings.proposal import Proposal, VariantName
from holdings.risk_model import RISK_MODEL_V1, Abort, ProposalInputs, propose
from tests.holdings.world import AT, BTC, ETH, candles, market_source, policy

RULES = market_source().rules[BTC]


@cache
def facts_at(at: datetime, spread_pct: float | None = None) -> MarketFacts:
    reading = market_source().reading(BTC, at, [ETH])
    return market_facts(reading.snapshot, spread_pct=spread_pct)


@cache
def correlation_at(at: datetime) -> float:
    return market_source().reading(BTC, at, [ETH]).correlations[ETH]


def inputs(
    at: datetime = AT, mode: RunMode = RunMode.TESTNET, risk: RiskSettings | None = None, **changes: object
) -> ProposalInputs:
    base = ProposalInputs(
        proposal_id="BTC-1",
        seq=1,
        asset="BTC",
        facts=facts_at(at),
        rules=RULES,
        holding_quantity=Decimal("0.5"),
        equity=Decimal("20000"),
        open_exposure=Decimal(0),
        open_symbols=(),
        correlations={},
        breaker_notes=(),
        entry_source=EntrySource.CURRENT,
        entry_price=None,
        policy=policy(mode, risk),
        now=at,
        ttl=timedelta(days=7),
        requested_by="alice",
        request_key="k1",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def proposal(**changes: object) -> Proposal:
    result = propose(inputs(**changes))
    assert isinstance(result, Proposal), result
    return result


def codes(p: Proposal) -> list[str]:
    return [w.code for w in p.warnings]


# ---------------------------------------------------------------- the market facts


def test_facts_come_from_the_daily_timeframe_with_levels_volume_and_regime() -> None:
    f = facts_at(AT)
    daily = market_source().reading(BTC, AT).snapshot.timeframe("1d")
    assert daily is not None
    assert (f.price, f.atr_timeframe, f.preferred_timeframe) == (19208.09, "1d", True)
    assert f.atr == daily.indicators.atr
    assert round(f.atr_pct, 2) == 3.40
    assert (f.regime, round(f.regime_probability or 0, 2)) == ("low_vol", 1.0)
    # The 24 daily candles before AT (close times 2022-09-27 .. 2022-10-20 00:00), straight from the candles.
    hourly = candles(BTC).loc["2022-09-26":"2022-10-19"]
    assert f.support == pytest.approx(float(hourly["low"].min()), rel=1e-7)
    assert f.resistance == pytest.approx(float(hourly["high"].max()), rel=1e-7)
    day = candles(BTC).loc["2022-10-19"]
    assert f.volume_24h_quote == pytest.approx(float(day["volume"].sum()) * daily.last_closed.close, rel=1e-6)
    assert f.spread_pct is None


def test_facts_fall_back_to_4h_while_daily_history_is_short_and_fail_without_any_atr() -> None:
    early = facts_at(datetime(2022, 7, 11, 12, tzinfo=UTC))
    assert (early.atr_timeframe, early.preferred_timeframe, early.regime) == ("4h", False, None)
    snapshot = market_source().reading(BTC, datetime(2022, 7, 1, 10, tzinfo=UTC)).snapshot
    with pytest.raises(NotEnoughMarketData):
        market_facts(snapshot)


def test_return_correlation_matches_numpy_on_real_closes() -> None:
    btc = candles(BTC)["close"].loc["2022-09-01":"2022-09-30"]
    eth = candles(ETH)["close"].loc["2022-09-01":"2022-09-30"]
    joined = btc.to_frame("b").join(eth.to_frame("e"), how="inner")
    expected = np.corrcoef(np.diff(np.log(joined["b"])), np.diff(np.log(joined["e"])))[0, 1]
    assert return_correlation(joined["b"].tolist(), joined["e"].tolist()) == pytest.approx(expected, abs=1e-12)
    assert return_correlation([1.0, 1.0, 1.0, 1.0], [1.0, 2.0, 3.0, 5.0]) is None  # a flat series: undefined
    assert return_correlation([1.0, 2.0], [2.0, 3.0]) is None
    with pytest.raises(ValueError, match="aligned"):
        return_correlation([1.0, 2.0, 3.0], [1.0, 2.0])


# ---------------------------------------------------------------- variants, stops, take-profits


def test_a_testnet_proposal_has_three_variants_built_from_the_daily_atr() -> None:
    p = proposal()
    f = facts_at(AT)
    price, atr = to_decimal(f.price), to_decimal(f.atr)
    assert (p.id, p.risk_model_version, p.mode) == ("BTC-1", "holdings-risk/1", "testnet")
    assert p.variant_names == ("conservative", "recommended", "aggressive")
    assert (p.synthetic_entry, p.entry_source, p.market.price) == (price, EntrySource.CURRENT, price)
    assert p.expires_at - p.created_at == timedelta(days=7)
    for spec in RISK_MODEL_V1.variants[:2]:  # inside the stop-distance limits: exactly k ATR, to the tick
        v = p.variant(spec.name.value)
        assert v is not None
        assert v.stop == RULES.price(price - to_decimal(spec.stop_atr) * atr, "down")
        assert v.take_profit == RULES.price(price + to_decimal(spec.reward_risk) * (price - v.stop), "up")
        assert v.reward_risk == pytest.approx(spec.reward_risk, abs=1e-3)
        assert not v.notes
    aggressive = p.variant("aggressive")
    assert aggressive is not None  # 3 ATR = 10.2 %: capped at risk.stop_max_distance_pct
    assert aggressive.stop == RULES.price(price * Decimal("0.92"), "down")
    assert aggressive.stop_distance_pct == pytest.approx(8.0, abs=1e-3)
    assert aggressive.notes == ("stop capped at risk.stop_max_distance_pct (8.0 %)",)
    assert (p.market.band_low, p.market.band_high) == (
        RULES.price(price - 2 * atr, "down"),
        RULES.price(price + 2 * atr, "up"),
    )
    # The figures a person sees (pinned: a change to the model or the data shows up here).
    recommended = p.variant("recommended")
    assert recommended is not None
    assert (str(recommended.stop), str(recommended.take_profit), str(recommended.max_allocation)) == (
        "17900.96",
        "21822.35",
        "3000.00",
    )


def test_the_allocation_caps_the_managed_quantity_and_says_by_which_limit() -> None:
    p = proposal()  # 0.5 BTC = 9,604 USDT of 20,000 equity; 20 % per position
    shares = {"conservative": "0.5", "recommended": "0.75", "aggressive": "1"}
    for v in p.variants:
        assert v.max_allocation == Decimal(20000) * Decimal("0.20") * Decimal(shares[v.name.value])
        assert v.managed_quantity == RULES.quantity(v.max_allocation / p.market.price)
        assert v.allocation_capped
        assert v.cap_reason == f"max_position_pct 20 % of equity x {shares[v.name.value]} ({v.name.value})"
    small = proposal(holding_quantity=Decimal("0.05"))  # 960 USDT: fits every allocation
    assert all(v.managed_quantity == Decimal("0.05") and not v.allocation_capped for v in small.variants)


def test_the_room_under_the_total_exposure_cap_binds_when_positions_are_open() -> None:
    p = proposal(open_exposure=Decimal("9500"))  # 50 % of 20,000 = 10,000: 500 left
    for v in p.variants:
        assert v.max_allocation == Decimal("500.00")
        assert v.cap_reason == "max_total_exposure_pct 50 % (already committed 9500)"
    full = propose(inputs(open_exposure=Decimal("10000")))
    assert isinstance(full, Abort)
    assert full.code == "no_feasible_variant"
    assert "allocation 0.00 USDT is below what BTC/USDT can trade" in full.message


def test_mainnet_has_no_aggressive_variant_and_caps_by_the_mainnet_limits() -> None:
    p = proposal(mode=RunMode.MAINNET)
    assert p.variant_names == ("conservative", "recommended")
    recommended = p.variant("recommended")
    assert recommended is not None
    assert recommended.max_allocation == Decimal("1500.00")  # 10 % (mainnet) x 0.75 of 20,000
    assert recommended.cap_reason == "mainnet_max_position_pct 10 % of equity x 0.75 (recommended)"
    assert all(v.entry_to_stop_pct >= 5.0 for v in p.variants)


def test_mainnet_moves_a_stop_down_until_the_entry_is_5_percent_above_it() -> None:
    early = datetime(2022, 7, 11, 12, tzinfo=UTC)  # 4h ATR 1.97 %: 1.5 ATR is only 2.96 %
    testnet = proposal(at=early, facts=facts_at(early), now=early)
    mainnet = proposal(at=early, facts=facts_at(early), now=early, mode=RunMode.MAINNET)
    t, m = testnet.variant("conservative"), mainnet.variant("conservative")
    assert t is not None and m is not None
    assert t.stop_distance_pct < 3.0
    assert m.stop == RULES.price(mainnet.synthetic_entry * Decimal("0.95"), "down")
    assert m.entry_to_stop_pct == pytest.approx(5.0, abs=1e-3)
    assert m.notes == ("stop moved down to keep the synthetic entry 5.0 % above it",)


def test_the_synthetic_entry_can_be_the_cost_basis_or_the_operators_price() -> None:
    above = proposal(entry_source=EntrySource.COST_BASIS, entry_price=Decimal("25000.004"))
    assert (above.synthetic_entry, above.cost_basis, above.entry_source) == (
        Decimal("25000.00"),
        Decimal("25000.004"),
        EntrySource.COST_BASIS,
    )
    # A cost basis above the price leaves the market-based stops as they are.
    assert [v.stop for v in above.variants] == [v.stop for v in proposal().variants]
    chosen = proposal(entry_source=EntrySource.OPERATOR, entry_price=Decimal("19000"), mode=RunMode.MAINNET)
    assert (chosen.synthetic_entry, chosen.cost_basis) == (Decimal("19000.00"), None)
    assert all(v.stop <= Decimal("18050.00") and v.entry_to_stop_pct >= 5.0 for v in chosen.variants)


def test_an_entry_far_below_the_price_cannot_get_a_stop_within_the_limits() -> None:
    result = propose(inputs(entry_source=EntrySource.COST_BASIS, entry_price=Decimal("10000")))
    assert isinstance(result, Abort)
    assert result.code == "no_feasible_variant"
    assert "further than risk.stop_max_distance_pct (8.0 %)" in result.message
    missing = propose(inputs(entry_source=EntrySource.OPERATOR, entry_price=None))
    assert isinstance(missing, Abort) and missing.code == "bad_entry"


def test_no_balance_or_dust_aborts() -> None:
    for quantity in ("0", "0.0002"):  # 0.0002 BTC is 3.84 USDT, under the 5 USDT minimum notional
        result = propose(inputs(holding_quantity=Decimal(quantity)))
        assert isinstance(result, Abort) and result.code == "no_balance", quantity


# ---------------------------------------------------------------- warnings and confidence


def test_warnings_name_concentration_correlation_resistance_and_breakers() -> None:
    p = proposal(
        open_symbols=(ETH, Symbol("XRP/USDT")),
        correlations={ETH: correlation_at(AT)},
        breaker_notes=("trading is halted by the operator (news)",),
    )
    by_code = {w.code: w.message for w in p.warnings}
    assert set(by_code) == {"concentration", "correlation", "correlation_unknown", "breaker", "resistance"}
    assert by_code["concentration"] == (
        "the holding is 48.0 % of equity (9,604.04 of 20,000.00), above the 20 % per-position cap"
    )
    assert by_code["correlation"] == "moves with open positions: ETH/USDT (rho 0.89); losses would add up"
    assert "XRP/USDT" in by_code["correlation_unknown"]
    assert by_code["breaker"] == "trading is halted by the operator (news)"
    assert by_code["resistance"].startswith("the recommended take-profit 21822.35 lies above the recent high 20475.00")


def test_an_open_position_in_the_same_market_is_named() -> None:
    p = proposal(open_symbols=(BTC,), open_exposure=Decimal("1000"))
    assert codes(p) == ["concentration", "open_position", "resistance"]


def test_messages_do_not_depend_on_the_process_decimal_context() -> None:
    """ccxt sets the process-wide decimal context to round half up; 9,604.045 must still read 9,604.04."""
    with decimal.localcontext() as context:
        context.rounding = decimal.ROUND_HALF_UP
        p = proposal()
    assert "(9,604.04 of 20,000.00)" in next(w.message for w in p.warnings if w.code == "concentration")


def test_a_stablecoin_wide_spread_and_thin_volume_are_warned_about() -> None:
    # The stablecoin warning depends on the asset alone; the market facts are BTC's.
    stable = proposal(asset="USDC", holding_quantity=Decimal("0.1"))
    assert "stablecoin" in codes(stable)
    spread = proposal(facts=facts_at(AT, spread_pct=0.25))
    assert "spread" in codes(spread)
    assert "wide spread 0.250 %: x0.8" in spread.confidence_explanation
    thin = proposal(equity=Decimal("5000000000"), holding_quantity=Decimal("100000"))
    assert "liquidity" in codes(thin)


def test_confidence_is_the_product_of_named_factors() -> None:
    assert proposal().confidence == 1.0
    assert proposal().confidence_explanation == (
        "regime low_vol with probability 1.00: x1.00",
        "spread unknown (no live order book): x1",
    )
    early = datetime(2022, 7, 11, 12, tzinfo=UTC)
    young = proposal(facts=facts_at(early), now=early)
    assert young.confidence == round(0.6 * 0.8, 2)
    assert young.confidence_explanation[:2] == (
        "no regime reading (not enough history): x0.6",
        "ATR from 4h candles, too little daily history: x0.8",
    )
    sell_off = datetime(2022, 9, 19, 12, tzinfo=UTC)  # the high-volatility regime of September 2022
    stressed = proposal(facts=facts_at(sell_off), now=sell_off, breaker_notes=("breaker",))
    assert stressed.market.regime == "high_vol"
    assert stressed.confidence == pytest.approx(round(stressed.market.regime_probability * 0.85 * 0.7, 2))  # type: ignore[operator]


def test_the_same_inputs_give_the_same_proposal_byte_for_byte() -> None:
    assert proposal().digest() == proposal().digest()
    assert proposal().digest() != proposal(holding_quantity=Decimal("0.4")).digest()


# ---------------------------------------------------------------- properties

DATES = [datetime(2022, 7, 11, 12, tzinfo=UTC) + timedelta(days=d) for d in range(0, 100, 9)]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    at=st.sampled_from(DATES),
    mode=st.sampled_from([RunMode.TESTNET, RunMode.MAINNET, RunMode.PAPER]),
    holding=st.decimals(min_value="0", max_value="50", places=6),
    equity=st.decimals(min_value="100", max_value="10000000", places=2),
    exposure_share=st.decimals(min_value="0", max_value="0.6", places=3),
    entry_factor=st.one_of(st.none(), st.decimals(min_value="0.5", max_value="1.5", places=3)),
)
def test_every_proposal_respects_the_limits(
    at: datetime,
    mode: RunMode,
    holding: Decimal,
    equity: Decimal,
    exposure_share: Decimal,
    entry_factor: Decimal | None,
) -> None:
    f = facts_at(at)
    price = RULES.price(to_decimal(f.price))
    source = EntrySource.CURRENT if entry_factor is None else EntrySource.OPERATOR
    entry_price = None if entry_factor is None else price * entry_factor
    x = inputs(
        facts=f, now=at, mode=mode, holding_quantity=holding, equity=equity,
        open_exposure=equity * exposure_share, entry_source=source, entry_price=entry_price,
    )  # fmt: skip
    result = propose(x)
    if isinstance(result, Abort):
        assert result.code in {"no_balance", "no_feasible_variant"}
        return
    limits = x.policy.limits
    assert result.risk_model_version == "holdings-risk/1"
    if mode is RunMode.MAINNET:
        assert VariantName.AGGRESSIVE.value not in result.variant_names
    for v in result.variants:
        assert v.stop < result.synthetic_entry and v.stop < price < v.take_profit
        assert v.stop % RULES.tick_size == 0 and v.take_profit % RULES.tick_size == 0
        assert limits.stop_min_distance_pct - 0.01 <= v.stop_distance_pct <= limits.stop_max_distance_pct + 0.01
        if mode is RunMode.MAINNET:
            assert v.entry_to_stop_pct >= 5.0
        assert v.managed_quantity % RULES.step_size == 0
        assert 0 < v.managed_quantity <= holding
        assert v.managed_quantity * price <= v.max_allocation
        assert v.max_allocation <= equity * Decimal(str(limits.max_position_pct)) / 100
        assert v.allocation_capped == (v.managed_quantity < holding)
