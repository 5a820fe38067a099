"""The versioned risk model: ``propose(inputs) -> Proposal | Abort``. Pure.

Version ``holdings-risk/1`` (:data:`RISK_MODEL_V1`), for a long spot holding at price ``P`` with ATR ``A``
(see :mod:`holdings.market_facts` for which ATR):

- **stop** ``P - k*A`` with ``k`` per variant, then kept inside the veto's stop-distance limits
  (``risk.stop_min_distance_pct`` .. ``risk.stop_max_distance_pct`` of ``P``), then moved down until the
  synthetic entry ``E`` is at least ``g`` % above it (``g`` = ``mainnet_min_entry_gap_pct``, 5, where real
  money trades; ``risk.stop_min_distance_pct`` elsewhere: a position's risk per unit ``E - stop`` must be
  a real distance, or its R multiples are noise; :class:`~holdings.policy.ModePolicy` says which). A stop
  that would then lie beyond the maximum distance makes the variant infeasible.
- **take-profit** ``P + r*(P - stop)``: reward/risk ``r`` measured from the current price.
- **max allocation** ``equity * max_position_pct * share`` (the limits in force: on mainnet the
  stricter ``mainnet_*`` caps), never more than the room left under ``max_total_exposure_pct``;
  the managed quantity is the holding up to that allocation, rounded down to the step. When the
  holding is larger, the allocation is *capped* (journaled ``managed.allocation_capped``).
- **variants**: conservative (``k`` 1.5, ``r`` 1.5, share 0.5), recommended (2, 2, 0.75), aggressive
  (3, 3, 1.0; only where the policy allows it: not on mainnet). Conservative keeps more of what is held:
  a nearer stop, an earlier target, less handed over.
- **drift band** ``P +/- 2*A``, stored in the proposal for the drift check.

A change to any number here is a new version string.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal

from core.errors import OrderRejected
from core.ids import Symbol
from core.money import MarketRules, to_decimal
from core.settings import RiskSettings
from holdings.advice import assess
from holdings.entry_source import EntrySource
from holdings.market_facts import MarketFacts
from holdings.policy import ModePolicy
from holdings.proposal import MarketBasis, Proposal, Variant, VariantName

HUNDRED = Decimal(100)
ABOVE_MAX_QTY = "above_max_qty"
"""``OrderRejected.code`` for a quantity above the market's maximum (a string on every version of core)."""
CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class VariantSpec:
    name: VariantName
    stop_atr: float
    reward_risk: float
    allocation_share: float


@dataclass(frozen=True, slots=True)
class RiskModel:
    version: str
    variants: tuple[VariantSpec, ...]
    band_atr: float = 2.0
    mainnet_min_entry_gap_pct: float = 5.0


RISK_MODEL_V1 = RiskModel(
    version="holdings-risk/1",
    variants=(
        VariantSpec(VariantName.CONSERVATIVE, stop_atr=1.5, reward_risk=1.5, allocation_share=0.5),
        VariantSpec(VariantName.RECOMMENDED, stop_atr=2.0, reward_risk=2.0, allocation_share=0.75),
        VariantSpec(VariantName.AGGRESSIVE, stop_atr=3.0, reward_risk=3.0, allocation_share=1.0),
    ),
)


@dataclass(frozen=True, slots=True)
class ProposalInputs:
    proposal_id: str
    seq: int
    asset: str
    facts: MarketFacts
    rules: MarketRules
    holding_quantity: Decimal
    equity: Decimal
    open_exposure: Decimal
    """Notional already committed (the bot's open positions and other managed holdings)."""
    open_symbols: tuple[Symbol, ...]
    correlations: Mapping[Symbol, float]
    breaker_notes: tuple[str, ...]
    entry_source: EntrySource
    entry_price: Decimal | None
    """The cost basis or the operator's price; ``None`` with ``EntrySource.CURRENT``."""
    policy: ModePolicy
    now: datetime
    ttl: timedelta
    requested_by: str
    request_key: str


@dataclass(frozen=True, slots=True)
class Abort:
    code: str
    message: str


def propose(x: ProposalInputs, model: RiskModel = RISK_MODEL_V1) -> Proposal | Abort:
    price = x.rules.price(to_decimal(x.facts.price))
    if price <= 0:
        return Abort("market_down", f"{x.facts.symbol}: no usable price")
    if not tradable(x.holding_quantity, price, x.rules):
        return Abort(
            "no_balance",
            f"the wallet holds {x.holding_quantity} {x.asset}: below what {x.facts.symbol} can trade "
            f"(min quantity {x.rules.min_qty}, min notional {x.rules.min_notional})",
        )
    entry = _synthetic_entry(x, price)
    if isinstance(entry, Abort):
        return entry
    limits = x.policy.limits
    variants, dropped = [], []
    for spec in model.variants:
        if spec.name is VariantName.AGGRESSIVE and not x.policy.aggressive:
            continue
        built = _variant(spec, x, price, entry, limits=limits, model=model)
        if isinstance(built, Abort):
            dropped.append(f"{spec.name.value}: {built.message}")
        else:
            variants.append(built)
    if not variants:
        return Abort("no_feasible_variant", "no variant fits the limits: " + "; ".join(dropped))
    basis = _basis(x.facts, price, model, x.rules)
    advice = assess(x, basis, tuple(variants), dropped, limits)
    return Proposal(
        id=x.proposal_id,
        asset=x.asset,
        symbol=x.facts.symbol,
        seq=x.seq,
        risk_model_version=model.version,
        mode=x.policy.label,
        created_at=x.now,
        expires_at=x.now + x.ttl,
        requested_by=x.requested_by,
        request_key=x.request_key,
        holding_quantity=x.holding_quantity,
        equity=x.equity,
        entry_source=x.entry_source,
        synthetic_entry=entry,
        cost_basis=x.entry_price if x.entry_source is EntrySource.COST_BASIS else None,
        market=basis,
        variants=tuple(variants),
        warnings=advice.warnings,
        confidence=advice.confidence,
        confidence_explanation=advice.explanation,
    )


def tradable(quantity: Decimal, price: Decimal, rules: MarketRules) -> bool:
    """Whether the market accepts an order for ``quantity`` (core's own check: minimum quantity and notional).
    Above the maximum quantity it still is: the guard splits what one order cannot carry."""
    try:
        rules.checked_order(quantity, price)
    except OrderRejected as exc:
        return exc.code == ABOVE_MAX_QTY
    return True


def _synthetic_entry(x: ProposalInputs, price: Decimal) -> Decimal | Abort:
    if x.entry_source is EntrySource.CURRENT:
        return price
    if x.entry_price is None or x.entry_price <= 0:
        return Abort("bad_entry", f"a {x.entry_source.value} synthetic entry needs a positive price")
    return x.rules.price(x.entry_price)


def _variant(
    spec: VariantSpec, x: ProposalInputs, price: Decimal, entry: Decimal, *, limits: RiskSettings, model: RiskModel
) -> Variant | Abort:
    stop, notes = _stop(spec, x, price, entry, limits=limits, model=model)
    if isinstance(stop, Abort):
        return stop
    take_profit = x.rules.price(price + to_decimal(spec.reward_risk) * (price - stop), "up")
    allocation = _allocation(spec, x, price, limits)
    if not tradable(allocation.quantity, price, x.rules):
        return Abort(
            "allocation_too_small",
            f"the allowed allocation {allocation.amount} {x.rules.quote} is below what {x.facts.symbol} can trade",
        )
    return Variant(
        name=spec.name,
        stop=stop,
        take_profit=take_profit,
        stop_distance_pct=_pct(price - stop, price),
        entry_to_stop_pct=_pct(entry - stop, entry),
        reward_risk=round(float((take_profit - price) / (price - stop)), 4),
        max_allocation=allocation.amount,
        managed_quantity=allocation.quantity,
        allocation_capped=allocation.quantity < x.holding_quantity,
        cap_reason=allocation.reason if allocation.quantity < x.holding_quantity else None,
        notes=tuple(notes),
    )


def _stop(
    spec: VariantSpec, x: ProposalInputs, price: Decimal, entry: Decimal, *, limits: RiskSettings, model: RiskModel
) -> tuple[Decimal | Abort, list[str]]:
    notes: list[str] = []
    stop = price - to_decimal(spec.stop_atr) * to_decimal(x.facts.atr)
    nearest = price * (1 - to_decimal(limits.stop_min_distance_pct) / HUNDRED)
    furthest = price * (1 - to_decimal(limits.stop_max_distance_pct) / HUNDRED)
    if stop > nearest:
        stop = nearest
        notes.append(f"stop widened to risk.stop_min_distance_pct ({limits.stop_min_distance_pct} %)")
    if stop < furthest:
        stop = furthest
        notes.append(f"stop capped at risk.stop_max_distance_pct ({limits.stop_max_distance_pct} %)")
    floor = x.policy.min_entry_gap_pct
    gap_pct = floor if floor is not None else limits.stop_min_distance_pct
    below_entry = entry * (1 - to_decimal(gap_pct) / HUNDRED)
    if stop > below_entry:
        stop = below_entry
        notes.append(f"stop moved down to keep the synthetic entry {gap_pct} % above it")
    stop = x.rules.price(stop, "down")
    if stop <= 0 or stop < x.rules.price(furthest, "down"):
        return Abort(
            "entry_too_close_to_stop",
            f"with the synthetic entry at {entry} the stop would have to sit at or below {stop}, further than "
            f"risk.stop_max_distance_pct ({limits.stop_max_distance_pct} %) from the price {price}",
        ), notes
    return stop, notes


@dataclass(frozen=True, slots=True)
class _Allocation:
    amount: Decimal
    quantity: Decimal
    reason: str


def _allocation(spec: VariantSpec, x: ProposalInputs, price: Decimal, limits: RiskSettings) -> _Allocation:
    share = to_decimal(spec.allocation_share)
    per_position = x.equity * to_decimal(limits.max_position_pct) / HUNDRED * share
    room = max(x.equity * to_decimal(limits.max_total_exposure_pct) / HUNDRED - x.open_exposure, Decimal(0))
    share_text = f"{spec.allocation_share:g} ({spec.name.value})"
    reason = f"{x.policy.cap_name} {limits.max_position_pct:g} % of equity x {share_text}"
    amount = per_position
    if room < per_position:
        amount = room
        reason = f"max_total_exposure_pct {limits.max_total_exposure_pct:g} % (already committed {x.open_exposure})"
    amount = amount.quantize(CENT, rounding=ROUND_DOWN)
    quantity = x.rules.quantity(min(x.holding_quantity, amount / price))
    return _Allocation(amount, quantity, reason)


def drift_band(price: Decimal, atr: float, model: RiskModel, rules: MarketRules) -> tuple[Decimal, Decimal]:
    """The price band of the drift check: ``price +/- band_atr * atr``, to the tick (outwards)."""
    half = to_decimal(model.band_atr) * to_decimal(atr)
    return max(rules.price(price - half, "down"), Decimal(0)), rules.price(price + half, "up")


def _basis(facts: MarketFacts, price: Decimal, model: RiskModel, rules: MarketRules) -> MarketBasis:
    band_low, band_high = drift_band(price, facts.atr, model, rules)
    return MarketBasis(
        as_of=facts.as_of,
        price=price,
        atr=facts.atr,
        atr_timeframe=facts.atr_timeframe,
        atr_pct=round(facts.atr_pct, 4),
        realized_vol_pct=facts.realized_vol_pct,
        volume_24h_quote=facts.volume_24h_quote,
        spread_pct=facts.spread_pct,
        regime=facts.regime,
        regime_probability=facts.regime_probability,
        support=_level(facts.support, rules),
        resistance=_level(facts.resistance, rules),
        band_low=band_low,
        band_high=band_high,
    )


def _level(value: float | None, rules: MarketRules) -> Decimal | None:
    return None if value is None else rules.price(to_decimal(value))


def _pct(part: Decimal, whole: Decimal) -> float:
    return round(float(part / whole * HUNDRED), 4)
