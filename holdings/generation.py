"""Gathering what a proposal needs (market, wallet, safety book) and handing it to the risk model.

The only I/O is reading: the market source, the safety book's positions and board. The decision
itself is :func:`holdings.risk_model.propose` (pure).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from core.ids import Symbol
from core.money import to_decimal
from core.types import Position
from holdings.book import Loaded
from holdings.config import HoldingsConfig
from holdings.lifecycle import MANAGED, HoldingState
from holdings.managed_plans import Rebase
from holdings.market_facts import NotEnoughMarketData, market_facts
from holdings.proposal import Proposal
from holdings.records import HoldingRecord
from holdings.risk_model import Abort, ProposalInputs, drift_band, propose
from holdings.sources import MARKET_ERRORS, MarketReading, MarketSource, Wallet

COMMITTED_STATES = frozenset({*MANAGED, HoldingState.RELEASE_PENDING})


def symbol_of(asset: str, config: HoldingsConfig) -> Symbol:
    return Symbol(f"{asset}/{config.quote}")


def committed_exposure(positions: tuple[Position, ...], others: list[Loaded], asset: str) -> Decimal:
    """Notional already committed: the open positions (at their entry price), a managed holding the guard
    protects among them, and every other managed holding not guarded yet (its managed quantity at its synthetic
    entry): a holding that became a guarded position is counted once, as that position."""
    total = sum((p.quantity * p.entry_price for p in positions), Decimal(0))
    guarded = {p.id for p in positions}
    for loaded in others:
        terms = loaded.record.terms
        if loaded.record.asset == asset or loaded.record.state not in COMMITTED_STATES or terms is None:
            continue
        if terms.position_id not in guarded:
            total += terms.managed_quantity * terms.synthetic_entry
    return total


def build_proposal(
    record: HoldingRecord,
    wallet: Wallet,
    market: MarketSource,
    config: HoldingsConfig,
    *,
    others: list[Loaded],
    now: datetime,
) -> Proposal | Abort:
    request = record.request
    if request is None:
        return Abort("no_request", f"{record.asset} is pending without a recorded request")
    if config.blacklisted(record.asset):
        return Abort("blacklisted", f"{record.asset} is never proposed (blacklisted or the quote currency)")
    symbol = symbol_of(record.asset, config)
    positions = wallet.positions
    related = tuple(dict.fromkeys(p.symbol for p in positions))
    try:
        reading = market.reading(symbol, now, related)
        facts = market_facts(reading.snapshot, spread_pct=reading.spread_pct)
    except (*MARKET_ERRORS, NotEnoughMarketData) as exc:
        return Abort("market_down", f"{symbol}: {exc}")
    limits = config.limits
    if facts.stale(limits.stale_data_s):
        limit = max(limits.stale_data_s, facts.stale_after_s)
        return Abort("market_down", f"{symbol}: market data is {facts.data_age_s} s old (limit {limit} s)")
    seq = record.proposal_count + 1
    inputs = ProposalInputs(
        proposal_id=f"{record.asset}-{seq}",
        seq=seq,
        asset=record.asset,
        facts=facts,
        rules=reading.rules,
        holding_quantity=wallet.held(record.asset),
        equity=wallet.equity,
        open_exposure=committed_exposure(positions, others, record.asset),
        open_symbols=related,
        correlations=reading.correlations,
        breaker_notes=wallet.blockers,
        entry_source=request.entry_source,
        entry_price=request.entry_price,
        policy=config.policy,
        now=now,
        ttl=config.proposal_ttl,
        requested_by=request.requested_by,
        request_key=request.command_key,
    )
    return propose(inputs, config.model)


def rebase_now(held: Decimal, reading: MarketReading, config: HoldingsConfig) -> Rebase | None:
    """The drift references as they are now: the wallet, price +/- the model's band, the regime."""
    try:
        facts = market_facts(reading.snapshot, spread_pct=reading.spread_pct)
    except NotEnoughMarketData:
        return None
    rules = reading.rules
    band_low, band_high = drift_band(rules.price(to_decimal(facts.price)), facts.atr, config.model, rules)
    return Rebase(
        wallet_quantity=held,
        managed_quantity=rules.quantity(held),
        band_low=band_low,
        band_high=band_high,
        regime=facts.regime,
    )
