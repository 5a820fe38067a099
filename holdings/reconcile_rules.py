"""What reconciliation may attribute to the bot of a spot balance it cannot explain (pure).

On spot the exchange reports a whole base-asset balance as one long "position" (see
``CcxtBroker.fetch_positions``); reconciliation compares it with the bot's records. Whatever those
records do not explain is either

- an **unmanaged holding** (the asset has no holdings record, or its state is ``frozen``,
  ``proposal_pending``, ``risk_proposed`` or ``exit_executed``): the operator's coins. Reconciliation
  must never adopt any of it as a bot position; it is reported as the operator's, not as a mismatch
  the bot should trade around; or
- part of a **managed holding** (``managed_*`` or ``release_pending``): the bot protects it under the
  approved terms, so at most the managed quantity (less what its guarded position already holds) is the
  managed position's (never a fresh bot trade with signals of its own); anything above it is again the
  operator's.

``safety/reconcile.py`` asks per spot balance through the ``SpotHoldings`` port, which ``engine/holdings.py``
answers with :func:`spot_verdict`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from holdings.lifecycle import MANAGED, HoldingState
from holdings.records import HoldingRecord

PROTECTED = frozenset({*MANAGED, HoldingState.RELEASE_PENDING})
"""States in which the bot protects the holding (its stop and take-profit stay live)."""


def is_unmanaged(holding: HoldingRecord | None) -> bool:
    """True for every asset the bot does not manage: no record at all (new coins, airdrops) or not managed."""
    return holding is None or holding.state not in PROTECTED or holding.terms is None


@dataclass(frozen=True, slots=True)
class SpotVerdict:
    managed: Decimal
    """May be attached to the managed holding's position (0 for an unmanaged holding)."""
    operator: Decimal
    """The operator's: never a bot position, never adopted."""
    reason: str


def spot_verdict(
    asset: str, unexplained: Decimal, holding: HoldingRecord | None, attached: Decimal = Decimal(0)
) -> SpotVerdict:
    """Split ``unexplained`` (the balance the bot's records do not explain) between a managed holding and
    the operator. ``attached``: what the managed holding's guarded position already holds (it is among the
    records, so explained). ``managed + operator == unexplained`` whenever ``unexplained > 0``."""
    if unexplained <= 0:
        return SpotVerdict(Decimal(0), Decimal(0), f"{asset}: nothing unexplained")
    if holding is None or is_unmanaged(holding) or holding.terms is None:
        state = holding.state.value if holding is not None else "frozen (no record)"
        return SpotVerdict(
            Decimal(0), unexplained, f"{asset} is not managed ({state}): the operator's holding, never a bot position"
        )
    terms = holding.terms
    managed = min(unexplained, max(terms.managed_quantity - attached, Decimal(0)))
    return SpotVerdict(
        managed,
        unexplained - managed,
        f"{asset} is managed ({holding.state.value}) under proposal {terms.proposal_id}: "
        f"at most {terms.managed_quantity} is the managed position's, the rest the operator's",
    )
