"""The holdings service's settings.

What the run mode means for holdings (whether the aggressive variant is offered, the cool-down after a
rejection, the entry-to-stop minimum, the limits in force) is decided by ``engine/wiring.py``
(``holdings_config``), the one module that names run modes; here it is a :class:`ModePolicy` of plain
values, so nothing in ``holdings/`` asks which mode it runs in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from core.settings import RiskSettings
from holdings.drift import DriftThresholds
from holdings.policy import ModePolicy
from holdings.risk_model import RISK_MODEL_V1, RiskModel

PROPOSAL_TTL = timedelta(days=7)
COOLDOWN_STRICT = timedelta(days=7)
"""After an operator rejection where real money trades (mainnet)."""
COOLDOWN_DEFAULT = timedelta(hours=24)
"""After an operator rejection elsewhere (testnet, paper, backtest)."""

__all__ = [
    "COOLDOWN_DEFAULT",
    "COOLDOWN_STRICT",
    "PROPOSAL_TTL",
    "HoldingsConfig",
    "ModePolicy",
    "default_policy",
    "mode_policy",
]


def default_policy(limits: RiskSettings | None = None, label: str = "testnet") -> ModePolicy:
    """The lenient policy (every variant, 24 h cool-down, no entry-gap floor) over ``limits`` as they are."""
    return ModePolicy(label=label, limits=limits or RiskSettings(), cooldown=COOLDOWN_DEFAULT)


def mode_policy(
    risk: RiskSettings, limits: RiskSettings, *, label: str, real_money: bool, model: RiskModel = RISK_MODEL_V1
) -> ModePolicy:
    """The policy of a run: ``limits`` are the limits in force; ``real_money`` (mainnet, as the composition root
    says) means no aggressive variant, a 7-day cool-down, the synthetic entry at least
    ``model.mainnet_min_entry_gap_pct`` above the stop, and the ``mainnet_*`` cap named when it binds."""
    if not real_money:
        return default_policy(limits, label)
    binds = risk.mainnet_max_position_pct < risk.max_position_pct
    return ModePolicy(
        label=label,
        limits=limits,
        cooldown=COOLDOWN_STRICT,
        aggressive=False,
        min_entry_gap_pct=model.mainnet_min_entry_gap_pct,
        cap_name="mainnet_max_position_pct" if binds else "max_position_pct",
    )


@dataclass(frozen=True, slots=True)
class HoldingsConfig:
    policy: ModePolicy = field(default_factory=default_policy)
    quote: str = "USDT"
    proposal_ttl: timedelta = PROPOSAL_TTL
    blacklist: frozenset[str] = frozenset()
    """Assets never proposed (the quote asset always is)."""
    drift: DriftThresholds = field(default_factory=DriftThresholds)
    model: RiskModel = RISK_MODEL_V1

    @property
    def limits(self) -> RiskSettings:
        return self.policy.limits

    @property
    def cooldown(self) -> timedelta:
        return self.policy.cooldown

    def blacklisted(self, asset: str) -> bool:
        return asset == self.quote or asset in self.blacklist
