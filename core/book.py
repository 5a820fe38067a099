"""The agent's whole book as one typed value: the account (``core.portfolio.PortfolioView``, exactly what
``get_portfolio`` returns), what the learner has seen per signal, and the last few decisions.

The engine builds one per decision (``engine.book``) and it travels in the ``DecisionRequest``;
``agent.book_text`` renders it into the first user message.
"""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from core.ids import Symbol
from core.portfolio import PortfolioView
from core.signals import Signal

_VIEW = ConfigDict(frozen=True, extra="forbid")


class SignalEvidence(BaseModel):
    """What the learner has seen of one signal in the scope it uses."""

    model_config = _VIEW

    signal: Signal
    mean: float = Field(description="Posterior mean reward (0.5 is the prior: no edge either way).")
    trades: int = Field(description="Closed trades that cited the signal.")
    wins: int = Field(description="Of those, trades with a positive net P&L.")
    losses: int = Field(description="Of those, trades with a zero or negative net P&L.")


class LearnerView(BaseModel):
    """The learner's evidence for the decision's regime (global while the regime has too few trades)."""

    model_config = _VIEW

    requested_regime: str | None
    scope: str = Field(description="global, or the regime whose own posteriors are used.")
    scope_trades: int
    min_trades: int
    enough_data: bool
    signals: tuple[SignalEvidence, ...]


class DecisionLine(BaseModel):
    """One earlier decision in one line: what woke the agent and what came of it."""

    model_config = _VIEW

    at: AwareDatetime
    symbol: Symbol
    wake: str
    backend: str
    outcome: str


class BookView(BaseModel):
    """Everything the agent holds and has done, as of the decision time."""

    model_config = _VIEW

    portfolio: PortfolioView
    learner: LearnerView | None = None
    recent_decisions: tuple[DecisionLine, ...] = ()
