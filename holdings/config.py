"""The holdings service's settings: taken from the run's ``Settings`` plus the defaults issue 20 fixes.

Kept here (not in ``core.settings``) until the engine integration; :meth:`HoldingsConfig.from_settings`
is how the engine builds it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from core.settings import RiskSettings, RunMode, Settings
from holdings.drift import DriftThresholds
from holdings.risk_model import RISK_MODEL_V1, RiskModel

PROPOSAL_TTL = timedelta(days=7)
COOLDOWN_MAINNET = timedelta(days=7)
COOLDOWN_ELSEWHERE = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class HoldingsConfig:
    mode: RunMode
    risk: RiskSettings = field(default_factory=RiskSettings)
    quote: str = "USDT"
    proposal_ttl: timedelta = PROPOSAL_TTL
    cooldown_mainnet: timedelta = COOLDOWN_MAINNET
    cooldown_elsewhere: timedelta = COOLDOWN_ELSEWHERE
    """After an operator rejection: 7 days on mainnet, 24 h on testnet (and paper, backtest)."""
    blacklist: frozenset[str] = frozenset()
    """Assets never proposed (the quote asset always is)."""
    drift: DriftThresholds = field(default_factory=DriftThresholds)
    model: RiskModel = RISK_MODEL_V1

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: object) -> HoldingsConfig:
        return cls(mode=settings.mode, risk=settings.risk, quote=settings.exchange.quote, **overrides)  # type: ignore[arg-type]

    @property
    def cooldown(self) -> timedelta:
        return self.cooldown_mainnet if self.mode is RunMode.MAINNET else self.cooldown_elsewhere

    def blacklisted(self, asset: str) -> bool:
        return asset == self.quote or asset in self.blacklist
