"""Evidence behind the Beta posteriors: pure values and the arithmetic of one update.

A posterior is ``Beta(prior_alpha + win_evidence, prior_beta + loss_evidence)``. Only the evidence
is stored, never the prior, so the priors in settings can change without rewriting history (the same
evidence is simply read against the new prior).

Discount (discounted Thompson sampling, Raj & Kalyani 2017, "Taming non-stationary bandits"):
a *scope* (the global one, or one regime label) is one bandit whose rounds are the trades recorded
in it. Each such trade first multiplies the evidence of **every** signal in that scope by
``discount``, then adds the trade's weight to the cited signals. So evidence ages with market
activity, not with how often a particular signal happens to be cited, and a signal that stopped being
used drifts back towards the prior (its uncertainty grows, so Thompson sampling tries it again).
Regime scopes only age on trades in their own regime: what a signal did in ``high_vol`` is kept for
when ``high_vol`` returns. A trade that cited no signal is not a round: it decays nothing. With
``discount = 1`` nothing decays and the evidence is plain counts
(or R weights). The trade counts (``trades``, ``wins``) never decay: they are facts, used for
``has_enough_data`` and display.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field, model_validator

from core.types import Signal

_VALUE = ConfigDict(frozen=True, extra="forbid")


class SignalEvidence(BaseModel):
    """What one signal has earned in one scope."""

    model_config = _VALUE

    win_evidence: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    """Added to the prior alpha (sum of discounted win weights)."""
    loss_evidence: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    """Added to the prior beta (sum of discounted loss weights)."""
    trades: int = Field(default=0, ge=0)
    wins: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _wins_within_trades(self) -> SignalEvidence:
        if self.wins > self.trades:
            raise ValueError(f"wins ({self.wins}) exceed trades ({self.trades})")
        return self

    @property
    def losses(self) -> int:
        return self.trades - self.wins

    def decayed(self, discount: float) -> SignalEvidence:
        if discount == 1.0:
            return self
        return self.model_copy(
            update={"win_evidence": self.win_evidence * discount, "loss_evidence": self.loss_evidence * discount}
        )

    def observed(self, *, win: bool, weight: float, reward: float | None = None) -> SignalEvidence:
        """One more trade citing this signal: ``reward`` of ``weight`` goes to the win side, the rest to the loss
        side (``reward`` defaults to 1 for a win, 0 for a loss); the counts record whether it was a win."""
        share = (1.0 if win else 0.0) if reward is None else reward
        return self.model_copy(
            update={
                "win_evidence": self.win_evidence + weight * share,
                "loss_evidence": self.loss_evidence + weight * (1.0 - share),
                "trades": self.trades + 1,
                "wins": self.wins + (1 if win else 0),
            }
        )


EMPTY_EVIDENCE = SignalEvidence()


class ScopeState(BaseModel):
    """The evidence of every signal in one scope (global, or one regime label)."""

    model_config = _VALUE

    trades: int = Field(default=0, ge=0)
    """Trades recorded in this scope that cited at least one signal (they are what the posteriors saw)."""
    signals: dict[Signal, SignalEvidence] = Field(default_factory=dict)
    """Only signals ever cited in this scope; the others are at their prior."""

    def evidence(self, signal: Signal) -> SignalEvidence:
        return self.signals.get(signal, EMPTY_EVIDENCE)

    def observed(
        self, cited: Iterable[Signal], *, win: bool, weight: float, discount: float, reward: float | None = None
    ) -> ScopeState:
        """One trade in this scope: decay every signal's evidence, then credit the cited ones."""
        updated = {signal: ev.decayed(discount) for signal, ev in self.signals.items()}
        for signal in cited:
            updated[signal] = updated.get(signal, EMPTY_EVIDENCE).observed(win=win, weight=weight, reward=reward)
        ordered = {signal: updated[signal] for signal in Signal if signal in updated}
        return ScopeState(trades=self.trades + 1, signals=ordered)


EMPTY_SCOPE = ScopeState()
