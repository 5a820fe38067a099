"""A proposal's warnings and its confidence with the reasons for it (pure).

Warnings are for the operator to weigh; none of them blocks a proposal (the caps and the lifecycle do
the blocking). Confidence starts at 1 and is multiplied by one factor per doubt, each factor named in
the explanation, so a person can see exactly why a proposal scores 0.42.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.settings import RiskSettings
from holdings.proposal import MarketBasis, ProposalWarning, Variant, VariantName
from holdings.render import price as _money
from market.hmm import HIGH_VOL

if TYPE_CHECKING:
    from holdings.risk_model import ProposalInputs

STABLECOINS = frozenset(
    {"USDT", "USDC", "FDUSD", "TUSD", "DAI", "BUSD", "USDP", "PYUSD", "USDE", "USD1", "EUR", "EURI", "AEUR", "UST"}
)
CORRELATION_WARN = 0.7
"""|rho| of hourly log returns at or above which an open position counts as correlated."""
MOST_OF_ACCOUNT_PCT = 50.0
WIDE_SPREAD_PCT = 0.1
LIQUIDITY_SHARE_PCT = 1.0
"""An allocation above this % of the last day's quote volume may move the price when it exits."""


@dataclass(frozen=True, slots=True)
class Advice:
    warnings: tuple[ProposalWarning, ...]
    confidence: float
    explanation: tuple[str, ...]


def assess(
    x: ProposalInputs, basis: MarketBasis, variants: tuple[Variant, ...], dropped: Sequence[str], limits: RiskSettings
) -> Advice:
    warnings = [
        *_asset_warnings(x, basis, limits),
        *_account_warnings(x),
        *_market_warnings(x, basis, variants),
        *(ProposalWarning(code="variant_dropped", message=why) for why in dropped),
    ]
    confidence, explanation = _confidence(x, basis, variants, limits)
    return Advice(tuple(warnings), confidence, explanation)


def _asset_warnings(x: ProposalInputs, basis: MarketBasis, limits: RiskSettings) -> list[ProposalWarning]:
    found = []
    if x.asset in STABLECOINS:
        found.append(
            ProposalWarning(
                code="stablecoin",
                message=f"{x.asset} is a stablecoin: an ATR stop on a pegged coin protects little and costs fees",
            )
        )
    value = x.holding_quantity * basis.price
    share = float(value / x.equity * 100) if x.equity > 0 else 100.0
    if share > limits.max_position_pct:
        found.append(
            ProposalWarning(
                code="concentration",
                message=f"the holding is {share:.1f} % of equity ({_money(value)} of {_money(x.equity)}), above the "
                f"{limits.max_position_pct:g} % per-position cap"
                + ("; it is most of the account" if share >= MOST_OF_ACCOUNT_PCT else ""),
            )
        )
    return found


def _account_warnings(x: ProposalInputs) -> list[ProposalWarning]:
    found = [ProposalWarning(code="breaker", message=note) for note in x.breaker_notes]
    if x.facts.symbol in x.open_symbols:
        found.append(
            ProposalWarning(
                code="open_position",
                message=f"the bot already has an open position in {x.facts.symbol}; the allocation counts it",
            )
        )
    related = [s for s in x.open_symbols if s != x.facts.symbol]
    correlated = sorted(
        (s, rho) for s in related if (rho := x.correlations.get(s)) is not None and abs(rho) >= CORRELATION_WARN
    )
    if correlated:
        listed = ", ".join(f"{s} (rho {rho:.2f})" for s, rho in correlated)
        found.append(
            ProposalWarning(code="correlation", message=f"moves with open positions: {listed}; losses would add up")
        )
    unknown = sorted(s for s in related if x.correlations.get(s) is None)
    if unknown:
        found.append(
            ProposalWarning(
                code="correlation_unknown",
                message=f"open positions in {', '.join(unknown)}: correlation not measurable (no common history)",
            )
        )
    return found


def _market_warnings(x: ProposalInputs, basis: MarketBasis, variants: tuple[Variant, ...]) -> list[ProposalWarning]:
    found = [ProposalWarning(code="market_data", message=w) for w in x.facts.snapshot_warnings]
    recommended = next((v for v in variants if v.name is VariantName.RECOMMENDED), variants[0])
    if basis.resistance is not None and recommended.take_profit > basis.resistance:
        found.append(
            ProposalWarning(
                code="resistance",
                message=f"the {recommended.name.value} take-profit {recommended.take_profit} lies above the recent "
                f"high {basis.resistance} ({basis.atr_timeframe}, 24 candles)",
            )
        )
    if basis.spread_pct is not None and basis.spread_pct > WIDE_SPREAD_PCT:
        found.append(ProposalWarning(code="spread", message=f"wide spread: {basis.spread_pct:.3f} %"))
    largest = max(v.max_allocation for v in variants)
    volume = basis.volume_24h_quote
    if volume is not None and volume > 0 and float(largest) > volume * LIQUIDITY_SHARE_PCT / 100:
        found.append(
            ProposalWarning(
                code="liquidity",
                message=f"an allocation of {_money(largest)} is over {LIQUIDITY_SHARE_PCT:g} % of the last day's "
                f"volume ({volume:,.0f} {x.rules.quote})",
            )
        )
    return found


def _confidence(
    x: ProposalInputs, basis: MarketBasis, variants: tuple[Variant, ...], limits: RiskSettings
) -> tuple[float, tuple[str, ...]]:
    factors = [*_regime_factors(basis), *_data_factors(x, basis, limits), *_size_factors(x, basis, variants)]
    confidence = 1.0
    for factor, _ in factors:
        confidence *= factor
    return round(confidence, 2), tuple(why for _, why in factors)


def _regime_factors(basis: MarketBasis) -> list[tuple[float, str]]:
    if basis.regime is None or basis.regime_probability is None:
        return [(0.6, "no regime reading (not enough history): x0.6")]
    p = basis.regime_probability
    factors = [(p, f"regime {basis.regime} with probability {p:.2f}: x{p:.2f}")]
    if basis.regime == HIGH_VOL:
        factors.append((0.85, "high-volatility regime, stops are hit by noise more often: x0.85"))
    return factors


def _data_factors(x: ProposalInputs, basis: MarketBasis, limits: RiskSettings) -> list[tuple[float, str]]:
    factors = []
    if not x.facts.preferred_timeframe:
        factors.append((0.8, f"ATR from {basis.atr_timeframe} candles, too little daily history: x0.8"))
    if x.facts.stale(limits.stale_data_s):
        factors.append((0.5, f"market data {x.facts.data_age_s} s old: x0.5"))
    if basis.spread_pct is None:
        factors.append((1.0, "spread unknown (no live order book): x1"))
    elif basis.spread_pct > WIDE_SPREAD_PCT:
        factors.append((0.8, f"wide spread {basis.spread_pct:.3f} %: x0.8"))
    return factors


def _size_factors(x: ProposalInputs, basis: MarketBasis, variants: tuple[Variant, ...]) -> list[tuple[float, str]]:
    factors = []
    if basis.volume_24h_quote is None:
        factors.append((0.9, "no closed daily candle, liquidity unknown: x0.9"))
    elif float(max(v.max_allocation for v in variants)) > basis.volume_24h_quote * LIQUIDITY_SHARE_PCT / 100:
        factors.append((0.7, "allocation large against the day's volume: x0.7"))
    if x.breaker_notes:
        factors.append((0.7, "a breaker or the kill switch is engaged: x0.7"))
    return factors
