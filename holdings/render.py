"""Holdings for people: tables and lines with rounded numbers (the ``--json`` forms keep full precision)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING

from rich.table import Table

from holdings.proposal import Proposal, VariantName
from holdings.records import Decision, HoldingRecord

if TYPE_CHECKING:  # the config imports the risk model, which renders its advice with this module
    from holdings.config import HoldingsConfig

CENT = Decimal("0.01")


def price(value: Decimal | float | None) -> str:
    """Two decimals with thousands separators. A ``Decimal`` is rounded half-even explicitly: formatting
    would use the process's decimal context, which ccxt sets to round half up."""
    if value is None:
        return "-"
    if isinstance(value, Decimal):
        value = value.quantize(CENT, rounding=ROUND_HALF_EVEN)
    return f"{value:,.2f}"


def quantity(value: Decimal | None) -> str:
    return "-" if value is None else f"{value.normalize():f}"


def when(at: datetime | None) -> str:
    return "-" if at is None else at.strftime("%Y-%m-%d %H:%M UTC")


def duration(span: timedelta) -> str:
    """``7 days``, ``24 h``, ``90 min``: a span for people."""
    seconds = int(span.total_seconds())
    if seconds % 86_400 == 0 and seconds >= 2 * 86_400:
        return f"{seconds // 86_400} days"
    if seconds % 3_600 == 0:
        return f"{seconds // 3_600} h"
    return f"{seconds // 60} min"


def policy_line(config: HoldingsConfig) -> str:
    """What the run mode means for holdings, in one line (``tradewake holdings list``)."""
    policy = config.policy
    offered = [s.name for s in config.model.variants if policy.aggressive or s.name is not VariantName.AGGRESSIVE]
    variants = [name.value for name in offered]
    floor = policy.min_entry_gap_pct
    gap = f"; the synthetic entry at least {floor:g} % above the stop" if floor is not None else ""
    return (
        f"{policy.label}: variants {', '.join(variants)}; proposals live {duration(config.proposal_ttl)}; "
        f"a rejection cools an asset down {duration(policy.cooldown)}{gap}"
    )


def _volume(value: float | None) -> str:
    return "unknown" if value is None else f"{value:,.0f}"


def holdings_table(records: list[HoldingRecord]) -> Table:
    table = Table("asset", "state", "proposal", "variant", "managed", "stop", "take-profit", "max alloc", "updated")
    table.columns[1].no_wrap = True
    for r in sorted(records, key=lambda r: r.asset):
        t = r.terms
        table.add_row(
            r.asset,
            r.state.value,
            r.proposal_id or "-",
            t.variant.value if t else "-",
            quantity(t.managed_quantity) if t else "-",
            price(t.stop) if t else "-",
            price(t.take_profit) if t else "-",
            price(t.max_allocation) if t else "-",
            f"{when(r.updated_at)} by {r.updated_by.value}" if r.updated_by else "-",
        )
    return table


def proposal_lines(p: Proposal, decision: Decision | None, now: datetime) -> list[str]:
    m = p.market
    status = decision.describe() if decision else ("EXPIRED (not decided yet)" if now >= p.expires_at else "open")
    regime = (
        f"{m.regime} (p {m.regime_probability:.2f})" if m.regime and m.regime_probability is not None else "unknown"
    )
    return [
        f"proposal {p.id}: {p.holding_quantity.normalize():f} {p.asset} on {p.symbol}, {p.mode}, "
        f"risk model {p.risk_model_version}",
        f"status: {status}",
        f"made {when(p.created_at)} for {p.requested_by}; expires {when(p.expires_at)}",
        f"price {price(m.price)}, ATR({m.atr_timeframe}) {price(m.atr)} ({m.atr_pct:.2f} %), regime {regime}, "
        f"support {price(m.support)}, resistance {price(m.resistance)}",
        f"24 h volume {_volume(m.volume_24h_quote)}, spread "
        + (f"{m.spread_pct:.3f} %" if m.spread_pct is not None else "unknown"),
        f"synthetic entry {price(p.synthetic_entry)} ({p.entry_source.value}); equity {price(p.equity)}",
        f"drift band {price(m.band_low)} .. {price(m.band_high)}",
        f"confidence {p.confidence:.2f}: " + "; ".join(p.confidence_explanation),
    ]


def variants_table(p: Proposal) -> Table:
    table = Table("variant", "stop", "stop %", "take-profit", "reward/risk", "max alloc", "managed", "capped by")
    for v in p.variants:
        table.add_row(
            v.name.value,
            price(v.stop),
            f"{v.stop_distance_pct:.2f}",
            price(v.take_profit),
            f"{v.reward_risk:.2f}",
            price(v.max_allocation),
            quantity(v.managed_quantity),
            v.cap_reason or "-",
        )
    return table


def warning_lines(p: Proposal) -> list[str]:
    notes = [f"  {v.name.value}: {note}" for v in p.variants for note in v.notes]
    return [f"warning ({w.code}): {w.message}" for w in p.warnings] + (["notes:", *notes] if notes else [])
