"""Signal weights from the posteriors: Thompson samples, means, 95 % credible intervals, counts.

``LearnerWeights`` is what the snapshot embeds (``model_dump(mode="json")``: the agent reads it) and
what the rule-based fallback scores with (``score``).

Fallback: when the asked regime has fewer than ``min_trades`` trades (or was never seen),
the weights come from the **global** posteriors, and say so (``scope="global"``, ``fell_back=True``).
A regime's own posteriors are used only once it has ``min_trades`` trades; until then the global
posteriors, which have seen every trade, are the better estimate. ``enough_data`` tells whether the
scope actually used has ``min_trades`` trades (if not, the numbers are mostly prior).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from core.settings import LearnerSettings
from core.types import Signal
from learning.state import LearnerState, check_regime_label

_VALUE = ConfigDict(frozen=True, extra="forbid")

CREDIBLE_LEVEL = 0.95
GLOBAL_SCOPE = "global"
_TAILS = ((1 - CREDIBLE_LEVEL) / 2, 1 - (1 - CREDIBLE_LEVEL) / 2)


class SignalPosterior(BaseModel):
    """Beta(alpha, beta) of one signal in one scope, summarized."""

    model_config = _VALUE

    signal: Signal
    alpha: float
    beta: float
    mean: float
    ci_low: float
    """Lower end of the equal-tailed 95 % credible interval."""
    ci_high: float
    trades: int
    wins: int
    losses: int


class SignalWeight(SignalPosterior):
    sample: float = Field(ge=0, le=1)
    """One Thompson draw from Beta(alpha, beta) with the caller's generator."""


class LearnerWeights(BaseModel):
    """Per-signal weights for one regime (or global), in ``Signal`` order."""

    model_config = _VALUE

    requested_regime: str | None
    scope: str
    """``"global"`` or the regime label whose posteriors were used."""
    fell_back: bool
    """True when a regime was asked for but had fewer than ``min_trades`` trades."""
    enough_data: bool
    scope_trades: int
    min_trades: int
    credible_level: float = CREDIBLE_LEVEL
    signals: tuple[SignalWeight, ...]

    def get(self, signal: Signal) -> SignalWeight:
        for weight in self.signals:
            if weight.signal is signal:
                return weight
        raise KeyError(signal)

    def ranked(self, by: Literal["sample", "mean"] = "sample") -> list[SignalWeight]:
        """Highest first; ties keep ``Signal`` order (stable sort), so the ranking is deterministic."""
        return sorted(self.signals, key=lambda w: -getattr(w, by))

    def score(self, signals: Iterable[Signal], by: Literal["sample", "mean"] = "mean") -> float:
        """Average posterior win probability (mean or Thompson sample) of the cited signals."""
        values = [getattr(self.get(signal), by) for signal in dict.fromkeys(signals)]
        if not values:
            raise ValueError("score needs at least one signal")
        return float(sum(values) / len(values))


def scope_label(regime: str | None) -> str:
    return GLOBAL_SCOPE if regime is None else regime


def has_enough_data(state: LearnerState, regime: str | None, settings: LearnerSettings) -> bool:
    """Whether ``regime``'s own scope (global for ``None``) has at least ``min_trades`` trades."""
    if regime is not None:
        check_regime_label(regime)
    return state.scope(regime).trades >= settings.min_trades


def effective_regime(state: LearnerState, regime: str | None, settings: LearnerSettings) -> str | None:
    """The scope ``weights`` uses: the regime's if it has enough data, else global (``None``)."""
    return regime if regime is not None and has_enough_data(state, regime, settings) else None


def posteriors(state: LearnerState, regime: str | None, settings: LearnerSettings) -> tuple[SignalPosterior, ...]:
    """Every signal's posterior in ``regime``'s own scope (no fallback), in ``Signal`` order."""
    scope = state.scope(regime)
    rows = tuple(
        (ev.win_evidence, ev.loss_evidence, ev.trades, ev.wins, ev.losses) for ev in map(scope.evidence, Signal)
    )
    return _posteriors(settings.prior_alpha, settings.prior_beta, rows)


@lru_cache(maxsize=256)
def _posteriors(
    prior_alpha: float, prior_beta: float, rows: tuple[tuple[float, float, int, int, int], ...]
) -> tuple[SignalPosterior, ...]:
    """The posteriors of one scope's evidence (per signal: win and loss evidence, trades, wins, losses). They change
    only when a trade closes, and every decision asks for them: the same evidence gives the same (frozen) models."""
    alphas = np.array([prior_alpha + row[0] for row in rows])
    betas = np.array([prior_beta + row[1] for row in rows])
    lows, highs = _credible_intervals(tuple(alphas.tolist()), tuple(betas.tolist()))
    return tuple(
        SignalPosterior(
            signal=signal,
            alpha=float(alphas[i]),
            beta=float(betas[i]),
            mean=float(alphas[i] / (alphas[i] + betas[i])),
            ci_low=float(lows[i]),
            ci_high=float(highs[i]),
            trades=rows[i][2],
            wins=rows[i][3],
            losses=rows[i][4],
        )
        for i, signal in enumerate(Signal)
    )


@lru_cache(maxsize=256)
def _credible_intervals(alphas: tuple[float, ...], betas: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The credible interval of each Beta(alpha, beta); the posteriors change only when a trade closes, and every
    decision asks for them (scipy's ``ppf`` is most of a decision's cost otherwise). scipy is imported here, on
    the first decision: ``scipy.stats`` takes over half a second to import, which a restart must not spend before
    it has protected its positions."""
    from scipy import stats

    lows, highs = stats.beta.ppf(np.array(_TAILS)[:, None], np.array(alphas)[None, :], np.array(betas)[None, :])
    return lows, highs


def thompson_samples(
    state: LearnerState, regime: str | None, settings: LearnerSettings, rng: np.random.Generator
) -> dict[Signal, float]:
    """One Beta draw per signal in ``Signal`` order from ``regime``'s own scope (no fallback)."""
    scope = state.scope(regime)
    alphas = [settings.prior_alpha + scope.evidence(signal).win_evidence for signal in Signal]
    betas = [settings.prior_beta + scope.evidence(signal).loss_evidence for signal in Signal]
    draws = rng.beta(alphas, betas)
    return {signal: float(draw) for signal, draw in zip(Signal, draws, strict=True)}


def compute_weights(
    state: LearnerState, regime: str | None, settings: LearnerSettings, rng: np.random.Generator
) -> LearnerWeights:
    """Thompson samples plus summaries, from the regime's posteriors or, lacking data, the global ones."""
    used = effective_regime(state, regime, settings)
    samples = thompson_samples(state, used, settings, rng)
    scope_trades = state.scope(used).trades
    return LearnerWeights(
        requested_regime=regime,
        scope=scope_label(used),
        fell_back=regime is not None and used is None,
        enough_data=scope_trades >= settings.min_trades,
        scope_trades=scope_trades,
        min_trades=settings.min_trades,
        signals=tuple(
            SignalWeight(**p.model_dump(), sample=samples[p.signal]) for p in posteriors(state, used, settings)
        ),
    )
